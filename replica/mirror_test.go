package replica_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// waitMirror polls until mirror id is Synchronized with its target equal to
// its source (the lag is configured, not asserted: the deadline is only a
// guard against a hang).
func (e *env) waitMirror(id string, after time.Time) *replica.Synchronization {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		x := e.sync(id)
		if x.CopyState == replica.CopyStateSynchronized && x.Synchronized.After(after) &&
			string(e.image(x.Source)) == string(e.image(x.Target)) {
			return x
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("mirror did not catch up: %s (activity %q), synchronized %v, want after %v", x.CopyState, x.Activity, x.Synchronized, after)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mirror makes an Asynchronous Mirror of a new volume called name and
// waits until it follows its source.
func (e *env) mirror(name string) *replica.Synchronization {
	e.t.Helper()
	src := e.volume(name, MiB)
	res, err := e.svc.Replicate(context.Background(), replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeMirror,
		Mode: replica.ModeAsynchronous, SourceElement: src.ID, ElementName: name + "-mirror"})
	if err != nil {
		e.t.Fatal(err)
	}
	if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
		e.t.Fatalf("copy job %s: %s", job.State, job.Err)
	}
	return e.waitMirror(res.Syncs[0].ID, time.Time{})
}

// loopRounds returns once the mirror loop has looked at every mirror at
// least once since it was called: it writes to the source of witness (a
// mirror that follows) twice, waiting for each catch-up. The round that
// catches up the second write starts after the round that caught up the
// first, which ran after the call; whatever their order within a round,
// every other mirror was looked at in one of the two before the second
// catch-up ends. Positive evidence instead of a sleep for "the loop left
// that mirror alone".
func (e *env) loopRounds(witness *replica.Synchronization) {
	e.t.Helper()
	for i := range 2 {
		before := e.sync(witness.ID).Synchronized
		e.writeAt(witness.Source, int64(i)*64<<10, []byte(fmt.Sprintf("witness write %d at %s", i, time.Now())))
		e.waitMirror(witness.ID, before)
	}
}

