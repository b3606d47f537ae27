package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

const rMiB = 1 << 20

func TestReplicationClassesRegister(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	for _, name := range []string{replicationServiceClassName, concreteJobClassName, replicationGroupClassName,
		storageSynchronizedClassName, groupSynchronizedClassName, replicationCapabilitiesClass, elementCapabilitiesClassName,
		affectedJobElementClassName, owningJobElementClassName, orderedMemberClassName, hostedCollectionClassName, serviceAffectsElementClass} {
		c, ok := e.reg.Class(Namespace, name)
		if !ok {
			t.Errorf("class %s not registered", name)
			continue
		}
		insts, err := e.reg.Enumerate(ctx, Namespace, name)
		if err != nil {
			t.Errorf("enumerate %s: %v", name, err)
		}
		for _, inst := range insts {
			if err := inst.Check(); err != nil {
				t.Errorf("%s instance: %v", c.Name, err)
			}
		}
	}
}

// rsdXML is a ReplicationSettingData parameter holding inst as a child
// element (the WS-Man form).
func rsdXML(inst *cimmodel.Instance) string {
	e := etree.NewElement("p:ReplicationSettingData")
	cimmodel.EncodeInstance(e, inst)
	return elementString(e)
}

// rsdText is a ReplicationSettingData parameter holding inst as CIM-XML text.
func rsdText(inst *cimmodel.Instance) string {
	return "<p:ReplicationSettingData>" + html.EscapeString(cimmodel.EncodeCIMXMLInstance(inst)) + "</p:ReplicationSettingData>"
}

// TestCreateGroupReplicaRules: every wrong parameter or combination answers
// its return code through the method router and creates nothing.
func TestCreateGroupReplicaRules(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	a := e.volume("a", 2*rMiB)
	b := e.volume("b", 2*rMiB)
	small := e.volume("small", rMiB)
	g, err := e.p.repl.svc.CreateGroup(ctx, replica.GroupSpec{Name: "src", Members: []volumes.ID{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	one, err := e.p.repl.svc.CreateGroup(ctx, replica.GroupSpec{Name: "one", Members: []volumes.ID{small}})
	if err != nil {
		t.Fatal(err)
	}
	before := e.state()
	sg := refParam("SourceGroup", e.p.groupPath(g.ID))
	se := refParam("SourceElement", e.p.volumePath(a))
	clone := param("SyncType", "8")
	sap := cimmodel.ObjectPath{Namespace: Namespace, Class: "CIM_RemoteServiceAccessPoint", Keys: []cimmodel.KeyBinding{
		{Name: "SystemCreationClassName", Value: cimmodel.String("x")}, {Name: "SystemName", Value: cimmodel.String("far")},
		{Name: "CreationClassName", Value: cimmodel.String("x")}, {Name: "Name", Value: cimmodel.String("x")}}}
	rsd := func(name string, v cimmodel.Value) *cimmodel.Instance {
		return e.p.defaultSettings(10).Set(name, v)
	}
	tests := []struct {
		name   string
		params []string
		want   uint32
	}{
		{"no SyncType", []string{sg}, 5},
		{"SyncType reserved", []string{sg, param("SyncType", "5")}, 5},
		{"SyncType TokenizedClone is reserved on Windows", []string{sg, param("SyncType", "9")}, 5},
		{"SyncType vendor", []string{sg, param("SyncType", "32769")}, 1},
		{"SyncType Mirror", []string{sg, param("SyncType", "6")}, 1},
		{"Mode reserved", []string{sg, clone, param("Mode", "4")}, 5},
		{"Mode vendor", []string{sg, clone, param("Mode", "40000")}, 1},
		{"Consistency reserved", []string{sg, clone, param("Consistency", "9")}, 5},
		{"WaitForCopyState Inactive", []string{sg, clone, param("WaitForCopyState", "8")}, 1},
		{"WaitForCopyState reserved", []string{sg, clone, param("WaitForCopyState", "99")}, 5},
		{"neither source", []string{clone}, 5},
		{"both sources", []string{sg, se, clone}, 5},
		{"TargetGroup and TargetElementCount", []string{se, clone, refParam("TargetGroup", e.p.groupPath(one.ID)), param("TargetElementCount", "2")}, 5},
		{"TargetElementCount 0", []string{se, clone, param("TargetElementCount", "0")}, 5},
		{"TargetElementCount with SourceGroup", []string{sg, clone, param("TargetElementCount", "2")}, 5},
		{"unknown SourceGroup", []string{refParam("SourceGroup", e.p.groupPath("nope")), clone}, 5},
		{"unknown SourceElement", []string{refParam("SourceElement", e.p.volumePath("nope")), clone}, 5},
		{"TargetGroup of another size", []string{sg, clone, refParam("TargetGroup", e.p.groupPath(one.ID))}, 5},
		{"TargetGroup member too small", []string{se, clone, refParam("TargetGroup", e.p.groupPath(one.ID))}, 5},
		{"SourceAccessPoint", []string{sg, clone, refParam("SourceAccessPoint", sap)}, 1},
		{"TargetAccessPoint", []string{sg, clone, refParam("TargetAccessPoint", sap)}, 1},
		{"TargetSettingGoal", []string{sg, clone, refParam("TargetSettingGoal", e.p.defaultSettings(10).Path())}, 1},
		{"unknown TargetPool", []string{sg, clone, refParam("TargetPool", e.p.poolPath("nope"))}, 5},
		{"RelationshipName not a volume name", []string{sg, clone, param("RelationshipName", "a/b")}, 5},
		{"RelationshipName whose _1 exists", []string{sg, clone, param("RelationshipName", "a")}, 5}, // a_1? no: see below
		{"ReplicationSettingData value outside its map", []string{sg, clone, rsdXML(rsd("Pairing", cimmodel.Uint16(9)))}, 5},
		{"ReplicationSettingData as CIM-XML, value outside its map", []string{sg, clone, rsdText(rsd("TargetElementSupplier", cimmodel.Uint16(7)))}, 5},
		{"ReplicationSettingData unequal groups", []string{sg, clone, rsdXML(rsd("UnequalGroupsAction", cimmodel.Uint16(3)))}, 1},
		{"ReplicationSettingData client must supply targets", []string{sg, clone, rsdXML(rsd("TargetElementSupplier", cimmodel.Uint16(5)))}, 5},
		{"ReplicationSettingData multi-hop", []string{sg, clone, rsdXML(rsd("Multihop", cimmodel.Uint16(2)))}, 1},
	}
	// Make "a_1" exist so that RelationshipName "a" collides.
	if _, err := e.p.volumes.Create(ctx, volumes.DefaultPool, "a_1", rMiB); err != nil {
		t.Fatal(err)
	}
	before = e.state()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.call("CreateGroupReplica", tt.params...)
			if res.ReturnValue != tt.want {
				t.Errorf("ReturnValue = %d, want %d", res.ReturnValue, tt.want)
			}
			checkRefusalReason(t, res, "CreateGroupReplica", e.dataDir)
			if after := e.state(); after != before {
				t.Errorf("refused call changed the state:\ngot\n%s\nwant\n%s", after, before)
			}
		})
	}
}

