package replica_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// sidecarOf is the hash sidecar path of volume id (".NAME.img.hashes").
func (e *env) sidecarOf(id volumes.ID) string {
	e.t.Helper()
	v, err := e.vols.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return filepath.Join(filepath.Dir(v.Path()), "."+v.Name+".img.hashes")
}

func (e *env) verify(id string) replica.VerifyResult {
	e.t.Helper()
	res, err := e.svc.Verify(context.Background(), id, replica.VerifyOptions{})
	if err != nil {
		e.t.Fatalf("Verify: %v", err)
	}
	return res
}

// TestVerifyMismatchBreaksPair writes into a Synchronized clone's target
// behind replicad's back: Verify reports the first differing offset, the
// pair becomes Broken, its sidecar is gone, and Resync Replica repairs it.
func TestVerifyMismatchBreaksPair(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	x := e.pair(replica.SyncTypeClone)
	// A Resync leaves a hash sidecar behind.
	if _, err := e.modify(x.ID, replica.OpResync, replica.ModifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.sidecarOf(x.Target)); err != nil {
		t.Fatalf("setup: no sidecar after Resync: %v", err)
	}
	res := e.verify(x.ID)
	if !res.Identical() || len(res.Pairs) != 1 || res.Pairs[0].Broken || res.Pairs[0].Report.BytesCompared != 4*MiB {
		t.Fatalf("fresh clone: %+v", res)
	}

	const at = 1*MiB + 5
	e.writeAt(x.Target, at, []byte("written behind replicad's back"))
	res = e.verify(x.ID)
	p := res.Pairs[0]
	if res.Identical() || len(p.Report.Offsets) == 0 || p.Report.Offsets[0] != at {
		t.Fatalf("corrupted target: identical=%v offsets %v, want first %d", res.Identical(), p.Report.Offsets, at)
	}
	if !p.Broken || p.CopyState != replica.CopyStateBroken || p.SourceChanged {
		t.Fatalf("corrupted target: broken=%v state %s sourceChanged=%v, want Broken", p.Broken, p.CopyState, p.SourceChanged)
	}
	if got := e.sync(x.ID).CopyState; got != replica.CopyStateBroken {
		t.Fatalf("stored state %s, want Broken", got)
	}
	if _, err := os.Stat(e.sidecarOf(x.Target)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("sidecar still there after a mismatch (stat: %v)", err)
	}
	if st := e.svc.IntegrityStats(); st.Mismatches != 1 || st.Verifications != 2 {
		t.Fatalf("stats %+v, want 1 mismatch in 2 verifications", st)
	}
	if last, ok := e.svc.LastVerify(x.ID); !ok || !last.Broken {
		t.Fatalf("LastVerify = %+v, %v", last, ok)
	}

	// Broken allows Resync Replica, which repairs the target.
	if _, err := e.modify(x.ID, replica.OpResync, replica.ModifyOptions{}); err != nil {
		t.Fatalf("Resync from Broken: %v", err)
	}
	e.sameBytes(x.Source, x.Target)
	if res := e.verify(x.ID); !res.Identical() || e.sync(x.ID).CopyState != replica.CopyStateSynchronized {
		t.Fatalf("after Resync: identical=%v state %s", res.Identical(), e.sync(x.ID).CopyState)
	}
}

