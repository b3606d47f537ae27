package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// requireCapability skips the test, with the reason, when the machine
// lacks what it needs (root or CAP_SYS_ADMIN to mount), unless
// REPLICAD_REQUIRE_CLIENTS=1 (make test) makes that a failure.
func requireCapability(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("REPLICAD_REQUIRE_CLIENTS") == "1" {
		t.Fatalf("required (REPLICAD_REQUIRE_CLIENTS=1): "+format, args...)
	}
	t.Skipf(format, args...)
}

// mountTmpfs mounts a tmpfs of size bytes on dir and unmounts it at the
// end of the test; where mounting is not possible (not root, no
// CAP_SYS_ADMIN) it skips the test, or fails it under
// REPLICAD_REQUIRE_CLIENTS=1.
func mountTmpfs(t *testing.T, dir string, size int64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", dir).CombinedOutput()
	if err != nil {
		requireCapability(t, "cannot mount a tmpfs on %s (needs root or CAP_SYS_ADMIN): %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		exec.Command("mount", "-o", "remount,rw", dir).Run()
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// jobError invokes GetError on a finished job and returns the text of its
// OUTPUT element, which carries the embedded CIM_Error.
func (c *replCIM) jobError(job replEPR) string {
	c.t.Helper()
	out, rv := c.invoke(job, "GetError")
	if rv != 0 {
		c.t.Fatalf("GetError: ReturnValue %d, want 0", rv)
	}
	return replElementText(out)
}

// requireAlive checks that the daemon still answers an authenticated
// Enumerate and an anonymous Identify.
func requireAlive(t *testing.T, c *replCIM) {
	t.Helper()
	c.service()
	if code, body := c.d.identifyUnauthenticated(); code != 200 || !strings.Contains(body, "IdentifyResponse") {
		t.Fatalf("Identify: status %d, want 200 and an IdentifyResponse\n%s", code, body)
	}
}

// requireFailedWithError waits for job, requires JobState 10 (Failed) with
// an error code and description, and a CIM_Error from GetError containing
// each of want.
func requireFailedWithError(t *testing.T, c *replCIM, job replEPR, want ...string) *etree.Element {
	t.Helper()
	inst := c.waitJob(job)
	if replProp(inst, "JobState") != "10" || replProp(inst, "ErrorCode") == "0" || replProp(inst, "ErrorDescription") == "" {
		t.Fatalf("job JobState %s ErrorCode %s ErrorDescription %q, want 10, nonzero and a description",
			replProp(inst, "JobState"), replProp(inst, "ErrorCode"), replProp(inst, "ErrorDescription"))
	}
	cimErr := c.jobError(job)
	for _, w := range append([]string{"CIM_Error", "REPLICAD0001"}, want...) {
		if !strings.Contains(cimErr, w) {
			t.Errorf("GetError output lacks %q:\n%s", w, cimErr)
		}
	}
	t.Logf("RELIABILITY fault %s: %s", t.Name(), replProp(inst, "ErrorDescription"))
	return inst
}

// poolEPR returns the EPR of the pool whose InstanceID or ElementName
// mentions name.
func (c *replCIM) poolEPR(name string) replEPR {
	c.t.Helper()
	insts, eprs := c.enumerate(replWMI + "MSISCSITARGET_StoragePool")
	for i, inst := range insts {
		if replProp(inst, "ElementName") == name || strings.HasSuffix(replProp(inst, "InstanceID"), ":"+name) {
			return eprs[i]
		}
	}
	c.t.Fatalf("no pool %s among %d pools", name, len(insts))
	return replEPR{}
}

// waitRunning waits until job reports progress above zero.
func (c *replCIM) waitRunning(job replEPR) {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		j := c.mustGet(job)
		if pc, _ := strconv.Atoi(replProp(j, "PercentComplete")); pc > 0 || replProp(j, "JobState") != "4" && replProp(j, "JobState") != "2" && replProp(j, "JobState") != "3" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job made no progress in a minute: %s", replElementText(j))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFaultTargetPoolFull: the target pool is a small tmpfs that fills up
// while the copy runs; the job fails with a storage capacity CIM_Error,
// leaves no partial file, and the daemon keeps answering.
func TestFaultTargetPoolFull(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("mounts a tmpfs")
	}
	dir := t.TempDir()
	small := filepath.Join(dir, "pools", "small")
	mountTmpfs(t, small, 48<<20)
	replWriteImage(t, dir, "src", 40<<20, 1<<20, 1<<20) // 40 MiB, all data
	d := startDaemon(t, dir, "--copy-bandwidth", strconv.Itoa(8<<20))
	c := newReplCIM(t, d)
	out, rv := c.invoke(c.service(), "CreateElementReplica", replScalar("ElementName", "full"), replScalar("SyncType", "8"),
		c.volumes()["src"].param("SourceElement"), c.poolEPR("small").param("TargetPool"))
	if rv != 4096 {
		t.Fatalf("CreateElementReplica into the small pool: ReturnValue %d, want 4096", rv)
	}
	job := c.out(out, "Job")
	c.waitRunning(job)
	// Something else takes the rest of the filesystem.
	filler, err := os.Create(filepath.Join(small, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for {
		if _, err := filler.Write(buf); err != nil {
			break
		}
	}
	filler.Close()
	requireFailedWithError(t, c, job, "ProbableCause>50<", "no space left on device")
	requireAlive(t, c)
	ents, err := os.ReadDir(small)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "filler" {
			t.Errorf("file %s left in the full pool, want only filler", e.Name())
		}
	}
}

// TestFaultSourceShrinks: the source image is truncated to a quarter
// while it is being copied; the job fails with a CIM_Error that says the
// source changed, rather than reporting a completed copy whose bytes differ
// from the source. At 8 MiB/s its 32 MiB of data take at least 3.5 s (the
// bandwidth limit paces every chunk but the first), so the truncation, sent
// at the first progress, always lands mid-copy.
func TestFaultSourceShrinks(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("throttled copy")
	}
	dir := t.TempDir()
	replWriteImage(t, dir, "src", 64<<20, 1<<20, 2<<20)
	d := startDaemon(t, dir, "--copy-bandwidth", strconv.Itoa(8<<20))
	c := newReplCIM(t, d)
	out, rv := c.invoke(c.service(), "CreateElementReplica", replScalar("ElementName", "shrunk"), replScalar("SyncType", "8"),
		c.volumes()["src"].param("SourceElement"))
	if rv != 4096 {
		t.Fatalf("CreateElementReplica: ReturnValue %d, want 4096", rv)
	}
	job := c.out(out, "Job")
	c.waitRunning(job)
	if err := os.Truncate(filepath.Join(replPoolDir(dir), "src.img"), 16<<20); err != nil {
		t.Fatal(err)
	}
	requireFailedWithError(t, c, job, "source changed")
	requireAlive(t, c)
}

// TestFaultSourceDisappears: the source image is removed while it is being
// copied (mid-copy for sure: 32 MiB at 8 MiB/s take at least 3.5 s). The
// copy holds the file open, but the removal changes the file's ctime, so
// the copy fails with a CIM_Error that says the source changed rather than
// completing a replica of a volume that is gone; the daemon keeps
// answering and reports the source volume as missing rather than dropping
// it.
func TestFaultSourceDisappears(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("throttled copy")
	}
	dir := t.TempDir()
	replWriteImage(t, dir, "src", 64<<20, 1<<20, 2<<20)
	srcPath := filepath.Join(replPoolDir(dir), "src.img")
	d := startDaemon(t, dir, "--copy-bandwidth", strconv.Itoa(8<<20))
	c := newReplCIM(t, d)
	out, rv := c.invoke(c.service(), "CreateElementReplica", replScalar("ElementName", "orphan"), replScalar("SyncType", "8"),
		c.volumes()["src"].param("SourceElement"))
	if rv != 4096 {
		t.Fatalf("CreateElementReplica: ReturnValue %d, want 4096", rv)
	}
	job := c.out(out, "Job")
	c.waitRunning(job)
	if err := os.Remove(srcPath); err != nil {
		t.Fatal(err)
	}
	requireFailedWithError(t, c, job, "source changed")
	if _, err := os.Stat(filepath.Join(replPoolDir(dir), "orphan.img")); !os.IsNotExist(err) {
		t.Errorf("the failed copy left its target orphan.img (stat: %v), want it removed", err)
	}
	requireAlive(t, c)
	if _, ok := c.volumes()["src"]; !ok {
		t.Errorf("the removed source volume is no longer listed, want it listed as missing")
	}
}

// TestFaultStoreReadOnly: the filesystem holding state.db is read-only.
// A read-only remount under a running daemon is refused by Linux (EBUSY:
// the daemon holds state.db open for writing), so the disk turns read-only
// between two runs, with a copy job pending: the daemon must refuse to
// start with an error naming the problem instead of hanging or serving a
// store it cannot write, and once the disk is writable again it starts, the
// job is still there and completes the copy.
func TestFaultStoreReadOnly(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("mounts a tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "data")
	mountTmpfs(t, dir, 256<<20)
	replWriteImage(t, dir, "src", 64<<20, 1<<20, 2<<20)
	d := startDaemon(t, dir, "--copy-bandwidth", strconv.Itoa(8<<20))
	c := newReplCIM(t, d)
	out, rv := c.invoke(c.service(), "CreateElementReplica", replScalar("ElementName", "ro"), replScalar("SyncType", "8"),
		c.volumes()["src"].param("SourceElement"))
	if rv != 4096 {
		t.Fatalf("CreateElementReplica: ReturnValue %d, want 4096", rv)
	}
	job := c.out(out, "Job")
	c.waitRunning(job)
	d.kill9()
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		requireCapability(t, "cannot remount %s read-only: %v: %s", dir, err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs, err := exec.CommandContext(ctx, binary, "--listen", "127.0.0.1:0", "--data-dir", dir, "--log-format", "json").CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("replicad on a read-only data folder kept running for 30 s, want it to exit with an error\n%s", logs)
	}
	if err == nil {
		t.Errorf("replicad on a read-only data folder exited 0, want a failure status\n%s", logs)
	}
	if !strings.Contains(string(logs), "read-only") {
		t.Errorf("replicad on a read-only data folder logged no \"read-only\" reason:\n%s", logs)
	}
	t.Logf("RELIABILITY fault %s: refused to start: %v", t.Name(), err)
	if out, err := exec.Command("mount", "-o", "remount,rw", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount rw: %v: %s", err, out)
	}
	d = startDaemon(t, dir)
	c = newReplCIM(t, d)
	// Killed mid-copy (32 MiB at 8 MiB/s take at least 3.5 s), the job
	// resumes and completes.
	replRequireCompleted(t, c.waitJob(job))
	replSameImage(t, dir, "src", "ro")
	requireAlive(t, c)
	d.stop()
	checkStore(t, dir)
}
