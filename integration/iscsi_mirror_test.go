package integration

import (
	"testing"
	"time"
)

// TestISCSIMirrorFollows: an Asynchronous Mirror of an exposed volume
// follows writes an initiator makes through the target (end to end, not
// writes to the file).
func TestISCSIMirrorFollows(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sparseImage(t, dir, "data", 8<<20)
	r := startISCSI(t, dir, "--mirror-lag", "400ms")
	_, iqn := r.expose([]string{"data"}, []string{iscsiInitiatorA}, false)
	svc := r.c.service()
	_, vol := r.volume("data")
	out, rv := r.c.invoke(svc, "CreateElementReplica", replScalar("ElementName", "m"), replScalar("SyncType", "6"),
		replScalar("Mode", "3"), vol.param("SourceElement"), replScalar("WaitForCopyState", "4"))
	if rv != 0 && rv != 4096 {
		t.Fatalf("CreateElementReplica Mirror: ReturnValue %d", rv)
	}
	replRequireCompleted(t, r.c.waitJob(r.c.out(out, "Job")))
	replSameImage(t, dir, "data", "m")

	if out, err := r.qemuIO(iscsiInitiatorA, iqn, 1, "write -P 0x5c 2M 1M", "write -P 0xc5 7M 4k", "flush"); err != nil {
		t.Fatalf("write through the target: %v\n%s", err, out)
	}
	src := replImage(t, dir, "data")
	if src[2<<20] != 0x5c || src[7<<20] != 0xc5 {
		t.Fatal("the initiator's writes are not in the source volume")
	}
	deadline := time.Now().Add(time.Minute)
	for replImage(t, dir, "m") != src {
		if time.Now().After(deadline) {
			t.Fatal("the mirror did not follow the writes made through iSCSI within a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
