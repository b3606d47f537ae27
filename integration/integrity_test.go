package integration

import (
	"crypto/rand"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestResyncAfterTargetWrittenCmp is issue 14's repro over the wire with
// the real daemon: Clone, Resync Replica (which writes the target's hash
// sidecar), Fracture, 256 KiB written into the target by another process,
// Resync Replica. The replica must then be Synchronized and cmp must find
// the two images equal.
func TestResyncAfterTargetWrittenCmp(t *testing.T) {
	t.Parallel()
	cmp, err := exec.LookPath("cmp")
	if err != nil {
		t.Fatalf("cmp (diffutils) is needed: %v", err)
	}
	dir := t.TempDir()
	replWriteImage(t, dir, "data", 8<<20, 64<<10, 1<<20)
	d := startDaemon(t, dir)
	c := newReplCIM(t, d)
	svc := c.service()
	vols := c.volumes()

	out, rv := c.invoke(svc, "CreateElementReplica", replScalar("ElementName", "clone"), replScalar("SyncType", "8"),
		vols["data"].param("SourceElement"), replScalar("WaitForCopyState", "4"))
	if rv != 0 && rv != 4096 {
		t.Fatalf("CreateElementReplica Clone: ReturnValue %d", rv)
	}
	replRequireCompleted(t, c.waitJob(c.out(out, "Job")))
	sync := c.out(out, "Synchronization")
	modify := func(op string) {
		t.Helper()
		out, rv := c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", op), sync.param("Synchronization"),
			replScalar("WaitForCopyState", "4"))
		switch rv {
		case 4096:
			replRequireCompleted(t, c.waitJob(c.out(out, "Job")))
		case 0:
		default:
			t.Fatalf("ModifyReplicaSynchronization Operation %s: ReturnValue %d", op, rv)
		}
	}
	modify("14") // Resync Replica: the hash sidecar now describes the target
	if _, rv := c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "12"), sync.param("Synchronization")); rv != 0 {
		t.Fatalf("Fracture: ReturnValue %d", rv)
	}
	garbage := make([]byte, 256<<10)
	rand.Read(garbage)
	replWriteAt(t, dir, "clone", 3<<20, garbage)
	modify("14")

	s := c.mustGet(sync)
	if got := replProp(s, "CopyState"); got != "4" {
		t.Errorf("CopyState after Resync %s, want 4 (Synchronized)", got)
	}
	res, err := exec.Command(cmp, filepath.Join(replPoolDir(dir), "data.img"), filepath.Join(replPoolDir(dir), "clone.img")).CombinedOutput()
	if err != nil {
		t.Fatalf("cmp data.img clone.img after Resync (CopyState %s, PercentSynced %s): %v: %s",
			replProp(s, "CopyState"), replProp(s, "PercentSynced"), err, res)
	}
	t.Logf("RELIABILITY integrity_resync written_into_target=%d copystate=%s percent_synced=%s cmp=equal", len(garbage), replProp(s, "CopyState"), replProp(s, "PercentSynced"))
}
