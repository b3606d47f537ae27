package provider

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/replica/engine"
	"github.com/replicad/replicad/volumes"
)

// The DMTF meaning of the capability values the walk below tries
// (CIM_ReplicationServiceCapabilities 2.29, as Windows' iSCSI Target
// provider documents it; CIM_ReplicationService.ModifyReplicaSynchronization
// Operation; CIM_StorageReplicationCapabilities.SupportedModifyOperations).
// They are written out here, not taken from the provider, so that a wrong
// advertisement cannot agree with itself.
var (
	// actionMethods: SupportedAsynchronousActions/SupportedSynchronousActions.
	actionMethods = map[uint16]string{2: "CreateElementReplica", 3: "CreateGroupReplica", 4: "CreateSynchronizationAspect",
		5: "ModifyReplicaSynchronization", 6: "ModifyListSynchronization", 7: "ModifySettingsDefineState",
		8: "GetAvailableTargetElements", 9: "GetPeerSystems", 10: "GetReplicationRelationships", 11: "GetServiceAccessPoints",
		12: "CreateGroup", 13: "DeleteGroup", 14: "AddMembers", 15: "RemoveMembers", 19: "CreateListReplica"}
	// leadsTo: the CopyState a ModifyReplicaSynchronization Operation ends
	// in (NotApplicable: the association is gone).
	leadsTo = map[uint16]uint16{2: 12, 8: 15, 9: 15, 12: 6, 14: 4, 15: 4, 16: 3, 19: 15, 21: 7, 22: 9}
	// copyOperations: CIM_StorageReplicationCapabilities.SupportedModifyOperations
	// → ModifyReplicaSynchronization Operation (Detach, Fracture, Resync, Restore).
	copyOperations = map[uint16]uint16{2: 8, 3: 12, 4: 14, 5: 15}
)

// replicationTypeOf splits a ReplicationType into SyncType, Mode and
// remoteness (its ValueMap: 2 + 4*(SyncType-6) + 2*remote + (Mode-2)).
func replicationTypeOf(t uint16) (syncType, mode uint16, remote bool) {
	return 6 + (t-2)/4, 2 + (t-2)%2, (t-2)%4 >= 2
}

// capsWalk calls the capabilities and the service of one environment.
type capsWalk struct {
	e *replEnv
	t *testing.T
	n int
}

// list calls a capabilities method answering one uint16 array out-parameter.
func (w *capsWalk) list(method, out string, params ...string) []uint16 {
	w.t.Helper()
	res, err := w.e.invoke(w.e.p.capabilitiesPath(), method, params...)
	if err != nil || res.ReturnValue != returnOK {
		w.t.Fatalf("%s(%v): %d %v %v", method, params, res.ReturnValue, res.Out, err)
	}
	l, _ := res.Out[out].AsUint16s()
	return l
}

// property reads a uint16 array property of a capabilities instance.
func (w *capsWalk) property(path cimmodel.ObjectPath, name string) []uint16 {
	w.t.Helper()
	inst, err := w.e.reg.Get(context.Background(), path)
	if err != nil {
		w.t.Fatal(err)
	}
	l, _ := inst.Get(name).AsUint16s()
	return l
}

// source makes a fresh source volume.
func (w *capsWalk) source() volumes.ID {
	w.n++
	id := w.e.volume(fmt.Sprintf("s%d", w.n), rMiB)
	// Settled before its replica is made: an Asynchronous Mirror of a
	// source written in the copy's coarse-clock tick is rightly caught up
	// once more by the mirror loop, Unsynchronized meanwhile, and an
	// operation allowed only from Synchronized could meet that (answer 6).
	f, err := w.e.p.volumes.OpenImage(context.Background(), id, false)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	was, err := engine.IdentityOf(f)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, same, err := engine.Settle(f, was); err != nil || !same {
		w.t.Fatalf("settle %s: written meanwhile (%v) or %v", id, !same, err)
	}
	return id
}

