package replica_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// groupWithSidecars replicates src into n new targets as one group
// synchronization, resyncs it so that every target has a hash sidecar, and
// returns it.
func groupWithSidecars(t *testing.T, e *env, src *volumes.Volume, n uint64, rel string) *replica.Result {
	t.Helper()
	ctx := context.Background()
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone,
		SourceElement: src.ID, TargetElementCount: &n, RelationshipName: rel})
	if err != nil {
		t.Fatal(err)
	}
	if j := e.wait(res.JobID); j.State != jobqueue.StateCompleted {
		t.Fatalf("copy: %s (%s)", j.State, j.Err)
	}
	mr, err := e.svc.ModifyGroup(ctx, res.GroupSync.ID, replica.OpResync, replica.ModifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j := e.wait(mr.JobID); j.State != jobqueue.StateCompleted {
		t.Fatalf("resync: %s (%s)", j.State, j.Err)
	}
	for _, id := range res.Created {
		v, err := e.vols.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(e.files(), replica.SidecarName(v)) {
			t.Fatalf("no sidecar %s after the resync: %v", replica.SidecarName(v), e.files())
		}
	}
	return res
}

// hiddenFiles lists the sidecars and partial copies in the default pool.
func hiddenFiles(e *env) []string {
	var out []string
	for _, f := range e.files() {
		if strings.HasSuffix(f, ".hashes") || strings.HasSuffix(f, ".replica") {
			out = append(out, f)
		}
	}
	return out
}

// TestEndingFinishedAfterCrash: a daemon that dies right after the store
// transaction of Detach or Return To ResourcePool leaves a journal that the
// next Open finishes: the targets' sidecars are removed, returned targets
// are deleted, and no volume is taken for a replication member.
func TestEndingFinishedAfterCrash(t *testing.T) {
	for _, how := range []replica.Ending{replica.EndDetach, replica.EndReturnToPool} {
		t.Run(how.String(), func(t *testing.T) {
			e := newEnv(t, true, replica.Options{})
			ctx := context.Background()
			src := e.volume("src", 2*MiB)
			res := groupWithSidecars(t, e, src, 8, "g")
			if err := e.svc.EndRecordsOnly(ctx, res.GroupSync.ID, how); err != nil {
				t.Fatal(err)
			}
			if e.svc.Intents() != 1 {
				t.Fatalf("%d journaled changes after the transaction, want 1", e.svc.Intents())
			}
			e.reopen(true)
			if n := e.svc.Intents(); n != 0 {
				t.Errorf("%d journaled changes after Open, want 0", n)
			}
			if h := hiddenFiles(e); len(h) != 0 {
				t.Errorf("hidden files after Open: %v", h)
			}
			for _, id := range res.Created {
				_, err := e.vols.Get(ctx, id)
				switch {
				case how == replica.EndReturnToPool && !errors.Is(err, volumes.ErrNotFound):
					t.Errorf("target %s returned to its pool: Get = %v, want ErrNotFound", id, err)
				case how == replica.EndDetach && err != nil:
					t.Errorf("detached target %s: %v", id, err)
				}
			}
			roles, err := e.svc.Roles(ctx)
			if err != nil || len(roles) != 0 {
				t.Errorf("roles after the ending: %v (%v), want none", roles, err)
			}
			vols, err := e.vols.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vols {
				if err := e.svc.DeleteVolume(ctx, v.ID); err != nil {
					t.Errorf("delete %s after the ending: %v", v.Name, err)
				}
			}
		})
	}
}

// TestEndingLive: Return To ResourcePool without a crash leaves no journal,
// no sidecar and no target.
func TestEndingLive(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	src := e.volume("src", 2*MiB)
	res := groupWithSidecars(t, e, src, 4, "g")
	if err := e.svc.EndGroupSynchronization(ctx, res.GroupSync.ID, replica.EndReturnToPool); err != nil {
		t.Fatal(err)
	}
	if n := e.svc.Intents(); n != 0 {
		t.Errorf("%d journaled changes left, want 0", n)
	}
	if got := e.files(); !slices.Equal(got, []string{"src.img"}) {
		t.Errorf("pool files %v, want only src.img", got)
	}
}

