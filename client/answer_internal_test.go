package client

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// An answer that announces far more than it sends makes the client hold what
// arrived, not what was announced.
func TestReadAnswerHoldsWhatArrived(t *testing.T) {
	resp := &http.Response{ContentLength: 60 << 20, Body: io.NopCloser(strings.NewReader("<short/>"))}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, err := readAnswer(resp)
	runtime.ReadMemStats(&after)
	if err != nil || string(out) != "<short/>" {
		t.Fatalf("readAnswer = %q, %v; want the 8 bytes sent", out, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("reading 8 bytes announced as 60 MiB allocated %d bytes", grew)
	}
}

// An answer of announced length within the bound is read whole.
func TestReadAnswerOfAnnouncedLength(t *testing.T) {
	body := strings.Repeat("x", 8192)
	out, err := readAnswer(&http.Response{ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body))})
	if err != nil || string(out) != body {
		t.Fatalf("readAnswer = %d bytes, %v; want %d", len(out), err, len(body))
	}
}
