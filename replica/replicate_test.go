package replica_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/replica/engine/enginetest"
	"github.com/replicad/replicad/volumes"
)

// TestReplicateRules: every wrong request fails with its error and creates
// nothing: no file, no volume, no group, no synchronization, no job.
func TestReplicateRules(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	a := e.volume("a", 4*MiB)
	b := e.volume("b", 4*MiB)
	small := e.volume("small", 2*MiB)
	g, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "src", Members: []volumes.ID{a.ID, b.ID}})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "emptysrc"})
	if err != nil {
		t.Fatal(err)
	}
	one, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "one", Members: []volumes.ID{small.ID}})
	if err != nil {
		t.Fatal(err)
	}
	taken := e.volume("taken_1", 4*MiB)
	_ = taken
	before := e.state()

	group := func(r replica.Request) replica.Request { r.Shape = replica.ShapeGroup; return r }
	clone := replica.SyncTypeClone
	tests := []struct {
		name string
		req  replica.Request
		want error
	}{
		{"mirror", group(replica.Request{SyncType: replica.SyncTypeMirror, SourceGroup: g.ID}), replica.ErrNotSupported},
		{"reserved sync type", group(replica.Request{SyncType: 5, SourceGroup: g.ID}), replica.ErrInvalidRequest},
		{"tokenized clone is reserved here", group(replica.Request{SyncType: 9, SourceGroup: g.ID}), replica.ErrInvalidRequest},
		{"reserved mode", group(replica.Request{SyncType: clone, Mode: 4, SourceGroup: g.ID}), replica.ErrInvalidRequest},
		{"reserved consistency", group(replica.Request{SyncType: clone, Consistency: 7, SourceGroup: g.ID}), replica.ErrInvalidRequest},
		{"synchronous mirror", group(replica.Request{SyncType: replica.SyncTypeMirror, Mode: replica.ModeSynchronous, SourceGroup: g.ID}), replica.ErrNotSupported},
		{"wait for a state a copy never reaches", group(replica.Request{SyncType: clone, SourceGroup: g.ID, WaitForCopyState: replica.CopyStateFractured}), replica.ErrNotSupported},
		{"new targets only, with a target element", replica.Request{Shape: replica.ShapeElement, SyncType: clone, SourceElement: a.ID, TargetElement: b.ID, Settings: replica.Settings{Supply: replica.SupplyNew}}, replica.ErrInvalidRequest},
		{"existing targets only, none for a group", group(replica.Request{SyncType: clone, SourceGroup: g.ID, TargetElement: b.ID, Settings: replica.Settings{Supply: replica.SupplyExisting}}), replica.ErrInvalidRequest},
		{"no source", group(replica.Request{SyncType: clone}), replica.ErrInvalidRequest},
		{"both sources", group(replica.Request{SyncType: clone, SourceGroup: g.ID, SourceElement: a.ID}), replica.ErrInvalidRequest},
		{"target group and count", group(replica.Request{SyncType: clone, SourceElement: a.ID, TargetGroup: empty.ID, TargetElementCount: ptr(uint64(2))}), replica.ErrInvalidRequest},
		{"count with source group", group(replica.Request{SyncType: clone, SourceGroup: g.ID, TargetElementCount: ptr(uint64(2))}), replica.ErrInvalidRequest},
		{"count zero", group(replica.Request{SyncType: clone, SourceElement: a.ID, TargetElementCount: ptr(uint64(0))}), replica.ErrInvalidRequest},
		{"count too large", group(replica.Request{SyncType: clone, SourceElement: a.ID, TargetElementCount: ptr(uint64(1000))}), replica.ErrInvalidRequest},
		{"unknown source group", group(replica.Request{SyncType: clone, SourceGroup: "nope"}), replica.ErrInvalidRequest},
		{"empty source group", group(replica.Request{SyncType: clone, SourceGroup: empty.ID}), replica.ErrInvalidRequest},
		{"unknown source element", group(replica.Request{SyncType: clone, SourceElement: "nope"}), replica.ErrInvalidRequest},
		{"unknown target group", group(replica.Request{SyncType: clone, SourceGroup: g.ID, TargetGroup: "nope"}), replica.ErrInvalidRequest},
		{"target group is source group", group(replica.Request{SyncType: clone, SourceGroup: g.ID, TargetGroup: g.ID}), replica.ErrInvalidRequest},
		{"target group member count", group(replica.Request{SyncType: clone, SourceGroup: g.ID, TargetGroup: one.ID}), replica.ErrInvalidRequest},
		{"target group member size", group(replica.Request{SyncType: clone, SourceElement: a.ID, TargetGroup: one.ID}), replica.ErrInvalidRequest},
		{"unknown pool", group(replica.Request{SyncType: clone, SourceGroup: g.ID, TargetPool: "nope"}), replica.ErrInvalidRequest},
		{"bad relationship name", group(replica.Request{SyncType: clone, SourceGroup: g.ID, RelationshipName: "a/b"}), replica.ErrInvalidRequest},
		{"target name taken", group(replica.Request{SyncType: clone, SourceGroup: g.ID, RelationshipName: "taken"}), replica.ErrInvalidRequest},
		{"client must supply targets", group(replica.Request{SyncType: clone, SourceGroup: g.ID, Settings: replica.Settings{Supply: replica.SupplyExisting}}), replica.ErrInvalidRequest},
		{"client must supply, empty target group", group(replica.Request{SyncType: clone, SourceGroup: g.ID, TargetGroup: empty.ID, Settings: replica.Settings{Supply: replica.SupplyExisting}}), replica.ErrInvalidRequest},
		{"point in time without consistency", group(replica.Request{SyncType: clone, SourceGroup: g.ID, Consistency: replica.ConsistencyNone, Settings: replica.Settings{ConsistentPointInTime: ptr(true)}}), replica.ErrInvalidRequest},
		{"element: target is source", replica.Request{Shape: replica.ShapeElement, SyncType: clone, SourceElement: a.ID, TargetElement: a.ID}, replica.ErrInvalidRequest},
		{"element: target size", replica.Request{Shape: replica.ShapeElement, SyncType: clone, SourceElement: a.ID, TargetElement: small.ID}, replica.ErrInvalidRequest},
		{"element: target and pool", replica.Request{Shape: replica.ShapeElement, SyncType: clone, SourceElement: a.ID, TargetElement: b.ID, TargetPool: "default"}, replica.ErrInvalidRequest},
		{"element: group source", replica.Request{Shape: replica.ShapeElement, SyncType: clone, SourceGroup: g.ID}, replica.ErrInvalidRequest},
		{"element: existing name", replica.Request{Shape: replica.ShapeElement, SyncType: clone, SourceElement: a.ID, ElementName: "b"}, replica.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.svc.Replicate(ctx, tt.req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got result %v, error %v; want error %v", res, err, tt.want)
			}
			if after := e.state(); after != before {
				t.Errorf("a refused request changed the state:\ngot  %s\nwant %s", after, before)
			}
			for _, cim := range cimWords {
				if strings.Contains(err.Error(), cim) {
					t.Errorf("error %q names the CIM %s; replica speaks of its own concepts", err, cim)
				}
			}
		})
	}
}

