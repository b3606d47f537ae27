package replica

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// MaxTargetElementCount bounds Request.TargetElementCount.
const MaxTargetElementCount = 64

// Shape says which CIM method a Request comes from.
type Shape int

// The request shapes.
const (
	// ShapeElement is CreateElementReplica: one source, one target, one
	// Synchronization, no groups.
	ShapeElement Shape = iota + 1
	// ShapeGroup is CreateGroupReplica: a source group (or one source
	// element) replicated into a target group, with a GroupSynchronization.
	ShapeGroup
)

// Settings are the replication settings a request may override (the
// CIM_ReplicationSettingData properties replicad acts on). Zero values mean
// "the default".
type Settings struct {
	// ConsistentPointInTime, when set, asks for (true) or declines (false)
	// one instant across a group.
	ConsistentPointInTime *bool
	// Pairing: 2 Instrumentation decides, 3 Exact order, 4 Optimum. replicad
	// always pairs in order.
	Pairing uint16
	// UnequalGroupsAction: 2 Return an error (the only one replicad does).
	UnequalGroupsAction uint16
	// TargetElementSupplier: 1 Use existing, 2 Create new, 3 Use and create,
	// 4 Instrumentation decides, 5 Client must supply.
	TargetElementSupplier uint16
}

// Request asks for replicas. Exactly one of SourceGroup and SourceElement is
// set.
type Request struct {
	// Shape is the method the request comes from.
	Shape Shape
	// JobName names the copy job for clients (CIM Name).
	JobName string
	// RelationshipName names the group relationship; new target volumes are
	// named RelationshipName_1, _2, …. "" gives a generated name.
	RelationshipName string
	// ElementName names the one new target of a ShapeElement request; ""
	// gives a generated name.
	ElementName string
	// SyncType is required: Snapshot, Clone, or Mirror with Mode
	// Asynchronous (a Synchronous Mirror is not supported).
	SyncType SyncType
	// Mode is Synchronous, Asynchronous or ModeUnspecified (DefaultMode).
	Mode Mode
	// SourceGroup is a group ID; SourceElement a volume ID.
	SourceGroup   string
	SourceElement volumes.ID
	// TargetGroup is an existing group to replicate into (ShapeGroup): an
	// empty one receives new targets, a filled one must fit the sources.
	TargetGroup string
	// TargetElement is an existing target (ShapeElement).
	TargetElement volumes.ID
	// TargetElementCount, when not nil, is how many copies of SourceElement
	// to make (ShapeGroup).
	TargetElementCount *uint64
	// Consistency is None, Sequential or unspecified (Sequential for groups).
	Consistency Consistency
	// TargetPool is the pool of new targets; "" means each source's pool.
	TargetPool string
	// TargetSettingGoal reports that the client supplied one.
	TargetSettingGoal bool
	// RemoteAccessPoint reports that the client supplied a source or target
	// access point (remote replication).
	RemoteAccessPoint bool
	// Settings override the default replication settings.
	Settings Settings
	// WaitForCopyState is the copy state the caller will wait for with
	// Service.Wait (0: none). Initialized, Unsynchronized and Synchronized
	// can be waited for; other states are ErrNotSupported.
	WaitForCopyState CopyState
}

// Result is what Replicate made.
type Result struct {
	// OpID and JobID identify the operation and its copy job.
	OpID, JobID string
	// SourceGroup and TargetGroup are the groups of a ShapeGroup request
	// (SourceGroup is made by the system when the source is one element).
	SourceGroup, TargetGroup *Group
	// Syncs are the new synchronizations, in pairing order.
	Syncs []Synchronization
	// GroupSync is the group synchronization of a ShapeGroup request.
	GroupSync *GroupSynchronization
	// Created are the target volumes the request created.
	Created []volumes.ID
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNotSupported}, args...)...)
}

// vendor reports a value in the DMTF Vendor Specific range.
func vendor(v uint16) bool { return v >= 0x8000 }