// TestVerifyRules: a pair a job works on is refused with ErrCopyInProgress,
// a leased one with ErrInUse; a source written since the sync makes a
// difference expected (no Broken); other states are only reported.
func TestVerifyRules(t *testing.T) {
	t.Run("copy in progress", func(t *testing.T) {
		e := newEnv(t, false, replica.Options{}) // the queue never runs the copy
		src := e.volume("src", 4*MiB)
		res, err := e.svc.Replicate(context.Background(), replica.Request{Shape: replica.ShapeElement,
			SyncType: replica.SyncTypeClone, SourceElement: src.ID, ElementName: "copy"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Verify(context.Background(), res.Syncs[0].ID, replica.VerifyOptions{}); !errors.Is(err, replica.ErrCopyInProgress) {
			t.Fatalf("Verify during the copy: %v, want ErrCopyInProgress", err)
		}
	})
	t.Run("leased", func(t *testing.T) {
		e := newEnv(t, true, replica.Options{})
		x := e.pair(replica.SyncTypeClone)
		rel, err := e.vols.Acquire(x.Target, "test")
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Verify(context.Background(), x.ID, replica.VerifyOptions{})
		rel()
		if !errors.Is(err, replica.ErrInUse) {
			t.Fatalf("Verify of a leased target: %v, want ErrInUse", err)
		}
		// The failed attempt released what it had taken: a Resync works.
		if _, err := e.modify(x.ID, replica.OpResync, replica.ModifyOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("source written since the sync", func(t *testing.T) {
		e := newEnv(t, true, replica.Options{})
		x := e.pair(replica.SyncTypeClone)
		e.writeAt(x.Source, 2*MiB, []byte("a later write to the source"))
		v, _ := e.vols.Get(context.Background(), x.Source)
		later := time.Now().Add(time.Hour) // well after the sync, whatever the clock's grain
		if err := os.Chtimes(v.Path(), later, later); err != nil {
			t.Fatal(err)
		}
		p := e.verify(x.ID).Pairs[0]
		if p.Identical() || !p.SourceChanged || p.Broken || e.sync(x.ID).CopyState != replica.CopyStateSynchronized {
			t.Fatalf("source written after the sync: identical=%v sourceChanged=%v broken=%v state %s",
				p.Identical(), p.SourceChanged, p.Broken, e.sync(x.ID).CopyState)
		}
		if e.svc.IntegrityStats().Mismatches != 0 {
			t.Fatal("an expected difference was counted as a mismatch")
		}
	})
	t.Run("fractured", func(t *testing.T) {
		e := newEnv(t, true, replica.Options{})
		x := e.pair(replica.SyncTypeClone)
		if _, err := e.modify(x.ID, replica.OpFracture, replica.ModifyOptions{}); err != nil {
			t.Fatal(err)
		}
		e.writeAt(x.Target, 0, []byte("the split-off copy is used"))
		p := e.verify(x.ID).Pairs[0]
		if p.Identical() || p.Broken || e.sync(x.ID).CopyState != replica.CopyStateFractured {
			t.Fatalf("fractured pair: identical=%v broken=%v state %s", p.Identical(), p.Broken, e.sync(x.ID).CopyState)
		}
	})
}

// TestVerifyGroup verifies every member of a group synchronization; only
// the corrupted member becomes Broken.
func TestVerifyGroup(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	a, b := e.volume("a", 2*MiB), e.volume("b", 2*MiB)
	g, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "g", Members: []volumes.ID{a.ID, b.ID}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone,
		SourceGroup: g.ID, RelationshipName: "rg"})
	if err != nil {
		t.Fatal(err)
	}
	if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
		t.Fatalf("copy job %s: %s", job.State, job.Err)
	}
	second := e.sync(res.GroupSync.Members[1])
	e.writeAt(second.Target, 100, []byte{0xEE})
	vr, err := e.svc.VerifyGroup(ctx, res.GroupSync.ID, replica.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vr.Pairs) != 2 || !vr.Pairs[0].Identical() || vr.Pairs[1].Identical() || vr.Pairs[1].Report.Offsets[0] != 100 {
		t.Fatalf("group verify: %+v", vr)
	}
	if s0, s1 := e.sync(res.GroupSync.Members[0]).CopyState, e.sync(second.ID).CopyState; s0 != replica.CopyStateSynchronized || s1 != replica.CopyStateBroken {
		t.Fatalf("states %s, %s; want Synchronized, Broken", s0, s1)
	}
}
