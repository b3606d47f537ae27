package replica_test

import (
	"context"
	"testing"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
)

// TestCloneJobCommits counts the store commits of one Clone's copy job,
// from its claim to its end: the claim, the member set Unsynchronized as
// the copy starts, and one commit that records the member Synchronized with
// its source stamp, the operation done and the job Completed together
// (jobqueue.Run.Complete). Each commit is two fdatasyncs of the state
// database, a fixed cost of every clone however small. The clone itself is
// checked: same bytes, Synchronized with a stamp. The clock is frozen and
// progress is written hourly, so no commit is due to time.
func TestCloneJobCommits(t *testing.T) {
	frozen := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	e := &env{t: t, dir: t.TempDir(), opts: replica.Options{Now: func() time.Time { return frozen }}, progressEvery: time.Hour}
	e.open(false)
	t.Cleanup(e.close)
	ctx := context.Background()
	src := e.volume("src", 4*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{SyncType: replica.SyncTypeClone, SourceElement: src.ID, ElementName: "c"})
	if err != nil {
		t.Fatal(err)
	}
	before := e.db.Commits()
	e.jobs.Start()
	if j := e.wait(res.JobID); j.State != jobqueue.StateCompleted {
		t.Fatalf("copy job %s: %s", j.State, j.Err)
	}
	if n := e.db.Commits() - before; n != 3 {
		t.Errorf("the copy job of one clone took %d store commits; want 3 (claim, start, end)", n)
	}
	x, err := e.svc.Synchronization(ctx, res.Syncs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if x.CopyState != replica.CopyStateSynchronized || x.SourceStamp == "" {
		t.Errorf("clone after its job: %s, stamp %q; want Synchronized with a stamp", x.CopyState, x.SourceStamp)
	}
	e.sameBytes(src.ID, res.Syncs[0].Target)
}