// checkScalars checks the parameters that need no lookup.
func (r *Request) checkScalars() error {
	switch {
	case r.SyncType == SyncTypeClone || r.SyncType == SyncTypeSnapshot:
	case r.SyncType == SyncTypeMirror && r.Mode == ModeAsynchronous:
	case r.SyncType == SyncTypeMirror:
		// A Synchronous Mirror needs every write to pass through replicad,
		// which serves no I/O. A Mirror without Mode is taken as one the
		// client expects in step at every write: also refused.
		return unsupported("SyncType Mirror (6) with Mode %d: replicad has no write path to keep a mirror in step at every write; ask for Mode 3 (Asynchronous), which follows the source within a lag", r.Mode)
	case vendor(uint16(r.SyncType)):
		return unsupported("SyncType %d is a vendor value replicad does not define", r.SyncType)
	default:
		return invalid("SyncType %d: must be 6 Mirror, 7 Snapshot or 8 Clone", r.SyncType)
	}
	switch {
	case r.Mode == ModeUnspecified || r.Mode == ModeSynchronous || r.Mode == ModeAsynchronous:
	case vendor(uint16(r.Mode)):
		return unsupported("Mode %d is a vendor value replicad does not define", r.Mode)
	default:
		return invalid("Mode %d: must be 2 Synchronous or 3 Asynchronous", r.Mode)
	}
	switch {
	case r.Consistency == ConsistencyUnspecified || r.Consistency == ConsistencyNone || r.Consistency == ConsistencySequential:
	case vendor(uint16(r.Consistency)):
		return unsupported("Consistency %d is a vendor value replicad does not define", r.Consistency)
	default:
		return invalid("Consistency %d: must be 2 No Consistency or 3 Sequential Consistency", r.Consistency)
	}
	switch r.WaitForCopyState {
	case 0, CopyStateInitialized, CopyStateUnsynchronized, CopyStateSynchronized:
	default:
		if vendor(uint16(r.WaitForCopyState)) || r.WaitForCopyState <= 17 {
			return unsupported("WaitForCopyState %d (%s): replicad's %s replicas pass through Initialized, Unsynchronized and Synchronized only",
				r.WaitForCopyState, r.WaitForCopyState, r.SyncType)
		}
		return invalid("WaitForCopyState %d is not a CopyState", r.WaitForCopyState)
	}
	if r.RemoteAccessPoint {
		return unsupported("remote replication: SourceAccessPoint and TargetAccessPoint must be NULL (local replication only)")
	}
	if (r.SourceGroup == "") == (r.SourceElement == "") {
		return invalid("exactly one of SourceGroup and SourceElement must be given")
	}
	existingTargets := r.TargetGroup != "" || r.TargetElement != ""
	if r.TargetElementCount != nil {
		switch {
		case r.TargetGroup != "":
			return invalid("TargetGroup and TargetElementCount exclude each other")
		case r.SourceElement == "":
			return invalid("TargetElementCount makes copies of a SourceElement; it cannot be used with SourceGroup")
		case *r.TargetElementCount == 0:
			return invalid("TargetElementCount must be at least 1")
		case *r.TargetElementCount > MaxTargetElementCount:
			return invalid("TargetElementCount %d exceeds the limit of %d", *r.TargetElementCount, MaxTargetElementCount)
		}
	}
	if r.Shape == ShapeElement && (r.SourceElement == "" || r.TargetGroup != "" || r.TargetElementCount != nil) {
		return invalid("CreateElementReplica takes one SourceElement and at most one TargetElement")
	}
	if r.TargetSettingGoal {
		if r.TargetElement != "" {
			return invalid("TargetSettingGoal must be NULL when a target element is supplied")
		}
		return unsupported("TargetSettingGoal: replicad gives new targets the source's settings; pass NULL")
	}
	if r.TargetPool != "" && r.TargetElement != "" {
		return invalid("TargetPool must be NULL when a target element is supplied")
	}
	st := r.Settings
	switch st.Pairing {
	case 0, 2, 3, 4:
	default:
		return invalid("ReplicationSettingData.Pairing %d: must be 2, 3 or 4", st.Pairing)
	}
	switch st.UnequalGroupsAction {
	case 0, 2:
	case 3, 4:
		return unsupported("ReplicationSettingData.UnequalGroupsAction %d: replicad needs groups of equal size (2)", st.UnequalGroupsAction)
	default:
		return invalid("ReplicationSettingData.UnequalGroupsAction %d: must be 2, 3 or 4", st.UnequalGroupsAction)
	}
	switch st.TargetElementSupplier {
	case 0, 3, 4:
	case 1, 5:
		if !existingTargets {
			return invalid("ReplicationSettingData.TargetElementSupplier %d requires existing targets (TargetGroup or TargetElement)", st.TargetElementSupplier)
		}
	case 2:
		if r.TargetElement != "" {
			return invalid("ReplicationSettingData.TargetElementSupplier 2 (Create new) contradicts the supplied TargetElement")
		}
	default:
		return invalid("ReplicationSettingData.TargetElementSupplier %d: must be 1 to 5", st.TargetElementSupplier)
	}
	if st.ConsistentPointInTime != nil && *st.ConsistentPointInTime && r.Consistency == ConsistencyNone {
		return invalid("ReplicationSettingData.ConsistentPointInTime contradicts Consistency 2 (No Consistency)")
	}
	if r.RelationshipName != "" {
		if err := volumes.CheckName(r.RelationshipName + "_1"); err != nil {
			return invalid("RelationshipName %q cannot name target volumes: %v", r.RelationshipName, err)
		}
	}
	if r.ElementName != "" {
		if err := volumes.CheckName(r.ElementName); err != nil {
			return invalid("ElementName %q cannot name a volume: %v", r.ElementName, err)
		}
	}
	return nil
}

