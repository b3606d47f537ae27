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

// TestInterruptedGroupRecordsFinishedMembers stops the daemon while the
// last member of a group copies: the members finished before it are
// recorded Synchronized, with their stamps, by the time the job has
// stopped (the batch is flushed on the way out), and the resumed job
// completes the group with equal bytes.
func TestInterruptedGroupRecordsFinishedMembers(t *testing.T) {
	e := newEnv(t, true, replica.Options{BandwidthLimit: 8 * MiB})
	ctx := context.Background()
	a, b := e.volume("a", MiB), e.volume("b", MiB)
	c := e.filled("c", 24*MiB)
	g, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "g", Members: []volumes.ID{a.ID, b.ID, c.ID}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone,
		SourceGroup: g.ID, RelationshipName: "r"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := e.jobs.Get(res.JobID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State.Final() || time.Now().After(deadline) {
			t.Fatalf("job %s before its last member was copying", j.State)
		}
		if j.Total > 0 && j.Done > 2*j.Total/3 {
			break // the third member is copying
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.jobs.Close() // the stop: the handler returns
	for _, x := range res.Syncs[:2] {
		got, err := e.svc.Synchronization(ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.CopyState != replica.CopyStateSynchronized || got.SourceStamp == "" {
			t.Fatalf("finished member %s after the stop: %s, stamp %q; want Synchronized with a stamp", x.Target, got.CopyState, got.SourceStamp)
		}
	}
	if got, _ := e.svc.Synchronization(ctx, res.Syncs[2].ID); got == nil || got.CopyState != replica.CopyStateUnsynchronized {
		t.Fatalf("the member being copied at the stop: %+v; want Unsynchronized", got)
	}
	e.reopen(true)
	if j := e.wait(res.JobID); j.State != jobqueue.StateCompleted || j.Attempts < 2 {
		t.Fatalf("job %s after %d attempts (%s); want Completed after a resume", j.State, j.Attempts, j.Err)
	}
	for i, x := range res.Syncs {
		e.sameBytes([]volumes.ID{a.ID, b.ID, c.ID}[i], x.Target)
	}
}
