package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// replicationServiceClassName is the service CreateGroupReplica is invoked on.
const replicationServiceClassName = "MSISCSITARGET_ReplicationService"

// Parameter declarations.
func rIn(name string, t cimmodel.Type) cimmodel.Parameter {
	return cimmodel.Parameter{Name: name, Type: t, In: true}
}

func rInRef(name, class string) cimmodel.Parameter {
	return cimmodel.Parameter{Name: name, Type: cimmodel.TypeReference, In: true, RefClass: class}
}

func rInRefs(name, class string) cimmodel.Parameter {
	return cimmodel.Parameter{Name: name, Type: cimmodel.TypeReference, Array: true, In: true, RefClass: class}
}

func rOutRef(name, class string) cimmodel.Parameter {
	return cimmodel.Parameter{Name: name, Type: cimmodel.TypeReference, Out: true, RefClass: class}
}

func rRequired(p cimmodel.Parameter) cimmodel.Parameter {
	p.Required = true
	return p
}

func rInOut(p cimmodel.Parameter) cimmodel.Parameter {
	p.Out = true
	return p
}

func rParamMap(p cimmodel.Parameter, valueMap, values []string) cimmodel.Parameter {
	p.ValueMap, p.Values = valueMap, values
	return p
}

// The value maps of the service's parameters as Windows declares them
// (2.28 generation; §1.1, §4.4).
var (
	syncTypeParam = rRequired(rParamMap(rIn("SyncType", cimmodel.TypeUint16),
		[]string{"..", "6", "7", "8", "9..0x7FFF", "0x8000.."},
		[]string{"DMTF Reserved", "Mirror", "Snapshot", "Clone", "DMTF Reserved", "Vendor Specific"}))
	modeParam = rParamMap(rIn("Mode", cimmodel.TypeUint16),
		[]string{"..", "2", "3", "4..0x7FFF", "0x8000.."},
		[]string{"DMTF Reserved", "Synchronous", "Asynchronous", "DMTF Reserved", "Vendor Specific"})
	consistencyParam = rParamMap(rIn("Consistency", cimmodel.TypeUint16),
		[]string{"..", "2", "3", "4..0x7FFF", "0x8000.."},
		[]string{"DMTF Reserved", "No Consistency", "Sequential Consistency", "DMTF Reserved", "Vendor Specific"})
	waitForCopyStateParam = rParamMap(rIn("WaitForCopyState", cimmodel.TypeUint16), waitCopyStateMap, waitCopyStateValues)
	rsdParam              = cimmodel.Parameter{Name: "ReplicationSettingData", Type: cimmodel.TypeInstance, In: true,
		EmbeddedClass: replicationSettingDataClass}
	createReturnMap    = []string{"0", "1", "2", "3", "4", "5", "6", "7..4095", "4096", "4097..32767", "32768..65535"}
	createReturnValues = []string{"Completed with No Error", "Not Supported", "Unknown", "Timeout", "Failed",
		"Invalid Parameter", "In Use", "DMTF Reserved", "Method Parameters Checked - Job Started", "Method Reserved", "Vendor Specific"}
	modifyReturnValues = []string{"Completed with No Error", "Not Supported", "Unspecified Error", "Timeout", "Failed",
		"Invalid Parameter", "In Use", "DMTF Reserved", "Method Parameters Checked - Job Started", "Method Reserved", "Vendor Specific"}
)

