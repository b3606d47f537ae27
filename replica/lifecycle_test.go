package replica_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// pair makes a completed replica of a new 4 MiB volume and returns the
// synchronization.
func (e *env) pair(syncType replica.SyncType) *replica.Synchronization {
	e.t.Helper()
	ctx := context.Background()
	src := e.volume("src", 4*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: syncType,
		SourceElement: src.ID, ElementName: "copy"})
	if err != nil {
		e.t.Fatal(err)
	}
	if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
		e.t.Fatalf("copy job %s: %s", job.State, job.Err)
	}
	return e.sync(res.Syncs[0].ID)
}

func (e *env) sync(id string) *replica.Synchronization {
	e.t.Helper()
	x, err := e.svc.Synchronization(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Synchronization(%s): %v", id, err)
	}
	return x
}

// modify runs op and, for an asynchronous one, waits for its job.
func (e *env) modify(id string, op replica.Operation, opts replica.ModifyOptions) (replica.ModifyResult, error) {
	e.t.Helper()
	res, err := e.svc.Modify(context.Background(), id, op, opts)
	if err == nil && res.JobID != "" {
		if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
			e.t.Fatalf("%s job %s: %s", op, job.State, job.Err)
		}
	}
	return res, err
}

// writeAt overwrites len(b) bytes of volume id at off, as another process
// would (straight into the image file).
func (e *env) writeAt(id volumes.ID, off int64, b []byte) {
	e.t.Helper()
	v, err := e.vols.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	f, err := os.OpenFile(v.Path(), os.O_WRONLY, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) image(id volumes.ID) []byte {
	e.t.Helper()
	v, err := e.vols.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := os.ReadFile(v.Path())
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// TestModifyTransitions runs every operation from every state a
// synchronization can be brought to, and checks the state it ends in or
// the error that leaves it as it was.
func TestModifyTransitions(t *testing.T) {
	states := []replica.CopyState{replica.CopyStateSynchronized, replica.CopyStateFractured, replica.CopyStateSplit,
		replica.CopyStateAborted, replica.CopyStateUnsynchronized}
	const gone = replica.CopyState(0)
	type want struct {
		state replica.CopyState // after success; gone when the association ends
		err   error
	}
	ok := func(s replica.CopyState) want { return want{state: s} }
	bad := func(err error) want { return want{err: err} }
	S, F, P, A, U := states[0], states[1], states[2], states[3], states[4]
	_ = U
	table := map[replica.Operation]map[replica.CopyState]want{
		replica.OpFracture:     {S: ok(F), F: bad(replica.ErrInvalidState), P: bad(replica.ErrInvalidState), A: bad(replica.ErrInvalidState), U: bad(replica.ErrCopyInProgress)},
		replica.OpSplit:        {S: ok(P), F: bad(replica.ErrInvalidState), P: bad(replica.ErrInvalidState), A: bad(replica.ErrInvalidState), U: bad(replica.ErrCopyInProgress)},
		replica.OpResync:       {S: ok(S), F: ok(S), P: ok(S), A: ok(S), U: bad(replica.ErrCopyInProgress)},
		replica.OpRestore:      {S: ok(S), F: ok(S), P: ok(S), A: bad(replica.ErrInvalidState), U: bad(replica.ErrCopyInProgress)},
		replica.OpDetach:       {S: ok(gone), F: ok(gone), P: ok(gone), A: ok(gone), U: bad(replica.ErrCopyInProgress)},
		replica.OpDissolve:     {S: ok(gone), F: ok(gone), P: ok(gone), A: ok(gone), U: bad(replica.ErrCopyInProgress)},
		replica.OpReturnToPool: {S: ok(gone), F: ok(gone), P: ok(gone), A: ok(gone), U: bad(replica.ErrCopyInProgress)},
		replica.OpAbort:        {S: bad(replica.ErrInvalidState), F: bad(replica.ErrInvalidState), P: bad(replica.ErrInvalidState), A: bad(replica.ErrInvalidState), U: ok(A)},
		replica.OpSuspend:      {S: bad(replica.ErrNotSupported)},
		replica.OpResume:       {S: bad(replica.ErrNotSupported)},
	}
	for op, row := range table {
		for from, w := range row {
			t.Run(op.String()+"/from "+from.String(), func(t *testing.T) {
				e := newEnv(t, true, replica.Options{})
				ctx := context.Background()
				x := e.pair(replica.SyncTypeClone)
				started := true
				switch from {
				case F, P:
					if _, err := e.modify(x.ID, map[replica.CopyState]replica.Operation{F: replica.OpFracture, P: replica.OpSplit}[from], replica.ModifyOptions{}); err != nil {
						t.Fatal(err)
					}
				case A, U:
					// A queue that is not started keeps the Resync job New.
					e.reopen(false)
					started = false
					if _, err := e.svc.Modify(ctx, x.ID, replica.OpResync, replica.ModifyOptions{}); err != nil {
						t.Fatal(err)
					}
					if from == A {
						if _, err := e.svc.Modify(ctx, x.ID, replica.OpAbort, replica.ModifyOptions{}); err != nil {
							t.Fatal(err)
						}
						e.jobs.Start()
						started = true
					}
				}
				if got := e.sync(x.ID).CopyState; got != from {
					t.Fatalf("set-up state %s, want %s", got, from)
				}
				res, err := e.svc.Modify(ctx, x.ID, op, replica.ModifyOptions{})
				if w.err != nil {
					if !errors.Is(err, w.err) {
						t.Fatalf("got error %v, want %v", err, w.err)
					}
					if got := e.sync(x.ID).CopyState; got != from {
						t.Errorf("state after refused %s: got %s, want %s", op, got, from)
					}
					return
				}
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if res.JobID != "" {
					if !started {
						t.Fatal("an asynchronous operation with the queue stopped")
					}
					if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
						t.Fatalf("%s job %s: %s", op, job.State, job.Err)
					}
				}
				got, err := e.svc.Synchronization(ctx, x.ID)
				if w.state == gone {
					if !errors.Is(err, replica.ErrSyncNotFound) || !res.Ended {
						t.Fatalf("after %s: got %v (ended %v), want ErrSyncNotFound", op, err, res.Ended)
					}
					_, terr := e.vols.Get(ctx, x.Target)
					if wantGone := op == replica.OpReturnToPool; errors.Is(terr, volumes.ErrNotFound) != wantGone {
						t.Errorf("target lookup after %s: got %v, want deleted=%v", op, terr, wantGone)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.CopyState != w.state || got.Activity != replica.ActivityNone {
					t.Errorf("after %s: got %s (activity %q), want %s", op, got.CopyState, got.Activity, w.state)
				}
			})
		}
	}
}

// TestResyncCopiesChanges overwrites parts of the source, resyncs and
// compares; a second resync without changes writes nothing.
func TestResyncCopiesChanges(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	x := e.pair(replica.SyncTypeClone)
	e.writeAt(x.Source, 1*MiB+4096, []byte("changed after the point in time"))
	if _, err := e.modify(x.ID, replica.OpFracture, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	e.writeAt(x.Source, 3*MiB, []byte("changed while fractured"))
	before := e.sync(x.ID).Synchronized
	if _, err := e.modify(x.ID, replica.OpResync, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	e.sameBytes(x.Source, x.Target)
	if got := e.sync(x.ID); got.CopyState != replica.CopyStateSynchronized || !got.Synchronized.After(before) {
		t.Errorf("got %s synchronized %v, want Synchronized after %v", got.CopyState, got.Synchronized, before)
	}
	res, err := e.modify(x.ID, replica.OpResync, replica.ModifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j, _ := e.jobs.Get(res.JobID)
	if j.PercentComplete != 100 {
		t.Errorf("second resync: got %d%%, want 100%%", j.PercentComplete)
	}
}

// TestSnapshotRestore: a snapshot does not follow its source; Restore From
// Replica writes its bytes back.
func TestSnapshotRestore(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	x := e.pair(replica.SyncTypeSnapshot)
	pit := e.image(x.Target)
	e.writeAt(x.Source, 0, make([]byte, 256<<10))
	e.writeAt(x.Source, 2*MiB+17, []byte("overwritten"))
	if got := e.image(x.Target); string(got) != string(pit) {
		t.Fatal("the snapshot changed with its source")
	}
	if string(e.image(x.Source)) == string(pit) {
		t.Fatal("set-up: the source did not change")
	}
	if _, err := e.modify(x.ID, replica.OpRestore, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if string(e.image(x.Source)) != string(pit) {
		t.Error("after Restore From Replica the source differs from the snapshot")
	}
	if string(e.image(x.Target)) != string(pit) {
		t.Error("Restore From Replica changed the snapshot")
	}
	if got := e.sync(x.ID).CopyState; got != replica.CopyStateSynchronized {
		t.Errorf("got %s, want Synchronized", got)
	}
}

// TestModifyPersists: a state survives a restart.
func TestModifyPersists(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	x := e.pair(replica.SyncTypeClone)
	if _, err := e.modify(x.ID, replica.OpSplit, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	e.reopen(true)
	if got := e.sync(x.ID).CopyState; got != replica.CopyStateSplit {
		t.Errorf("after restart: got %s, want Split", got)
	}
}

// TestModifyConcurrent: of two Resyncs at once one wins, the other answers
// ErrCopyInProgress or ErrInUse and changes nothing.
func TestModifyConcurrent(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	x := e.pair(replica.SyncTypeClone)
	e.reopen(false)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = e.svc.Modify(context.Background(), x.ID, replica.OpResync, replica.ModifyOptions{})
		})
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			if !errors.Is(err, replica.ErrCopyInProgress) && !errors.Is(err, replica.ErrInUse) {
				t.Errorf("got %v, want ErrCopyInProgress or ErrInUse", err)
			}
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("got %d refused, want 1 (%v)", failed, errs)
	}
	jobs, _ := e.jobs.List()
	modifyJobs := 0
	for _, j := range jobs {
		if j.Kind == replica.KindModify {
			modifyJobs++
		}
	}
	if modifyJobs != 1 {
		t.Errorf("got %d modify jobs, want 1", modifyJobs)
	}
}

// TestModifyGroup applies operations to every member and refuses member
// and unknown references.
func TestModifyGroup(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	var members []volumes.ID
	for _, n := range []string{"a", "b"} {
		members = append(members, e.volume(n, 2*MiB).ID)
	}
	g, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "cg", Members: members})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeSnapshot, SourceGroup: g.ID, RelationshipName: "r"})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(res.JobID)
	if _, err := e.svc.Modify(ctx, res.Syncs[0].ID, replica.OpFracture, replica.ModifyOptions{}); !errors.Is(err, replica.ErrInRelationship) {
		t.Errorf("member modify: got %v, want ErrInRelationship", err)
	}
	if _, err := e.svc.ModifyGroup(ctx, "no-such-group-sync", replica.OpFracture, replica.ModifyOptions{}); !errors.Is(err, replica.ErrSyncNotFound) {
		t.Errorf("unknown group sync: got %v, want ErrSyncNotFound", err)
	}
	if _, err := e.svc.Modify(ctx, "no-such-sync", replica.OpFracture, replica.ModifyOptions{}); !errors.Is(err, replica.ErrSyncNotFound) {
		t.Errorf("unknown sync: got %v, want ErrSyncNotFound", err)
	}
	if _, err := e.svc.ModifyGroup(ctx, res.GroupSync.ID, replica.OpFracture, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.svc.GroupCopyState(ctx, res.GroupSync); st != replica.CopyStateFractured {
		t.Errorf("group after Fracture: got %s, want Fractured", st)
	}
	e.writeAt(members[1], 0, []byte("new data"))
	mr, err := e.svc.ModifyGroup(ctx, res.GroupSync.ID, replica.OpResync, replica.ModifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(mr.JobID)
	for _, x := range res.Syncs {
		e.sameBytes(x.Source, x.Target)
	}
	if st, _ := e.svc.GroupCopyState(ctx, res.GroupSync); st != replica.CopyStateSynchronized {
		t.Errorf("group after Resync: got %s, want Synchronized", st)
	}
}

// TestForceDetachAbortsResync: Detach with Force stops a pending Resync;
// without it the answer is ErrCopyInProgress.
func TestForceDetachAbortsResync(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	x := e.pair(replica.SyncTypeClone)
	e.reopen(false)
	ctx := context.Background()
	if _, err := e.svc.Modify(ctx, x.ID, replica.OpResync, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Modify(ctx, x.ID, replica.OpDetach, replica.ModifyOptions{}); !errors.Is(err, replica.ErrCopyInProgress) {
		t.Fatalf("Detach without Force: got %v, want ErrCopyInProgress", err)
	}
	if _, err := e.svc.Modify(ctx, x.ID, replica.OpDetach, replica.ModifyOptions{Force: true}); err != nil {
		t.Fatalf("Detach with Force: got %v, want nil", err)
	}
	if _, err := e.svc.Synchronization(ctx, x.ID); !errors.Is(err, replica.ErrSyncNotFound) {
		t.Errorf("after Detach: got %v, want ErrSyncNotFound", err)
	}
}

func TestOperations(t *testing.T) {
	for _, tt := range []struct {
		t    replica.SyncType
		want []replica.Operation
	}{
		{replica.SyncTypeClone, []replica.Operation{2, 8, 9, 12, 14, 15, 19, 21}},
		{replica.SyncTypeSnapshot, []replica.Operation{2, 8, 9, 12, 14, 15, 19, 21}},
		{replica.SyncTypeMirror, []replica.Operation{2, 8, 9, 12, 14, 15, 16, 19, 21, 22}},
	} {
		t.Run(tt.t.String(), func(t *testing.T) {
			if got := replica.OperationsFor(tt.t); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// writeAt2 writes into the file at path (no service needed).
func (e *env) writeAt2(path string, off int64, b []byte) {
	e.t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		e.t.Fatal(err)
	}
}

// TestModifyList fractures two pairs at once; a list with a pair that
// cannot be fractured changes neither.
func TestModifyList(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	a := e.pair(replica.SyncTypeClone)
	src2 := e.volume("src2", 2*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeSnapshot, SourceElement: src2.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(res.JobID)
	b := res.Syncs[0]
	if _, err := e.svc.Modify(ctx, b.ID, replica.OpSplit, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ModifyList(ctx, []string{a.ID, b.ID}, replica.OpFracture, replica.ModifyOptions{}); !errors.Is(err, replica.ErrInvalidState) {
		t.Fatalf("Fracture of a Split pair in a list: got %v, want ErrInvalidState", err)
	}
	if got := e.sync(a.ID).CopyState; got != replica.CopyStateSynchronized {
		t.Errorf("refused list changed its first pair: got %s, want Synchronized", got)
	}
	if _, err := e.svc.ModifyList(ctx, []string{a.ID, a.ID}, replica.OpFracture, replica.ModifyOptions{}); !errors.Is(err, replica.ErrInvalidRequest) {
		t.Errorf("pair listed twice: got %v, want ErrInvalidRequest", err)
	}
	mr, err := e.svc.ModifyList(ctx, []string{a.ID, b.ID}, replica.OpResync, replica.ModifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(mr.JobID)
	for _, x := range []*replica.Synchronization{a, &b} {
		if got := e.sync(x.ID).CopyState; got != replica.CopyStateSynchronized {
			t.Errorf("after list Resync: got %s, want Synchronized", got)
		}
	}
}

// TestResyncAfterRestart: a Resync job recorded before a stop runs after the
// restart, taking its leases again, and leaves the pair Synchronized.
func TestResyncAfterRestart(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	x := e.pair(replica.SyncTypeClone)
	e.reopen(false)
	e.writeAt(x.Source, 2*MiB, []byte("written before the resync"))
	res, err := e.svc.Modify(context.Background(), x.ID, replica.OpResync, replica.ModifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.reopen(true)
	if got := e.sync(x.ID); got.CopyState != replica.CopyStateUnsynchronized && got.CopyState != replica.CopyStateSynchronized {
		t.Fatalf("after restart: got %s, want Unsynchronized or Synchronized", got.CopyState)
	}
	if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
		t.Fatalf("resync job %s: %s", job.State, job.Err)
	}
	if got := e.sync(x.ID); got.CopyState != replica.CopyStateSynchronized || got.Activity != replica.ActivityNone {
		t.Errorf("got %s (activity %q), want Synchronized", got.CopyState, got.Activity)
	}
	e.sameBytes(x.Source, x.Target)
}
