package provider

import (
	"context"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
)

// Relationship types of GetReplicationRelationships (§1.7).
const (
	relTypeStorage uint16 = 2
	relTypeGroup   uint16 = 3
	localityRemote uint16 = 3
)

// modifyListSynchronizationMethod declares ModifyListSynchronization: the
// operations of ModifyReplicaSynchronization on a list of
// StorageSynchronized, all or none (3, 5, 6 and 13 are DMTF Reserved in
// its map, §1.6).
func (p *Provider) modifyListSynchronizationMethod() *cimmodel.Method {
	return &cimmodel.Method{
		Name: "ModifyListSynchronization", ReturnType: cimmodel.TypeUint32,
		ReturnValueMap: createReturnMap, ReturnValues: modifyReturnValues,
		Description: "ModifyReplicaSynchronization's operations on every StorageSynchronized of the list, all or none; a member of a GroupSynchronized answers 6 (modify the group).",
		Params: []cimmodel.Parameter{
			rRequired(rIn("Operation", cimmodel.TypeUint16)),
			rRequired(rInRefs("Synchronization", "CIM_Synchronized")), rsdParam,
			rOutRef("Job", "CIM_ConcreteJob"),
			{Name: "SettingsState", Type: cimmodel.TypeReference, Array: true, Out: true, RefClass: "CIM_SettingsDefineState"},
			rIn("Force", cimmodel.TypeBoolean), waitForCopyStateParam,
		},
		Func: p.modifyListSynchronization,
	}
}

func (p *Provider) modifyListSynchronization(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "ModifyListSynchronization"
	raw, _ := argUint16(in, "Operation")
	op := replica.Operation(raw)
	if !slices.Contains(replica.Operations(), op) {
		return p.methodFailure(method, fmt.Errorf("%w: Operation %d (%s): replicad performs %v", replica.ErrNotSupported, raw, op, replica.Operations())), nil
	}
	wait, waitGiven := argUint16(in, "WaitForCopyState")
	if waitGiven && wait != uint16(replica.CopyStateNotApplicable) {
		if reach, ok := modifyReaches[op]; !ok || wait != uint16(reach) {
			return p.methodFailure(method, invalidArg("WaitForCopyState %d does not follow from %s", wait, op)), nil
		}
	}
	var ids []string
	for _, ref := range argRefs(in, "Synchronization") {
		if isGroupSynchronized(ref) {
			return p.methodFailure(method, invalidArg("ModifyListSynchronization takes StorageSynchronized references; use ModifyReplicaSynchronization for %s", ref)), nil
		}
		x, err := p.syncOf(ctx, ref)
		if err != nil {
			return p.methodFailure(method, err), nil
		}
		ids = append(ids, x.ID)
	}
	force, _ := argBool(in, "Force")
	res, err := p.repl.svc.ModifyList(ctx, ids, op, replica.ModifyOptions{Force: force})
	if err != nil {
		return p.methodFailure(method, p.restoreChoice(ctx, err, "list only the one to restore from")), nil
	}
	return p.modifyAnswer(ctx, res, waitGiven && wait != uint16(replica.CopyStateNotApplicable)), nil
}

// modifyAnswer is the reply to a modify that succeeded: 0 for a
// synchronous operation; for a job, 4096 with it, or (when the client
// waits) 0 or 4 if it finished within the call.
func (p *Provider) modifyAnswer(ctx context.Context, res replica.ModifyResult, wait bool) cimmodel.Result {
	if res.JobID == "" {
		return cimmodel.Result{ReturnValue: returnOK}
	}
	out := map[string]cimmodel.Value{"Job": cimmodel.Ref(p.jobPath(res.JobID))}
	if !wait {
		return cimmodel.Result{ReturnValue: returnJobStarted, Out: out}
	}
	wctx, cancel := replyDeadline(ctx)
	defer cancel()
	job, err := p.jobs.Wait(wctx, res.JobID)
	switch {
	case err != nil:
		return cimmodel.Result{ReturnValue: returnJobStarted, Out: out}
	case job.State == jobqueue.StateFailed || job.State == jobqueue.StateTerminated:
		p.logger.Info("modify job failed within the call", zap.String("job", job.ID), zap.String("error", job.Err))
		out[cimmodel.ExtendedStatusParam] = cimmodel.Embedded(p.jobError(job))
		return cimmodel.Result{ReturnValue: returnFailed, Out: out}
	}
	return cimmodel.Result{ReturnValue: returnOK, Out: out}
}

