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
	res := e.call("CreateElementReplica", rParamXML("ElementName", "c"), rParamXML("SyncType", "8"),
		rRefParamXML("SourceElement", e.p.volumePath(src)), rParamXML("WaitForCopyState", "4"))
	if res.ReturnValue != 0 {
		t.Fatalf("CreateElementReplica: %d", res.ReturnValue)
	}
	syncPath, tgtPath := rOut(t, res, "Synchronization"), rOut(t, res, "TargetElement")
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
		{name: "fracture", params: []string{rParamXML("Operation", "12")}, after: props{6, 13, 3, 100}},
		{name: "fracture again is refused", params: []string{rParamXML("Operation", "12")}, want: 5, after: props{6, 13, 3, 100}},
		{name: "suspend is not supported", params: []string{rParamXML("Operation", "22")}, want: 1, after: props{6, 13, 3, 100}},
		{name: "resync waiting for a wrong state", params: []string{rParamXML("Operation", "14"), rParamXML("WaitForCopyState", "6")}, want: 5, after: props{6, 13, 3, 100}},
		{name: "resync within the call", before: func() { overwrite(t, e, src, rMiB, []byte("new data")) },
			params: []string{rParamXML("Operation", "14"), rParamXML("WaitForCopyState", "4")}, job: true, after: props{4, 6, 2, 100}, maint: true, compare: true},
		{name: "resync as a job", before: func() { overwrite(t, e, src, 2*rMiB, []byte("more data")) },
			params: []string{rParamXML("Operation", "14")}, want: 4096, job: true, after: props{4, 6, 2, 100}, maint: true, compare: true},
		{name: "split", params: []string{rParamXML("Operation", "21")}, after: props{7, 13, 3, 100}},
		{name: "abort without a job", params: []string{rParamXML("Operation", "2")}, want: 5, after: props{7, 13, 3, 100}},
		{name: "restore", before: func() { overwrite(t, e, src, 0, []byte("lost")) },
			params: []string{rParamXML("Operation", "15"), rParamXML("WaitForCopyState", "4")}, job: true, after: props{4, 6, 2, 100}, maint: true, compare: true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before()
			}
			res := e.call("ModifyReplicaSynchronization", append(st.params, rRefParamXML("Synchronization", syncPath))...)
			if res.ReturnValue != st.want {
				t.Fatalf("ReturnValue %d, want %d", res.ReturnValue, st.want)
			}
			if st.job {
				if j := e.waitJob(rOut(t, res, "Job")); j.State != jobqueue.StateCompleted {
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
	if res := e.call("ModifyReplicaSynchronization", rParamXML("Operation", "12"), rRefParamXML("Synchronization", missing)); res.ReturnValue != 5 {
		t.Errorf("unknown synchronization: ReturnValue %d, want 5", res.ReturnValue)
	}
	if res := e.call("ModifyReplicaSynchronization", rParamXML("Operation", "19"), rRefParamXML("Synchronization", syncPath)); res.ReturnValue != 0 {
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
	res := e.call("CreateGroup", rParamXML("GroupName", "cg"), rRefParamXML("Members", e.p.volumePath(a)), rRefParamXML("Members", e.p.volumePath(b)))
	if res.ReturnValue != 0 {
		t.Fatalf("CreateGroup: %d", res.ReturnValue)
	}
	res = e.call("CreateGroupReplica", rParamXML("SyncType", "7"), rParamXML("RelationshipName", "r"),
		rRefParamXML("SourceGroup", rOut(t, res, "ReplicationGroup")), rParamXML("WaitForCopyState", "4"))
	if res.ReturnValue != 0 {
		t.Fatalf("CreateGroupReplica: %d", res.ReturnValue)
	}
	gsPath := rOut(t, res, "Synchronization")
	for _, step := range []struct {
		op, wait string
		want     uint32
		state    uint16
	}{{"12", "", 0, 6}, {"21", "", 5, 6}, {"14", "4", 0, 4}} {
		params := []string{rParamXML("Operation", step.op), rRefParamXML("Synchronization", gsPath)}
		if step.wait != "" {
			params = append(params, rParamXML("WaitForCopyState", step.wait))
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