// cimWords are CIM parameter names and value-map words the errors of
// replica must not use: the provider translates CIM (issue 17 item 3).
var cimWords = []string{"SourceGroup", "SourceElement", "TargetGroup", "TargetElement", "TargetPool",
	"RelationshipName", "ElementName", "ReplicationSettingData", "TargetElementSupplier", "SyncType",
	"WaitForCopyState", "NULL", "DMTF", "vendor"}

func TestReplicateElementClone(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	src := e.volume("src", 8*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone,
		SourceElement: src.ID, ElementName: "copy"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Syncs) != 1 || len(res.Created) != 1 || res.GroupSync != nil || res.TargetGroup != nil {
		t.Fatalf("got %d syncs, %d created, group sync %v; want 1, 1, none", len(res.Syncs), len(res.Created), res.GroupSync)
	}
	job := e.wait(res.JobID)
	if job.State != jobqueue.StateCompleted || job.PercentComplete != 100 {
		t.Fatalf("job %s %d%% (%s), want Completed 100%%", job.State, job.PercentComplete, job.Err)
	}
	tgt, err := e.vols.Get(ctx, res.Created[0])
	if err != nil {
		t.Fatal(err)
	}
	if tgt.Name != "copy" {
		t.Errorf("target name %q, want copy", tgt.Name)
	}
	e.sameBytes(src.ID, tgt.ID)
	x, err := e.svc.SynchronizationOf(ctx, src.ID, tgt.ID)
	if err != nil {
		t.Fatal(err)
	}
	if x.CopyState != replica.CopyStateSynchronized || x.Mode != replica.DefaultMode || x.Synchronized.IsZero() {
		t.Errorf("sync %s mode %s synchronized %v, want Synchronized, %s, set", x.CopyState, x.Mode, x.Synchronized, replica.DefaultMode)
	}
	// replica's records answer which volumes are paired, and deleting
	// them is refused while they are.
	if r, err := e.svc.RoleOf(ctx, src.ID); err != nil || r != (replica.Role{Sources: 1}) {
		t.Errorf("source role %+v (%v), want 1 source", r, err)
	}
	if r, err := e.svc.RoleOf(ctx, tgt.ID); err != nil || r != (replica.Role{Targets: 1}) {
		t.Errorf("target role %+v (%v), want 1 target", r, err)
	}
	for _, id := range []volumes.ID{src.ID, tgt.ID} {
		if err := e.svc.DeleteVolume(ctx, id); !errors.Is(err, replica.ErrInRelationship) {
			t.Errorf("DeleteVolume of a paired volume: %v, want ErrInRelationship", err)
		}
	}
	if err := e.svc.EndSynchronization(ctx, x.ID, replica.EndDetach); err != nil {
		t.Fatal(err)
	}
	for _, id := range []volumes.ID{src.ID, tgt.ID} {
		if r, err := e.svc.RoleOf(ctx, id); err != nil || r.InRelationship() {
			t.Errorf("role of %s after Detach: %+v (%v), want none", id, r, err)
		}
	}
	// The source lease is released: the source can be replicated again.
	if _, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeSnapshot, SourceElement: src.ID}); err != nil {
		t.Errorf("second replica of a finished source: %v", err)
	}
	for _, f := range e.files() {
		if filepath.Ext(f) != ".img" {
			t.Errorf("stray file %s in the pool", f)
		}
	}
}