// settle waits for the job a call answered, if any, and fails on a failed
// job.
func (w *capsWalk) settle(what string, res cimmodel.Result) {
	w.t.Helper()
	job, ok := res.Out["Job"].AsRef()
	if !ok || res.Out["Job"].IsNull() {
		return
	}
	if j := w.e.waitJob(job); j.State != jobqueue.StateCompleted {
		w.t.Errorf("%s: job %s: %s", what, j.State, j.Err)
	}
}

// create makes a replica of a fresh source with ReplicationType t: an
// element replica, or (group) a group replica of one target, waited for
// until Synchronized. It returns the synchronization.
func (w *capsWalk) create(t uint16, group bool) cimmodel.ObjectPath {
	w.t.Helper()
	st, mode, _ := replicationTypeOf(t)
	params := []string{param("SyncType", strconv.Itoa(int(st))), param("Mode", strconv.Itoa(int(mode))),
		refParam("SourceElement", w.e.p.volumePath(w.source())), param("WaitForCopyState", "4")}
	method := "CreateElementReplica"
	if group {
		method = "CreateGroupReplica"
		params = append(params, param("TargetElementCount", "1"))
	}
	res := w.e.call(method, params...)
	if res.ReturnValue != returnOK {
		w.t.Fatalf("%s type %d: %d %v", method, t, res.ReturnValue, res.Out)
	}
	return outRef(w.t, res, "Synchronization")
}

// accepted reports a return value of 0 or 4096.
func accepted(res cimmodel.Result) bool {
	return res.ReturnValue == returnOK || res.ReturnValue == returnJobStarted
}

