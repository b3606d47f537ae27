package replica_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
)

// clone makes a completed clone of a new volume named name.
func (e *env) clone(name string) *replica.Synchronization {
	e.t.Helper()
	src := e.volume(name, 2*MiB)
	res, err := e.svc.Replicate(context.Background(), replica.Request{Shape: replica.ShapeElement,
		SyncType: replica.SyncTypeClone, SourceElement: src.ID, ElementName: name + "-copy"})
	if err != nil {
		e.t.Fatal(err)
	}
	if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
		e.t.Fatalf("copy job %s: %s", job.State, job.Err)
	}
	return e.sync(res.Syncs[0].ID)
}

// waitState polls until synchronization id is in state (the deadline only
// guards against a hang; the scrub's pace is configured, not asserted).
func (e *env) waitState(id string, state replica.CopyState) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for e.sync(id).CopyState != state {
		if time.Now().After(deadline) {
			e.t.Fatalf("synchronization still %s, want %s", e.sync(id).CopyState, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestScrubFindsMismatch: with a scrub rate set, a target written behind
// replicad's back is found on its own and its pair made Broken; the other
// pair stays Synchronized.
func TestScrubFindsMismatch(t *testing.T) {
	e := newEnv(t, true, replica.Options{ScrubRate: 1 << 40, ScrubPause: time.Millisecond})
	good, bad := e.clone("good"), e.clone("bad")
	const at = 512<<10 + 3
	e.writeAt(bad.Target, at, []byte("bit rot"))
	e.waitState(bad.ID, replica.CopyStateBroken)
	last, ok := e.svc.LastVerify(bad.ID)
	if !ok || !last.Broken || last.Report.Offsets[0] != at {
		t.Fatalf("scrub report of the corrupted pair: %+v (%v), want Broken at %d", last, ok, at)
	}
	// Let a whole pass finish after the mismatch: the good pair is verified too.
	passes := e.svc.IntegrityStats().ScrubPasses
	for e.svc.IntegrityStats().ScrubPasses < passes+2 {
		time.Sleep(5 * time.Millisecond)
	}
	if got := e.sync(good.ID).CopyState; got != replica.CopyStateSynchronized {
		t.Fatalf("untouched pair: %s, want Synchronized", got)
	}
	if r, ok := e.svc.LastVerify(good.ID); !ok || !r.Identical() {
		t.Fatalf("untouched pair not verified identical: %+v, %v", r, ok)
	}
	if st := e.svc.IntegrityStats(); st.Mismatches != 1 {
		t.Fatalf("stats %+v, want exactly 1 mismatch (a Broken pair is not scrubbed again)", st)
	}
}

// TestScrubSkipsBusyPairs: a leased pair is left for the next pass, and the
// scrub finds its mismatch once the lease is gone.
func TestScrubSkipsBusyPairs(t *testing.T) {
	e := newEnv(t, true, replica.Options{ScrubRate: 1 << 40, ScrubPause: time.Millisecond})
	x := e.clone("busy")
	var rel func()
	for { // the scrub itself may hold the lease for a moment
		var err error
		if rel, err = e.vols.Acquire(x.Source, "test"); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	e.writeAt(x.Target, 0, []byte("x"))
	passes := e.svc.IntegrityStats().ScrubPasses
	for e.svc.IntegrityStats().ScrubPasses < passes+2 {
		time.Sleep(5 * time.Millisecond)
	}
	if got := e.sync(x.ID).CopyState; got != replica.CopyStateSynchronized {
		t.Fatalf("leased pair: %s; the scrub must not verify it", got)
	}
	rel()
	e.waitState(x.ID, replica.CopyStateBroken)
}

// TestScrubOff: without a rate no scrub loop is started (with one, it
// is), so no pair is verified.
func TestScrubOff(t *testing.T) {
	if on := newEnv(t, true, replica.Options{ScrubRate: 1 << 20, ScrubPause: time.Hour}); !on.svc.ScrubRunning() {
		t.Fatal("ScrubRate set: no scrub loop")
	}
	e := newEnv(t, true, replica.Options{ScrubPause: time.Millisecond})
	if e.svc.ScrubRunning() {
		t.Fatal("ScrubRate 0: a scrub loop runs")
	}
	x := e.clone("off")
	e.writeAt(x.Target, 0, []byte("x"))
	if st := e.svc.IntegrityStats(); st.ScrubPasses != 0 || st.Verifications != 0 {
		t.Fatalf("scrub ran with rate 0: %+v", st)
	}
	if got := e.sync(x.ID).CopyState; got != replica.CopyStateSynchronized {
		t.Fatalf("state %s", got)
	}
}

// TestScrubWindows: a pair larger than the scrub's window is compared
// window by window, and a mismatch in a later window is found.
func TestScrubWindows(t *testing.T) {
	e := newEnv(t, true, replica.Options{ScrubRate: 1 << 40, ScrubPause: time.Millisecond})
	src := e.volume("big", 600*MiB) // sparse: data at 0, 300 MiB and the end
	res, err := e.svc.Replicate(context.Background(), replica.Request{Shape: replica.ShapeElement,
		SyncType: replica.SyncTypeClone, SourceElement: src.ID, ElementName: "big-copy"})
	if err != nil {
		t.Fatal(err)
	}
	if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
		t.Fatalf("copy job %s: %s", job.State, job.Err)
	}
	x := res.Syncs[0]
	const at = 600*MiB - 1000 // in the third window
	v, err := e.vols.Get(context.Background(), x.Target)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(v.Path())
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	_, err = f.ReadAt(b, at)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	e.writeAt(x.Target, at, []byte{^b[0]}) // differs whatever was there
	e.waitState(x.ID, replica.CopyStateBroken)
	last, _ := e.svc.LastVerify(x.ID)
	if last.Report.Offsets[0] != at || last.Report.BytesCompared > 256*MiB {
		t.Fatalf("scrub report %+v, want first offset %d in a window of at most 256 MiB", last.Report, at)
	}
	if st := e.svc.IntegrityStats(); st.Verifications < 3 {
		t.Fatalf("stats %+v: want at least 3 windows compared", st)
	}
}