// TestReplicateSnapshotReflink runs a Snapshot in a pool on a reflink filesystem:
// the job clones the image instead of copying it, says so in its result, and the
// replica takes no data blocks of its own.
func TestReplicateSnapshotReflink(t *testing.T) {
	e := newEnvIn(t, enginetest.MountReflinkFS(t, 512*MiB), true, replica.Options{})
	ctx := context.Background()
	src := e.filled("src", 64*MiB)
	free := enginetest.FreeBytes(t, e.dir)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeSnapshot, SourceElement: src.ID})
	if err != nil {
		t.Fatal(err)
	}
	job := e.wait(res.JobID)
	if job.State != jobqueue.StateCompleted {
		t.Fatalf("job %s (%s), want Completed", job.State, job.Err)
	}
	var reports []replica.CopyReport
	if err := json.Unmarshal(job.Result, &reports); err != nil || len(reports) != 1 {
		t.Fatalf("job result %s: %v, want one CopyReport", job.Result, err)
	}
	if r := reports[0]; r.Method != "reflink" || r.BytesCopied != 64*MiB {
		t.Errorf("copy report %+v, want method reflink over 64 MiB", r)
	}
	if used := free - enginetest.FreeBytes(t, e.dir); used > 4*MiB {
		t.Errorf("the snapshot used %d bytes of free space, want at most 4 MiB (shared extents)", used)
	}
	e.sameBytes(src.ID, res.Created[0])
}

