package replica_test

import (
	"context"
	"errors"
	"testing"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// TestReadsAreHonestAboutSizes: once a Synchronized clone's target is grown,
// every domain read sees it not Synchronized, without anyone asking for a
// size check first: Modify's own state check refuses Split (allowed only
// from Synchronized), so does ModifyGroup for a group member, and
// Relationships (the provider's GetReplicationRelationships) reports Broken.
func TestReadsAreHonestAboutSizes(t *testing.T) {
	ctx := context.Background()
	t.Run("Modify", func(t *testing.T) {
		e := newEnv(t, true, replica.Options{})
		x := e.pair(replica.SyncTypeClone)
		if _, err := e.vols.Grow(ctx, x.Target, 8*MiB); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Modify(ctx, x.ID, replica.OpSplit, replica.ModifyOptions{})
		if !errors.Is(err, replica.ErrInvalidState) {
			t.Fatalf("Split of a clone whose target was grown: %v, want ErrInvalidState (Broken)", err)
		}
		if got := e.sync(x.ID).CopyState; got != replica.CopyStateBroken {
			t.Fatalf("state %s, want Broken", got)
		}
	})
	t.Run("ModifyGroup", func(t *testing.T) {
		e := newEnv(t, true, replica.Options{})
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
		second, err := e.svc.Synchronization(ctx, res.GroupSync.Members[1])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.vols.Grow(ctx, second.Target, 4*MiB); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.ModifyGroup(ctx, res.GroupSync.ID, replica.OpSplit, replica.ModifyOptions{})
		if !errors.Is(err, replica.ErrInvalidState) {
			t.Fatalf("Split of a group with a grown member: %v, want ErrInvalidState", err)
		}
	})
	t.Run("Relationships", func(t *testing.T) {
		e := newEnv(t, true, replica.Options{})
		x := e.pair(replica.SyncTypeClone)
		if _, err := e.vols.Grow(ctx, x.Target, 8*MiB); err != nil {
			t.Fatal(err)
		}
		rels, err := e.svc.Relationships(ctx, x.Source)
		if err != nil {
			t.Fatal(err)
		}
		if len(rels) != 1 || rels[0].CopyState != replica.CopyStateBroken {
			t.Fatalf("Relationships after the target grew: %+v, want one Broken", rels)
		}
	})
}

// TestVerifyTellsSourceWritesFromCorruption: for a clone, after its initial
// copy, after a Resync and after a Restore, a write to the SOURCE that puts
// the old mtime back (touch -r) is a change of the source (SourceChanged,
// the pair stays Synchronized), while such a write to the TARGET is
// corruption (Broken). Verify tells them apart by the source's recorded
// identity stamp (inode, size, mtime, ctime), never by its mtime.
func TestVerifyTellsSourceWritesFromCorruption(t *testing.T) {
	for _, after := range []string{"copy", "Resync", "Restore"} {
		t.Run(after, func(t *testing.T) {
			e := newEnv(t, true, replica.Options{})
			x := e.pair(replica.SyncTypeClone)
			switch after {
			case "Resync":
				if _, err := e.modify(x.ID, replica.OpResync, replica.ModifyOptions{}); err != nil {
					t.Fatal(err)
				}
			case "Restore":
				if _, err := e.modify(x.ID, replica.OpRestore, replica.ModifyOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			e.writeKeepingMtime(x.Source, 1*MiB, 4096)
			p := e.verify(x.ID).Pairs[0]
			if p.Identical() || !p.SourceChanged || p.Broken || e.sync(x.ID).CopyState != replica.CopyStateSynchronized {
				t.Fatalf("source written (mtime kept) after %s: identical=%v sourceChanged=%v broken=%v state %s; want a source change, Synchronized",
					after, p.Identical(), p.SourceChanged, p.Broken, e.sync(x.ID).CopyState)
			}
			// Level again, then corrupt the target the same way.
			if _, err := e.modify(x.ID, replica.OpResync, replica.ModifyOptions{}); err != nil {
				t.Fatal(err)
			}
			e.writeKeepingMtime(x.Target, 2*MiB, 4096)
			p = e.verify(x.ID).Pairs[0]
			if p.Identical() || p.SourceChanged || !p.Broken || e.sync(x.ID).CopyState != replica.CopyStateBroken {
				t.Fatalf("target written (mtime kept) after %s: identical=%v sourceChanged=%v broken=%v state %s; want Broken",
					after, p.Identical(), p.SourceChanged, p.Broken, e.sync(x.ID).CopyState)
			}
		})
	}
}
