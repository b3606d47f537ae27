package integration

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

// TestReplicactlCertificate: replicactl --auth certificate with a client
// certificate mapped by `replicad user cert` lists volumes over HTTPS as
// that user, even with the user's password and unknown names being
// guessed from the same address (a certificate logon is never throttled);
// an unmapped
// certificate is refused with a line naming the mapping command.
func TestReplicactlCertificate(t *testing.T) {
	t.Parallel()
	dataDir, _ := prepareUsers(t, map[string]string{"certuser": "admin"})
	dir := t.TempDir()
	now := time.Now()
	from, to := now.Add(-time.Hour), now.Add(24*time.Hour)
	mapped := makeCert(t, dir, "mapped", clientTmpl(from, to, "", x509.ExtKeyUsageClientAuth)(t), nil)
	unmapped := makeCert(t, dir, "unmapped", clientTmpl(from, to, "", x509.ExtKeyUsageClientAuth)(t), nil)
	if out, err := replicadUser(t, dataDir, "cert", "certuser", mapped.certFile); err != nil {
		t.Fatalf("replicad user cert: %v\n%s", err, out)
	}
	d := startTLSDaemon(t, dataDir, "--allow-unencrypted=false")
	c := ctl{t: t, bin: buildReplicactl(t), d: d}
	url := "https://" + d.tlsAddr() + "/wsman"
	// Guesses at certuser and at names that are no user put both pairs of
	// this address in backoff.
	for i := 0; i < 12; i++ {
		c.run("--url", url, "--insecure", "--user", "certuser", "--password", "wrong", "volume", "list")
		c.run("--url", url, "--insecure", "--user", "nobody", "--password", "wrong", "volume", "list")
	}
	if !d.waitText(`"user":"<unknown>"`) || !d.waitText("wsman logons throttled") {
		t.Fatalf("the guesses put no pair in backoff\n%s", d.logText())
	}
	out := c.must("--auth", "certificate", "--url", url, "--insecure", "--cert-file", mapped.certFile, "--key-file", mapped.keyFile, "volume", "list")
	if !loggedUser(d, "certuser") {
		t.Errorf("no access log line for certuser (output %q)\n%s", out, d.logText())
	}
	code, _, errs := c.run("--auth", "certificate", "--url", url, "--insecure", "--cert-file", unmapped.certFile, "--key-file", unmapped.keyFile, "volume", "list")
	if code != 1 || !strings.Contains(errs, "replicad user cert") {
		t.Errorf("unmapped certificate: status %d %q, want 1 naming replicad user cert", code, errs)
	}
}