func TestReplicateGroup(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	var members []volumes.ID
	for i := range 3 {
		members = append(members, e.volume(fmt.Sprintf("v%d", i), int64(i+2)*MiB).ID)
	}
	g, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "cg"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddMembers(ctx, g.ID, members); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone,
		Mode: replica.ModeAsynchronous, SourceGroup: g.ID, RelationshipName: "snap1"})
	if err != nil {
		t.Fatal(err)
	}
	if job := e.wait(res.JobID); job.State != jobqueue.StateCompleted {
		t.Fatalf("job %s: %s", job.State, job.Err)
	}
	tg, err := e.svc.Group(ctx, res.TargetGroup.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !tg.ConsistentPointInTime || tg.Name != "snap1" || len(tg.Members) != 3 {
		t.Errorf("target group %+v, want snap1 with 3 members and ConsistentPointInTime", tg)
	}
	for i, id := range tg.Members {
		v, _ := e.vols.Get(ctx, id)
		if want := fmt.Sprintf("snap1_%d", i+1); v.Name != want {
			t.Errorf("target %d named %s, want %s", i, v.Name, want)
		}
		e.sameBytes(members[i], id)
	}
	gs, err := e.svc.GroupSynchronizationOf(ctx, g.ID, tg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := e.svc.GroupCopyState(ctx, gs); st != replica.CopyStateSynchronized {
		t.Errorf("group copy state %s, want Synchronized", st)
	}
	if gs.RelationshipName != "snap1" || gs.Consistency != replica.ConsistencySequential {
		t.Errorf("group sync %q %s, want snap1 Sequential", gs.RelationshipName, gs.Consistency)
	}
	// A group in a relationship cannot change.
	if _, err := e.svc.AddMembers(ctx, g.ID, nil); !errors.Is(err, replica.ErrInRelationship) {
		t.Errorf("AddMembers to a group in a relationship: got %v, want ErrInRelationship", err)
	}
	if err := e.svc.DeleteGroup(ctx, g.ID, true); !errors.Is(err, replica.ErrInRelationship) {
		t.Errorf("DeleteGroup in a relationship: got %v, want ErrInRelationship", err)
	}
	// Detach ends it; targets stay, groups can change again.
	if err := e.svc.EndSynchronization(ctx, res.Syncs[0].ID, replica.EndDetach); !errors.Is(err, replica.ErrInRelationship) {
		t.Errorf("detach of a group member alone: got %v, want ErrInRelationship", err)
	}
	if err := e.svc.EndGroupSynchronization(ctx, gs.ID, replica.EndDetach); err != nil {
		t.Fatal(err)
	}
	if all, _ := e.svc.Synchronizations(ctx); len(all) != 0 {
		t.Errorf("%d synchronizations after Detach, want 0", len(all))
	}
	for _, id := range tg.Members {
		if _, err := e.vols.Get(ctx, id); err != nil {
			t.Errorf("target %s after Detach: %v", id, err)
		}
	}
	if err := e.svc.DeleteGroup(ctx, g.ID, true); err != nil {
		t.Errorf("DeleteGroup after Detach: %v", err)
	}
}

func TestTargetElementCount(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	src := e.volume("base", 3*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeSnapshot,
		SourceElement: src.ID, TargetElementCount: ptr(uint64(3)), RelationshipName: "abcde"})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(res.JobID)
	if len(res.Created) != 3 {
		t.Fatalf("created %d targets, want 3", len(res.Created))
	}
	for i, id := range res.Created {
		v, err := e.vols.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("abcde_%d", i+1); v.Name != want {
			t.Errorf("target %d is %s, want %s", i, v.Name, want)
		}
		e.sameBytes(src.ID, id)
	}
	sg, err := e.svc.Group(ctx, res.SourceGroup.ID)
	if err != nil || !sg.SystemGenerated || len(sg.Members) != 1 {
		t.Errorf("source group %+v (%v), want a system group holding the source", sg, err)
	}
	// Return To ResourcePool deletes the targets and the system groups.
	if err := e.svc.EndGroupSynchronization(ctx, res.GroupSync.ID, replica.EndReturnToPool); err != nil {
		t.Fatal(err)
	}
	for _, id := range res.Created {
		if _, err := e.vols.Get(ctx, id); !errors.Is(err, volumes.ErrNotFound) {
			t.Errorf("target %s after Return To ResourcePool: %v, want ErrNotFound", id, err)
		}
	}
	if gs, _ := e.svc.Groups(ctx); len(gs) != 0 {
		t.Errorf("%d groups left, want 0", len(gs))
	}
}

