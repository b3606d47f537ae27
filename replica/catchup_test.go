package replica_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// TestResyncRightAfterFractureDuringCatchUp: a mirror is catching up (a
// slow copy: 256 KiB/s) when it is fractured; a Resync right after must
// take the volumes from the mirror loop, not answer In Use because the
// loop still holds them.
func TestResyncRightAfterFractureDuringCatchUp(t *testing.T) {
	e := newEnv(t, true, replica.Options{MirrorLag: 20 * time.Millisecond, BandwidthLimit: 256 << 10})
	ctx := context.Background()
	m := e.mirror("busy")
	e.writeAt(m.Source, 0, bytes.Repeat([]byte{0xab}, 512<<10)) // two seconds of catch-up
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if x := e.sync(m.ID); x.Activity == replica.ActivityFollowing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the mirror loop never started the catch-up")
		}
	}
	if _, err := e.svc.Modify(ctx, m.ID, replica.OpFracture, replica.ModifyOptions{}); err != nil {
		t.Fatalf("Fracture: %v", err)
	}
	res, err := e.svc.Modify(ctx, m.ID, replica.OpResync, replica.ModifyOptions{})
	if err != nil {
		t.Fatalf("Resync right after Fracture: %v", err)
	}
	if res.JobID != "" {
		e.wait(res.JobID)
	}
	e.waitMirror(m.ID, time.Time{})
}

// readCounter is a copyCounter that also counts what Resync passes read,
// tracked apart.
type readCounter struct {
	copyCounter
	tracked, untracked int64
}

func (c *readCounter) AddBytesRead(n int64, tracked bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tracked {
		c.tracked += n
	} else {
		c.untracked += n
	}
}

// trackedRead is what tracked passes read so far.
func (c *readCounter) trackedRead() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tracked
}

// copiedBytes is what c was told was copied so far.
func (c *copyCounter) copiedBytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// retryInUse calls f until it does not answer ErrInUse (the mirror loop
// holds a mirror's volumes for a moment while it looks at it: a client
// tries again), for at most 20 s.
func (e *env) retryInUse(f func() error) error {
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		err := f()
		if !errors.Is(err, replica.ErrInUse) || time.Now().After(deadline) {
			return err
		}
	}
}

// mirrorOf makes an Asynchronous Mirror of src called name and waits until
// it follows its source.
func (e *env) mirrorOf(src volumes.ID, name string) *replica.Synchronization {
	e.t.Helper()
	var res *replica.Result
	if err := e.retryInUse(func() (err error) {
		res, err = e.svc.Replicate(context.Background(), replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeMirror,
			Mode: replica.ModeAsynchronous, SourceElement: src, ElementName: name})
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
		e.t.Fatalf("copy job %s: %s", job.State, job.Err)
	}
	return e.waitMirror(res.Syncs[0].ID, time.Time{})
}

// TestMirrorCatchesUpFromTrackedRestore: a Restore from one mirror writes
// its source; a second mirror of that source catches up from the blocks
// the Restore wrote (a tracked change: it copies just those, without
// reading its source), and a write by someone else right after the
// Restore is not lost to that shortcut.
func TestMirrorCatchesUpFromTrackedRestore(t *testing.T) {
	copies := &readCounter{}
	e := newEnv(t, true, replica.Options{MirrorLag: 20 * time.Millisecond, Copies: copies})
	src := e.filled("src", 4*MiB)
	m1, m2 := e.mirrorOf(src.ID, "m1"), e.mirrorOf(src.ID, "m2")
	const block = 64 << 10
	// The first catch-up after a write compares m2 whole and leaves a hash
	// sidecar that vouches for its target from then on.
	before := e.sync(m2.ID).Synchronized
	e.writeAt(src.ID, 2*MiB+3, []byte("written by another process before the Restores"))
	if e.waitMirror(m2.ID, before).SidecarGen == 0 {
		t.Fatal("the mirror loop's catch-up left no sidecar for m2")
	}
	e.waitMirror(m1.ID, before)

	restore := func(writes ...int64) {
		t.Helper()
		if _, err := e.modify(m1.ID, replica.OpFracture, replica.ModifyOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, off := range writes {
			e.writeAt(m1.Target, off, []byte(fmt.Sprintf("written into the replica at %d, %s", off, time.Now())))
		}
		if err := e.retryInUse(func() error {
			_, err := e.modify(m1.ID, replica.OpRestore, replica.ModifyOptions{})
			return err
		}); err != nil {
			t.Fatalf("Restore: %v", err)
		}
	}
	tracked, copied, read := e.svc.TrackedCatchUps(m2.ID), copies.copiedBytes(), copies.trackedRead()
	before = e.sync(m2.ID).Synchronized
	restore(100, 3*MiB+5)
	e.waitMirror(m2.ID, before)
	if got := e.svc.TrackedCatchUps(m2.ID); got <= tracked {
		t.Errorf("m2 caught up with a Restore's writes by reading its source (%d tracked catch-ups, want more than %d)", got, tracked)
	}
	// Two blocks restored onto the source, the same two onto m2; m1's
	// target was the Restore's model and is left alone.
	if got := copies.copiedBytes() - copied; got != 4*block {
		t.Errorf("copied %d bytes for a Restore of two blocks and m2's catch-up, want %d", got, 4*block)
	}
	if got := copies.trackedRead() - read; got <= 0 || got > 2*block {
		t.Errorf("m2's tracked catch-up read %d bytes, want the two blocks restored (%d) at most", got, 2*block)
	}

	before = e.sync(m2.ID).Synchronized
	restore(2 * MiB)
	e.writeAt(src.ID, MiB+7, []byte("written by another process right after the Restore"))
	e.waitMirror(m2.ID, before) // equal bytes, the write included
}