// TestMirrorFollowsSource writes to a mirror's source behind replicad's
// back and sees the mirror catch up; a fractured mirror stays put until
// Resync; a suspended one until Resume.
func TestMirrorFollowsSource(t *testing.T) {
	e := newEnv(t, true, replica.Options{MirrorLag: 50 * time.Millisecond})
	ctx := context.Background()
	src := e.volume("src", 4*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeMirror,
		Mode: replica.ModeAsynchronous, SourceElement: src.ID, ElementName: "mirror"})
	if err != nil {
		t.Fatal(err)
	}
	if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
		t.Fatalf("copy job %s: %s", job.State, job.Err)
	}
	x := e.sync(res.Syncs[0].ID)
	e.sameBytes(x.Source, x.Target)
	witness := e.mirror("witness")

	before := x.Synchronized
	e.writeAt(src.ID, 1*MiB+123, []byte("written by another process"))
	x = e.waitMirror(x.ID, before)

	if _, err := e.modify(x.ID, replica.OpFracture, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	frozen := e.image(x.Target)
	e.writeAt(src.ID, 3*MiB, []byte("written while fractured"))
	e.loopRounds(witness) // the loop must leave it alone
	if got := e.sync(x.ID).CopyState; got != replica.CopyStateFractured {
		t.Fatalf("fractured mirror: got %s, want Fractured", got)
	}
	if string(e.image(x.Target)) != string(frozen) {
		t.Fatal("a fractured mirror followed its source")
	}
	if _, err := e.modify(x.ID, replica.OpResync, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	e.sameBytes(x.Source, x.Target)

	if _, err := e.modify(x.ID, replica.OpSuspend, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	e.writeAt(src.ID, 2*MiB, []byte("written while suspended"))
	suspended := e.image(x.Target)
	e.loopRounds(witness)
	if got := e.sync(x.ID).CopyState; got != replica.CopyStateSuspended {
		t.Fatalf("suspended mirror: got %s, want Suspended", got)
	}
	if string(e.image(x.Target)) != string(suspended) {
		t.Fatal("a suspended mirror followed its source")
	}
	resumed := time.Now()
	if _, err := e.modify(x.ID, replica.OpResume, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitMirror(x.ID, resumed)

	// Mirror-only operations on a clone, and a Synchronous Mirror.
	if _, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeMirror,
		Mode: replica.ModeSynchronous, SourceElement: src.ID}); !errors.Is(err, replica.ErrNotSupported) {
		t.Errorf("Synchronous Mirror: got %v, want ErrNotSupported", err)
	}
	if _, err := e.modify(x.ID, replica.OpResume, replica.ModifyOptions{}); !errors.Is(err, replica.ErrInvalidState) {
		t.Errorf("Resume of a running mirror: got %v, want ErrInvalidState", err)
	}
	if _, err := e.modify(x.ID, replica.OpReturnToPool, replica.ModifyOptions{}); err != nil {
		t.Errorf("Return To ResourcePool: %v", err)
	}
}

// TestMirrorAfterRestart: a mirror keeps following after a restart.
func TestMirrorAfterRestart(t *testing.T) {
	e := newEnv(t, true, replica.Options{MirrorLag: 50 * time.Millisecond})
	ctx := context.Background()
	src := e.volume("src", 2*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeMirror,
		Mode: replica.ModeAsynchronous, SourceElement: src.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(res.JobID)
	e.close()
	e.writeAt2(src.Path(), 4096, []byte("while replicad was down"))
	e.open(true)
	e.waitMirror(res.Syncs[0].ID, time.Time{})
}

// TestMirrorTransitions runs the mirror-only operations from each state a
// mirror can be brought to without a job.
func TestMirrorTransitions(t *testing.T) {
	S, P, F := replica.CopyStateSynchronized, replica.CopyStateSuspended, replica.CopyStateFractured
	tests := []struct {
		op   replica.Operation
		from replica.CopyState
		want replica.CopyState // 0: refused with err
		err  error
	}{
		{replica.OpSuspend, S, P, nil},
		{replica.OpSuspend, P, 0, replica.ErrInvalidState},
		{replica.OpSuspend, F, 0, replica.ErrInvalidState},
		{replica.OpResume, P, replica.CopyStateUnsynchronized, nil},
		{replica.OpResume, S, 0, replica.ErrInvalidState},
		{replica.OpResume, F, 0, replica.ErrInvalidState},
		{replica.OpFracture, P, 0, replica.ErrInvalidState},
		{replica.OpResync, P, S, nil},
		{replica.OpDetach, P, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.op.String()+"/from "+tt.from.String(), func(t *testing.T) {
			// A long lag: the loop stays out of the way.
			e := newEnv(t, true, replica.Options{MirrorLag: time.Hour})
			ctx := context.Background()
			src := e.volume("src", 2*MiB)
			res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeMirror,
				Mode: replica.ModeAsynchronous, SourceElement: src.ID})
			if err != nil {
				t.Fatal(err)
			}
			e.wait(res.JobID)
			id := res.Syncs[0].ID
			switch tt.from {
			case P:
				_, err = e.modify(id, replica.OpSuspend, replica.ModifyOptions{})
			case F:
				_, err = e.modify(id, replica.OpFracture, replica.ModifyOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			mr, err := e.modify(id, tt.op, replica.ModifyOptions{})
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("got %v, want %v", err, tt.err)
				}
				if got := e.sync(id).CopyState; got != tt.from {
					t.Errorf("refused %s changed the state: got %s, want %s", tt.op, got, tt.from)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if mr.Ended {
				return
			}
			if got := e.sync(id).CopyState; got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestGroupMirror: a group of mirrors follows its sources member by member.
func TestGroupMirror(t *testing.T) {
	e := newEnv(t, true, replica.Options{MirrorLag: 50 * time.Millisecond})
	ctx := context.Background()
	a, b := e.volume("a", MiB), e.volume("b", 2*MiB)
	g, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "cg", Members: []volumes.ID{a.ID, b.ID}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeMirror,
		Mode: replica.ModeAsynchronous, SourceGroup: g.ID, RelationshipName: "m"})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(res.JobID)
	now := time.Now()
	e.writeAt(b.ID, 4096, []byte("group member written"))
	e.waitMirror(res.Syncs[1].ID, now)
	if st, _ := e.svc.GroupCopyState(ctx, res.GroupSync); st != replica.CopyStateSynchronized && st != replica.CopyStateMixed && st != replica.CopyStateUnsynchronized {
		t.Errorf("group state %s, want Synchronized (or in between)", st)
	}
	if _, err := e.svc.ModifyGroup(ctx, res.GroupSync.ID, replica.OpSuspend, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.svc.GroupCopyState(ctx, res.GroupSync); st != replica.CopyStateSuspended {
		t.Errorf("after Suspend: got %s, want Suspended", st)
	}
}

// TestNewMirrorIsLeftAlone: a mirror whose source nobody writes is not
// caught up again after its initial copy. The copy saw the source unchanged
// from start to end and knows the target it installed; the loop's first
// look must find both as recorded, not read both sides once more (for a
// large volume, a second full read right after the copy, with the pair
// Unsynchronized meanwhile).
func TestNewMirrorIsLeftAlone(t *testing.T) {
	e := newEnv(t, true, replica.Options{MirrorLag: 50 * time.Millisecond})
	witness := e.mirror("witness")
	src := e.volume("src", 4*MiB)
	e.settle(src.ID) // a source written in the copy's coarse-clock tick is looked at again, rightly
	x := e.mirrorOf(src.ID, "mirror")
	e.loopRounds(witness)
	if y := e.sync(x.ID); y.CopyState != replica.CopyStateSynchronized || !y.Synchronized.Equal(x.Synchronized) {
		t.Fatalf("an unchanged new mirror was caught up again: %s (activity %q), synchronized %v, was %v",
			y.CopyState, y.Activity, y.Synchronized, x.Synchronized)
	}
	e.sameBytes(x.Source, x.Target)
}