// TestCapabilitiesTellTheTruth walks what the capabilities advertise and
// tries each with the real replica service underneath: every advertised
// ReplicationType is created as element and as group replica, with each
// advertised WaitForCopyState; every advertised element and group Operation
// is accepted from a state the DMTF allows it in, each advertised
// WaitForCopyState of ModifyReplicaSynchronization is reached by the
// Operation that leads there; features, group features, consistency, the
// actions and the Copy Services modify operations are tried; and a few
// things not advertised are refused with a reason.
func TestCapabilitiesTellTheTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("tries every advertised capability with real copies (the slowest unit test); make test runs it")
	}
	e := newReplEnv(t)
	w := &capsWalk{e: e, t: t}
	types := w.property(e.p.capabilitiesPath(), "SupportedReplicationTypes")
	if len(types) == 0 {
		t.Fatal("no SupportedReplicationTypes")
	}
	sap := cimmodel.ObjectPath{Namespace: Namespace, Class: "CIM_RemoteServiceAccessPoint", Keys: []cimmodel.KeyBinding{
		{Name: "SystemCreationClassName", Value: cimmodel.String("x")}, {Name: "SystemName", Value: cimmodel.String("far")},
		{Name: "CreationClassName", Value: cimmodel.String("x")}, {Name: "Name", Value: cimmodel.String("x")}}}

	for t16 := uint16(2); t16 <= 13; t16++ {
		rt := strconv.Itoa(int(t16))
		st, mode, remote := replicationTypeOf(t16)
		base := func() []string {
			p := []string{param("SyncType", strconv.Itoa(int(st))), param("Mode", strconv.Itoa(int(mode))),
				refParam("SourceElement", e.p.volumePath(w.source()))}
			if remote {
				p = append(p, refParam("TargetAccessPoint", sap))
			}
			return p
		}
		if !slices.Contains(types, t16) {
			t.Run("not advertised/type "+rt, func(t *testing.T) {
				for _, method := range []string{"CreateElementReplica", "CreateGroupReplica"} {
					res := e.call(method, base()...)
					if accepted(res) {
						t.Errorf("%s of ReplicationType %d (not advertised) accepted", method, t16)
						w.settle(method, res)
						continue
					}
					checkRefusalReason(t, res, method, e.dataDir)
				}
			})
			continue
		}
		t.Run("type "+rt+"/create", func(t *testing.T) {
			for mn, method := range map[string]string{"2": "CreateElementReplica", "3": "CreateGroupReplica"} {
				waits := w.list("GetSupportedWaitForCopyStates", "SupportedCopyStates", param("ReplicationType", rt), param("MethodName", mn))
				if len(waits) == 0 {
					t.Errorf("%s: no WaitForCopyState advertised", method)
				}
				for _, wait := range append([]uint16{0}, waits...) {
					p := base()
					if wait != 0 {
						p = append(p, param("WaitForCopyState", strconv.Itoa(int(wait))))
					}
					res := e.call(method, p...)
					if !accepted(res) {
						t.Errorf("%s type %d WaitForCopyState %d (advertised): %d %v", method, t16, wait, res.ReturnValue, res.Out)
						continue
					}
					w.settle(method, res)
				}
				// A state no creation can wait for: Split (7).
				if res := e.call(method, append(base(), param("WaitForCopyState", "7"))...); accepted(res) {
					t.Errorf("%s type %d WaitForCopyState 7 (not advertised) accepted", method, t16)
					w.settle(method, res)
				}
			}
		})
		for _, group := range []bool{false, true} {
			method, kind := "GetSupportedOperations", "element"
			if group {
				method, kind = "GetSupportedGroupOperations", "group"
			}
			t.Run("type "+rt+"/"+kind+" operations", func(t *testing.T) {
				ops := w.list(method, "SupportedOperations", param("ReplicationType", rt))
				if len(ops) == 0 {
					t.Fatalf("%s: none", method)
				}
				for _, op := range ops {
					if op == uint16(replica.OpAbort) {
						continue // needs a copy in progress: TestCapabilitiesAbort
					}
					sync := w.create(t16, group)
					// Resume continues a Suspended mirror: suspend it first.
					if op == uint16(replica.OpResume) {
						if res := e.call("ModifyReplicaSynchronization", param("Operation", "22"), refParam("Synchronization", sync)); !accepted(res) {
							t.Fatalf("Suspend before Resume: %d %v", res.ReturnValue, res.Out)
						}
					}
					res := e.call("ModifyReplicaSynchronization", param("Operation", strconv.Itoa(int(op))), refParam("Synchronization", sync))
					if !accepted(res) {
						t.Errorf("%s Operation %d (advertised) on a %s replica of type %d: %d %v", kind, op, kind, t16, res.ReturnValue, res.Out)
						continue
					}
					w.settle("Operation "+strconv.Itoa(int(op)), res)
				}
				// Operations not advertised are refused: Failover (10),
				// and Suspend (22) where it is not advertised.
				for _, op := range []uint16{10, 22} {
					if slices.Contains(ops, op) {
						continue
					}
					sync := w.create(t16, group)
					res := e.call("ModifyReplicaSynchronization", param("Operation", strconv.Itoa(int(op))), refParam("Synchronization", sync))
					if accepted(res) {
						t.Errorf("%s Operation %d (not advertised) on type %d accepted", kind, op, t16)
						w.settle("Operation", res)
						continue
					}
					checkRefusalReason(t, res, "ModifyReplicaSynchronization", e.dataDir)
				}
			})
		}
		t.Run("type "+rt+"/modify waits", func(t *testing.T) {
			ops := w.list("GetSupportedOperations", "SupportedOperations", param("ReplicationType", rt))
			for mn, method := range map[string]string{"4": "ModifyReplicaSynchronization", "5": "ModifyListSynchronization"} {
				waits := w.list("GetSupportedWaitForCopyStates", "SupportedCopyStates", param("ReplicationType", rt), param("MethodName", mn))
				for _, wait := range waits {
					if wait == uint16(replica.CopyStateAborted) {
						continue // TestCapabilitiesAbort
					}
					var op uint16
					for _, o := range ops {
						if leadsTo[o] == wait {
							op = o
							break
						}
					}
					if op == 0 {
						t.Errorf("%s: WaitForCopyState %d advertised for type %d, but no advertised Operation leads there", method, wait, t16)
						continue
					}
					sync := w.create(t16, false)
					if op == uint16(replica.OpResume) {
						e.call("ModifyReplicaSynchronization", param("Operation", "22"), refParam("Synchronization", sync))
					}
					res := e.call(method, param("Operation", strconv.Itoa(int(op))),
						param("WaitForCopyState", strconv.Itoa(int(wait))), refParam("Synchronization", sync))
					if !accepted(res) {
						t.Errorf("%s Operation %d WaitForCopyState %d (advertised) on type %d: %d %v", method, op, wait, t16, res.ReturnValue, res.Out)
						continue
					}
					w.settle(method, res)
				}
			}
		})
		t.Run("type "+rt+"/features", func(t *testing.T) {
			w.features(t, t16)
		})
	}

	t.Run("actions", func(t *testing.T) {
		svc, ok := e.reg.Class(Namespace, replicationServiceClassName)
		if !ok {
			t.Fatal("no replication service class")
		}
		syncActs := w.property(e.p.capabilitiesPath(), "SupportedSynchronousActions")
		asyncActs := w.property(e.p.capabilitiesPath(), "SupportedAsynchronousActions")
		for _, a := range slices.Concat(syncActs, asyncActs) {
			name := actionMethods[a]
			m, ok := e.reg.Method(svc, name)
			if name == "" || !ok || m.Func == nil {
				t.Errorf("action %d (%s) advertised, but the service has no such method", a, name)
			}
		}
		for code, name := range actionMethods {
			if m, ok := e.reg.Method(svc, name); ok && m.Func != nil && !slices.Contains(syncActs, code) && !slices.Contains(asyncActs, code) {
				t.Errorf("%s (%d) is served but not advertised", name, code)
			}
		}
		// Asynchronous creation and modification answer a job.
		res := e.call("CreateElementReplica", param("SyncType", "8"), refParam("SourceElement", e.p.volumePath(w.source())))
		if res.ReturnValue != returnJobStarted {
			t.Errorf("CreateElementReplica without a wait: %d, want 4096", res.ReturnValue)
		}
		w.settle("create", res)
	})

	t.Run("copy services modify operations", func(t *testing.T) {
		ops := w.property(e.p.storageReplicationCapabilitiesPath(), "SupportedModifyOperations")
		for _, o := range ops {
			op, ok := copyOperations[o]
			if !ok {
				t.Errorf("SupportedModifyOperations %d: not one replicad can map", o)
				continue
			}
			sync := w.create(10, false)
			if op == uint16(replica.OpRestore) || op == uint16(replica.OpResync) {
				e.call("ModifyReplicaSynchronization", param("Operation", "12"), refParam("Synchronization", sync))
			}
			res := e.call("ModifyReplicaSynchronization", param("Operation", strconv.Itoa(int(op))), refParam("Synchronization", sync))
			if !accepted(res) {
				t.Errorf("SupportedModifyOperations %d (Operation %d): %d %v", o, op, res.ReturnValue, res.Out)
			}
			w.settle("modify", res)
		}
	})
}