// TestSweepOrphanFiles: Open removes sidecars and partial copies that no
// synchronization names (of deleted volumes, of unpaired ones) and keeps a
// paired target's sidecar.
func TestSweepOrphanFiles(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	src := e.volume("src", 2*MiB)
	res := groupWithSidecars(t, e, src, 1, "kept")
	plain := e.volume("plain", 2*MiB)
	pool := filepath.Join(e.dir, "pools", volumes.DefaultPool)
	orphans := []string{".gone.img.hashes", ".gone.img.replica", "." + plain.Name + ".img.hashes", "." + src.Name + ".img.replica"}
	for _, f := range orphans {
		if err := os.WriteFile(filepath.Join(pool, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink named like a sidecar is not ours: neither it nor what it
	// points to is touched.
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(pool, ".link.img.hashes")); err != nil {
		t.Fatal(err)
	}
	e.reopen(true)
	tgt, err := e.vols.Get(ctx, res.Created[0])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hiddenFiles(e), []string{replica.SidecarName(tgt), ".link.img.hashes"}; !slices.Equal(got, want) {
		t.Errorf("hidden files after Open: %v, want %v", got, want)
	}
	if fi, err := os.Lstat(filepath.Join(pool, ".link.img.hashes")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink named like a sidecar: %v, %v; want it left", fi, err)
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "keep" {
		t.Errorf("the file the symlink pointed to: %q, %v; want it untouched", b, err)
	}
}

// TestUnrecordedTargetsRemoved: targets a request created before a crash
// stopped it from being recorded are deleted by Open; a volume of a
// journaled name that the request did not make (no LabelOp of its
// operation) stays.
func TestUnrecordedTargetsRemoved(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	for _, n := range []string{"made", "other"} {
		if err := e.svc.JournalCreate("op-1", volumes.DefaultPool, n); err != nil {
			t.Fatal(err)
		}
	}
	made, err := e.vols.CreateWithLabels(ctx, volumes.DefaultPool, "made", MiB, map[string]string{replica.LabelOp: "op-1"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.vols.CreateWithLabels(ctx, volumes.DefaultPool, "other", MiB, map[string]string{replica.LabelOp: "op-2"})
	if err != nil {
		t.Fatal(err)
	}
	e.reopen(true)
	if _, err := e.vols.Get(ctx, made.ID); !errors.Is(err, volumes.ErrNotFound) {
		t.Errorf("target of the unrecorded request: Get = %v, want ErrNotFound", err)
	}
	if _, err := e.vols.Get(ctx, other.ID); err != nil {
		t.Errorf("volume another request made: %v, want kept", err)
	}
	if n := e.svc.Intents(); n != 0 {
		t.Errorf("%d journaled changes after Open, want 0", n)
	}
}

// TestDeleteVolumeRefusesPaired: DeleteVolume refuses the source and the
// target of a synchronization and deletes them once it has ended.
func TestDeleteVolumeRefusesPaired(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	src := e.volume("src", 2*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone,
		SourceElement: src.ID, ElementName: "copy"})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(res.JobID)
	for _, id := range []volumes.ID{src.ID, res.Created[0]} {
		if err := e.svc.DeleteVolume(ctx, id); !errors.Is(err, replica.ErrInRelationship) {
			t.Errorf("DeleteVolume %s: %v, want ErrInRelationship", id, err)
		}
	}
	if err := e.svc.EndSynchronization(ctx, res.Syncs[0].ID, replica.EndDetach); err != nil {
		t.Fatal(err)
	}
	for _, id := range []volumes.ID{src.ID, res.Created[0]} {
		if err := e.svc.DeleteVolume(ctx, id); err != nil {
			t.Errorf("DeleteVolume %s after Detach: %v", id, err)
		}
	}
}
