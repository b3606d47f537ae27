package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// volume create reads back the one volume it made (a Get of the reference
// the server returns) instead of enumerating every volume (issue 19: its
// cost grew with the number of volumes), and prints it as before.
func TestVolumeCreateDoesNotEnumerateVolumes(t *testing.T) {
	var enumerations atomic.Int32
	e := newEnvWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte("enumeration/Enumerate<")) && bytes.Contains(body, []byte(classVolume)) {
				enumerations.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	})
	e.must(t, "volume", "create", "first", "--size", "1M")
	e.must(t, "volume", "list") // the watch sees an enumeration of volumes
	if enumerations.Load() == 0 {
		t.Fatal("volume list made no enumeration of volumes that the test saw")
	}
	enumerations.Store(0)
	out := e.must(t, "volume", "create", "second", "--size", "2M")
	if n := enumerations.Load(); n != 0 {
		t.Errorf("volume create enumerated the volumes %d time(s), want 0", n)
	}
	if !strings.Contains(out, "second") || !strings.Contains(out, "2097152") {
		t.Errorf("volume create printed %q, want the new volume with its size", out)
	}
}
