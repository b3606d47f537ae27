package replica_test

import (
	"context"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// writeKeepingMtime writes n pseudo-random bytes at off into volume id's
// image and puts its access and modification times back (touch -r).
func (e *env) writeKeepingMtime(id volumes.ID, off, n int64) {
	e.t.Helper()
	v, err := e.vols.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	fi, err := os.Stat(v.Path())
	if err != nil {
		e.t.Fatal(err)
	}
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rand.Uint32()) | 1
	}
	e.writeAt(id, off, p)
	if err := os.Chtimes(v.Path(), fi.ModTime(), fi.ModTime()); err != nil {
		e.t.Fatal(err)
	}
}

// TestResyncAfterTargetWritten is the repro: Clone, Resync (which
// writes the hash sidecar), Fracture, write 256 KiB into the target
// (keeping its mtime), Resync: the target must equal the source again, and
// a Restore after writes on both sides must make the source equal the
// target.
func TestResyncAfterTargetWritten(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	x := e.pair(replica.SyncTypeClone)
	if _, err := e.modify(x.ID, replica.OpResync, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if e.sync(x.ID).SidecarGen == 0 {
		t.Fatal("Resync recorded no sidecar generation")
	}
	for round, op := range []replica.Operation{replica.OpResync, replica.OpRestore} {
		if _, err := e.modify(x.ID, replica.OpFracture, replica.ModifyOptions{}); err != nil {
			t.Fatal(err)
		}
		e.writeKeepingMtime(x.Target, int64(round+1)*MiB, 256<<10)
		if op == replica.OpRestore {
			e.writeKeepingMtime(x.Source, 2*MiB+4096, 64<<10)
		}
		if _, err := e.modify(x.ID, op, replica.ModifyOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := e.sync(x.ID).CopyState; got != replica.CopyStateSynchronized {
			t.Fatalf("after %s: %s, want Synchronized", op, got)
		}
		if string(e.image(x.Source)) != string(e.image(x.Target)) {
			t.Fatalf("after Fracture, writes and %s: the replica is Synchronized but differs from its source", op)
		}
	}
}

// TestSizeChangeEndsSynchronized: growing either side of a Synchronized
// clone (8 MiB source, target grown to 16 MiB) ends Synchronized; a Resync
// makes it a copy again. A mirror whose source grows catches up.
func TestSizeChangeEndsSynchronized(t *testing.T) {
	e := newEnv(t, true, replica.Options{MirrorLag: time.Hour})
	ctx := context.Background()
	for _, side := range []string{"target", "source"} {
		src := e.volume("src-"+side, 8*MiB)
		res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone,
			SourceElement: src.ID, ElementName: "clone-" + side})
		if err != nil {
			t.Fatal(err)
		}
		if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
			t.Fatalf("copy job %s: %s", job.State, job.Err)
		}
		x := e.sync(res.Syncs[0].ID)
		grown := x.Target
		if side == "source" {
			grown = x.Source
		}
		if _, err := e.vols.Grow(ctx, grown, 16*MiB); err != nil {
			t.Fatal(err)
		}
		if got := e.sync(x.ID).CopyState; got != replica.CopyStateBroken {
			t.Fatalf("%s grown: read %s; want Broken", side, got)
		}
		if _, err := e.modify(x.ID, replica.OpResync, replica.ModifyOptions{}); err != nil {
			t.Fatal(err)
		}
		x = e.sync(x.ID)
		if x.CopyState != replica.CopyStateSynchronized {
			t.Fatalf("after Resync: %s, want Synchronized", x.CopyState)
		}
		e.sameBytes(x.Source, x.Target)
	}
}

// TestMirrorCatchesTouchR: writes that put the old mtime back (touch -r),
// to the source or to the target, are caught up.
func TestMirrorCatchesTouchR(t *testing.T) {
	e := newEnv(t, true, replica.Options{MirrorLag: 50 * time.Millisecond})
	ctx := context.Background()
	src := e.volume("src", 4*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeMirror,
		Mode: replica.ModeAsynchronous, SourceElement: src.ID})
	if err != nil {
		t.Fatal(err)
	}
	if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
		t.Fatalf("copy job %s: %s", job.State, job.Err)
	}
	x := e.waitMirror(res.Syncs[0].ID, time.Time{})
	e.loopRounds(e.mirror("witness")) // the loop's first look has settled the stamps
	x = e.waitMirror(x.ID, time.Time{})
	for _, side := range []string{"source", "target"} {
		before := e.sync(x.ID).Synchronized
		id := x.Source
		if side == "target" {
			id = x.Target
		}
		e.writeKeepingMtime(id, 1*MiB, 64<<10)
		e.waitMirror(x.ID, before)
	}
}

// TestMirrorOfBusySource: a mirror of a volume that is being written is
// created anyway: its copy converges (Resync passes, then the mirror loop)
// to Synchronized with identical bytes once the writes stop.
func TestMirrorOfBusySource(t *testing.T) {
	e := newEnv(t, true, replica.Options{MirrorLag: 50 * time.Millisecond, BandwidthLimit: 64 << 20})
	ctx := context.Background()
	src := e.filled("busy", 16*MiB)
	f, err := os.OpenFile(src.Path(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := make([]byte, 4096)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for j := range p {
				p[j] = byte(rand.Uint32())
			}
			if _, err := f.WriteAt(p, rand.Int64N(16*MiB/4096)*4096); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeMirror,
		Mode: replica.ModeAsynchronous, SourceElement: src.ID})
	if err != nil {
		close(stop)
		t.Fatal(err)
	}
	job := e.wait(res.JobID)
	close(stop)
	wg.Wait()
	if job.State != jobqueue.StateCompleted {
		t.Fatalf("copy job of a mirror whose source is written: %s: %s", job.State, job.Err)
	}
	e.waitMirror(res.Syncs[0].ID, time.Time{})
}
