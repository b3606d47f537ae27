package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// CIM_StorageSynchronized values our instances use (§2.2, §5.3).
const (
	copyTypeAsync         uint16 = 2 // asynchronous mirror
	copyTypeUnSyncAssoc   uint16 = 4 // snapshot: associated point-in-time copy
	copyTypeUnSyncUnAssoc uint16 = 5 // clone: full independent copy
	replicaTypeFullCopy   uint16 = 2
	syncStateInitialized  uint16 = 2
	syncStateResyncing    uint16 = 5 // ResyncInProgress
	syncStateSynchronized uint16 = 6
	syncStateQuiesced     uint16 = 9
	syncStateRestoring    uint16 = 10 // Restore In Progress
	syncStateBroken       uint16 = 12
	syncStateFractured    uint16 = 13
	syncStateCopying      uint16 = 15 // Copy In Progress
	progressCompleted     uint16 = 2
	progressDormant       uint16 = 3
	progressInitializing  uint16 = 4
	progressSynchronizing uint16 = 6
	progressResyncing     uint16 = 7
	progressRestoring     uint16 = 8
	progressMixed         uint16 = 14
	progressRequiresSync  uint16 = 18 // Requires resync
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

// syncView is how one copy state and activity show in the CIM_Synchronized
// properties that describe it (cim-replication.md §2.2, the SyncState
// mapping of §5.3): ProgressStatus, the older SyncState, and whether
// PercentSynced comes from a job (otherwise it is fixed).
type syncView struct {
	progress, syncState uint16
	fromJob             bool
	pct                 uint16
	unknownPct          bool // PercentSynced NULL
}

// viewOf returns the view of state while activity runs.
func viewOf(state replica.CopyState, activity replica.Activity) syncView {
	switch state {
	case replica.CopyStateInitialized:
		return syncView{progress: progressInitializing, syncState: syncStateInitialized}
	case replica.CopyStateUnsynchronized:
		switch activity {
		case replica.ActivityFollowing:
			// A mirror catching up: how far is not measured.
			return syncView{progress: progressSynchronizing, syncState: syncStateResyncing, unknownPct: true}
		case replica.ActivityResyncing:
			return syncView{progress: progressResyncing, syncState: syncStateResyncing, fromJob: true}
		case replica.ActivityRestoring:
			return syncView{progress: progressRestoring, syncState: syncStateRestoring, fromJob: true}
		}
		return syncView{progress: progressSynchronizing, syncState: syncStateCopying, fromJob: true}
	case replica.CopyStateSynchronized:
		return syncView{progress: progressCompleted, syncState: syncStateSynchronized, pct: 100}
	case replica.CopyStateFractured, replica.CopyStateSplit:
		// The target holds the complete copy of the moment it was split off.
		return syncView{progress: progressDormant, syncState: syncStateFractured, pct: 100}
	case replica.CopyStateSuspended:
		return syncView{progress: progressDormant, syncState: syncStateQuiesced, unknownPct: true}
	case replica.CopyStateMixed:
		return syncView{progress: progressMixed, syncState: syncStateCopying, fromJob: true}
	}
	// Broken, Aborted: the target is not a usable copy until a Resync.
	return syncView{progress: progressRequiresSync, syncState: syncStateBroken}
}

// percent returns PercentSynced for view, reading job's progress when the
// view says so (at most 99 until the state changes).
func (p *Provider) percent(v syncView, jobID string) uint16 {
	if !v.fromJob {
		return v.pct
	}
	if j, err := p.jobs.Get(jobID); err == nil && j.Total > 0 {
		return uint16(min(99, j.PercentComplete))
	}
	return 0
}

// syncFields sets the CIM_Synchronized properties shared by both classes.
// WhenSynced is when the target last became a complete copy (it stays
// while Fractured or Split); SyncMaintained only while Synchronized.
func syncFields(inst *cimmodel.Instance, st replica.CopyState, v syncView, syncType replica.SyncType, mode replica.Mode, pct uint16,
	established, synchronized cimmodel.Value) {
	inst.Set("CopyState", cimmodel.Uint16(uint16(st))).
		Set("RequestedCopyState", cimmodel.Uint16(uint16(replica.CopyStateNotApplicable))).
		Set("SyncType", cimmodel.Uint16(cimValue(cimSyncTypes, syncType))).
		Set("Mode", cimmodel.Uint16(cimValue(cimModes, mode))).
		Set("PercentSynced", cimmodel.Uint16(pct)).
		Set("ProgressStatus", cimmodel.Uint16(v.progress)).
		Set("SyncMaintained", cimmodel.Bool(st == replica.CopyStateSynchronized)).
		Set("WhenEstablished", established).
		Set("WhenSynchronized", synchronized).
		Set("WhenSynced", synchronized).
		Set("FailedCopyStopsHostIO", cimmodel.Bool(false))
	if v.unknownPct {
		inst.Set("PercentSynced", cimmodel.Null(cimmodel.TypeUint16))
	}
}

// syncJob is the job whose progress describes x: its Resync or Restore,
// or its initial copy.
func syncJob(x *replica.Synchronization) string {
	if x.Activity != replica.ActivityNone && x.ModifyJob != "" {
		return x.ModifyJob
	}
	return x.JobID
}

func (p *Provider) syncInstance(c *cimmodel.Class, x *replica.Synchronization) *cimmodel.Instance {
	inst := cimmodel.NewInstance(c).
		Set("SystemElement", cimmodel.Ref(p.volumePath(x.Source))).
		Set("SyncedElement", cimmodel.Ref(p.volumePath(x.Target)))
	v := viewOf(x.CopyState, x.Activity)
	syncFields(inst, x.CopyState, v, x.SyncType, x.Mode, p.percent(v, syncJob(x)),
		timeValue(x.Established), timeValue(x.Synchronized))
	copyType := copyTypeUnSyncUnAssoc
	switch x.SyncType {
	case replica.SyncTypeSnapshot:
		copyType = copyTypeUnSyncAssoc
	case replica.SyncTypeMirror:
		copyType = copyTypeAsync
	}
	return inst.Set("CopyType", cimmodel.Uint16(copyType)).
		Set("ReplicaType", cimmodel.Uint16(replicaTypeFullCopy)).
		Set("SyncState", cimmodel.Uint16(v.syncState)).
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

// isGroupSynchronized reports whether path names a GroupSynchronized
// (ours or the CIM class).
func isGroupSynchronized(path cimmodel.ObjectPath) bool {
	return strings.EqualFold(path.Class, groupSynchronizedClassName) || strings.EqualFold(path.Class, "CIM_GroupSynchronized")
}

// syncPairIDs returns the synchronizations the SyncPair references name
// (nil for none). Errors wrap replica.ErrSyncNotFound.
func (p *Provider) syncPairIDs(ctx context.Context, pairs []cimmodel.ObjectPath) ([]string, error) {
	var ids []string
	for _, ref := range pairs {
		x, err := p.syncOf(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("SyncPair: %w", err)
		}
		ids = append(ids, x.ID)
	}
	return ids, nil
}

// restoreChoice turns a replica.RestoreChoiceError into the refusal a
// client reads: the source, each candidate as its StorageSynchronized's
// keys and its target's name, and how to choose (hint). Other errors pass
// through unchanged. It still wraps replica.ErrInvalidRequest (5).
func (p *Provider) restoreChoice(ctx context.Context, err error, hint string) error {
	var choice *replica.RestoreChoiceError
	if !errors.As(err, &choice) {
		return err
	}
	name := func(id volumes.ID) string {
		if v, err := p.volumes.Get(ctx, id); err == nil {
			return v.Name
		}
		return string(id)
	}
	list := make([]string, len(choice.Candidates))
	for i, x := range choice.Candidates {
		list[i] = fmt.Sprintf("%s (StorageSynchronized SystemElement DeviceID=%s, SyncedElement DeviceID=%s)", name(x.Target), x.Source, x.Target)
	}
	return fmt.Errorf("%w: Restore from Replica would write %d replicas onto source %s, one after the other; %s. Candidates: %s",
		replica.ErrInvalidRequest, len(list), name(choice.Source), hint, strings.Join(list, "; "))
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
	// The members' common activity and job, and their last sync.
	activity, job := replica.ActivityNone, gs.JobID
	// The group was complete when its last member was; a member never
	// synced leaves it never synced.
	var last time.Time
	never := false
	for i, id := range gs.Members {
		m, err := p.repl.svc.Synchronization(ctx, id)
		if err != nil {
			return nil, replicationError(err)
		}
		if i == 0 || m.Activity == activity {
			activity = m.Activity
		} else {
			activity = replica.ActivityNone
		}
		if m.Activity != replica.ActivityNone {
			job = m.ModifyJob
		}
		if m.Synchronized.IsZero() {
			never = true
		} else if m.Synchronized.After(last) {
			last = m.Synchronized
		}
	}
	synchronized := cimmodel.Null(cimmodel.TypeDatetime)
	if !never && !last.IsZero() {
		synchronized = timeValue(last)
	}
	inst := cimmodel.NewInstance(c).
		Set("SystemElement", cimmodel.Ref(p.groupPath(gs.SourceGroup))).
		Set("SyncedElement", cimmodel.Ref(p.groupPath(gs.TargetGroup))).
		Set("RelationshipName", cimmodel.String(gs.RelationshipName))
	v := viewOf(st, activity)
	syncFields(inst, st, v, gs.SyncType, gs.Mode, p.percent(v, job), timeValue(gs.Established), synchronized)
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
