package replica_test

import (
	"context"
	"errors"
	"testing"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
)

// TestRestoreChoice (issue 20): a group synchronization holding several
// snapshots of one source is not restored from one picked silently: a
// Restore From Replica of the whole group is refused with the candidates
// (RestoreChoiceError, ErrInvalidRequest) and changes nothing; naming a
// member restores the source from that one only.
func TestRestoreChoice(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	src := e.volume("src", 4*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeSnapshot,
		SourceElement: src.ID, TargetElementCount: ptr(uint64(2)), RelationshipName: "snaps"})
	if err != nil {
		t.Fatal(err)
	}
	if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
		t.Fatalf("copy job %s: %s", job.State, job.Err)
	}
	first, second := res.Syncs[0], res.Syncs[1]
	e.writeAt(second.Target, 0, []byte("the second snapshot, as a host changed it"))
	e.writeAt(src.ID, 0, []byte("the source after both snapshots"))
	before := e.image(src.ID)

	_, err = e.svc.ModifyGroup(ctx, res.GroupSync.ID, replica.OpRestore, replica.ModifyOptions{})
	var choice *replica.RestoreChoiceError
	if !errors.As(err, &choice) || !errors.Is(err, replica.ErrInvalidRequest) {
		t.Fatalf("Restore of the whole group: got %v, want a RestoreChoiceError (ErrInvalidRequest)", err)
	}
	if choice.Source != src.ID || len(choice.Candidates) != 2 ||
		choice.Candidates[0].ID != first.ID || choice.Candidates[1].ID != second.ID {
		t.Errorf("RestoreChoiceError %+v, want source %s and both snapshots as candidates", choice, src.ID)
	}
	if string(e.image(src.ID)) != string(before) {
		t.Error("a refused Restore changed the source")
	}
	for _, x := range res.Syncs {
		if st := e.sync(x.ID).CopyState; st != replica.CopyStateSynchronized {
			t.Errorf("after the refusal %s is %s, want Synchronized", x.Target, st)
		}
	}

	if _, err := e.svc.ModifyGroup(ctx, res.GroupSync.ID, replica.OpRestore, replica.ModifyOptions{Members: []string{"no-such-sync"}}); !errors.Is(err, replica.ErrInvalidRequest) {
		t.Errorf("Restore from a non-member: got %v, want ErrInvalidRequest", err)
	}
	if _, err := e.svc.ModifyGroup(ctx, res.GroupSync.ID, replica.OpFracture, replica.ModifyOptions{Members: []string{second.ID}}); !errors.Is(err, replica.ErrNotSupported) {
		t.Errorf("Fracture of a named member: got %v, want ErrNotSupported", err)
	}

	mr, err := e.svc.ModifyGroup(ctx, res.GroupSync.ID, replica.OpRestore, replica.ModifyOptions{Members: []string{second.ID}})
	if err != nil {
		t.Fatalf("Restore from the named snapshot: %v", err)
	}
	if job := e.wait(mr.JobID); job.State != jobqueue.StateCompleted {
		t.Fatalf("restore job %s: %s", job.State, job.Err)
	}
	if string(e.image(src.ID)) != string(e.image(second.Target)) {
		t.Error("the source is not the named snapshot after its Restore")
	}
	if string(e.image(first.Target)) == string(e.image(src.ID)) {
		t.Error("set-up: the two snapshots are equal, so the choice is not shown")
	}
	if st := e.sync(second.ID).CopyState; st != replica.CopyStateSynchronized {
		t.Errorf("restored member is %s, want Synchronized", st)
	}
}