func sameFiles(t *testing.T, e *replEnv, src, dst volumes.ID) {
	t.Helper()
	ctx := context.Background()
	a, err := e.p.volumes.Get(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.p.volumes.Get(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(a.Path())
	y, _ := os.ReadFile(b.Path())
	if !bytes.Equal(x, y) {
		t.Errorf("%s differs from its source %s", b.Name, a.Name)
	}
}

// TestCreateElementReplica is the vertical slice: a clone of one volume,
// waited for within the call, its job, target and synchronization resolved
// by Get, and Detach.
func TestCreateElementReplica(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	src := e.volume("src", 4*rMiB)
	res := e.call("CreateElementReplica", param("ElementName", "clone1"), param("SyncType", "8"),
		refParam("SourceElement", e.p.volumePath(src)), param("WaitForCopyState", "4"))
	if res.ReturnValue != 0 {
		t.Fatalf("ReturnValue = %d, want 0 (the copy fits in the call)", res.ReturnValue)
	}
	jobPath, tgtPath, syncPath := outRef(t, res, "Job"), outRef(t, res, "TargetElement"), outRef(t, res, "Synchronization")
	job, err := e.reg.Get(ctx, jobPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := rUint16(job, "JobState"); got != 7 {
		t.Errorf("JobState = %d, want 7", got)
	}
	if got, _ := job.Get("OperationalStatus").AsUint16s(); !slices.Equal(got, []uint16{2, 17}) {
		t.Errorf("OperationalStatus = %v, want [2 17]", got)
	}
	if rUint16(job, "PercentComplete") != 100 || rUint16(job, "ErrorCode") != 0 {
		t.Errorf("PercentComplete %d ErrorCode %d, want 100 and 0", rUint16(job, "PercentComplete"), rUint16(job, "ErrorCode"))
	}
	// The job reports the engine's data path.
	wantStatus := regexp.MustCompile(`^Completed: copied src to clone1 by (reflink|copy_file_range|readwrite|readwrite \(O_DIRECT\)), [0-9]+\.[0-9] MiB in [0-9]+\.[0-9]{2} s$`)
	if status, _ := job.Get("JobStatus").AsString(); !wantStatus.MatchString(status) {
		t.Errorf("JobStatus = %q, want it to match %s", status, wantStatus)
	}
	tgt, err := e.reg.Get(ctx, tgtPath)
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := tgt.Get("ElementName").AsString(); name != "clone1" {
		t.Errorf("target ElementName %q, want clone1", name)
	}
	tgtID, _ := volumeIDOf(tgtPath, "")
	sameFiles(t, e, src, tgtID)
	// The client-built key path resolves too (§6.2).
	for _, path := range []cimmodel.ObjectPath{syncPath, e.p.syncPath(src, tgtID)} {
		sync, err := e.reg.Get(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		for prop, want := range map[string]uint16{"CopyState": 4, "SyncState": 6, "CopyType": 5, "PercentSynced": 100, "SyncType": 8, "Mode": 3} {
			if got := rUint16(sync, prop); got != want {
				t.Errorf("StorageSynchronized.%s = %d, want %d", prop, got, want)
			}
		}
	}
	affected, err := e.reg.Associators(ctx, cimmodel.AssociationFilter{Object: jobPath, AssociationClassName: "CIM_AffectedJobElement", ResultClassName: "CIM_StorageVolume"})
	if err != nil {
		t.Fatal(err)
	}
	if len(affected) != 1 || !affected[0].Path().Equal(tgtPath) {
		t.Errorf("AffectedJobElement volumes %d, want exactly the target", len(affected))
	}
	refs, err := e.reg.References(ctx, cimmodel.AssociationFilter{Object: e.p.volumePath(src), ResultClassName: "CIM_StorageSynchronized"})
	if err != nil || len(refs) != 1 {
		t.Errorf("References(source, CIM_StorageSynchronized) = %d, %v; want 1", len(refs), err)
	}
	owner, err := e.reg.Associators(ctx, cimmodel.AssociationFilter{Object: jobPath, AssociationClassName: "CIM_OwningJobElement"})
	if err != nil || len(owner) != 1 || owner[0].Class.Name != replicationServiceClassName {
		t.Errorf("OwningJobElement of the job: %d, %v; want the replication service", len(owner), err)
	}
	// A second replica of the same name is refused; Detach ends the pair.
	if res := e.call("CreateElementReplica", param("ElementName", "clone1"), param("SyncType", "8"),
		refParam("SourceElement", e.p.volumePath(src))); res.ReturnValue != 5 {
		t.Errorf("second clone1: ReturnValue %d, want 5", res.ReturnValue)
	}
	if res := e.call("ModifyReplicaSynchronization", param("Operation", "8"), refParam("Synchronization", syncPath)); res.ReturnValue != 0 {
		t.Fatalf("Detach: ReturnValue %d, want 0", res.ReturnValue)
	}
	if _, err := e.reg.Get(ctx, syncPath); cimmodel.StatusOf(err) != cimmodel.StatusNotFound {
		t.Errorf("Get after Detach: %v, want CIM_ERR_NOT_FOUND", err)
	}
	if res := e.call("ModifyReplicaSynchronization", param("Operation", "8"), refParam("Synchronization", syncPath)); res.ReturnValue != 5 {
		t.Errorf("second Detach: ReturnValue %d, want 5", res.ReturnValue)
	}
}

func TestCreateGroupReplica(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	var srcs []volumes.ID
	for i := range 3 {
		srcs = append(srcs, e.volume(fmt.Sprintf("v%d", i), (i+1)*rMiB))
	}
	res := e.call("CreateGroup", param("GroupName", "cg1"))
	if res.ReturnValue != 0 {
		t.Fatalf("CreateGroup: %d", res.ReturnValue)
	}
	group := outRef(t, res, "ReplicationGroup")
	var members []string
	for _, id := range srcs {
		members = append(members, refParam("Members", e.p.volumePath(id)))
	}
	if res := e.call("AddMembers", append(members, refParam("ReplicationGroup", group))...); res.ReturnValue != 0 {
		t.Fatalf("AddMembers: %d", res.ReturnValue)
	}
	res = e.call("CreateGroupReplica", param("RelationshipName", "abcde"), param("SyncType", "8"), param("Mode", "3"),
		refParam("SourceGroup", group))
	if res.ReturnValue != 4096 {
		t.Fatalf("ReturnValue = %d, want 4096", res.ReturnValue)
	}
	jobPath, tg, syncPath := outRef(t, res, "Job"), outRef(t, res, "TargetGroup"), outRef(t, res, "Synchronization")
	if j := e.waitJob(jobPath); j.State != jobqueue.StateCompleted {
		t.Fatalf("job %s: %s", j.State, j.Err)
	}
	tgInst, err := e.reg.Get(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := tgInst.Get("ElementName").AsString(); name != "abcde" {
		t.Errorf("target group ElementName %q, want abcde", name)
	}
	if b, _ := tgInst.Get("ConsistentPointInTime").AsBool(); !b {
		t.Errorf("target group ConsistentPointInTime false, want true (Sequential by default)")
	}
	links, err := e.reg.References(ctx, cimmodel.AssociationFilter{Object: tg, ResultClassName: "CIM_OrderedMemberOfCollection"})
	if err != nil || len(links) != 3 {
		t.Fatalf("members of the target group: %d, %v; want 3", len(links), err)
	}
	for _, l := range links {
		m, _ := l.Get("Member").AsRef()
		seq, _ := l.Get("AssignedSequence").AsUint64()
		id, _ := volumeIDOf(m, "")
		v, err := e.p.volumes.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := "abcde_" + strconv.Itoa(int(seq)); v.Name != want {
			t.Errorf("member %d is %s, want %s", seq, v.Name, want)
		}
		sameFiles(t, e, srcs[seq-1], id)
	}
	sync, err := e.reg.Get(ctx, syncPath)
	if err != nil {
		t.Fatal(err)
	}
	if rUint16(sync, "CopyState") != 4 || rUint16(sync, "PercentSynced") != 100 {
		t.Errorf("GroupSynchronized CopyState %d PercentSynced %d, want 4 and 100", rUint16(sync, "CopyState"), rUint16(sync, "PercentSynced"))
	}
	if rn, _ := sync.Get("RelationshipName").AsString(); rn != "abcde" {
		t.Errorf("RelationshipName %q, want abcde", rn)
	}
	affected, err := e.reg.Associators(ctx, cimmodel.AssociationFilter{Object: jobPath, AssociationClassName: "CIM_AffectedJobElement"})
	if err != nil {
		t.Fatal(err)
	}
	var vols, groups int
	for _, a := range affected {
		switch a.Class.Name {
		case storageVolumeClassName:
			vols++
			id, _ := volumeIDOf(a.Path(), "")
			if slices.Contains(srcs, id) {
				t.Errorf("a source volume is an AffectedJobElement")
			}
		case replicationGroupClassName:
			groups++
		}
	}
	if vols != 3 || groups != 1 {
		t.Errorf("AffectedJobElement: %d volumes and %d groups, want 3 and 1", vols, groups)
	}
	// Groups in a relationship stay as they are.
	if res := e.call("DeleteGroup", refParam("ReplicationGroup", group), param("RemoveElements", "true")); res.ReturnValue != 7 {
		t.Errorf("DeleteGroup in a relationship: %d, want 7", res.ReturnValue)
	}
	// Return To ResourcePool deletes the targets and the group made for them.
	if res := e.call("ModifyReplicaSynchronization", param("Operation", "19"), refParam("Synchronization", syncPath)); res.ReturnValue != 0 {
		t.Fatalf("Return To ResourcePool: %d", res.ReturnValue)
	}
	if vs, _ := e.p.volumes.List(ctx, ""); len(vs) != 3 {
		t.Errorf("%d volumes after Return To ResourcePool, want the 3 sources", len(vs))
	}
	if _, err := e.reg.Get(ctx, tg); cimmodel.StatusOf(err) != cimmodel.StatusNotFound {
		t.Errorf("target group after Return To ResourcePool: %v, want NOT_FOUND", err)
	}
}

// TestTargetElementCountAndSynchronousMode: one source, three copies named
// from a 5-character RelationshipName, Mode Synchronous answers 0.
func TestTargetElementCountAndSynchronousMode(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	src := e.volume("base", 2*rMiB)
	res := e.call("CreateGroupReplica", param("RelationshipName", "snapA"), param("SyncType", "7"), param("Mode", "2"),
		refParam("SourceElement", e.p.volumePath(src)), param("TargetElementCount", "3"))
	if res.ReturnValue != 0 {
		t.Fatalf("ReturnValue = %d, want 0", res.ReturnValue)
	}
	for i := 1; i <= 3; i++ {
		v, err := e.p.volumes.Lookup(ctx, volumes.DefaultPool, fmt.Sprintf("snapA_%d", i))
		if err != nil {
			t.Fatalf("snapA_%d: %v", i, err)
		}
		sameFiles(t, e, src, v.ID)
		sync, err := e.reg.Get(ctx, e.p.syncPath(src, v.ID))
		if err != nil {
			t.Fatal(err)
		}
		if rUint16(sync, "CopyType") != 4 || rUint16(sync, "SyncType") != 7 {
			t.Errorf("snapshot CopyType %d SyncType %d, want 4 and 7", rUint16(sync, "CopyType"), rUint16(sync, "SyncType"))
		}
	}
}

func TestGroupMethods(t *testing.T) {
	e := newReplEnv(t)
	a := e.volume("a", rMiB)
	b := e.volume("b", rMiB)
	res := e.call("CreateGroup", param("GroupName", "g"), refParam("Members", e.p.volumePath(a)))
	if res.ReturnValue != 0 {
		t.Fatalf("CreateGroup: %d", res.ReturnValue)
	}
	g := outRef(t, res, "ReplicationGroup")
	nope := e.p.groupPath("nope")
	tests := []struct {
		name   string
		method string
		params []string
		want   uint32
	}{
		{"CreateGroup same name", "CreateGroup", []string{param("GroupName", "g")}, 5},
		{"CreateGroup unknown member", "CreateGroup", []string{param("GroupName", "h"), refParam("Members", e.p.volumePath("nope"))}, 5},
		{"AddMembers unknown group", "AddMembers", []string{refParam("ReplicationGroup", nope), refParam("Members", e.p.volumePath(b))}, 7},
		{"AddMembers no group", "AddMembers", []string{refParam("Members", e.p.volumePath(b))}, 5},
		{"RemoveMembers unknown group", "RemoveMembers", []string{refParam("ReplicationGroup", nope), refParam("Members", e.p.volumePath(a))}, 7},
		{"RemoveMembers non-member", "RemoveMembers", []string{refParam("ReplicationGroup", g), refParam("Members", e.p.volumePath(b))}, 8},
		{"DeleteGroup unknown", "DeleteGroup", []string{refParam("ReplicationGroup", nope)}, 5},
		{"DeleteGroup not empty", "DeleteGroup", []string{refParam("ReplicationGroup", g)}, 4},
	}
	before := e.state()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := e.call(tt.method, tt.params...); res.ReturnValue != tt.want {
				t.Errorf("ReturnValue = %d, want %d", res.ReturnValue, tt.want)
			}
			if after := e.state(); after != before {
				t.Errorf("refused call changed the state:\ngot\n%s\nwant\n%s", after, before)
			}
		})
	}
	ctx := context.Background()
	groups, err := e.reg.Associators(ctx, cimmodel.AssociationFilter{Object: e.service(), ResultClassName: "CIM_ReplicationGroup"})
	if err != nil || len(groups) != 1 {
		t.Errorf("groups associated with the service: %d, %v; want 1", len(groups), err)
	}
	if res := e.call("DeleteGroup", refParam("ReplicationGroup", g), param("RemoveElements", "true")); res.ReturnValue != 0 {
		t.Errorf("DeleteGroup RemoveElements: %d, want 0", res.ReturnValue)
	}
	if vs, _ := e.p.volumes.List(ctx, ""); len(vs) != 2 {
		t.Errorf("DeleteGroup removed volumes: %d left, want 2", len(vs))
	}
}

func TestCapabilitiesAndDefaultSettings(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	caps, err := e.reg.Associators(ctx, cimmodel.AssociationFilter{Object: e.service(), AssociationClassName: "CIM_ElementCapabilities",
		ResultClassName: "CIM_ReplicationServiceCapabilities"})
	if err != nil || len(caps) != 1 {
		t.Fatalf("capabilities: %d, %v; want 1", len(caps), err)
	}
	if got, _ := caps[0].Get("SupportedReplicationTypes").AsUint16s(); !slices.Equal(got, []uint16{3, 6, 7, 10, 11}) {
		t.Errorf("SupportedReplicationTypes %v, want [3 6 7 10 11]", got)
	}
	for _, name := range []string{"SupportedAsynchronousActions", "SupportedSynchronousActions"} {
		if got, _ := caps[0].Get(name).AsUint16s(); !slices.Contains(got, 2) || !slices.Contains(got, 3) {
			t.Errorf("%s %v lacks 2 or 3", name, got)
		}
	}
	old, err := e.reg.Associators(ctx, cimmodel.AssociationFilter{Object: e.service(), AssociationClassName: "CIM_ElementCapabilities",
		ResultClassName: "CIM_StorageReplicationCapabilities"})
	if err != nil || len(old) != 1 {
		t.Fatalf("storage replication capabilities: %d, %v; want 1", len(old), err)
	}
	if got, _ := old[0].Get("SupportedModifyOperations").AsUint16s(); !slices.Equal(got, []uint16{2, 3, 4, 5}) {
		t.Errorf("SupportedModifyOperations %v, want [2 3 4 5] (Detach, Fracture, Resync, Restore)", got)
	}
	capsPath := caps[0].Path()
	tests := []struct {
		name   string
		method string
		params []string
		want   uint32
		out    string
		values []uint16
	}{
		{"operations of async clones", "GetSupportedOperations", []string{param("ReplicationType", "11")}, 0, "SupportedOperations", []uint16{2, 8, 9, 12, 14, 15, 19, 21}},
		{"wait states of ModifyReplicaSynchronization", "GetSupportedWaitForCopyStates", []string{param("ReplicationType", "11"), param("MethodName", "4")}, 0, "SupportedCopyStates", []uint16{4, 6, 7, 12, 15}},
		{"operations of synchronous mirrors", "GetSupportedOperations", []string{param("ReplicationType", "2")}, 1, "", nil},
		{"wait states of ModifyReplicaSynchronization on mirrors", "GetSupportedWaitForCopyStates", []string{param("ReplicationType", "3"), param("MethodName", "4")}, 0, "SupportedCopyStates", []uint16{3, 4, 6, 7, 9, 12, 15}},
		{"operations of asynchronous mirrors", "GetSupportedOperations", []string{param("ReplicationType", "3")}, 0, "SupportedOperations", []uint16{2, 8, 9, 12, 14, 15, 16, 19, 21, 22}},
		{"group features", "GetSupportedGroupFeatures", []string{param("ReplicationType", "10")}, 0, "GroupFeatures", supportedGroupFeatures},
		{"wait states of CreateGroupReplica", "GetSupportedWaitForCopyStates", []string{param("ReplicationType", "10"), param("MethodName", "3")}, 0, "SupportedCopyStates", []uint16{2, 3, 4}},
		{"wait states of ModifyListSynchronization", "GetSupportedWaitForCopyStates", []string{param("ReplicationType", "10"), param("MethodName", "5")}, 0, "SupportedCopyStates", []uint16{4, 6, 7, 12, 15}},
		{"wait states of ModifySettingsDefineState", "GetSupportedWaitForCopyStates", []string{param("ReplicationType", "10"), param("MethodName", "6")}, 1, "", nil},
		{"default settings of remote mirrors", "GetDefaultReplicationSettingData", []string{param("ReplicationType", "4")}, 1, "", nil},
		{"default settings of a reserved type", "GetDefaultReplicationSettingData", []string{param("ReplicationType", "99")}, 5, "", nil},
		{"convert async local clone", "ConvertSyncTypeToReplicationType", []string{param("SyncType", "8"), param("Mode", "3"), param("LocalOrRemote", "2")}, 0, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.invoke(capsPath, tt.method, tt.params...)
			if err != nil {
				t.Fatal(err)
			}
			if res.ReturnValue != tt.want {
				t.Fatalf("ReturnValue %d, want %d", res.ReturnValue, tt.want)
			}
			if tt.method == "ConvertSyncTypeToReplicationType" {
				if got, _ := res.Out["SupportedReplicationTypes"].AsUint64(); got != 11 {
					t.Errorf("SupportedReplicationTypes = %d, want 11", got)
				}
			}
			if tt.out != "" {
				if got, _ := res.Out[tt.out].AsUint16s(); !slices.Equal(got, tt.values) {
					t.Errorf("%s = %v, want %v", tt.out, got, tt.values)
				}
			}
		})
	}
	// The default settings go back into a create, as VMAX does (§6.2), in
	// both encodings.
	res, err := e.invoke(capsPath, "GetDefaultReplicationSettingData", param("ReplicationType", "10"))
	if err != nil || res.ReturnValue != 0 {
		t.Fatalf("GetDefaultReplicationSettingData: %v, %v", res, err)
	}
	def, ok := res.Out["DefaultInstance"].AsInstance()
	if !ok {
		t.Fatalf("DefaultInstance = %v, want an instance", res.Out["DefaultInstance"])
	}
	src := e.volume("src", rMiB)
	for i, enc := range []string{rsdXML(def.Copy().Set("TargetElementSupplier", cimmodel.Uint16(2))), rsdText(def)} {
		res := e.call("CreateElementReplica", param("SyncType", "8"), refParam("SourceElement", e.p.volumePath(src)),
			enc, param("ElementName", "c"+strconv.Itoa(i)), param("WaitForCopyState", "4"))
		if res.ReturnValue != 0 {
			t.Errorf("create with the default settings (encoding %d): %d, want 0", i, res.ReturnValue)
		}
	}
}

func TestJobStatesAndErrors(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	// A copy job whose operation is gone fails: a failed job as clients see it.
	j, err := e.p.jobs.Submit(jobqueue.Spec{Kind: replica.KindCopy, Name: "broken", Payload: map[string]string{"op": "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	path := e.p.jobPath(j.ID)
	e.waitJob(path)
	inst, err := e.reg.Get(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := inst.Get("OperationalStatus").AsUint16s(); !slices.Equal(got, []uint16{6, 17}) {
		t.Errorf("failed job OperationalStatus %v, want [6 17]", got)
	}
	if rUint16(inst, "JobState") != 10 || rUint16(inst, "PercentComplete") != 100 || rUint16(inst, "ErrorCode") == 0 {
		t.Errorf("failed job JobState %d PercentComplete %d ErrorCode %d, want 10, 100, nonzero",
			rUint16(inst, "JobState"), rUint16(inst, "PercentComplete"), rUint16(inst, "ErrorCode"))
	}
	if d, _ := inst.Get("ErrorDescription").AsString(); d == "" {
		t.Errorf("failed job has no ErrorDescription")
	}
	res, err := e.invoke(path, "GetError")
	if err != nil || res.ReturnValue != 0 {
		t.Fatalf("GetError: %v, %v", res, err)
	}
	cimErr, ok := res.Out["Error"].AsInstance()
	if !ok || cimErr.Class.Name != "CIM_Error" {
		t.Fatalf("GetError Error = %v, want a CIM_Error", res.Out["Error"])
	}
	if msg, _ := cimErr.Get("Message").AsString(); !strings.Contains(msg, "operation") {
		t.Errorf("CIM_Error Message %q does not say what failed", msg)
	}
	for _, tt := range []struct {
		name   string
		params []string
		want   uint32
	}{
		{"terminate a finished job", []string{param("RequestedState", "4")}, 4097},
		{"suspend", []string{param("RequestedState", "3")}, 1},
		{"reserved state", []string{param("RequestedState", "7")}, 5},
		{"timeout period", []string{param("RequestedState", "4"), "<p:TimeoutPeriod><cim:Interval xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\">PT5S</cim:Interval></p:TimeoutPeriod>"}, 4098},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.invoke(path, "RequestStateChange", tt.params...)
			if err != nil {
				t.Fatal(err)
			}
			if res.ReturnValue != tt.want {
				t.Errorf("ReturnValue %d, want %d", res.ReturnValue, tt.want)
			}
		})
	}
	// Jobs appear under CIM_ConcreteJob and can be deleted once finished.
	all, err := e.reg.Enumerate(ctx, Namespace, "CIM_ConcreteJob")
	if err != nil || len(all) != 1 {
		t.Fatalf("enumerate CIM_ConcreteJob: %d, %v; want 1", len(all), err)
	}
	if err := e.reg.Delete(ctx, path); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Get(ctx, path); cimmodel.StatusOf(err) != cimmodel.StatusNotFound {
		t.Errorf("Get after Delete: %v, want NOT_FOUND", err)
	}
}

// firstWrite is a replica.CopyObserver that closes its channel at the
// first bytes a copy writes to a target.
type firstWrite struct {
	once    sync.Once
	written chan struct{}
}

func (f *firstWrite) AddBytesCopied(int64)             { f.once.Do(func() { close(f.written) }) }
func (f *firstWrite) ObserveCopy(int64, time.Duration) {}

// TestTerminateRemovesTargets: RequestStateChange 4 on a running copy
// answers 0, ends the job Terminated and leaves no target, no group, no
// synchronization. The copy is known to be running and cannot finish
// first: it has written its first chunk, and a bandwidth limit of 1 byte/s
// holds the next (the source's second extent lies 8 MiB further, in
// another chunk) for hours, until the termination cancels the wait.
func TestTerminateRemovesTargets(t *testing.T) {
	first := &firstWrite{written: make(chan struct{})}
	e := &replEnv{storageEnv: &storageEnv{t: t, dataDir: t.TempDir(),
		replicaOpts: replica.Options{Copies: first, BandwidthLimit: 1}}, t: t}
	e.open()
	t.Cleanup(e.close)
	src := e.volume("big", 16*rMiB)
	before := e.state()
	res := e.call("CreateGroupReplica", param("SyncType", "8"), refParam("SourceElement", e.p.volumePath(src)),
		param("TargetElementCount", "2"), param("RelationshipName", "t"))
	if res.ReturnValue != 4096 {
		t.Fatalf("ReturnValue %d, want 4096", res.ReturnValue)
	}
	path := outRef(t, res, "Job")
	select {
	case <-first.written:
	case <-time.After(30 * time.Second):
		t.Fatal("the copy wrote nothing within 30 s")
	}
	rsc, err := e.invoke(path, "RequestStateChange", param("RequestedState", "4"))
	if err != nil {
		t.Fatal(err)
	}
	j := e.waitJob(path)
	if rsc.ReturnValue != 0 || j.State != jobqueue.StateTerminated {
		t.Fatalf("RequestStateChange %d with job %s, want 0 and Terminated (the copy was running)", rsc.ReturnValue, j.State)
	}
	if err := e.p.jobs.Delete(j.ID); err != nil {
		t.Fatal(err)
	}
	if after := e.state(); after != before {
		t.Errorf("terminated replica left state:\ngot\n%s\nwant\n%s", after, before)
	}
}

// TestReplicationErrorTable: every replica.Err* sentinel has a row.
func TestReplicationErrorTable(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../replica/errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	ast.Inspect(f, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "New" && len(call.Args) == 1 {
				if lit, ok := call.Args[0].(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					texts = append(texts, s)
				}
			}
		}
		return true
	})
	if len(texts) < 10 {
		t.Fatalf("found %d sentinels in replica/errors.go, want more", len(texts))
	}
	for _, text := range texts {
		found := false
		for _, r := range domainErrors {
			if r.err.Error() == text {
				found = true
			}
		}
		if !found {
			t.Errorf("replica sentinel %q has no row in domainErrors", text)
		}
	}
	for _, tt := range []struct {
		method string
		err    error
		want   uint32
	}{
		{"AddMembers", replica.ErrGroupNotFound, 7},
		{"CreateGroupReplica", replica.ErrGroupNotFound, 5},
		{"RemoveMembers", replica.ErrNotMember, 8},
		{"DeleteGroup", replica.ErrInRelationship, 7},
		{"CreateGroupReplica", fmt.Errorf("x: %w", volumes.ErrInUse), 6},
		{"CreateGroupReplica", errors.New("anything else"), 4},
	} {
		if got := replicationReturnCode(tt.method, tt.err); got != tt.want {
			t.Errorf("%s(%v) = %d, want %d", tt.method, tt.err, got, tt.want)
		}
	}
}

// TestWaitForCopyStateTimeout: a WaitForCopyState that cannot be reached
// before the OperationTimeout answers 4096 with the Job, and the job goes on.
func TestWaitForCopyStateTimeout(t *testing.T) {
	e := newReplEnv(t)
	src := e.volume("src", 64*rMiB)
	uri := cimmodel.ResourceURI(Namespace, replicationServiceClassName)
	doc := etree.NewDocument()
	doc.ReadFromString(`<p:CreateElementReplica_INPUT xmlns:p="` + uri + `">` + param("SyncType", "8") +
		refParam("SourceElement", e.p.volumePath(src)) + param("WaitForCopyState", "4") + `</p:CreateElementReplica_INPUT>`)
	// A deadline shorter than the reply margin: no time to wait at all.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res, _, err := e.reg.Invoke(ctx, e.service(), "CreateElementReplica", doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	if res.ReturnValue != 4096 {
		t.Fatalf("ReturnValue %d, want 4096", res.ReturnValue)
	}
	if j := e.waitJob(outRef(t, res, "Job")); j.State != jobqueue.StateCompleted {
		t.Errorf("job %s, want Completed", j.State)
	}
}