// TestExistingTargetGroup is Cinder's consistency-group snapshot: targets
// made beforehand and grouped, then replicated into.
func TestExistingTargetGroup(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	var srcs, tgts []volumes.ID
	for i := range 2 {
		srcs = append(srcs, e.volume(fmt.Sprintf("s%d", i), 2*MiB).ID)
		v, err := e.vols.Create(ctx, volumes.DefaultPool, fmt.Sprintf("t%d", i), 2*MiB)
		if err != nil {
			t.Fatal(err)
		}
		tgts = append(tgts, v.ID)
	}
	sg, _ := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "cg", Members: srcs})
	tg, _ := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "cgsnap", Members: tgts})
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone,
		SourceGroup: sg.ID, TargetGroup: tg.ID, RelationshipName: "12345"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 0 || res.TargetGroup.ID != tg.ID {
		t.Fatalf("created %d, target group %s; want 0 and %s", len(res.Created), res.TargetGroup.ID, tg.ID)
	}
	e.wait(res.JobID)
	for i := range srcs {
		e.sameBytes(srcs[i], tgts[i])
	}
	// The same targets cannot take a second relationship.
	if _, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone,
		SourceGroup: sg.ID, TargetGroup: tg.ID}); !errors.Is(err, replica.ErrInRelationship) {
		t.Errorf("second replica into the same target group: got %v, want ErrInRelationship", err)
	}
}

// TestInUse: a second request on a source whose copy has not finished is
// refused; nothing of it is created.
func TestInUse(t *testing.T) {
	e := newEnv(t, false, replica.Options{}) // jobs stay New: leases stay held
	ctx := context.Background()
	src := e.volume("src", 2*MiB)
	if _, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone, SourceElement: src.ID}); err != nil {
		t.Fatal(err)
	}
	before := e.state()
	_, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone, SourceElement: src.ID, TargetElementCount: ptr(uint64(2))})
	if !errors.Is(err, replica.ErrInUse) || !errors.Is(err, volumes.ErrInUse) {
		t.Fatalf("got %v, want ErrInUse", err)
	}
	if after := e.state(); after != before {
		t.Errorf("refused request changed the state:\ngot  %s\nwant %s", after, before)
	}
	// The copy job runs once the queue starts, and frees the source.
	e.jobs.Start()
	jobs, _ := e.jobs.List()
	if j := e.wait(jobs[0].ID); j.State != jobqueue.StateCompleted {
		t.Fatalf("job %s: %s", j.State, j.Err)
	}
	if _, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone, SourceElement: src.ID}); err != nil {
		t.Errorf("after the first copy: %v", err)
	}
}

// TestConcurrentRequests: of several simultaneous requests on one source,
// the ones that are not refused with ErrInUse all complete, and never more
// than one holds the source at a time.
func TestConcurrentRequests(t *testing.T) {
	e := newEnv(t, false, replica.Options{})
	ctx := context.Background()
	src := e.volume("src", 2*MiB)
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			_, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone,
				SourceElement: src.ID, ElementName: fmt.Sprintf("c%d", i)})
			errs <- err
		}()
	}
	ok := 0
	for range 4 {
		err := <-errs
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, replica.ErrInUse):
			t.Errorf("got %v, want nil or ErrInUse", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d requests succeeded, want exactly 1", ok)
	}
}

func TestTerminateBeforeStart(t *testing.T) {
	e := newEnv(t, false, replica.Options{})
	ctx := context.Background()
	src := e.volume("src", 2*MiB)
	before := e.state()
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone, SourceElement: src.ID, TargetElementCount: ptr(uint64(2))})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Terminate(ctx, res.JobID); err != nil {
		t.Fatal(err)
	}
	j, _ := e.jobs.Get(res.JobID)
	if j.State != jobqueue.StateTerminated {
		t.Errorf("job %s, want Terminated", j.State)
	}
	if err := e.jobs.Delete(res.JobID); err != nil {
		t.Fatal(err)
	}
	if after := e.state(); after != before {
		t.Errorf("terminated request left state behind:\ngot  %s\nwant %s", after, before)
	}
	// The source is free again.
	if _, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone, SourceElement: src.ID}); err != nil {
		t.Errorf("after terminate: %v", err)
	}
}