func (p *Provider) replicationServiceClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: replicationServiceClassName, Superclass: "CIM_ReplicationService", Namespace: Namespace}
	c.Provider = singleton(func() *cimmodel.Instance {
		return cimmodel.NewInstance(c).
			Set("SystemCreationClassName", cimmodel.String(systemClassName)).
			Set("SystemName", cimmodel.String(p.system)).
			Set("CreationClassName", cimmodel.String(replicationServiceClassName)).
			Set("Name", cimmodel.String("ReplicationService")).
			Set("ElementName", cimmodel.String("replicad replication service")).
			Set("Description", cimmodel.String("Creates and manages mirror, snapshot and clone replicas of iSCSI target volumes")).
			Set("OperationalStatus", cimmodel.Uint16s([]uint16{statusOK})).
			Set("Started", cimmodel.Bool(true)).
			Set("StartMode", cimmodel.String("Automatic")).
			Set("EnabledState", cimmodel.Uint16(5)).
			Set("RequestedState", cimmodel.Uint16(12)).
			Set("EnabledDefault", cimmodel.Uint16(2))
	})
	c.Methods = []*cimmodel.Method{
		{
			Name: "CreateElementReplica", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: createReturnMap, ReturnValues: createReturnValues,
			Description: "Copies SourceElement onto a new target (named ElementName) or the supplied TargetElement; answers 4096 with the Job unless WaitForCopyState (or Mode 2) is reached within the OperationTimeout.",
			Params: []cimmodel.Parameter{
				rIn("ElementName", cimmodel.TypeString), syncTypeParam, modeParam,
				rRequired(rInRef("SourceElement", "CIM_LogicalElement")), rInRef("SourceAccessPoint", "CIM_ServiceAccessPoint"),
				rInOut(rInRef("TargetElement", "CIM_LogicalElement")), rInRef("TargetAccessPoint", "CIM_ServiceAccessPoint"),
				rsdParam, rOutRef("Job", "CIM_ConcreteJob"), rOutRef("Synchronization", "CIM_Synchronized"),
				rInRef("TargetSettingGoal", "CIM_SettingData"), rInRef("TargetPool", "CIM_ResourcePool"), waitForCopyStateParam,
			},
			Func: p.createElementReplica,
		},
		{
			Name: "CreateGroupReplica", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: createReturnMap, ReturnValues: createReturnValues,
			Description: "Replicates SourceGroup (or SourceElement, TargetElementCount times) into TargetGroup or a new group; targets are named RelationshipName_1, _2, ….",
			Params: []cimmodel.Parameter{
				rIn("RelationshipName", cimmodel.TypeString), syncTypeParam, modeParam,
				rInRef("SourceGroup", "CIM_ReplicationGroup"), rInRef("SourceElement", "CIM_LogicalElement"),
				rInRef("SourceAccessPoint", "CIM_ServiceAccessPoint"), rInOut(rInRef("TargetGroup", "CIM_ReplicationGroup")),
				rIn("TargetElementCount", cimmodel.TypeUint64), rInRef("TargetAccessPoint", "CIM_ServiceAccessPoint"),
				consistencyParam, rsdParam, rOutRef("Job", "CIM_ConcreteJob"), rOutRef("Synchronization", "CIM_Synchronized"),
				rInRef("TargetSettingGoal", "CIM_SettingData"), rInRef("TargetPool", "CIM_ResourcePool"), waitForCopyStateParam,
			},
			Func: p.createGroupReplica,
		},
		{
			Name: "CreateGroup", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8..0x7FFF", "0x8000.."},
			ReturnValues: []string{"Completed with No Error", "Not Supported", "Unknown", "Timeout", "Failed", "Invalid Parameter",
				"In Use", "Groups are not nameable", "Method Reserved", "Vendor Specific"},
			Params: []cimmodel.Parameter{
				rIn("GroupName", cimmodel.TypeString), rInRefs("Members", "CIM_LogicalElement"),
				rIn("Persistent", cimmodel.TypeBoolean), rIn("DeleteOnEmptyElement", cimmodel.TypeBoolean),
				rIn("DeleteOnUnassociated", cimmodel.TypeBoolean), rInRef("ServiceAccessPoint", "CIM_ServiceAccessPoint"),
				rOutRef("ReplicationGroup", "CIM_ReplicationGroup"), rsdParam,
			},
			Func: p.createGroup,
		},
		{
			Name: "DeleteGroup", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8..0x7FFF", "0x8000.."},
			ReturnValues: []string{"Completed with No Error", "Not Supported", "Unknown", "Timeout", "Failed", "Invalid Parameter",
				"In Use", "One or more elements in a replication relationship", "Method Reserved", "Vendor Specific"},
			Params: []cimmodel.Parameter{
				rRequired(rInRef("ReplicationGroup", "CIM_ReplicationGroup")), rInRef("ServiceAccessPoint", "CIM_ServiceAccessPoint"),
				rIn("RemoveElements", cimmodel.TypeBoolean), rsdParam,
			},
			Func: p.deleteGroup,
		},
		{
			Name: "AddMembers", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8..0x7FFF", "0x8000.."},
			ReturnValues: []string{"Completed with No Error", "Not Supported", "Unknown", "Timeout", "Failed", "Invalid Parameter",
				"In Use", "Group does not exist", "Method Reserved", "Vendor Specific"},
			Params: []cimmodel.Parameter{
				rInRefs("Members", "CIM_LogicalElement"), rRequired(rInRef("ReplicationGroup", "CIM_ReplicationGroup")),
				rInRef("ServiceAccessPoint", "CIM_ServiceAccessPoint"), rsdParam,
			},
			Func: p.addMembers,
		},
		{
			Name: "RemoveMembers", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9..0x7FFF", "0x8000.."},
			ReturnValues: []string{"Completed with No Error", "Not Supported", "Unknown", "Timeout", "Failed", "Invalid Parameter",
				"In Use", "Group does not exist", "Member not in group", "Method Reserved", "Vendor Specific"},
			Params: []cimmodel.Parameter{
				rInRefs("Members", "CIM_LogicalElement"), rIn("DeleteOnEmptyElement", cimmodel.TypeBoolean),
				rRequired(rInRef("ReplicationGroup", "CIM_ReplicationGroup")), rInRef("ServiceAccessPoint", "CIM_ServiceAccessPoint"), rsdParam,
			},
			Func: p.removeMembers,
		},
		{
			Name: "ModifyReplicaSynchronization", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: createReturnMap, ReturnValues: modifyReturnValues,
			Description: "Operations 2 Abort (of a Resync), 8 Detach, 9 Dissolve, 12 Fracture, 14 Resync Replica, 15 Restore from Replica, 19 Return To ResourcePool and 21 Split (and 16 Resume, 22 Suspend on an Asynchronous Mirror) on a StorageSynchronized or GroupSynchronized, each from the CopyStates that allow it (5 otherwise, 6 while a job works on it); 14 and 15 answer 4096 with a Job; other operations answer 1 Not Supported. With 15 on a GroupSynchronized, SyncPair names the member(s) to restore from; a group holding several replicas of one source must name one (5 otherwise, the candidates in ExtendedStatus).",
			Params: []cimmodel.Parameter{
				rRequired(rParamMap(rIn("Operation", cimmodel.TypeUint16),
					[]string{"0..1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24..0x7FFF", "0x8000.."},
					[]string{"DMTF Reserved", "Abort", "Activate Consistency", "Activate", "AddSyncPair", "Deactivate Consistency", "Deactivate",
						"Detach", "Dissolve", "Failover", "Failback", "Fracture", "RemoveSyncPair", "Resync Replica", "Restore from Replica",
						"Resume", "Reset To Sync", "Reset To Async", "Return To ResourcePool", "Reverse Roles", "Split", "Suspend", "Unprepare",
						"DMTF Reserved", "Vendor Specific"})),
				rRequired(rInRef("Synchronization", "CIM_Synchronized")), rsdParam,
				rInRefs("SyncPair", "CIM_StorageSynchronized"), rOutRef("Job", "CIM_ConcreteJob"),
				rOutRef("SettingsState", "CIM_ManagedElement"), rIn("Force", cimmodel.TypeBoolean), waitForCopyStateParam,
			},
			Func: p.modifyReplicaSynchronization,
		},
		{
			Name: "GetAvailableTargetElements", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: createReturnMap, ReturnValues: modifyReturnValues,
			Params: []cimmodel.Parameter{
				rRequired(rInRef("SourceElement", "CIM_LogicalElement")), syncTypeParam, modeParam, rsdParam,
				rInRef("TargetAccessPoint", "CIM_ServiceAccessPoint"), rInRef("TargetSettingGoal", "CIM_SettingData"),
				rInRefs("TargetPools", "CIM_ResourcePool"), rOutRef("Job", "CIM_ConcreteJob"),
				{Name: "Candidates", Type: cimmodel.TypeReference, Array: true, Out: true, RefClass: "CIM_LogicalElement"},
			},
			Func: p.getAvailableTargetElements,
		},
		p.modifyListSynchronizationMethod(),
		p.getReplicationRelationshipsMethod(),
		p.verifyReplicaMethod(), // vendor extension (replication_verify.go)
	}
	return c
}

