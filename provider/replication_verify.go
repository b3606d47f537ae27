package provider

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/replica"
)

// verifyReplicaMethodName is replicad's vendor-specific extrinsic method on
// MSISCSITARGET_ReplicationService that compares a replica with its source.
// CIM_ReplicationService has no such method (SMI-S leaves verification to
// vendors), so it is declared on our subclass; clients call it like any
// other method (Invoke-CimMethod -MethodName VerifyReplica).
const verifyReplicaMethodName = "VerifyReplica"

// Bounds of VerifyReplica's MaxDifferences.
const (
	defaultVerifyDiffs = 16
	maxVerifyDiffs     = 1024
)

// verifyReplicaMethod declares VerifyReplica: it runs within the call
// (bounded by the request's OperationTimeout: 3 Timeout past it) and
// answers 0 with the comparison in its out-parameters.
func (p *Provider) verifyReplicaMethod() *cimmodel.Method {
	return &cimmodel.Method{
		Name: verifyReplicaMethodName, ReturnType: cimmodel.TypeUint32,
		ReturnValueMap: createReturnMap, ReturnValues: modifyReturnValues,
		Description: "Vendor extension: compares the target of a StorageSynchronized (or every member of a GroupSynchronized) with its source, " +
			"byte for byte, within the call. 0 with Identical, DifferingOffsets (the first MaxDifferences differing byte offsets of the first " +
			"differing pair), DifferingPairs, BytesCompared, DifferingBytes and CopyState; a Synchronized pair found different becomes Broken " +
			"(5) unless its source was written since its last sync (Resync Replica repairs it). 6 while a job works on the pair, " +
			"3 when the OperationTimeout ends first.",
		Params: []cimmodel.Parameter{
			rRequired(rInRef("Synchronization", "CIM_Synchronized")),
			rIn("MaxDifferences", cimmodel.TypeUint32),
			{Name: "Identical", Type: cimmodel.TypeBoolean, Out: true},
			{Name: "DifferingOffsets", Type: cimmodel.TypeUint64, Array: true, Out: true},
			{Name: "DifferingPairs", Type: cimmodel.TypeReference, Array: true, Out: true, RefClass: "CIM_StorageSynchronized"},
			{Name: "BytesCompared", Type: cimmodel.TypeUint64, Out: true},
			{Name: "DifferingBytes", Type: cimmodel.TypeUint64, Out: true},
			{Name: "SourceChanged", Type: cimmodel.TypeBoolean, Out: true},
			{Name: "CopyState", Type: cimmodel.TypeUint16, Out: true, ValueMap: copyStateMap, Values: copyStateValues},
		},
		Func: p.verifyReplica,
	}
}

func (p *Provider) verifyReplica(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = verifyReplicaMethodName
	opts := replica.VerifyOptions{MaxDiffs: defaultVerifyDiffs}
	if v, ok := in.Get("MaxDifferences"); ok && !v.IsNull() {
		n, _ := v.AsUint64()
		if n == 0 || n > maxVerifyDiffs {
			return p.methodFailure(method, invalidArg("MaxDifferences %d: give 1 to %d", n, maxVerifyDiffs)), nil
		}
		opts.MaxDiffs = int(n)
	}
	sync, _ := argRef(in, "Synchronization")
	var res replica.VerifyResult
	var err error
	if isGroupSynchronized(sync) {
		var gs *replica.GroupSynchronization
		if gs, err = p.groupSyncOf(ctx, sync); err == nil {
			res, err = p.repl.svc.VerifyGroup(ctx, gs.ID, opts)
		}
	} else {
		var x *replica.Synchronization
		if x, err = p.syncOf(ctx, sync); err == nil {
			res, err = p.repl.svc.Verify(ctx, x.ID, opts)
		}
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			const why = "the OperationTimeout ended before the comparison; give a longer one"
			p.logger.Info("replication method refused", zap.String("method", method), zap.Uint32("returnValue", returnTimeout),
				zap.String("reason", why))
			return p.refusal(returnTimeout, cimmodel.StatusFailed, method+": "+why), nil
		}
		return p.methodFailure(method, err), nil
	}
	return cimmodel.Result{ReturnValue: returnOK, Out: p.verifyOut(res)}, nil
}

// verifyOut is VerifyReplica's out-parameters for res: the offsets of the
// first differing pair, every differing pair, the totals, and the common
// CopyState of the pairs after the comparison (Mixed when they differ).
func (p *Provider) verifyOut(res replica.VerifyResult) map[string]cimmodel.Value {
	var compared, differing int64
	offsets := []uint64{}
	pairs := []cimmodel.ObjectPath{}
	changed := false
	state := replica.CopyState(0)
	for _, r := range res.Pairs {
		compared += r.Report.BytesCompared
		differing += r.Report.DiffBytes
		changed = changed || r.SourceChanged
		switch {
		case state == 0:
			state = r.CopyState
		case state != r.CopyState:
			state = replica.CopyStateMixed
		}
		if r.Identical() {
			continue
		}
		pairs = append(pairs, p.syncPath(r.Source, r.Target))
		if len(offsets) == 0 {
			for _, o := range r.Report.Offsets {
				offsets = append(offsets, uint64(o))
			}
		}
	}
	return map[string]cimmodel.Value{
		"Identical":        cimmodel.Bool(res.Identical()),
		"DifferingOffsets": cimmodel.Uint64s(offsets),
		"DifferingPairs":   cimmodel.Refs(pairs),
		"BytesCompared":    cimmodel.Uint64(uint64(compared)),
		"DifferingBytes":   cimmodel.Uint64(uint64(differing)),
		"SourceChanged":    cimmodel.Bool(changed),
		"CopyState":        cimmodel.Uint16(uint16(state)),
	}
}

// ReplicationIntegrity returns the verification counters of the replication
// service and the number of synchronizations that are Broken, for the
// replicad_replica_* metrics.
func (p *Provider) ReplicationIntegrity(ctx context.Context) (replica.IntegrityStats, int, error) {
	st := p.repl.svc.IntegrityStats()
	syncs, err := p.repl.svc.Synchronizations(ctx)
	if err != nil {
		return st, 0, err
	}
	broken := 0
	for _, x := range syncs {
		if x.CopyState == replica.CopyStateBroken {
			broken++
		}
	}
	return st, broken, nil
}
