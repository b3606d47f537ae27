package provider

import (
	"context"
	"os"
	"testing"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/volumes"
)

// overwrite writes b into volume id's image at off, as another process
// would.
func overwrite(t *testing.T, e *replEnv, id volumes.ID, off int64, b []byte) {
	t.Helper()
	v, err := e.p.volumes.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(v.Path(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestModifyReplicaSynchronization drives one clone through Fracture,
// Resync (waited for and as a job), Split, Restore and Return To
// ResourcePool over the registry, checking the return value and the
// association's state properties after each step.
func TestModifyReplicaSynchronization(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	src := e.volume("src", 4*rMiB)
	res := e.call("CreateElementReplica", param("ElementName", "c"), param("SyncType", "8"),
		refParam("SourceElement", e.p.volumePath(src)), param("WaitForCopyState", "4"))
	if res.ReturnValue != 0 {
		t.Fatalf("CreateElementReplica: %d", res.ReturnValue)
	}
	syncPath, tgtPath := outRef(t, res, "Synchronization"), outRef(t, res, "TargetElement")
	tgt, _ := volumeIDOf(tgtPath, "")
	type props struct{ copyState, syncState, progress, pct uint16 }
	steps := []struct {
		name    string
		before  func()
		params  []string
		want    uint32
		job     bool // a Job out-parameter is expected
		after   props
		maint   bool
		compare bool
	}{
		{name: "fracture", params: []string{param("Operation", "12")}, after: props{6, 13, 3, 100}},
		{name: "fracture again is refused", params: []string{param("Operation", "12")}, want: 5, after: props{6, 13, 3, 100}},
		{name: "suspend is not supported", params: []string{param("Operation", "22")}, want: 1, after: props{6, 13, 3, 100}},
		{name: "resync waiting for a wrong state", params: []string{param("Operation", "14"), param("WaitForCopyState", "6")}, want: 5, after: props{6, 13, 3, 100}},
		{name: "resync within the call", before: func() { overwrite(t, e, src, rMiB, []byte("new data")) },
			params: []string{param("Operation", "14"), param("WaitForCopyState", "4")}, job: true, after: props{4, 6, 2, 100}, maint: true, compare: true},
		{name: "resync as a job", before: func() { overwrite(t, e, src, 2*rMiB, []byte("more data")) },
			params: []string{param("Operation", "14")}, want: 4096, job: true, after: props{4, 6, 2, 100}, maint: true, compare: true},
		{name: "split", params: []string{param("Operation", "21")}, after: props{7, 13, 3, 100}},
		{name: "abort without a job", params: []string{param("Operation", "2")}, want: 5, after: props{7, 13, 3, 100}},
		{name: "restore", before: func() { overwrite(t, e, src, 0, []byte("lost")) },
			params: []string{param("Operation", "15"), param("WaitForCopyState", "4")}, job: true, after: props{4, 6, 2, 100}, maint: true, compare: true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before()
			}
			res := e.call("ModifyReplicaSynchronization", append(st.params, refParam("Synchronization", syncPath))...)
			if res.ReturnValue != st.want {
				t.Fatalf("ReturnValue %d, want %d", res.ReturnValue, st.want)
			}
			if st.job {
				if j := e.waitJob(outRef(t, res, "Job")); j.State != jobqueue.StateCompleted {
					t.Fatalf("job %s: %s", j.State, j.Err)
				}
			}
			inst, err := e.reg.Get(ctx, syncPath)
			if err != nil {
				t.Fatal(err)
			}
			got := props{rUint16(inst, "CopyState"), rUint16(inst, "SyncState"), rUint16(inst, "ProgressStatus"), rUint16(inst, "PercentSynced")}
			if got != st.after {
				t.Errorf("CopyState/SyncState/ProgressStatus/PercentSynced = %v, want %v", got, st.after)
			}
			if m, _ := inst.Get("SyncMaintained").AsBool(); m != st.maint {
				t.Errorf("SyncMaintained %v, want %v", m, st.maint)
			}
			if inst.Get("WhenSynced").IsNull() {
				t.Errorf("WhenSynced is NULL, want the last sync")
			}
			if st.compare {
				sameFiles(t, e, src, tgt)
			}
		})
	}
	missing := e.p.syncPath(src, volumes.ID("no-such-volume"))
	if res := e.call("ModifyReplicaSynchronization", param("Operation", "12"), refParam("Synchronization", missing)); res.ReturnValue != 5 {
		t.Errorf("unknown synchronization: ReturnValue %d, want 5", res.ReturnValue)
	}
	if res := e.call("ModifyReplicaSynchronization", param("Operation", "19"), refParam("Synchronization", syncPath)); res.ReturnValue != 0 {
		t.Fatalf("Return To ResourcePool: %d", res.ReturnValue)
	}
	if _, err := e.reg.Get(ctx, tgtPath); cimmodel.StatusOf(err) != cimmodel.StatusNotFound {
		t.Errorf("target after Return To ResourcePool: %v, want CIM_ERR_NOT_FOUND", err)
	}
}

// TestModifyGroupSynchronized fractures and resyncs a group replica through
// its GroupSynchronized.
func TestModifyGroupSynchronized(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	a, b := e.volume("a", rMiB), e.volume("b", 2*rMiB)
	res := e.call("CreateGroup", param("GroupName", "cg"), refParam("Members", e.p.volumePath(a)), refParam("Members", e.p.volumePath(b)))
	if res.ReturnValue != 0 {
		t.Fatalf("CreateGroup: %d", res.ReturnValue)
	}
	res = e.call("CreateGroupReplica", param("SyncType", "7"), param("RelationshipName", "r"),
		refParam("SourceGroup", outRef(t, res, "ReplicationGroup")), param("WaitForCopyState", "4"))
	if res.ReturnValue != 0 {
		t.Fatalf("CreateGroupReplica: %d", res.ReturnValue)
	}
	gsPath := outRef(t, res, "Synchronization")
	for _, step := range []struct {
		op, wait string
		want     uint32
		state    uint16
	}{{"12", "", 0, 6}, {"21", "", 5, 6}, {"14", "4", 0, 4}} {
		params := []string{param("Operation", step.op), refParam("Synchronization", gsPath)}
		if step.wait != "" {
			params = append(params, param("WaitForCopyState", step.wait))
		}
		if res := e.call("ModifyReplicaSynchronization", params...); res.ReturnValue != step.want {
			t.Fatalf("Operation %s: ReturnValue %d, want %d", step.op, res.ReturnValue, step.want)
		}
		inst, err := e.reg.Get(ctx, gsPath)
		if err != nil {
			t.Fatal(err)
		}
		if got := rUint16(inst, "CopyState"); got != step.state {
			t.Errorf("after Operation %s: group CopyState %d, want %d", step.op, got, step.state)
		}
	}
}

// TestRelationshipsAndLists: GetReplicationRelationships filters, the
// associations walked from either end, and ModifyListSynchronization.
func TestRelationshipsAndLists(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	src := e.volume("src", rMiB)
	var syncs []cimmodel.ObjectPath
	var targets []cimmodel.ObjectPath
	for _, st := range []string{"7", "8"} {
		res := e.call("CreateElementReplica", param("SyncType", st), refParam("SourceElement", e.p.volumePath(src)), param("WaitForCopyState", "4"))
		if res.ReturnValue != 0 {
			t.Fatalf("CreateElementReplica SyncType %s: %d", st, res.ReturnValue)
		}
		syncs = append(syncs, outRef(t, res, "Synchronization"))
		targets = append(targets, outRef(t, res, "TargetElement"))
	}
	g := e.volume("g", rMiB)
	res := e.call("CreateGroupReplica", param("SyncType", "8"), param("RelationshipName", "gr"),
		refParam("SourceElement", e.p.volumePath(g)), param("WaitForCopyState", "4"))
	if res.ReturnValue != 0 {
		t.Fatalf("CreateGroupReplica: %d", res.ReturnValue)
	}
	gsPath, targetGroup := outRef(t, res, "Synchronization"), outRef(t, res, "TargetGroup")

	// A fractured clone for the CopyState filter.
	if res := e.call("ModifyListSynchronization", param("Operation", "12"), refParam("Synchronization", syncs[1])); res.ReturnValue != 0 {
		t.Fatalf("ModifyListSynchronization Fracture: %d", res.ReturnValue)
	}
	tests := []struct {
		name   string
		params []string
		want   int
	}{
		{"all", nil, 4}, // two element pairs, the group's member pair, the group
		{"StorageSynchronized", []string{param("Type", "2")}, 3},
		{"GroupSynchronized", []string{param("Type", "3")}, 1},
		{"snapshots", []string{param("SyncType", "7")}, 1},
		{"fractured", []string{param("CopyState", "6")}, 1},
		{"synchronized clones", []string{param("SyncType", "8"), param("CopyState", "4")}, 2},
		{"asynchronous", []string{param("Mode", "3")}, 4},
		{"remote", []string{param("Locality", "3")}, 0},
		{"local", []string{param("Locality", "2")}, 4},
		{"mirrors", []string{param("SyncType", "6")}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.call("GetReplicationRelationships", tt.params...)
			if res.ReturnValue != 0 {
				t.Fatalf("ReturnValue %d, want 0", res.ReturnValue)
			}
			refs, _ := res.Out["Synchronizations"].AsRefs()
			if len(refs) != tt.want {
				t.Errorf("got %d relationships, want %d", len(refs), tt.want)
			}
			for _, r := range refs {
				if _, err := e.reg.Get(ctx, r); err != nil {
					t.Errorf("Get(%s): %v", r, err)
				}
			}
		})
	}
	if res := e.call("GetReplicationRelationships", param("Type", "4")); res.ReturnValue != 5 {
		t.Errorf("Type 4: ReturnValue %d, want 5", res.ReturnValue)
	}

	// Source volume → its replicas; a replica → its source; group → group.
	replicas, err := e.reg.Associators(ctx, cimmodel.AssociationFilter{Object: e.p.volumePath(src), AssociationClassName: "CIM_StorageSynchronized", ResultRole: "SyncedElement"})
	if err != nil || len(replicas) != 2 {
		t.Errorf("replicas of the source: %d, %v; want 2", len(replicas), err)
	}
	for _, tgt := range targets {
		back, err := e.reg.Associators(ctx, cimmodel.AssociationFilter{Object: tgt, AssociationClassName: "CIM_StorageSynchronized", Role: "SyncedElement"})
		if err != nil || len(back) != 1 || !back[0].Path().Equal(e.p.volumePath(src)) {
			t.Errorf("source of %s: %d, %v; want the source", tgt, len(back), err)
		}
	}
	gs, err := e.reg.Get(ctx, gsPath)
	if err != nil {
		t.Fatal(err)
	}
	srcGroup, _ := gs.Get("SystemElement").AsRef()
	groups, err := e.reg.Associators(ctx, cimmodel.AssociationFilter{Object: srcGroup, AssociationClassName: "CIM_GroupSynchronized"})
	if err != nil || len(groups) != 1 || !groups[0].Path().Equal(targetGroup) {
		t.Errorf("group → group: %d, %v; want the target group", len(groups), err)
	}

	// Lists: all or none; a group member is refused.
	if res := e.call("ModifyListSynchronization", param("Operation", "12"), refParam("Synchronization", syncs[0]), refParam("Synchronization", syncs[1])); res.ReturnValue != 5 {
		t.Errorf("Fracture of a fractured pair in a list: ReturnValue %d, want 5", res.ReturnValue)
	}
	if inst, _ := e.reg.Get(ctx, syncs[0]); rUint16(inst, "CopyState") != 4 {
		t.Errorf("refused list changed its first pair: CopyState %d, want 4", rUint16(inst, "CopyState"))
	}
	if res := e.call("ModifyListSynchronization", param("Operation", "14"), param("WaitForCopyState", "4"),
		refParam("Synchronization", syncs[0]), refParam("Synchronization", syncs[1])); res.ReturnValue != 0 {
		t.Errorf("list Resync: ReturnValue %d, want 0", res.ReturnValue)
	}
	if res := e.call("ModifyListSynchronization", param("Operation", "12"), refParam("Synchronization", gsPath)); res.ReturnValue != 5 {
		t.Errorf("GroupSynchronized in a list: ReturnValue %d, want 5", res.ReturnValue)
	}
}

