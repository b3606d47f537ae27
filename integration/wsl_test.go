package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// wslRun runs Debian's wsl (a WS-Management shell client from Dell) against
// d, non-interactively, in dir, and returns the reply it saved.
func wslRun(t *testing.T, d *daemon, dir string, args ...string) *etree.Document {
	t.Helper()
	cmd := exec.Command("wsl", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HOME="+dir, "WSENDPOINT="+d.addr, "WSUSER="+d.user, "WSPASS="+d.password,
		"WSNOSSL=true", "WSAUTOMATED=1", "KEEPHISTORY=0", "OUTLEVEL=1", "RETURNFILE="+filepath.Join(dir, "reply.xml"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wsl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "response*.xml"))
	if len(matches) == 0 {
		t.Fatalf("wsl %s saved no response\n%s", strings.Join(args, " "), out)
	}
	latest := matches[0]
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil {
			if lt, _ := os.Stat(latest); st.ModTime().After(lt.ModTime()) {
				latest = m
			}
		}
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(latest); err != nil {
		t.Fatalf("wsl reply %s: %v", latest, err)
	}
	for _, m := range matches {
		os.Remove(m)
	}
	return doc
}

func TestWSL(t *testing.T) {
	requireClient(t, "wsl", lookPath("wsl"))
	d := startDaemon(t, "")
	dir := t.TempDir()

	doc := wslRun(t, d, dir, "id", "check")
	if v := find(doc.Root(), nsIdentity, "ProtocolVersion"); v == nil || v.Text() != nsWSMan {
		t.Errorf("wsl identify: no ProtocolVersion %s\n%s", nsWSMan, docString(doc))
	}

	doc = wslRun(t, d, dir, "enum", uriReplService, "-opti", "50")
	if find(doc.Root(), uriReplService, "MSISCSITARGET_ReplicationService") == nil {
		t.Errorf("wsl enumerate: no MSISCSITARGET_ReplicationService instance\n%s", docString(doc))
	}
	// wsl's default, non-optimized enumeration goes through Pull.
	doc = wslRun(t, d, dir, "enum", uriReplService)
	if find(doc.Root(), uriReplService, "MSISCSITARGET_ReplicationService") == nil {
		t.Errorf("wsl enumerate with Pull: no instance\n%s", docString(doc))
	}
}