// plan is a checked request: the sources, existing targets and names of the
// targets to create, pair by pair.
type plan struct {
	req         Request
	consistency Consistency
	mode        Mode
	relName     string
	sourceGroup *Group // existing source group
	targetGroup *Group // existing target group
	sources     []*volumes.Volume
	targets     []*volumes.Volume // nil where a target is to be created
	newNames    []string          // name of the target to create, per pair
	newPools    []string
}

// Replicate checks req, and if every rule holds creates the targets, records
// the synchronizations (and groups) and queues the copy job. Nothing is
// created when it returns an error. Errors wrap ErrInvalidRequest,
// ErrNotSupported, ErrInUse (volumes.ErrInUse), ErrInRelationship,
// volumes.ErrNoSpace or jobqueue.ErrQueueFull.
func (s *Service) Replicate(ctx context.Context, req Request) (*Result, error) {
	if err := req.checkScalars(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	p, err := s.plan(ctx, req)
	if err != nil {
		return nil, err
	}
	opID := uuid.NewString()
	leases := map[volumes.ID]func(){}
	releaseLeases := func() {
		for _, r := range leases {
			r()
		}
	}
	lease := func(v *volumes.Volume, role string) error {
		if _, ok := leases[v.ID]; ok {
			return nil
		}
		rel, err := s.vols.Acquire(v.ID, "replication "+opID[:8])
		if err != nil {
			return fmt.Errorf("%w: %s %s (%s): %w", ErrInUse, role, v.Name, v.ID, err)
		}
		leases[v.ID] = rel
		return nil
	}
	for _, v := range p.sources {
		if err := lease(v, "source"); err != nil {
			releaseLeases()
			return nil, err
		}
	}
	for _, v := range p.targets {
		if v != nil {
			if err := lease(v, "target"); err != nil {
				releaseLeases()
				return nil, err
			}
		}
	}
	// The new targets are journaled before they are made, so that a crash
	// before record leaves none behind (Open deletes them).
	intent, err := s.createIntent(opID, p.newPools, p.newNames)
	if err != nil {
		releaseLeases()
		return nil, err
	}
	var created []volumes.ID
	undo := func() {
		releaseLeases()
		kept := false
		for _, id := range created {
			if err := s.vols.Delete(context.WithoutCancel(ctx), id); err != nil {
				s.logger.Error("remove target after a refused request", zap.String("volume", string(id)), zap.Error(err))
				kept = true // the intent stays: Open retries
			}
		}
		if intent != nil && !kept {
			if err := s.db.Update(func(tx *store.Tx) error { return tx.Delete(bucketIntents, intent.ID) }); err != nil {
				s.logger.Error("forget the journal of a refused request", zap.Error(err))
			}
		}
	}
	targets := slices.Clone(p.targets)
	for i, t := range targets {
		if t != nil {
			continue
		}
		v, err := s.vols.CreateWithLabels(ctx, p.newPools[i], p.newNames[i], p.sources[i].SizeBytes,
			map[string]string{LabelOp: opID})
		if err != nil {
			undo()
			return nil, fmt.Errorf("create target %s: %w", p.newNames[i], err)
		}
		created = append(created, v.ID)
		targets[i] = v
		if err := lease(v, "target"); err != nil {
			undo()
			return nil, err
		}
	}
	res, job, err := s.record(p, opID, targets, created, intent)
	if err != nil {
		undo()
		return nil, err
	}
	s.leases[opID] = leases
	s.jobs.Kick()
	res.JobID = job.ID
	s.logger.Info("replication started", zap.String("op", opID), zap.String("job", job.ID),
		zap.Stringer("syncType", req.SyncType), zap.Int("pairs", len(targets)), zap.Int("created", len(created)))
	return res, nil
}

// plan resolves the request's references and checks the rules that need
// them. It changes nothing.
func (s *Service) plan(ctx context.Context, req Request) (*plan, error) {
	p := &plan{req: req, mode: req.Mode, consistency: req.Consistency, relName: req.RelationshipName}
	if p.mode == ModeUnspecified {
		p.mode = DefaultMode
	}
	if p.consistency == ConsistencyUnspecified {
		p.consistency = ConsistencyNone
		if req.Shape == ShapeGroup {
			p.consistency = ConsistencySequential
		}
		if req.Settings.ConsistentPointInTime != nil {
			if *req.Settings.ConsistentPointInTime {
				p.consistency = ConsistencySequential
			} else {
				p.consistency = ConsistencyNone
			}
		}
	}
	if p.relName == "" {
		p.relName = "replica-" + uuid.NewString()[:8]
	}
	getVol := func(id volumes.ID, role string) (*volumes.Volume, error) {
		v, err := s.vols.Get(ctx, id)
		if errors.Is(err, volumes.ErrNotFound) {
			return nil, invalid("%s %s does not exist", role, id)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", role, id, err)
		}
		if v.Missing {
			return nil, invalid("%s %s (%s): its image file is missing", role, v.Name, id)
		}
		return v, nil
	}
	var syncs []Synchronization
	var gsyncs []GroupSynchronization
	if err := s.db.View(func(tx *store.Tx) error {
		var err error
		if syncs, err = listRecords[Synchronization](tx, bucketSyncs); err != nil {
			return err
		}
		gsyncs, err = listRecords[GroupSynchronization](tx, bucketGroupSyncs)
		return err
	}); err != nil {
		return nil, err
	}
	// Sources.
	if req.SourceGroup != "" {
		g, err := s.Group(ctx, req.SourceGroup)
		if errors.Is(err, ErrGroupNotFound) {
			return nil, invalid("SourceGroup %s does not exist", req.SourceGroup)
		} else if err != nil {
			return nil, err
		}
		if len(g.Members) == 0 {
			return nil, invalid("SourceGroup %s has no members", g.Name)
		}
		p.sourceGroup = g
		for _, id := range g.Members {
			v, err := getVol(id, "source group member")
			if err != nil {
				return nil, err
			}
			p.sources = append(p.sources, v)
		}
	} else {
		v, err := getVol(req.SourceElement, "SourceElement")
		if err != nil {
			return nil, err
		}
		n := 1
		if req.TargetElementCount != nil {
			n = int(*req.TargetElementCount)
		}
		for range n {
			p.sources = append(p.sources, v)
		}
	}
	isSource := map[volumes.ID]bool{}
	for _, v := range p.sources {
		isSource[v.ID] = true
	}
	inSync := func(id volumes.ID) *Synchronization {
		for _, x := range syncs {
			if x.Target == id {
				return &x
			}
		}
		return nil
	}
	checkTarget := func(t, src *volumes.Volume, role string) error {
		if isSource[t.ID] {
			return invalid("%s %s is also a source", role, t.Name)
		}
		if t.SizeBytes != src.SizeBytes {
			return invalid("%s %s is %d bytes but its source %s is %d bytes: sizes must match",
				role, t.Name, t.SizeBytes, src.Name, src.SizeBytes)
		}
		if x := inSync(t.ID); x != nil {
			return fmt.Errorf("%w: %s %s is already the target of a synchronization of %s", ErrInRelationship, role, t.Name, x.Source)
		}
		return nil
	}
	// Existing targets.
	p.targets = make([]*volumes.Volume, len(p.sources))
	switch {
	case req.TargetElement != "":
		t, err := getVol(req.TargetElement, "TargetElement")
		if err != nil {
			return nil, err
		}
		if err := checkTarget(t, p.sources[0], "TargetElement"); err != nil {
			return nil, err
		}
		p.targets[0] = t
	case req.TargetGroup != "":
		g, err := s.Group(ctx, req.TargetGroup)
		if errors.Is(err, ErrGroupNotFound) {
			return nil, invalid("TargetGroup %s does not exist", req.TargetGroup)
		} else if err != nil {
			return nil, err
		}
		if p.sourceGroup != nil && g.ID == p.sourceGroup.ID {
			return nil, invalid("TargetGroup and SourceGroup are the same group %s", g.Name)
		}
		for _, gs := range gsyncs {
			if gs.TargetGroup == g.ID || gs.SourceGroup == g.ID {
				return nil, fmt.Errorf("%w: TargetGroup %s is in relationship %q", ErrInRelationship, g.Name, gs.RelationshipName)
			}
		}
		p.targetGroup = g
		if len(g.Members) > 0 {
			if req.TargetPool != "" {
				return nil, invalid("TargetPool must be NULL when the TargetGroup supplies the targets")
			}
			if p.sourceGroup == nil {
				// One source element to every member of the target group.
				src := p.sources[0]
				p.sources = make([]*volumes.Volume, len(g.Members))
				for i := range p.sources {
					p.sources[i] = src
				}
				p.targets = make([]*volumes.Volume, len(p.sources))
			}
			if len(g.Members) != len(p.sources) {
				return nil, invalid("TargetGroup %s has %d members but the source has %d: they must be equal",
					g.Name, len(g.Members), len(p.sources))
			}
			for i, id := range g.Members {
				t, err := getVol(id, "TargetGroup member")
				if err != nil {
					return nil, err
				}
				if err := checkTarget(t, p.sources[i], "TargetGroup member "+strconv.Itoa(i+1)); err != nil {
					return nil, err
				}
				if slices.ContainsFunc(p.targets[:i], func(o *volumes.Volume) bool { return o.ID == t.ID }) {
					return nil, invalid("TargetGroup %s lists %s twice", g.Name, t.Name)
				}
				p.targets[i] = t
			}
		}
	}
	// New targets: names and pools, all checked before anything is made.
	p.newNames = make([]string, len(p.targets))
	p.newPools = make([]string, len(p.targets))
	for i, t := range p.targets {
		if t != nil {
			continue
		}
		if req.Settings.TargetElementSupplier == 5 || req.Settings.TargetElementSupplier == 1 {
			return nil, invalid("ReplicationSettingData.TargetElementSupplier %d forbids creating targets, and the TargetGroup is empty", req.Settings.TargetElementSupplier)
		}
		name := fmt.Sprintf("%s_%d", p.relName, i+1)
		if req.Shape == ShapeElement {
			name = req.ElementName
			if name == "" {
				name = p.sources[i].Name + "_" + p.relName
			}
		}
		if err := volumes.CheckName(name); err != nil {
			return nil, invalid("target name %q: %v", name, err)
		}
		pool := req.TargetPool
		if pool == "" {
			pool = p.sources[i].Pool
		}
		if _, err := s.vols.Pool(ctx, pool); errors.Is(err, volumes.ErrPoolNotFound) {
			return nil, invalid("TargetPool %s does not exist", pool)
		} else if err != nil {
			return nil, err
		}
		if _, err := s.vols.Lookup(ctx, pool, name); err == nil {
			return nil, invalid("a volume named %s already exists in pool %s; choose another RelationshipName or ElementName", name, pool)
		} else if !errors.Is(err, volumes.ErrNotFound) {
			return nil, fmt.Errorf("look up %s: %w", name, err)
		}
		if slices.Contains(p.newNames, name) {
			return nil, invalid("two targets would be named %s", name)
		}
		p.newNames[i], p.newPools[i] = name, pool
	}
	return p, nil
}

// record writes the groups, synchronizations, operation and job of a
// planned request in one transaction, which also deletes the journal of
// its new targets (intent, nil when it created none).
func (s *Service) record(p *plan, opID string, targets []*volumes.Volume, created []volumes.ID, intent *intentRecord) (*Result, jobqueue.Job, error) {
	now := s.now()
	res := &Result{OpID: opID, Created: created}
	op := &opRecord{Version: 1, ID: opID, Consistency: p.consistency, CreatedTargets: created, State: opActive}
	var gs *GroupSynchronization
	if p.req.Shape == ShapeGroup {
		src := p.sourceGroup
		if src == nil {
			src = &Group{ID: uuid.NewString(), Name: p.relName + "_source", Members: []volumes.ID{p.sources[0].ID},
				SystemGenerated: true, DeleteOnUnassociated: true, Created: now}
			op.CreatedGroups = append(op.CreatedGroups, src.ID)
		}
		tgt := p.targetGroup
		if tgt == nil {
			tgt = &Group{ID: uuid.NewString(), Name: p.relName, Persistent: true, SystemGenerated: true, Created: now}
			op.CreatedGroups = append(op.CreatedGroups, tgt.ID)
		} else {
			tgt = &Group{}
			*tgt = *p.targetGroup
		}
		tgt.Members = tgt.Members[:0:0]
		for _, t := range targets {
			tgt.Members = append(tgt.Members, t.ID)
		}
		tgt.ConsistentPointInTime = p.consistency == ConsistencySequential
		res.SourceGroup, res.TargetGroup = src, tgt
		gs = &GroupSynchronization{ID: uuid.NewString(), SourceGroup: src.ID, TargetGroup: tgt.ID,
			RelationshipName: p.relName, SyncType: p.req.SyncType, Mode: p.mode, Consistency: p.consistency,
			Op: opID, Established: now}
		op.GroupSync = gs.ID
	}
	createdSet := map[volumes.ID]bool{}
	for _, id := range created {
		createdSet[id] = true
	}
	var affected []string
	for i, t := range targets {
		x := Synchronization{ID: uuid.NewString(), Source: p.sources[i].ID, Target: t.ID, SyncType: p.req.SyncType,
			Mode: p.mode, Consistency: p.consistency, CopyState: CopyStateInitialized, Op: opID,
			TargetCreated: createdSet[t.ID], Established: now}
		if gs != nil {
			x.GroupSync = gs.ID
			gs.Members = append(gs.Members, x.ID)
		}
		res.Syncs = append(res.Syncs, x)
		op.Syncs = append(op.Syncs, x.ID)
		affected = append(affected, AffectedVolume(t.ID, createdSet[t.ID]))
	}
	if res.TargetGroup != nil {
		affected = append(affected, AffectedGroup(res.TargetGroup.ID))
	}
	name := p.req.JobName
	if name == "" {
		name = "Replicate"
	}
	var job jobqueue.Job
	err := s.db.Update(func(tx *store.Tx) error {
		var err error
		job, err = s.jobs.SubmitTx(tx, jobqueue.Spec{Kind: KindCopy, Name: name,
			Description: fmt.Sprintf("%s of %d volume(s), relationship %s", p.req.SyncType, len(targets), p.relName),
			Payload:     copyPayload{Op: opID}, Affected: affected, Owner: "replication",
			DeleteOnCompletion: false})
		if err != nil {
			return err
		}
		op.JobID = job.ID
		for i := range res.Syncs {
			res.Syncs[i].JobID = job.ID
			if err := tx.Put(bucketSyncs, res.Syncs[i].ID, &res.Syncs[i]); err != nil {
				return err
			}
		}
		if gs != nil {
			gs.JobID = job.ID
			for _, g := range []*Group{res.SourceGroup, res.TargetGroup} {
				if err := tx.Put(bucketGroups, g.ID, g); err != nil {
					return err
				}
			}
			if err := tx.Put(bucketGroupSyncs, gs.ID, gs); err != nil {
				return err
			}
			res.GroupSync = gs
		}
		if intent != nil {
			if err := tx.Delete(bucketIntents, intent.ID); err != nil {
				return err
			}
		}
		return tx.Put(bucketOps, op.ID, op)
	})
	if err != nil {
		return nil, jobqueue.Job{}, fmt.Errorf("record replication: %w", err)
	}
	return res, job, nil
}

// LabelOp is the volumes label on a target volume created by a
// replication request: its operation ID. It is written with the volume
// (volumes.Service.CreateWithLabels), so that Open can tell the targets of
// a request that a crash stopped before it was recorded from volumes of the
// same name made by anyone else, and delete only those. Whether a volume
// takes part in a relationship is never read from labels: ask RoleOf.
const LabelOp = "replica.op"

// copyPayload is the copy job's input.
type copyPayload struct {
	Op string `json:"op"`
}

// Kinds of the jobqueue Spec.Affected entries of copy jobs, written
// "<kind>:<id>": the target volumes (created by the request or supplied)
// and the target group.
const (
	AffectedCreatedVolume  = "created-volume"
	AffectedSuppliedVolume = "volume"
	AffectedTargetGroup    = "group"
)

// AffectedVolume is the Spec.Affected entry for target volume id.
func AffectedVolume(id volumes.ID, created bool) string {
	if created {
		return AffectedCreatedVolume + ":" + string(id)
	}
	return AffectedSuppliedVolume + ":" + string(id)
}

// AffectedGroup is the Spec.Affected entry for target group id.
func AffectedGroup(id string) string { return AffectedTargetGroup + ":" + id }