// waitRunning waits until job id has made some progress.
func waitRunning(t *testing.T, e *env, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		j, err := e.jobs.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State.Final() {
			t.Fatalf("job finished (%s) before it could be interrupted", j.State)
		}
		if j.State == jobqueue.StateRunning && j.Done > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("job made no progress")
}

func TestTerminateMidCopy(t *testing.T) {
	e := newEnv(t, true, replica.Options{BandwidthLimit: 4 * MiB})
	ctx := context.Background()
	src := e.filled("big", 32*MiB)
	before := e.state()
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone, SourceElement: src.ID, RelationshipName: "t"})
	if err != nil {
		t.Fatal(err)
	}
	waitRunning(t, e, res.JobID)
	if err := e.svc.Terminate(ctx, res.JobID); err != nil {
		t.Fatal(err)
	}
	j := e.wait(res.JobID)
	if j.State != jobqueue.StateTerminated || j.ErrorCode == 0 {
		t.Errorf("job %s code %d, want Terminated with a nonzero code", j.State, j.ErrorCode)
	}
	if err := e.jobs.Delete(res.JobID); err != nil {
		t.Fatal(err)
	}
	if after := e.state(); after != before {
		t.Errorf("terminated copy left state behind:\ngot  %s\nwant %s", after, before)
	}
	if r, err := e.svc.RoleOf(ctx, src.ID); err != nil || r.InRelationship() {
		t.Errorf("source role after the termination: %+v (%v), want none", r, err)
	}
}

// TestResumeAfterRestart: a copy interrupted by a stop resumes from its
// checkpoint and completes byte-identical.
func TestResumeAfterRestart(t *testing.T) {
	e := newEnv(t, true, replica.Options{BandwidthLimit: 8 * MiB})
	ctx := context.Background()
	src := e.filled("big", 24*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone, SourceElement: src.ID, ElementName: "copy"})
	if err != nil {
		t.Fatal(err)
	}
	waitRunning(t, e, res.JobID)
	e.reopen(true)
	j := e.wait(res.JobID)
	if j.State != jobqueue.StateCompleted || j.Attempts < 2 {
		t.Fatalf("job %s after %d attempts (%s), want Completed after a resume", j.State, j.Attempts, j.Err)
	}
	e.sameBytes(src.ID, res.Created[0])
	if _, err := os.Stat(filepath.Join(e.dir, "pools", "default", ".copy.img.replica")); !os.IsNotExist(err) {
		t.Errorf("partial file still there: %v", err)
	}
}

// TestFailedCopyCleansUp: a copy that fails (its source vanished) fails
// the job with a nonzero code and removes everything the request made.
func TestFailedCopyCleansUp(t *testing.T) {
	e := newEnv(t, false, replica.Options{})
	ctx := context.Background()
	src := e.volume("src", 2*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone,
		SourceElement: src.ID, TargetElementCount: ptr(uint64(2)), RelationshipName: "f"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(src.Path()); err != nil {
		t.Fatal(err)
	}
	e.jobs.Start()
	j := e.wait(res.JobID)
	if j.State != jobqueue.StateFailed || j.ErrorCode == 0 || j.Err == "" {
		t.Fatalf("job %s code %d err %q, want Failed with a code and a message", j.State, j.ErrorCode, j.Err)
	}
	for _, id := range res.Created {
		if _, err := e.vols.Get(ctx, id); !errors.Is(err, volumes.ErrNotFound) {
			t.Errorf("target %s after a failed copy: %v, want ErrNotFound", id, err)
		}
	}
	if gs, _ := e.svc.Groups(ctx); len(gs) != 0 {
		t.Errorf("%d groups after a failed copy, want 0", len(gs))
	}
	if ss, _ := e.svc.Synchronizations(ctx); len(ss) != 0 {
		t.Errorf("%d synchronizations after a failed copy, want 0", len(ss))
	}
}

// TestTerminateWhileStopped: a Terminate recorded for a job that a stop
// interrupted is finished by the next Open: the targets go.
func TestTerminateWhileStopped(t *testing.T) {
	e := newEnv(t, true, replica.Options{BandwidthLimit: 4 * MiB})
	ctx := context.Background()
	src := e.filled("big", 16*MiB)
	before := e.state()
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone, SourceElement: src.ID, ElementName: "copy"})
	if err != nil {
		t.Fatal(err)
	}
	waitRunning(t, e, res.JobID)
	e.close()
	e.open(false)
	if err := e.svc.Terminate(ctx, res.JobID); err != nil {
		t.Fatal(err)
	}
	e.reopen(true)
	j := e.wait(res.JobID)
	if j.State != jobqueue.StateTerminated {
		t.Errorf("job %s, want Terminated", j.State)
	}
	e.jobs.Delete(res.JobID)
	if after := e.state(); after != before {
		t.Errorf("state after terminate across a restart:\ngot  %s\nwant %s", after, before)
	}
}

