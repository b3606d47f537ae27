package main

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/ntlm"
	"github.com/replicad/replicad/provider/providertest"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/wsman"
)

// newLogonEnv is newEnv served as the daemon serves it (ConnContext for
// Negotiate, Basic and unsealed Negotiate messages over plain HTTP
// refused), over HTTPS when tlsOn, with admin's NT hash known; it returns
// the Content-Types of the requests the server received.
func newLogonEnv(t *testing.T, tlsOn bool) (*env, *httptest.Server, func() []string) {
	t.Helper()
	dir := t.TempDir()
	p := providertest.New(t, dir)
	reg := cimmodel.NewRegistry()
	if err := p.Register(reg); err != nil {
		t.Fatal(err)
	}
	const pw = "a-long-password"
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users")
	nt := ntlm.NTHash(pw)
	if err := os.WriteFile(path, []byte("admin:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(users.MetaPath(path), []byte(fmt.Sprintf("admin:admin:%x\n", nt)), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := users.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := wsman.NewServer(reg, f)
	var mu sync.Mutex
	var types []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		types = append(types, r.Header.Get("Content-Type"))
		mu.Unlock()
		s.Handler().ServeHTTP(w, r)
	}))
	srv.Config.ConnContext = s.ConnContext
	srv.Config.ConnState = s.ConnState
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	seen := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), types...)
	}
	return &env{dir: dir, vars: map[string]string{"REPLICAD_URL": srv.URL + "/wsman", "REPLICAD_PASSWORD": pw}}, srv, seen
}

// TestAuthNegotiateSealed: replicactl --auth negotiate over plain HTTP
// creates and lists volumes; the server received the calls sealed
// (multipart/encrypted), and Basic over the same plain HTTP is refused.
func TestAuthNegotiateSealed(t *testing.T) {
	e, _, seen := newLogonEnv(t, false)
	e.must(t, "--auth", "negotiate", "volume", "create", "v1", "--size", "1M")
	e.vars["REPLICAD_AUTH"] = "negotiate"
	if out := e.must(t, "volume", "list"); !strings.Contains(out, "v1") {
		t.Errorf("volume list = %q, want v1", out)
	}
	sealed := 0
	for _, ct := range seen() {
		if strings.HasPrefix(ct, "multipart/encrypted") {
			sealed++
		}
	}
	if sealed < 2 {
		t.Errorf("server received %d sealed requests (%q), want every call sealed", sealed, seen())
	}
	delete(e.vars, "REPLICAD_AUTH")
	if code, _, errs := e.run("volume", "list"); code != 1 || !strings.Contains(errs, "authentication failed") {
		t.Errorf("Basic over plain HTTP: status %d %q, want 1 and an authentication failure", code, errs)
	}
	if code, _, errs := e.run("--auth", "ntlmv1", "volume", "list"); code != 2 || !strings.Contains(errs, "--auth") {
		t.Errorf("--auth ntlmv1: status %d %q, want 2 naming --auth", code, errs)
	}
}

// TestTLSErrorNamesInsecure: an untrusted server certificate is one line
// naming --ca-file and --insecure; with --ca-file, or --insecure, the call
// goes through.
func TestTLSErrorNamesInsecure(t *testing.T) {
	e, srv, _ := newLogonEnv(t, true)
	code, _, errs := e.run("volume", "list")
	if code != 1 || !strings.Contains(errs, "--insecure") || !strings.Contains(errs, "--ca-file") || strings.Count(errs, "\n") != 1 {
		t.Errorf("untrusted certificate: status %d %q, want 1 and one line naming --ca-file and --insecure", code, errs)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	e.must(t, "--ca-file", ca, "volume", "list")
	e.must(t, "--auth", "negotiate", "--ca-file", ca, "volume", "list")
	e.must(t, "--insecure", "volume", "list")
	if code, _, errs := e.run("--ca-file", filepath.Join(t.TempDir(), "missing.pem"), "volume", "list"); code != 1 || !strings.Contains(errs, "missing.pem") {
		t.Errorf("missing CA file: status %d %q, want 1 naming the file", code, errs)
	}
}