// invalidArg is a request problem the provider finds itself (a reference
// to the wrong kind of element, an embedded setting it cannot use).
func invalidArg(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{replica.ErrInvalidRequest}, args...)...)
}

// methodFailure logs why method answers code and returns the Result, with
// the reason in ExtendedStatus (refusal.go).
func (p *Provider) methodFailure(method string, err error) cimmodel.Result {
	code := replicationReturnCode(method, err)
	log := p.logger.Info
	if code == returnFailed || code == returnUnknown {
		log = p.logger.Warn
	}
	log("replication method refused", zap.String("method", method), zap.Uint32("returnValue", code), zap.String("reason", clientMessage(err)))
	return p.refusalErr(method, code, err)
}

// poolNameOf returns the pool a TargetPool reference names.
func poolNameOf(path cimmodel.ObjectPath) (string, error) {
	id := keyText(path, "InstanceID")
	if len(id) <= len(poolInstancePrefix) || !strings.EqualFold(id[:len(poolInstancePrefix)], poolInstancePrefix) {
		return "", fmt.Errorf("%w: TargetPool %s is not a pool of this system", errNotOurs, path)
	}
	return id[len(poolInstancePrefix):], nil
}

// commonRequest reads the parameters CreateElementReplica and
// CreateGroupReplica share into req, translated to replica's values
// (replication_request.go), and refuses the ones replicad cannot act on.
func (p *Provider) commonRequest(in cimmodel.Args, req *replica.Request) error {
	if err := requestKind(in, req); err != nil {
		return err
	}
	if err := requestLocality(in); err != nil {
		return err
	}
	if pool, ok := argRef(in, "TargetPool"); ok {
		name, err := poolNameOf(pool)
		if err != nil {
			return err
		}
		req.TargetPool = name
	}
	if v, ok := in.Get("ReplicationSettingData"); ok && !v.IsNull() {
		inst, _ := v.AsInstance()
		settings, err := settingsOf(inst)
		if err != nil {
			return err
		}
		req.Settings = settings
	}
	return nil
}