// features tries each feature, group feature and consistency advertised
// for ReplicationType t that a method parameter expresses, and a
// consistency that is not advertised.
func (w *capsWalk) features(t *testing.T, t16 uint16) {
	e := w.e
	rt := strconv.Itoa(int(t16))
	st, mode, _ := replicationTypeOf(t16)
	typ := []string{param("SyncType", strconv.Itoa(int(st))), param("Mode", strconv.Itoa(int(mode)))}
	for _, f := range w.list("GetSupportedFeatures", "Features", param("ReplicationType", rt)) {
		var res cimmodel.Result
		switch f {
		case 51: // the client supplies the target's ElementName
			name := fmt.Sprintf("named%d", w.n)
			res = e.call("CreateElementReplica", append(typ, param("ElementName", name), refParam("SourceElement", e.p.volumePath(w.source())))...)
			if accepted(res) {
				w.settle("create", res)
				if tgt := outRef(t, res, "TargetElement"); tgt.Class == "" {
					t.Errorf("feature 51: no TargetElement")
				} else if inst, err := e.reg.Get(context.Background(), tgt); err != nil || func() string { s, _ := inst.Get("ElementName").AsString(); return s }() != name {
					t.Errorf("feature 51: target %v ElementName, want %s (%v)", inst, name, err)
				}
			}
		case 8, 44: // targets from a storage pool, the source's by default
			res = e.call("CreateElementReplica", append(typ, refParam("TargetPool", e.p.poolPath(volumes.DefaultPool)),
				refParam("SourceElement", e.p.volumePath(w.source())))...)
		default:
			t.Errorf("feature %d advertised: the walk does not know how to try it", f)
			continue
		}
		if !accepted(res) {
			t.Errorf("feature %d (advertised) for type %d: %d %v", f, t16, res.ReturnValue, res.Out)
		}
		w.settle("feature", res)
	}
	for _, f := range w.list("GetSupportedGroupFeatures", "GroupFeatures", param("ReplicationType", rt)) {
		var res cimmodel.Result
		switch f {
		case 2, 15, 38: // one-to-many, TargetElementCount, provider-made target groups
			res = e.call("CreateGroupReplica", append(typ, param("TargetElementCount", "2"), refParam("SourceElement", e.p.volumePath(w.source())))...)
		case 56: // RelationshipName
			res = e.call("CreateGroupReplica", append(typ, param("RelationshipName", fmt.Sprintf("rel%d", w.n)), refParam("SourceElement", e.p.volumePath(w.source())))...)
		case 5, 14: // empty, named groups
			res = e.call("CreateGroup", param("GroupName", fmt.Sprintf("empty%d", w.n)))
			w.n++
		case 11, 12: // tried below, advertised or not
			continue
		default:
			t.Errorf("group feature %d advertised: the walk does not know how to try it", f)
			continue
		}
		if !accepted(res) {
			t.Errorf("group feature %d (advertised) for type %d: %d %v", f, t16, res.ReturnValue, res.Out)
		}
		w.settle("group feature", res)
	}
	// 11/12: a source or target element removed from its group while the
	// group is in a relationship; accepted exactly when advertised.
	groupFeatures := w.list("GetSupportedGroupFeatures", "GroupFeatures", param("ReplicationType", rt))
	for _, f := range []uint16{11, 12} {
		res := w.removeFromReplicatedGroup(t, typ, f == 12)
		if accepted(res) != slices.Contains(groupFeatures, f) {
			t.Errorf("group feature %d for type %d: RemoveMembers answered %d, advertised %v", f, t16, res.ReturnValue, groupFeatures)
		}
		if !accepted(res) {
			checkRefusalReason(t, res, "RemoveMembers", e.dataDir)
		}
	}
	cons := w.list("GetSupportedConsistency", "SupportedConsistency", param("ReplicationType", rt))
	for _, c := range []uint16{2, 3} {
		res := e.call("CreateGroupReplica", append(typ, param("Consistency", strconv.Itoa(int(c))), refParam("SourceElement", e.p.volumePath(w.source())))...)
		if accepted(res) != slices.Contains(cons, c) {
			t.Errorf("Consistency %d for type %d: %d, advertised %v", c, t16, res.ReturnValue, cons)
		}
		w.settle("consistency", res)
	}
}

