package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// symlinkSecret writes, outside the data directory, a 4 MiB file made of a
// random 64-byte token repeated, and returns its path and the token.
func symlinkSecret(t *testing.T) (string, []byte) {
	t.Helper()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	token := []byte(hex.EncodeToString(raw))
	path := filepath.Join(t.TempDir(), "secret.img")
	if err := os.WriteFile(path, bytes.Repeat(token, (4<<20)/len(token)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, token
}

// symlinkSwap replaces the default pool's name.img with a symlink to target.
func symlinkSwap(t *testing.T, dataDir, name, target string) {
	t.Helper()
	img := filepath.Join(replPoolDir(dataDir), name+".img")
	if err := os.Remove(img); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, img); err != nil {
		t.Fatal(err)
	}
}

// symlinkNoLeak fails if any regular file under the data directory's pools
// (images, partial copies, sidecars) holds token.
func symlinkNoLeak(t *testing.T, dataDir string, token []byte) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(dataDir, "pools"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, token) {
			t.Errorf("%s holds the bytes of the file outside the pool", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// symlinkClone asks for a Clone of source named name and checks the answer:
// the call is refused (neither 0 nor 4096) or its job fails.
func symlinkClone(t *testing.T, c *replCIM, source replEPR, name string) {
	t.Helper()
	out, rv := c.invoke(c.service(), "CreateElementReplica", replScalar("ElementName", name), replScalar("SyncType", "8"),
		source.param("SourceElement"))
	t.Logf("CreateElementReplica of a symlinked %s: ReturnValue %d", name, rv)
	switch rv {
	case 0:
		t.Errorf("CreateElementReplica of a symlinked source: ReturnValue 0 (copied), want a refusal or a failed job")
	case 4096:
		requireFailedWithError(t, c, c.out(out, "Job"))
	}
}

// TestSymlinkSwap (issue 14 item 5): a volume's image file is replaced by a
// symlink to a file outside the pool, before the Clone request and after it
// was accepted (while its job waits for a worker). Every request is refused
// or its job fails; no file in the pools holds the outside file's bytes, and
// the outside file is unchanged.
func TestSymlinkSwap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret, token := symlinkSecret(t)
	want := fileHash(t, secret)
	replWriteImage(t, dir, "before", 4<<20, 64<<10, 1<<20)
	replWriteImage(t, dir, "after", 4<<20, 64<<10, 1<<20)
	// Two slow copies hold both job workers while the swap happens.
	replWriteImage(t, dir, "busy1", 32<<20, 1<<20, 2<<20)
	replWriteImage(t, dir, "busy2", 32<<20, 1<<20, 2<<20)
	d := startDaemon(t, dir, "--copy-bandwidth", strconv.Itoa(2<<20))
	c := newReplCIM(t, d)
	vols := c.volumes()

	// Swapped before the request.
	symlinkSwap(t, dir, "before", secret)
	symlinkClone(t, c, vols["before"], "before-copy")

	// Swapped after the request's checks, before the copy opens the source.
	var busy []replEPR
	for _, name := range []string{"busy1", "busy2"} {
		out, rv := c.invoke(c.service(), "CreateElementReplica", replScalar("ElementName", name+"-copy"), replScalar("SyncType", "8"),
			vols[name].param("SourceElement"))
		if rv != 4096 {
			t.Fatalf("CreateElementReplica %s: ReturnValue %d, want 4096", name, rv)
		}
		job := c.out(out, "Job")
		c.waitRunning(job)
		busy = append(busy, job)
	}
	out, rv := c.invoke(c.service(), "CreateElementReplica", replScalar("ElementName", "after-copy"), replScalar("SyncType", "8"),
		vols["after"].param("SourceElement"))
	if rv != 4096 {
		t.Fatalf("CreateElementReplica after: ReturnValue %d, want 4096 (accepted, then swapped)", rv)
	}
	job := c.out(out, "Job")
	symlinkSwap(t, dir, "after", secret)
	if st := replProp(c.mustGet(job), "JobState"); st != "2" && st != "3" {
		t.Fatalf("the job of the swapped volume is in state %s before the swap took effect, want 2 or 3 (waiting for a worker)", st)
	}
	for _, b := range busy {
		if _, rv := c.invoke(b, "RequestStateChange", replScalar("RequestedState", "4")); rv != 0 {
			t.Logf("terminate a busy copy: ReturnValue %d", rv)
		}
	}
	state := replProp(c.waitJob(job), "JobState")
	symlinkNoLeak(t, dir, token)
	if state != "10" {
		t.Errorf("the job of the swapped volume ended in state %s, want 10 (Failed)", state)
	} else {
		requireFailedWithError(t, c, job)
	}
	if got := fileHash(t, secret); got != want {
		t.Errorf("the file outside the pool changed: hash %s, want %s", got, want)
	}
	requireAlive(t, c)
	t.Logf("RELIABILITY symlink_swap swapped_after_accept_job_state=%s outside_bytes_in_pools=none", state)
}
