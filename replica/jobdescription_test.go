package replica_test

import (
	"context"
	"strings"
	"testing"

	"github.com/replicad/replicad/replica"
)

// TestJobDescriptionNamesWhatTheClientGave: a copy job's description
// carries the name the client gave (replicactl --name: the target's
// ElementName, or a group request's RelationshipName), not a generated one.
func TestJobDescriptionNamesWhatTheClientGave(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	src := e.volume("named", 1*MiB)
	for _, req := range []replica.Request{
		{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone, SourceElement: src.ID, ElementName: "nightly"},
		{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone, SourceElement: src.ID,
			TargetElementCount: ptr(uint64(1)), RelationshipName: "weekly"},
	} {
		res, err := e.svc.Replicate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		job := e.wait(res.JobID)
		want := req.ElementName + req.RelationshipName
		if !strings.Contains(job.Description, want) {
			t.Errorf("job description %q does not name %q", job.Description, want)
		}
	}
}