// removeFromReplicatedGroup replicates a new one-member group with the
// SyncType and Mode of typ and asks RemoveMembers to take the source (or,
// with target, the target) out of its group.
func (w *capsWalk) removeFromReplicatedGroup(t *testing.T, typ []string, target bool) cimmodel.Result {
	e := w.e
	src := w.source()
	cg := e.call("CreateGroup", param("GroupName", fmt.Sprintf("g%d", w.n)), refParam("Members", e.p.volumePath(src)))
	if cg.ReturnValue != returnOK {
		t.Fatalf("CreateGroup: %d", cg.ReturnValue)
	}
	grp := outRef(t, cg, "ReplicationGroup")
	r := e.call("CreateGroupReplica", append(typ, refParam("SourceGroup", grp), param("WaitForCopyState", "4"))...)
	if r.ReturnValue != returnOK {
		t.Fatalf("CreateGroupReplica: %d %v", r.ReturnValue, r.Out)
	}
	member := e.p.volumePath(src)
	if target {
		grp = outRef(t, r, "TargetGroup")
		tgts, err := e.reg.Associators(context.Background(), cimmodel.AssociationFilter{Object: grp, ResultClassName: "CIM_StorageVolume"})
		if err != nil || len(tgts) != 1 {
			t.Fatalf("target group members: %v %v", tgts, err)
		}
		member = tgts[0].Path()
	}
	return e.call("RemoveMembers", refParam("ReplicationGroup", grp), refParam("Members", member))
}