func TestWait(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	src := e.volume("src", 2*MiB)
	if _, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone,
		SourceElement: src.ID, WaitForCopyState: replica.CopyStateInactive}); !errors.Is(err, replica.ErrNotSupported) {
		t.Errorf("WaitForCopyState Inactive: got %v, want ErrNotSupported", err)
	}
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone,
		SourceElement: src.ID, WaitForCopyState: replica.CopyStateSynchronized})
	if err != nil {
		t.Fatal(err)
	}
	job, err := e.svc.Wait(ctx, res.JobID, replica.CopyStateSynchronized)
	if err != nil || job.State != jobqueue.StateCompleted {
		t.Fatalf("Wait: %s, %v; want Completed", job.State, err)
	}
	x, _ := e.svc.Synchronization(ctx, res.Syncs[0].ID)
	if x.CopyState != replica.CopyStateSynchronized {
		t.Errorf("after Wait the copy state is %s, want Synchronized", x.CopyState)
	}
	// A wait that cannot finish in time returns the context's error.
	e2 := newEnv(t, false, replica.Options{})
	src2 := e2.volume("src", MiB)
	res2, err := e2.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone, SourceElement: src2.ID})
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if job, err := e2.svc.Wait(short, res2.JobID, replica.CopyStateUnsynchronized); !errors.Is(err, context.DeadlineExceeded) || job.State != jobqueue.StateNew {
		t.Errorf("Wait on a queue that does not run: %s, %v; want New and DeadlineExceeded", job.State, err)
	}
}

// TestSourceElementIntoTargetGroup: one source element copied onto every
// member of a supplied target group.
func TestSourceElementIntoTargetGroup(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	src := e.volume("src", 2*MiB)
	var tgts []volumes.ID
	for i := range 2 {
		v, err := e.vols.Create(ctx, volumes.DefaultPool, fmt.Sprintf("t%d", i), 2*MiB)
		if err != nil {
			t.Fatal(err)
		}
		tgts = append(tgts, v.ID)
	}
	tg, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "targets", Members: tgts})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone, SourceElement: src.ID, TargetGroup: tg.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Syncs) != 2 || len(res.Created) != 0 {
		t.Fatalf("%d pairs, %d created; want 2 and 0", len(res.Syncs), len(res.Created))
	}
	e.wait(res.JobID)
	for _, id := range tgts {
		e.sameBytes(src.ID, id)
	}
}

// TestTargetPool: new targets go to TargetPool, or to their source's pool.
func TestTargetPool(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	if _, err := e.vols.CreatePool(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	src := e.volume("src", MiB)
	for _, tt := range []struct{ pool, want string }{{"fast", "fast"}, {"", volumes.DefaultPool}} {
		res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone,
			SourceElement: src.ID, TargetPool: tt.pool, ElementName: "in-" + tt.want})
		if err != nil {
			t.Fatal(err)
		}
		e.wait(res.JobID)
		v, err := e.vols.Get(ctx, res.Created[0])
		if err != nil {
			t.Fatal(err)
		}
		if v.Pool != tt.want {
			t.Errorf("TargetPool %q: target in pool %s, want %s", tt.pool, v.Pool, tt.want)
		}
		e.sameBytes(src.ID, v.ID)
	}
}
