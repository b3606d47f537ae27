package integration

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCatchUpCopiesTheChange: after a small change to the source of an
// Asynchronous Mirror, the mirror loop's catch-up copies only the blocks
// that changed, and so does Resync Replica after a Fracture: the copy
// metric (replicad_copy_bytes_total) grows by the changed 64 KiB blocks,
// not by the volume's 16 MiB of data.
func TestCatchUpCopiesTheChange(t *testing.T) {
	t.Parallel()
	const block = 64 << 10
	dir := t.TempDir()
	replWriteImage(t, dir, "data", 32<<20, 1<<20, 2<<20) // 16 MiB of data
	d := startDaemon(t, dir, "--mirror-lag", "400ms", "--metrics-listen", "127.0.0.1:0")
	metrics := metricsAddr(t, d)
	copied := func() int64 {
		t.Helper()
		return int64(metricValue(t, scrapeMetrics(t, metrics), "replicad_copy_bytes_total"))
	}
	// read is what Resync passes read to find the change, tracked or not
	// (0 before the first such pass).
	read := func(tracked bool) int64 {
		t.Helper()
		name := fmt.Sprintf("replicad_resync_read_bytes_total{tracked=%q}", strconv.FormatBool(tracked))
		m := scrapeMetrics(t, metrics)
		if !strings.Contains(m, name+" ") {
			return 0
		}
		return int64(metricValue(t, m, name))
	}
	c := newReplCIM(t, d)
	svc := c.service()
	out, rv := c.invoke(svc, "CreateElementReplica", replScalar("ElementName", "m"), replScalar("SyncType", "6"),
		replScalar("Mode", "3"), c.volumes()["data"].param("SourceElement"), replScalar("WaitForCopyState", "4"))
	if rv != 0 && rv != 4096 {
		t.Fatalf("CreateElementReplica Mirror: ReturnValue %d, want 0 or 4096", rv)
	}
	replRequireCompleted(t, c.waitJob(c.out(out, "Job")))
	sync := c.out(out, "Synchronization")
	replSameImage(t, dir, "data", "m")
	if got := copied(); got < 16<<20 {
		t.Fatalf("replicad_copy_bytes_total %d after the initial copy of 16 MiB of data", got)
	}
	// mirrorCaughtUp waits until the mirror of synchronization x, image
	// target, is Synchronized again after WhenSynced since, equal to data.
	mirrorCaughtUp := func(x replEPR, target, since string) string {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			s := c.mustGet(x)
			when := replDatetime(s, "WhenSynced")
			if replProp(s, "CopyState") == "4" && when != "" && when != since && replImage(t, dir, "data") == replImage(t, dir, target) {
				return when
			}
			if time.Now().After(deadline) {
				t.Fatalf("mirror %s did not catch up: CopyState %s WhenSynced %s", target, replProp(s, "CopyState"), when)
			}
		}
	}
	caughtUp := func(since string) string { t.Helper(); return mirrorCaughtUp(sync, "m", since) }
	// change writes into n blocks of the source, one in a hole, as another
	// process (an initiator through tgtd) would.
	change := func(n int, tag string) {
		t.Helper()
		for i := range n {
			replWriteAt(t, dir, "data", int64(i)*5<<20+int64(i)*block+100, []byte(tag+" written by another process"))
		}
	}

	// The first catch-up of a new mirror has no hash sidecar to vouch for
	// its target: it reads both sides once (16 MiB of data each, and the
	// source's 2 blocks written into holes) and leaves one.
	when := replDatetime(c.mustGet(sync), "WhenSynced")
	before := copied()
	change(4, "first")
	when = caughtUp(when)
	if got := copied() - before; got < 4*block || got > 8*block {
		t.Errorf("the first catch-up of 4 changed blocks copied %d bytes, want %d (at most %d)", got, 4*block, 8*block)
	}
	if got := read(false); got > 32<<20+2*block {
		t.Errorf("the first catch-up read %d bytes, more than both sides' data (%d)", got, 32<<20+2*block)
	}
	before, readBefore := copied(), read(false)
	change(4, "followed")
	when = caughtUp(when)
	if got := copied() - before; got < 4*block || got > 8*block {
		t.Errorf("the catch-up of 4 changed blocks copied %d bytes, want %d (at most %d)", got, 4*block, 8*block)
	}
	// Nothing tracked this change: the source's data is read once (16
	// MiB and the 2 blocks written into holes), the target's sidecar
	// vouching for the target.
	if got := read(false) - readBefore; got > 16<<20+2*block {
		t.Errorf("the catch-up read %d bytes, more than the source's data (%d)", got, 16<<20+2*block)
	}

	if _, rv := c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "12"), sync.param("Synchronization")); rv != 0 {
		t.Fatalf("Fracture: %d", rv)
	}
	before = copied()
	change(2, "fractured")
	if _, rv := c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "14"), sync.param("Synchronization"),
		replScalar("WaitForCopyState", "4")); rv != 0 && rv != 4096 {
		t.Fatalf("Resync Replica: %d", rv)
	}
	when = caughtUp(when)
	if got := copied() - before; got < 2*block || got > 4*block {
		t.Errorf("Resync Replica of 2 changed blocks copied %d bytes, want %d (at most %d)", got, 2*block, 4*block)
	}

	// A second mirror of data; once a catch-up has compared it whole (its
	// sidecar then vouches for its target), a Restore from m writes 3
	// blocks onto data, and the second mirror catches up from those
	// blocks alone: replicad wrote them, it knows which.
	out, rv = c.invoke(svc, "CreateElementReplica", replScalar("ElementName", "m2"), replScalar("SyncType", "6"),
		replScalar("Mode", "3"), c.volumes()["data"].param("SourceElement"), replScalar("WaitForCopyState", "4"))
	if rv != 0 && rv != 4096 {
		t.Fatalf("CreateElementReplica of a second Mirror: ReturnValue %d, want 0 or 4096", rv)
	}
	replRequireCompleted(t, c.waitJob(c.out(out, "Job")))
	sync2 := c.out(out, "Synchronization")
	when2 := replDatetime(c.mustGet(sync2), "WhenSynced")
	change(1, "second")
	when2 = mirrorCaughtUp(sync2, "m2", when2)
	caughtUp(when)
	if _, rv := c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "12"), sync.param("Synchronization")); rv != 0 {
		t.Fatalf("Fracture: %d", rv)
	}
	for i := range 3 {
		replWriteAt(t, dir, "m", int64(i)*7<<20+300, []byte("written into the replica, restored onto the source"))
	}
	trackedBefore := read(true)
	if _, rv := c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "15"), sync.param("Synchronization"),
		replScalar("WaitForCopyState", "4")); rv != 0 && rv != 4096 {
		t.Fatalf("Restore From Replica: %d", rv)
	}
	mirrorCaughtUp(sync2, "m2", when2)
	if got := read(true) - trackedBefore; got <= 0 || got > 3*block {
		t.Errorf("the second mirror's catch-up after a Restore of 3 blocks read %d bytes as a tracked change, want the 3 blocks (%d) at most", got, 3*block)
	}
}
