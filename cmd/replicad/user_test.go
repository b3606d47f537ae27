package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicad/replicad/users"
)

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users")
	run := func(stdin string, args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := runUser(append(args, "--users", path), strings.NewReader(stdin), &out, &errb)
		return code, out.String() + errb.String()
	}
	steps := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
	}{
		{"add admin", "pw-one-long-enough\n", []string{"add", "alice", "--password-stdin"}, 0},
		{"add reader", "pw-two-long-enough", []string{"add", "--role", "reader", "bob", "--password-stdin"}, 0},
		{"add existing", "x\n", []string{"add", "alice", "--password-stdin"}, 1},
		{"bad role", "x\n", []string{"add", "carol", "--role", "root", "--password-stdin"}, 1},
		{"empty password", "\n", []string{"add", "carol", "--password-stdin"}, 1},
		{"short password", "elevenchars\n", []string{"add", "carol", "--password-stdin"}, 1},
		{"short password forced", "short\n", []string{"add", "dave", "--password-stdin", "--force"}, 0},
		{"passwd short", "elevenchars\n", []string{"passwd", "alice", "--password-stdin"}, 1},
		{"passwd twelve", "twelve-chars\n", []string{"passwd", "dave", "--password-stdin"}, 0},
		{"passwd", "pw-three-long-enough\n", []string{"passwd", "alice", "--password-stdin"}, 0},
		{"passwd unknown", "x\n", []string{"passwd", "nobody", "--password-stdin"}, 1},
		{"role", "", []string{"role", "bob", "admin"}, 0},
		{"role back", "", []string{"role", "bob", "reader"}, 0},
		{"no name", "", []string{"del"}, 2},
		{"unknown verb", "", []string{"frob", "x"}, 2},
	}
	for _, st := range steps {
		if code, out := run(st.stdin, st.args...); code != st.wantCode {
			t.Fatalf("%s: exit %d, want %d\n%s", st.name, code, st.wantCode, out)
		}
	}
	f, err := users.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		user, password string
		role           users.Role
	}{
		{"alice", "pw-three-long-enough", users.RoleAdmin},
		{"bob", "pw-two-long-enough", users.RoleReader},
	}
	for _, c := range checks {
		if err := f.Verify(c.user, c.password); err != nil {
			t.Errorf("Verify(%s) = %v, want nil", c.user, err)
		}
		if r, _ := f.Role(c.user); r != c.role {
			t.Errorf("Role(%s) = %q, want %q", c.user, r, c.role)
		}
		if _, err := f.NTHash(c.user); err != nil {
			t.Errorf("NTHash(%s) = %v, want a hash", c.user, err)
		}
	}
	if f.Has("carol") {
		t.Errorf("carol added with an 11-character password")
	}
	if err := f.Verify("dave", "twelve-chars"); err != nil {
		t.Errorf("Verify(dave) after passwd with 12 characters = %v, want nil", err)
	}
	if code, out := run("", "del", "bob"); code != 0 {
		t.Fatalf("del: exit %d\n%s", code, out)
	}
	code, out := run("", "list")
	if code != 0 || !strings.Contains(out, "alice\tadmin\tntlm") || strings.Contains(out, "bob") {
		t.Errorf("list = %d %q, want alice only", code, out)
	}
	if f, _ := users.Load(path); f.Has("bob") {
		t.Errorf("bob still in the file after del")
	}
}

func TestCert(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	certPath, keyPath, err := writeSelfSigned(dir, []string{"win.example.com", "192.0.2.7"}, 30, false, now)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatalf("LoadX509KeyPair: %v", err)
	}
	raw, _ := os.ReadFile(certPath)
	block, _ := pem.Decode(raw)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "win.example.com", "192.0.2.7"} {
		if err := cert.VerifyHostname(host); err != nil {
			t.Errorf("VerifyHostname(%s): %v", host, err)
		}
	}
	if k, ok := pair.PrivateKey.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("key = %T, want ECDSA P-256", pair.PrivateKey)
	}
	if got := cert.NotAfter.Sub(now); got < 29*24*time.Hour || got > 31*24*time.Hour {
		t.Errorf("validity %v, want about 30 days", got)
	}
	if fi, _ := os.Stat(keyPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", fi.Mode().Perm())
	}
	if _, _, err := writeSelfSigned(dir, nil, 30, false, now); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second writeSelfSigned without force: %v, want an exists error", err)
	}
	if _, _, err := writeSelfSigned(dir, nil, 30, true, now); err != nil {
		t.Errorf("writeSelfSigned with force: %v", err)
	}
	if _, _, err := writeSelfSigned(dir, nil, 0, true, now); err == nil {
		t.Errorf("writeSelfSigned with 0 days succeeded, want an error")
	}
}