func (p *Provider) createElementReplica(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "CreateElementReplica"
	name, _ := argString(in, "ElementName")
	req := replica.Request{Shape: replica.ShapeElement, JobName: method, ElementName: name}
	if err := p.commonRequest(in, &req); err != nil {
		return p.methodFailure(method, err), nil
	}
	src, _ := argRef(in, "SourceElement")
	id, err := volumeIDOf(src, "SourceElement")
	if err != nil {
		return p.methodFailure(method, err), nil
	}
	req.SourceElement = id
	if t, ok := argRef(in, "TargetElement"); ok {
		if req.TargetElement, err = volumeIDOf(t, "TargetElement"); err != nil {
			return p.methodFailure(method, err), nil
		}
	}
	return p.replicate(ctx, method, req)
}

func (p *Provider) createGroupReplica(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "CreateGroupReplica"
	name, _ := argString(in, "RelationshipName")
	req := replica.Request{Shape: replica.ShapeGroup, JobName: method, RelationshipName: name}
	if err := p.commonRequest(in, &req); err != nil {
		return p.methodFailure(method, err), nil
	}
	if err := requestConsistency(in, &req); err != nil {
		return p.methodFailure(method, err), nil
	}
	if req.SyncType == replica.SyncTypeMirror && req.Consistency == replica.ConsistencySequential {
		// Each member of a mirror group follows its source on its own, so
		// the group is never consistent as a whole (GetSupportedConsistency).
		return p.methodFailure(method, fmt.Errorf("%w: Consistency 3 (Sequential) for a Mirror group: each member follows its source within its own lag; ask for 2 (No Consistency)",
			replica.ErrNotSupported)), nil
	}
	var err error
	if g, ok := argRef(in, "SourceGroup"); ok {
		if req.SourceGroup, err = groupIDOf(g, "SourceGroup"); err != nil {
			return p.methodFailure(method, err), nil
		}
	}
	if e, ok := argRef(in, "SourceElement"); ok {
		if req.SourceElement, err = volumeIDOf(e, "SourceElement"); err != nil {
			return p.methodFailure(method, err), nil
		}
	}
	if g, ok := argRef(in, "TargetGroup"); ok {
		if req.TargetGroup, err = groupIDOf(g, "TargetGroup"); err != nil {
			return p.methodFailure(method, err), nil
		}
	}
	if v, ok := in.Get("TargetElementCount"); ok && !v.IsNull() {
		n, _ := v.AsUint64()
		req.TargetElementCount = &n
	}
	return p.replicate(ctx, method, req)
}