// TestCreateElementReplicaIntoTarget: a supplied TargetElement of the same
// size receives the copy; TargetPool with it is invalid.
func TestCreateElementReplicaIntoTarget(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	src := e.volume("src", 2*rMiB)
	tgt, err := e.p.volumes.Create(ctx, volumes.DefaultPool, "tgt", 2*rMiB)
	if err != nil {
		t.Fatal(err)
	}
	before := e.state()
	if res := e.call("CreateElementReplica", param("SyncType", "8"), refParam("SourceElement", e.p.volumePath(src)),
		refParam("TargetElement", e.p.volumePath(tgt.ID)), refParam("TargetPool", e.p.poolPath("default"))); res.ReturnValue != 5 {
		t.Errorf("TargetElement with TargetPool: %d, want 5", res.ReturnValue)
	}
	if after := e.state(); after != before {
		t.Errorf("refused call changed the state:\ngot\n%s\nwant\n%s", after, before)
	}
	res := e.call("CreateElementReplica", param("SyncType", "8"), refParam("SourceElement", e.p.volumePath(src)),
		refParam("TargetElement", e.p.volumePath(tgt.ID)), param("WaitForCopyState", "4"))
	if res.ReturnValue != 0 {
		t.Fatalf("ReturnValue %d, want 0", res.ReturnValue)
	}
	if got := outRef(t, res, "TargetElement"); !got.Equal(e.p.volumePath(tgt.ID)) {
		t.Errorf("TargetElement %s, want the supplied %s", got, e.p.volumePath(tgt.ID))
	}
	sameFiles(t, e, src, tgt.ID)
	affected, err := e.reg.References(ctx, cimmodel.AssociationFilter{Object: outRef(t, res, "Job"), ResultClassName: "CIM_AffectedJobElement"})
	if err != nil || len(affected) != 1 {
		t.Fatalf("AffectedJobElement: %d, %v; want 1", len(affected), err)
	}
	if got, _ := affected[0].Get("ElementEffects").AsUint16s(); !slices.Equal(got, []uint16{4}) {
		t.Errorf("ElementEffects of a supplied target %v, want [4] (Element Integrity)", got)
	}
}

