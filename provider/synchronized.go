package provider

import (
	"context"
	"fmt"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
)

// CIM_StorageSynchronized values our instances use (§2.2, §5.3).
const (
	copyTypeUnSyncAssoc   uint16 = 4 // snapshot: associated point-in-time copy
	copyTypeUnSyncUnAssoc uint16 = 5 // clone: full independent copy
	replicaTypeFullCopy   uint16 = 2
	syncStateInitialized  uint16 = 2
	syncStateSynchronized uint16 = 6
	syncStateCopying      uint16 = 15 // Copy In Progress
	progressCompleted     uint16 = 2
	progressInitializing  uint16 = 4
	progressSynchronizing uint16 = 6
	progressMixed         uint16 = 14
	copyMethodFullCopy    uint16 = 3
	consistencySequential uint16 = 2 // ConsistencyType Sequentially Consistent
	consistencyStateNA    uint16 = 2
	consistencyConsistent uint16 = 3
	consistencyCompleted  uint16 = 2
	consistencyInProgress uint16 = 3
	consistencyDisabled   uint16 = 4
)

// storageSynchronizedClass declares MSISCSITARGET_StorageSynchronized,
// addressable by its keys SystemElement (source volume) and SyncedElement
// (target volume), as clients build the path themselves (§6.2).
func (p *Provider) storageSynchronizedClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: storageSynchronizedClassName, Superclass: "CIM_StorageSynchronized", Namespace: Namespace, Association: true}
	c.Provider = &syncProvider{p: p, class: c}
	return c
}

// groupSynchronizedClass declares MSISCSITARGET_GroupSynchronized (an
// extension), keys SystemElement (source group) and SyncedElement (target
// group).
func (p *Provider) groupSynchronizedClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: groupSynchronizedClassName, Superclass: "CIM_GroupSynchronized", Namespace: Namespace, Association: true}
	c.Provider = &groupSyncProvider{p: p, class: c}
	return c
}

type syncProvider struct {
	p     *Provider
	class *cimmodel.Class
}

// EnumerateInstances returns every synchronization.
func (sp *syncProvider) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	all, err := sp.p.repl.svc.Synchronizations(ctx)
	if err != nil {
		return nil, replicationError(err)
	}
	out := make([]*cimmodel.Instance, 0, len(all))
	for i := range all {
		out = append(out, sp.p.syncInstance(sp.class, &all[i]))
	}
	return out, nil
}

// GetInstance returns the synchronization of the pair path names.
func (sp *syncProvider) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	x, err := sp.p.syncOf(ctx, path)
	if err != nil {
		return nil, replicationError(err)
	}
	return sp.p.syncInstance(sp.class, x), nil
}

// syncOf returns the synchronization a StorageSynchronized path names.
// Errors wrap replica.ErrSyncNotFound.
func (p *Provider) syncOf(ctx context.Context, path cimmodel.ObjectPath) (*replica.Synchronization, error) {
	src, ok1 := refKey(path, "SystemElement")
	tgt, ok2 := refKey(path, "SyncedElement")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: %s lacks SystemElement or SyncedElement", replica.ErrSyncNotFound, path)
	}
	s, err := volumeIDOf(src, "SystemElement")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", replica.ErrSyncNotFound, err)
	}
	t, err := volumeIDOf(tgt, "SyncedElement")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", replica.ErrSyncNotFound, err)
	}
	return p.repl.svc.SynchronizationOf(ctx, s, t)
}

// syncProgress returns PercentSynced for a copy state, using the job's
// progress while the copy runs.
func (p *Provider) syncProgress(state replica.CopyState, jobID string) uint16 {
	switch state {
	case replica.CopyStateSynchronized:
		return 100
	case replica.CopyStateUnsynchronized:
		if j, err := p.jobs.Get(jobID); err == nil && j.Total > 0 {
			return uint16(min(99, j.PercentComplete))
		}
	}
	return 0
}

// syncFields sets the CIM_Synchronized properties shared by both classes.
func syncFields(inst *cimmodel.Instance, st replica.CopyState, syncType replica.SyncType, mode replica.Mode, pct uint16,
	established, synchronized cimmodel.Value) {
	progress := progressInitializing
	switch st {
	case replica.CopyStateSynchronized:
		progress = progressCompleted
	case replica.CopyStateUnsynchronized:
		progress = progressSynchronizing
	case replica.CopyStateMixed:
		progress = progressMixed
	}
	inst.Set("CopyState", cimmodel.Uint16(uint16(st))).
		Set("RequestedCopyState", cimmodel.Uint16(uint16(replica.CopyStateNotApplicable))).
		Set("SyncType", cimmodel.Uint16(uint16(syncType))).
		Set("Mode", cimmodel.Uint16(uint16(mode))).
		Set("PercentSynced", cimmodel.Uint16(pct)).
		Set("ProgressStatus", cimmodel.Uint16(progress)).
		Set("SyncMaintained", cimmodel.Bool(st == replica.CopyStateSynchronized)).
		Set("WhenEstablished", established).
		Set("WhenSynchronized", synchronized).
		Set("WhenSynced", synchronized).
		Set("FailedCopyStopsHostIO", cimmodel.Bool(false))
}

