package replica_test

import (
	"context"
	"errors"
	"testing"

	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// TestReturnToPoolRefusesHeldTarget: a target that a layer above holds (an
// iSCSI target exposing it) makes Return To ResourcePool refuse with
// ErrInUse before anything ends: the synchronization stays, the target
// stays, and no intent is left to fail at the next start.
func TestReturnToPoolRefusesHeldTarget(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	src := e.volume("held", 3*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone,
		SourceElement: src.ID, TargetElementCount: ptr(uint64(1)), RelationshipName: "heldrel"})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(res.JobID)
	target, err := e.vols.Get(ctx, res.Created[0])
	if err != nil {
		t.Fatal(err)
	}
	e.vols.SetInUse(func(pool, name string) error {
		if name == target.Name {
			return errors.New("iSCSI target(s) backup")
		}
		return nil
	})
	before := e.state()
	err = e.svc.EndGroupSynchronization(ctx, res.GroupSync.ID, replica.EndReturnToPool)
	if !errors.Is(err, volumes.ErrInUse) {
		t.Fatalf("Return To ResourcePool of a held target: %v, want ErrInUse", err)
	}
	if after := e.state(); after != before {
		t.Errorf("a refused Return To ResourcePool changed the state:\nbefore %s\nafter  %s", before, after)
	}
	if _, err := e.vols.Get(ctx, target.ID); err != nil {
		t.Errorf("target after the refusal: %v", err)
	}
	// Once nothing holds it, the same call returns it to the pool.
	e.vols.SetInUse(nil)
	if err := e.svc.EndGroupSynchronization(ctx, res.GroupSync.ID, replica.EndReturnToPool); err != nil {
		t.Fatal(err)
	}
	if _, err := e.vols.Get(ctx, target.ID); !errors.Is(err, volumes.ErrNotFound) {
		t.Errorf("target after Return To ResourcePool: %v, want ErrNotFound", err)
	}
}