// TestReplicationSettingDataUnknownProperty documents what the method
// router does with an embedded setting that has a property
// CIM_ReplicationSettingData does not declare: it answers Invalid Parameter
// (5) before the method runs, and nothing is created.
func TestReplicationSettingDataUnknownProperty(t *testing.T) {
	e := newReplEnv(t)
	src := e.volume("src", rMiB)
	before := e.state()
	rsd := `<p:ReplicationSettingData><q:CIM_ReplicationSettingData xmlns:q="` + cimmodel.ResourceURI(Namespace, replicationSettingDataClass) +
		`"><q:Pairing>3</q:Pairing><q:NoSuchSetting>1</q:NoSuchSetting></q:CIM_ReplicationSettingData></p:ReplicationSettingData>`
	res, err := e.invoke(e.service(), "CreateElementReplica", param("SyncType", "8"), refParam("SourceElement", e.p.volumePath(src)), rsd)
	if err != nil || res.ReturnValue != 5 {
		t.Errorf("unknown setting: ReturnValue %d, fault %v; want ReturnValue 5", res.ReturnValue, err)
	}
	if after := e.state(); after != before {
		t.Errorf("refused call changed the state:\ngot\n%s\nwant\n%s", after, before)
	}
}

func TestGetAvailableTargetElements(t *testing.T) {
	e := newReplEnv(t)
	src := e.volume("src", 2*rMiB)
	same := e.volume("same", 2*rMiB)
	e.volume("bigger", 4*rMiB)
	res := e.call("GetAvailableTargetElements", refParam("SourceElement", e.p.volumePath(src)), param("SyncType", "8"))
	if res.ReturnValue != 0 {
		t.Fatalf("ReturnValue %d, want 0", res.ReturnValue)
	}
	got, _ := res.Out["Candidates"].AsRefs()
	if len(got) != 1 || !got[0].Equal(e.p.volumePath(same)) {
		t.Errorf("Candidates %v, want only %s", got, e.p.volumePath(same))
	}
	for _, tt := range []struct {
		name   string
		params []string
		want   uint32
	}{
		{"mirror", []string{refParam("SourceElement", e.p.volumePath(src)), param("SyncType", "6")}, 1},
		{"unknown pool", []string{refParam("SourceElement", e.p.volumePath(src)), param("SyncType", "8"), refParam("TargetPools", e.p.poolPath("nope"))}, 5},
		{"unknown source", []string{refParam("SourceElement", e.p.volumePath("nope")), param("SyncType", "8")}, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if res := e.call("GetAvailableTargetElements", tt.params...); res.ReturnValue != tt.want {
				t.Errorf("ReturnValue %d, want %d", res.ReturnValue, tt.want)
			}
		})
	}
}
