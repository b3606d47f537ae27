package replica_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
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

	before := x.Synchronized
	e.writeAt(src.ID, 1*MiB+123, []byte("written by another process"))
	x = e.waitMirror(x.ID, before)

	if _, err := e.modify(x.ID, replica.OpFracture, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	frozen := e.image(x.Target)
	e.writeAt(src.ID, 3*MiB, []byte("written while fractured"))
	time.Sleep(200 * time.Millisecond) // several lags: the loop must leave it alone
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
	time.Sleep(200 * time.Millisecond)
	if got := e.sync(x.ID).CopyState; got != replica.CopyStateSuspended {
		t.Fatalf("suspended mirror: got %s, want Suspended", got)
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
