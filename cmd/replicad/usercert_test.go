package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate from tmpl as PEM to path.
func writeCert(t *testing.T, path string, tmpl *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(1)
	tmpl.Subject = pkix.Name{CommonName: filepath.Base(path)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestUserCertCommand: `replicad user cert` maps a client certificate,
// refuses one that could not log on, asks for --upn with a CA
// certificate, maps the CA with it, lists and removes the mappings.
func TestUserCertCommand(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users")
	run := func(stdin string, args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := runUser(append(args, "--users", path), strings.NewReader(stdin), &out, &errb)
		return code, out.String() + errb.String()
	}
	now := time.Now()
	client, server, ca := filepath.Join(dir, "client.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "ca.pem")
	writeCert(t, client, &x509.Certificate{NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	writeCert(t, server, &x509.Certificate{NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	writeCert(t, ca, &x509.Certificate{NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
	steps := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"add user", []string{"add", "alice", "--password-stdin"}, 0, "saved"},
		{"map client certificate", []string{"cert", "alice", client}, 0, "saved"},
		{"server-only certificate", []string{"cert", "alice", server}, 1, "Client Authentication"},
		{"CA without --upn", []string{"cert", "alice", ca}, 1, "--upn"},
		{"CA with --upn", []string{"cert", "alice", ca, "--upn", "alice@example.test"}, 0, "saved"},
		{"unknown user", []string{"cert", "bob", client}, 1, "unknown user"},
		{"missing file", []string{"cert", "alice"}, 2, "usage"},
		{"list", []string{"list"}, 0, "upn alice@example.test"},
		{"remove", []string{"cert", "alice", "--remove"}, 0, "removed 2"},
		{"list after remove", []string{"list"}, 0, "alice\tadmin\tntlm\n"},
	}
	for _, st := range steps {
		code, out := run("a-long-enough-password\n", st.args...)
		if code != st.wantCode || !strings.Contains(out, st.wantOut) {
			t.Errorf("%s: exit %d, want %d with %q\n%s", st.name, code, st.wantCode, st.wantOut, out)
		}
		if st.name == "list after remove" && strings.Contains(out, "certificate") {
			t.Errorf("mappings listed after --remove:\n%s", out)
		}
	}
}