// newSlowReplEnv is newReplEnv with copies capped at bandwidth bytes per
// second, so that a copy is still running when the next call comes.
func newSlowReplEnv(t *testing.T, bandwidth int64) *replEnv {
	t.Helper()
	e := &storageEnv{t: t, dataDir: t.TempDir(), replicaOpts: replica.Options{BandwidthLimit: bandwidth}}
	e.open()
	t.Cleanup(e.close)
	return &replEnv{storageEnv: e, t: t}
}

// TestCapabilitiesAbort: where Abort (2) is advertised, as element or group
// Operation, it is accepted on a replica whose Resync is running (with
// WaitForCopyState 12, Aborted, where ModifyReplicaSynchronization
// advertises it); with no copy running it is refused with a reason.
func TestCapabilitiesAbort(t *testing.T) {
	e := newSlowReplEnv(t, 2<<20)
	w := &capsWalk{e: e, t: t}
	aborted := 0
	data := make([]byte, 4*rMiB)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	for _, t16 := range w.property(e.p.capabilitiesPath(), "SupportedReplicationTypes") {
		rt := strconv.Itoa(int(t16))
		st, mode, _ := replicationTypeOf(t16)
		waits := w.list("GetSupportedWaitForCopyStates", "SupportedCopyStates", param("ReplicationType", rt), param("MethodName", "4"))
		for _, group := range []bool{false, true} {
			method, create := "GetSupportedOperations", "CreateElementReplica"
			if group {
				method, create = "GetSupportedGroupOperations", "CreateGroupReplica"
			}
			if !slices.Contains(w.list(method, "SupportedOperations", param("ReplicationType", rt)), uint16(replica.OpAbort)) {
				continue
			}
			w.n++
			src := e.volume(fmt.Sprintf("slow%d", w.n), 4*rMiB)
			params := []string{param("SyncType", strconv.Itoa(int(st))), param("Mode", strconv.Itoa(int(mode))),
				refParam("SourceElement", e.p.volumePath(src)), param("WaitForCopyState", "4")}
			if group {
				params = append(params, param("TargetElementCount", "1"))
			}
			res := e.call(create, params...)
			if res.ReturnValue != returnOK {
				t.Fatalf("%s type %d: %d %v", create, t16, res.ReturnValue, res.Out)
			}
			sync := outRef(t, res, "Synchronization")
			modify := func(params ...string) cimmodel.Result {
				return e.call("ModifyReplicaSynchronization", append(params, refParam("Synchronization", sync))...)
			}
			if st == uint16(replica.SyncTypeMirror) {
				// A mirror follows its source by itself; suspended, it
				// waits for the Resync.
				if r := modify(param("Operation", "22")); !accepted(r) {
					t.Fatalf("Suspend: %d %q", r.ReturnValue, refusalMessage(t, r))
				}
			}
			if r := modify(param("Operation", "2")); accepted(r) {
				t.Errorf("Abort with no copy running accepted (type %d)", t16)
			} else {
				checkRefusalReason(t, r, "ModifyReplicaSynchronization", e.dataDir)
			}
			overwrite(t, e, src, 0, data)
			resync := modify(param("Operation", "14"))
			if resync.ReturnValue != returnJobStarted {
				t.Fatalf("Resync type %d: %d, want 4096", t16, resync.ReturnValue)
			}
			abort := []string{param("Operation", "2")}
			if slices.Contains(waits, uint16(replica.CopyStateAborted)) {
				abort = append(abort, param("WaitForCopyState", "12"))
			}
			if r := modify(abort...); !accepted(r) {
				t.Errorf("Abort of a running Resync of a %s of type %d: %d %q", create, t16, r.ReturnValue, refusalMessage(t, r))
			} else {
				aborted++
				w.settle("abort", r)
			}
			if job, ok := resync.Out["Job"].AsRef(); ok {
				e.waitJob(job)
			}
		}
	}
	if aborted == 0 {
		t.Fatal("Abort is advertised nowhere, or never accepted")
	}
	t.Logf("%d running Resyncs aborted", aborted)
}
