package integration

import (
	"bytes"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplicactlKerberos: replicactl --auth kerberos, with alice's ticket
// from kinit in a credential cache of its own (KRB5CCNAME), lists volumes
// over plain HTTP against a daemon that refuses unsealed messages (so the
// messages were sealed with RFC 4121 Wrap tokens, after the AP-REP was
// checked) and over HTTPS with --ca-file under --channel-binding strict
// (the authenticator's checksum carries the tls-server-end-point binding);
// without a ticket it fails naming the credential cache.
func TestReplicactlKerberos(t *testing.T) {
	t.Parallel()
	requireClient(t, "kinit (krb5-user)", func() error {
		_, err := exec.LookPath("kinit")
		return err
	})
	k := startKDC(t)
	dataDir, _ := prepareUsers(t, map[string]string{"alice": "admin"})
	certDir := t.TempDir()
	if out, err := exec.Command(binary, "cert", "--host", "localhost", "--out", certDir).CombinedOutput(); err != nil {
		t.Fatalf("replicad cert: %v\n%s", err, out)
	}
	d := startDaemon(t, dataDir, "--keytab", filepath.Join(k.dir, "http.keytab"), "--kerberos-principal", "HTTP/localhost",
		"--allow-unencrypted=false", "--channel-binding", "strict", "--listen-tls", "127.0.0.1:0",
		"--tls-cert", filepath.Join(certDir, "cert.pem"), "--tls-key", filepath.Join(certDir, "key.pem"))
	_, port, _ := net.SplitHostPort(d.addr)
	_, tlsPort, _ := net.SplitHostPort(d.tlsAddr())
	bin := buildReplicactl(t)
	run := func(env []string, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
	noTicket := append(append([]string{}, k.env...), "KRB5CCNAME=FILE:"+filepath.Join(k.dir, "no-such-cache"))
	if code, _, errs := run(noTicket, "--auth", "kerberos", "--url", "http://localhost:"+port+"/wsman", "volume", "list"); code != 1 || !strings.Contains(errs, "credential cache") {
		t.Errorf("without a ticket: status %d %q, want 1 naming the credential cache", code, errs)
	}
	env := k.kinit(t, "alice", "alice-krb")
	if code, out, errs := run(env, "--auth", "kerberos", "--url", "http://localhost:"+port+"/wsman", "volume", "create", "krb1", "--size", "1M"); code != 0 {
		t.Fatalf("volume create over HTTP: status %d\n%s%s\n%s", code, out, errs, d.logText())
	}
	if code, out, errs := run(env, "--auth", "kerberos", "--url", "https://localhost:"+tlsPort+"/wsman",
		"--ca-file", filepath.Join(certDir, "cert.pem"), "volume", "list"); code != 0 || !strings.Contains(out, "krb1") {
		t.Errorf("volume list over HTTPS: status %d %q %q, want krb1", code, out, errs)
	}
	var alice int
	for _, e := range d.waitLogs("wsman", 2) {
		if e["user"] == "alice" {
			alice++
		}
	}
	if alice < 2 {
		t.Errorf("%d requests logged for alice, want the calls of both runs\n%s", alice, d.logText())
	}
}