// replicate runs a checked request and answers for it: 4096 with the Job,
// or 0 when the copy reached WaitForCopyState (Mode Synchronous waits for
// Synchronized) before the OperationTimeout, 4 when it failed meanwhile.
// The Job reference is always given: a job exists even when it finished
// within the call (Cinder's VMAX driver reads Job even with 0, §6.2).
func (p *Provider) replicate(ctx context.Context, method string, req replica.Request) (cimmodel.Result, error) {
	res, err := p.repl.svc.Replicate(ctx, req)
	if err != nil {
		return p.methodFailure(method, err), nil
	}
	out := map[string]cimmodel.Value{"Job": cimmodel.Ref(p.jobPath(res.JobID))}
	if res.GroupSync != nil {
		out["TargetGroup"] = cimmodel.Ref(p.groupPath(res.TargetGroup.ID))
		out["Synchronization"] = cimmodel.Ref(p.groupSyncPath(res.SourceGroup.ID, res.TargetGroup.ID))
	} else {
		x := res.Syncs[0]
		out["TargetElement"] = cimmodel.Ref(p.volumePath(x.Target))
		out["Synchronization"] = cimmodel.Ref(p.syncPath(x.Source, x.Target))
	}
	p.logger.Info("replication job started", zap.String("method", method), zap.String("job", res.JobID),
		zap.Int("pairs", len(res.Syncs)), zap.Int("created", len(res.Created)))
	wait := req.WaitForCopyState
	if wait == 0 && req.Mode == replica.ModeSynchronous {
		wait = replica.CopyStateSynchronized
	}
	if wait == 0 {
		return cimmodel.Result{ReturnValue: returnJobStarted, Out: out}, nil
	}
	wctx, cancel := replyDeadline(ctx)
	defer cancel()
	job, err := p.repl.svc.Wait(wctx, res.JobID, wait)
	switch {
	case err != nil:
		// Not reached within the OperationTimeout: the job goes on.
		return cimmodel.Result{ReturnValue: returnJobStarted, Out: out}, nil
	case job.State == jobqueue.StateFailed || job.State == jobqueue.StateTerminated:
		p.logger.Info("replication failed within the call", zap.String("job", job.ID), zap.String("error", job.Err))
		out[cimmodel.ExtendedStatusParam] = cimmodel.Embedded(p.jobError(job))
		return cimmodel.Result{ReturnValue: returnFailed, Out: out}, nil
	}
	return cimmodel.Result{ReturnValue: returnOK, Out: out}, nil
}

// replyDeadline derives a context that ends early enough before ctx's
// deadline (the request's OperationTimeout) for the reply to go out: a
// tenth of the time left, at least 500 ms and at most 5 s.
func replyDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithTimeout(ctx, 60*time.Second)
	}
	margin := time.Until(deadline) / 10
	margin = min(max(margin, 500*time.Millisecond), 5*time.Second)
	return context.WithDeadline(ctx, deadline.Add(-margin))
}