// getReplicationRelationshipsMethod declares GetReplicationRelationships
// (§1.7): the StorageSynchronized and GroupSynchronized paths matching the
// Type, SyncType, Mode, Locality and CopyState filters (NULL: any).
func (p *Provider) getReplicationRelationshipsMethod() *cimmodel.Method {
	return &cimmodel.Method{
		Name: "GetReplicationRelationships", ReturnType: cimmodel.TypeUint32,
		ReturnValueMap: createReturnMap, ReturnValues: modifyReturnValues,
		Params: []cimmodel.Parameter{
			rParamMap(rIn("Type", cimmodel.TypeUint16), []string{"2", "3", "..", "0x8000.."},
				[]string{"StorageSynchronized", "GroupSynchronized", "DMTF Reserved", "Vendor Specific"}),
			rParamMap(rIn("SyncType", cimmodel.TypeUint16), []string{"..", "6", "7", "8", "9..0x7FFF", "0x8000.."},
				[]string{"DMTF Reserved", "Mirror", "Snapshot", "Clone", "DMTF Reserved", "Vendor Specific"}),
			modeParam,
			rParamMap(rIn("Locality", cimmodel.TypeUint16), []string{"2", "3", "..", "0x8000.."},
				[]string{"Local only", "Remote only", "DMTF Reserved", "Vendor Specific"}),
			rParamMap(rIn("CopyState", cimmodel.TypeUint16), waitCopyStateMap, waitCopyStateValues),
			rOutRef("Job", "CIM_ConcreteJob"),
			{Name: "Synchronizations", Type: cimmodel.TypeReference, Array: true, Out: true, RefClass: "CIM_Synchronized"},
		},
		Func: p.getReplicationRelationships,
	}
}

func (p *Provider) getReplicationRelationships(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "GetReplicationRelationships"
	typ, typeGiven := argUint16(in, "Type")
	syncType, syncTypeGiven := argUint16(in, "SyncType")
	mode, modeGiven := argUint16(in, "Mode")
	locality, _ := argUint16(in, "Locality")
	state, stateGiven := argUint16(in, "CopyState")
	if typeGiven && typ != relTypeStorage && typ != relTypeGroup {
		return p.methodFailure(method, invalidArg("Type %d: must be 2 StorageSynchronized or 3 GroupSynchronized", typ)), nil
	}
	refs := []cimmodel.ObjectPath{}
	match := func(st replica.SyncType, m replica.Mode, cs replica.CopyState) bool {
		return (!syncTypeGiven || cimValue(cimSyncTypes, st) == syncType) && (!modeGiven || cimValue(cimModes, m) == mode) && (!stateGiven || uint16(cs) == state)
	}
	if locality == localityRemote {
		// replicad replicates locally only.
		return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{"Synchronizations": cimmodel.Refs(refs)}}, nil
	}
	if !typeGiven || typ == relTypeStorage {
		all, err := p.repl.svc.Synchronizations(ctx)
		if err != nil {
			return p.methodFailure(method, err), nil
		}
		for _, x := range all {
			if match(x.SyncType, x.Mode, x.CopyState) {
				refs = append(refs, p.syncPath(x.Source, x.Target))
			}
		}
	}
	if !typeGiven || typ == relTypeGroup {
		all, err := p.repl.svc.GroupSynchronizations(ctx)
		if err != nil {
			return p.methodFailure(method, err), nil
		}
		for i := range all {
			gs := &all[i]
			cs, err := p.repl.svc.GroupCopyState(ctx, gs)
			if err != nil {
				return p.methodFailure(method, err), nil
			}
			if match(gs.SyncType, gs.Mode, cs) {
				refs = append(refs, p.groupSyncPath(gs.SourceGroup, gs.TargetGroup))
			}
		}
	}
	return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{"Synchronizations": cimmodel.Refs(refs)}}, nil
}