// TestMirrorOverTheRegistry: an Asynchronous Mirror is made, shows as one
// (CopyType 2), and is suspended and resumed; a Synchronous one is refused.
func TestMirrorOverTheRegistry(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	src := e.volume("src", rMiB)
	if res := e.call("CreateElementReplica", param("SyncType", "6"), param("Mode", "2"), refParam("SourceElement", e.p.volumePath(src))); res.ReturnValue != 1 {
		t.Errorf("Synchronous Mirror: ReturnValue %d, want 1", res.ReturnValue)
	}
	res := e.call("CreateElementReplica", param("SyncType", "6"), param("Mode", "3"), refParam("SourceElement", e.p.volumePath(src)), param("WaitForCopyState", "4"))
	if res.ReturnValue != 0 {
		t.Fatalf("Asynchronous Mirror: ReturnValue %d, want 0", res.ReturnValue)
	}
	sync := outRef(t, res, "Synchronization")
	inst, err := e.reg.Get(ctx, sync)
	if err != nil {
		t.Fatal(err)
	}
	if rUint16(inst, "CopyType") != 2 || rUint16(inst, "SyncType") != 6 || rUint16(inst, "Mode") != 3 {
		t.Errorf("CopyType %d SyncType %d Mode %d, want 2, 6, 3", rUint16(inst, "CopyType"), rUint16(inst, "SyncType"), rUint16(inst, "Mode"))
	}
	if res := e.call("ModifyReplicaSynchronization", param("Operation", "22"), refParam("Synchronization", sync)); res.ReturnValue != 0 {
		t.Fatalf("Suspend: %d", res.ReturnValue)
	}
	inst, _ = e.reg.Get(ctx, sync)
	if rUint16(inst, "CopyState") != 9 || !inst.Get("PercentSynced").IsNull() {
		t.Errorf("suspended: CopyState %d PercentSynced %v, want 9 and NULL", rUint16(inst, "CopyState"), inst.Get("PercentSynced"))
	}
	if res := e.call("ModifyReplicaSynchronization", param("Operation", "16"), param("WaitForCopyState", "4"), refParam("Synchronization", sync)); res.ReturnValue != 5 {
		t.Errorf("Resume waiting for Synchronized: ReturnValue %d, want 5 (it leads to Unsynchronized)", res.ReturnValue)
	}
	if res := e.call("ModifyReplicaSynchronization", param("Operation", "16"), refParam("Synchronization", sync)); res.ReturnValue != 0 {
		t.Fatalf("Resume: %d", res.ReturnValue)
	}
	inst, _ = e.reg.Get(ctx, sync)
	if cs := rUint16(inst, "CopyState"); cs != 3 && cs != 4 {
		t.Errorf("resumed: CopyState %d, want 3 or 4", cs)
	}
}