func (p *Provider) createGroup(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "CreateGroup"
	if _, ok := argRef(in, "ServiceAccessPoint"); ok {
		return p.methodFailure(method, fmt.Errorf("%w: ServiceAccessPoint: groups are local only", replica.ErrNotSupported)), nil
	}
	name, _ := argString(in, "GroupName")
	spec := replica.GroupSpec{Name: name, Persistent: true}
	if b, ok := argBool(in, "Persistent"); ok {
		spec.Persistent = b
	}
	spec.DeleteOnEmptyElement, _ = argBool(in, "DeleteOnEmptyElement")
	spec.DeleteOnUnassociated, _ = argBool(in, "DeleteOnUnassociated")
	for _, m := range argRefs(in, "Members") {
		id, err := volumeIDOf(m, "Members")
		if err != nil {
			return p.methodFailure(method, err), nil
		}
		spec.Members = append(spec.Members, id)
	}
	g, err := p.repl.svc.CreateGroup(ctx, spec)
	if err != nil {
		return p.methodFailure(method, err), nil
	}
	return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{"ReplicationGroup": cimmodel.Ref(p.groupPath(g.ID))}}, nil
}

// groupArg reads the ReplicationGroup parameter.
func rGroupArg(in cimmodel.Args) (string, error) {
	g, _ := argRef(in, "ReplicationGroup")
	return groupIDOf(g, "ReplicationGroup")
}

