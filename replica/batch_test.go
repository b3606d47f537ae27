package replica_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// TestGroupCopyCommitsAreBatched counts the store commits of the copy job
// of a 64-member Clone group replica: the members' durable bookkeeping
// (copy states, source stamps, the job's checkpoint) is written in a few
// group commits, not in several commits per member, so the count does not
// grow with the group. The clock is frozen, so no commit is due to time.
func TestGroupCopyCommitsAreBatched(t *testing.T) {
	frozen := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	e := &env{t: t, dir: t.TempDir(), opts: replica.Options{Now: func() time.Time { return frozen }}, progressEvery: time.Hour}
	e.open(false)
	t.Cleanup(e.close)
	ctx := context.Background()
	const members = 64
	var ids []volumes.ID
	for i := range members {
		v, err := e.vols.Create(ctx, volumes.DefaultPool, fmt.Sprintf("m%02d", i), 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	g, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "sources", Members: ids})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone,
		SourceGroup: g.ID, RelationshipName: "batched"})
	if err != nil {
		t.Fatal(err)
	}
	before := e.db.Commits()
	e.jobs.Start()
	if j := e.wait(res.JobID); j.State != jobqueue.StateCompleted {
		t.Fatalf("copy job %s: %s", j.State, j.Err)
	}
	commits := e.db.Commits() - before
	t.Logf("%d store commits for the copy of %d members", commits, members)
	// The job's own (taken, finished), one to start the members, one
	// group commit with its checkpoint, the operation's end: a handful.
	if commits > 10 {
		t.Fatalf("the copy of a %d-member group took %d store commits; want at most 10, whatever the group's size", members, commits)
	}
	for _, x := range res.Syncs {
		got, err := e.svc.Synchronization(ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.CopyState != replica.CopyStateSynchronized || got.SourceStamp == "" {
			t.Fatalf("member %s → %s: %s, stamp %q after the job; want Synchronized with a stamp", x.Source, x.Target, got.CopyState, got.SourceStamp)
		}
	}
}