func (p *Provider) syncInstance(c *cimmodel.Class, x *replica.Synchronization) *cimmodel.Instance {
	inst := cimmodel.NewInstance(c).
		Set("SystemElement", cimmodel.Ref(p.volumePath(x.Source))).
		Set("SyncedElement", cimmodel.Ref(p.volumePath(x.Target)))
	syncFields(inst, x.CopyState, x.SyncType, x.Mode, p.syncProgress(x.CopyState, x.JobID),
		timeValue(x.Established), timeValue(x.Synchronized))
	copyType := copyTypeUnSyncUnAssoc
	if x.SyncType == replica.SyncTypeSnapshot {
		copyType = copyTypeUnSyncAssoc
	}
	syncState := syncStateInitialized
	switch x.CopyState {
	case replica.CopyStateUnsynchronized:
		syncState = syncStateCopying
	case replica.CopyStateSynchronized:
		syncState = syncStateSynchronized
	}
	return inst.Set("CopyType", cimmodel.Uint16(copyType)).
		Set("ReplicaType", cimmodel.Uint16(replicaTypeFullCopy)).
		Set("SyncState", cimmodel.Uint16(syncState)).
		Set("CopyMethodology", cimmodel.Uint16(copyMethodFullCopy))
}

type groupSyncProvider struct {
	p     *Provider
	class *cimmodel.Class
}

// EnumerateInstances returns every group synchronization.
func (gp *groupSyncProvider) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	all, err := gp.p.repl.svc.GroupSynchronizations(ctx)
	if err != nil {
		return nil, replicationError(err)
	}
	out := make([]*cimmodel.Instance, 0, len(all))
	for i := range all {
		inst, err := gp.p.groupSyncInstance(ctx, gp.class, &all[i])
		if err != nil {
			return nil, err
		}
		out = append(out, inst)
	}
	return out, nil
}

// GetInstance returns the group synchronization of the groups path names.
func (gp *groupSyncProvider) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	gs, err := gp.p.groupSyncOf(ctx, path)
	if err != nil {
		return nil, replicationError(err)
	}
	return gp.p.groupSyncInstance(ctx, gp.class, gs)
}

// groupSyncOf returns the group synchronization a GroupSynchronized path
// names. Errors wrap replica.ErrSyncNotFound.
func (p *Provider) groupSyncOf(ctx context.Context, path cimmodel.ObjectPath) (*replica.GroupSynchronization, error) {
	src, ok1 := refKey(path, "SystemElement")
	tgt, ok2 := refKey(path, "SyncedElement")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: %s lacks SystemElement or SyncedElement", replica.ErrSyncNotFound, path)
	}
	s, err := groupIDOf(src, "SystemElement")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", replica.ErrSyncNotFound, err)
	}
	t, err := groupIDOf(tgt, "SyncedElement")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", replica.ErrSyncNotFound, err)
	}
	return p.repl.svc.GroupSynchronizationOf(ctx, s, t)
}

func (p *Provider) groupSyncInstance(ctx context.Context, c *cimmodel.Class, gs *replica.GroupSynchronization) (*cimmodel.Instance, error) {
	st, err := p.repl.svc.GroupCopyState(ctx, gs)
	if err != nil {
		return nil, replicationError(err)
	}
	synchronized := cimmodel.Null(cimmodel.TypeDatetime)
	if st == replica.CopyStateSynchronized {
		if j, err := p.jobs.Get(gs.JobID); err == nil && j.State == jobqueue.StateCompleted {
			synchronized = timeValue(j.Finished)
		}
	}
	inst := cimmodel.NewInstance(c).
		Set("SystemElement", cimmodel.Ref(p.groupPath(gs.SourceGroup))).
		Set("SyncedElement", cimmodel.Ref(p.groupPath(gs.TargetGroup))).
		Set("RelationshipName", cimmodel.String(gs.RelationshipName))
	syncFields(inst, st, gs.SyncType, gs.Mode, p.syncProgress(st, gs.JobID), timeValue(gs.Established), synchronized)
	if st == replica.CopyStateMixed {
		inst.Set("PercentSynced", cimmodel.Uint16(p.syncProgress(replica.CopyStateUnsynchronized, gs.JobID)))
	}
	enabled := gs.Consistency == replica.ConsistencySequential
	inst.Set("ConsistencyEnabled", cimmodel.Bool(enabled))
	if enabled {
		state, status := consistencyStateNA, consistencyInProgress
		if st == replica.CopyStateSynchronized {
			state, status = consistencyConsistent, consistencyCompleted
		}
		inst.Set("ConsistencyType", cimmodel.Uint16(consistencySequential)).
			Set("ConsistencyState", cimmodel.Uint16(state)).
			Set("ConsistencyStatus", cimmodel.Uint16(status))
	} else {
		inst.Set("ConsistencyState", cimmodel.Uint16(consistencyStateNA)).
			Set("ConsistencyStatus", cimmodel.Uint16(consistencyDisabled))
	}
	return inst, nil
}