func rMembersArg(in cimmodel.Args) ([]volumes.ID, error) {
	var out []volumes.ID
	for _, m := range argRefs(in, "Members") {
		id, err := volumeIDOf(m, "Members")
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

func (p *Provider) deleteGroup(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "DeleteGroup"
	id, err := rGroupArg(in)
	if err != nil {
		err = fmt.Errorf("%w: %w", replica.ErrGroupNotFound, err)
	} else {
		remove, _ := argBool(in, "RemoveElements")
		err = p.repl.svc.DeleteGroup(ctx, id, remove)
	}
	if err != nil {
		return p.methodFailure(method, err), nil
	}
	return cimmodel.Result{ReturnValue: returnOK}, nil
}

func (p *Provider) addMembers(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "AddMembers"
	id, err := rGroupArg(in)
	if err != nil {
		return p.methodFailure(method, fmt.Errorf("%w: %w", replica.ErrGroupNotFound, err)), nil
	}
	members, err := rMembersArg(in)
	if err == nil {
		_, err = p.repl.svc.AddMembers(ctx, id, members)
	}
	if err != nil {
		return p.methodFailure(method, err), nil
	}
	return cimmodel.Result{ReturnValue: returnOK}, nil
}

func (p *Provider) removeMembers(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "RemoveMembers"
	id, err := rGroupArg(in)
	if err != nil {
		return p.methodFailure(method, fmt.Errorf("%w: %w", replica.ErrGroupNotFound, err)), nil
	}
	members, err := rMembersArg(in)
	if err == nil {
		var override *bool
		if b, ok := argBool(in, "DeleteOnEmptyElement"); ok {
			override = &b
		}
		_, _, err = p.repl.svc.RemoveMembers(ctx, id, members, override)
	}
	if err != nil {
		return p.methodFailure(method, err), nil
	}
	return cimmodel.Result{ReturnValue: returnOK}, nil
}

// modifyReaches is the CopyState a synchronous or asynchronous operation
// leaves the synchronization in: the only WaitForCopyState (besides 15 Not
// Applicable and NULL) it accepts. Ending operations reach none.
var modifyReaches = map[replica.Operation]replica.CopyState{
	replica.OpFracture: replica.CopyStateFractured,
	replica.OpSplit:    replica.CopyStateSplit,
	replica.OpResync:   replica.CopyStateSynchronized,
	replica.OpRestore:  replica.CopyStateSynchronized,
	replica.OpAbort:    replica.CopyStateAborted,
	replica.OpSuspend:  replica.CopyStateSuspended,
	replica.OpResume:   replica.CopyStateUnsynchronized, // the mirror loop then catches up
}

// modifyReplicaSynchronization performs replica.Operations() on a
// StorageSynchronized or GroupSynchronized (replica.Service.Modify): 0 when
// done, 4096 with the Job for Resync Replica and Restore From Replica
// unless the job finished within the call, the domain's codes otherwise.
func (p *Provider) modifyReplicaSynchronization(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "ModifyReplicaSynchronization"
	raw, _ := argUint16(in, "Operation")
	op := replica.Operation(raw)
	if !slices.Contains(replica.Operations(), op) {
		// Suspend and Resume on a Snapshot or Clone: replica answers
		// ErrNotSupported itself.
		return p.methodFailure(method, fmt.Errorf("%w: Operation %d (%s): replicad performs %v", replica.ErrNotSupported, raw, op, replica.Operations())), nil
	}
	wait, waitGiven := argUint16(in, "WaitForCopyState")
	if waitGiven && wait != uint16(replica.CopyStateNotApplicable) {
		reach, ok := modifyReaches[op]
		if !ok {
			return p.methodFailure(method, invalidArg("WaitForCopyState %d: after %s the relationship is gone; only 15 (Not Applicable) applies", wait, op)), nil
		}
		if wait != uint16(reach) {
			return p.methodFailure(method, invalidArg("WaitForCopyState %d: %s leads to %s (%d)", wait, op, reach, uint16(reach))), nil
		}
	}
	force, _ := argBool(in, "Force")
	opts := replica.ModifyOptions{Force: force}
	sync, _ := argRef(in, "Synchronization")
	pairs := argRefs(in, "SyncPair")
	var res replica.ModifyResult
	var err error
	switch {
	case isGroupSynchronized(sync):
		var gs *replica.GroupSynchronization
		gs, err = p.groupSyncOf(ctx, sync)
		if err == nil {
			opts.Members, err = p.syncPairIDs(ctx, pairs)
		}
		if err == nil {
			res, err = p.repl.svc.ModifyGroup(ctx, gs.ID, op, opts)
		}
	case len(pairs) > 0:
		err = invalidArg("SyncPair names members of a GroupSynchronized; %s is a single synchronization", sync.Class)
	default:
		var x *replica.Synchronization
		x, err = p.syncOf(ctx, sync)
		if err == nil {
			res, err = p.repl.svc.Modify(ctx, x.ID, op, opts)
		}
	}
	if err != nil {
		return p.methodFailure(method, p.restoreChoice(ctx, err, "name the one to restore from in SyncPair (a reference to its StorageSynchronized)")), nil
	}
	return p.modifyAnswer(ctx, res, waitGiven && wait != uint16(replica.CopyStateNotApplicable)), nil
}

func (p *Provider) getAvailableTargetElements(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "GetAvailableTargetElements"
	if _, ok := argRef(in, "TargetAccessPoint"); ok {
		return p.methodFailure(method, fmt.Errorf("%w: TargetAccessPoint: local replication only", replica.ErrNotSupported)), nil
	}
	st, _ := argUint16(in, "SyncType")
	mode, _ := argUint16(in, "Mode")
	switch syncType := cimSyncTypes[st]; {
	case syncType == replica.SyncTypeClone || syncType == replica.SyncTypeSnapshot:
	case syncType == replica.SyncTypeMirror && cimModes[mode] == replica.ModeAsynchronous:
	default:
		return p.methodFailure(method, fmt.Errorf("%w: SyncType %d Mode %d: replicad makes Snapshot (7), Clone (8) and Asynchronous (3) Mirror (6) replicas", replica.ErrNotSupported, st, mode)), nil
	}
	src, _ := argRef(in, "SourceElement")
	id, err := volumeIDOf(src, "SourceElement")
	if err != nil {
		return p.methodFailure(method, err), nil
	}
	var pools []string
	for _, r := range argRefs(in, "TargetPools") {
		name, err := poolNameOf(r)
		if err != nil {
			return p.methodFailure(method, err), nil
		}
		pools = append(pools, name)
	}
	vols, err := p.repl.svc.AvailableTargets(ctx, id, pools)
	if err != nil {
		return p.methodFailure(method, err), nil
	}
	refs := make([]cimmodel.ObjectPath, 0, len(vols))
	for _, v := range vols {
		refs = append(refs, p.volumePath(v.ID))
	}
	return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{"Candidates": cimmodel.Refs(refs)}}, nil
}
