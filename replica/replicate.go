package replica

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// Replicate checks req, and if every rule holds creates the targets, records
// the synchronizations (and groups) and queues the copy job. Nothing is
// created when it returns an error. Errors wrap ErrInvalidRequest,
// ErrNotSupported, ErrInUse (volumes.ErrInUse), ErrInRelationship,
// volumes.ErrNoSpace or jobqueue.ErrQueueFull.
func (s *Service) Replicate(ctx context.Context, req Request) (*Result, error) {
	if err := req.check(); err != nil {
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
	m := &making{s: s, opID: uuid.NewString(), leases: map[volumes.ID]func(){}}
	if err := m.leaseAll(p); err != nil {
		releaseMap(m.leases)
		return nil, err
	}
	// The new targets are journaled before they are made, so that a crash
	// before record leaves none behind (Open deletes them).
	if m.intent, err = s.createIntent(m.opID, p.newPools, p.newNames); err != nil {
		releaseMap(m.leases)
		return nil, err
	}
	targets, err := m.createTargets(ctx, p)
	if err != nil {
		m.undo(ctx)
		return nil, err
	}
	res, job, err := s.record(p, m.opID, targets, m.created, m.intent)
	if err != nil {
		m.undo(ctx)
		return nil, err
	}
	s.leases[m.opID] = m.leases
	s.jobs.Kick()
	res.JobID = job.ID
	s.logger.Info("replication started", zap.String("op", m.opID), zap.String("job", job.ID),
		zap.Stringer("syncType", req.SyncType), zap.Int("pairs", len(targets)), zap.Int("created", len(m.created)))
	return res, nil
}

// making is a planned request being carried out: its operation, the
// leases it holds, the journal of its new targets and the targets made so
// far.
type making struct {
	s       *Service
	opID    string
	leases  map[volumes.ID]func()
	intent  *intentRecord
	created []volumes.ID
}

// lease takes a lease on v (once), which plays role in the request.
func (m *making) lease(v *volumes.Volume, role string) error {
	if _, ok := m.leases[v.ID]; ok {
		return nil
	}
	rel, err := m.s.vols.Acquire(v.ID, "replication "+m.opID[:8])
	if err != nil {
		return fmt.Errorf("%w: %s %s (%s): %w", ErrInUse, role, v.Name, v.ID, err)
	}
	m.leases[v.ID] = rel
	return nil
}

// leaseAll leases the sources and the supplied targets of p.
func (m *making) leaseAll(p *plan) error {
	for _, v := range p.sources {
		if err := m.lease(v, "source"); err != nil {
			return err
		}
	}
	for _, v := range p.targets {
		if v != nil {
			if err := m.lease(v, "target"); err != nil {
				return err
			}
		}
	}
	return nil
}

// createTargets makes (and leases) the new targets of p and returns every
// target, pair by pair.
func (m *making) createTargets(ctx context.Context, p *plan) ([]*volumes.Volume, error) {
	targets := slices.Clone(p.targets)
	for i, t := range targets {
		if t != nil {
			continue
		}
		v, err := m.s.vols.CreateWithLabels(ctx, p.newPools[i], p.newNames[i], p.sources[i].SizeBytes,
			map[string]string{LabelOp: m.opID})
		if err != nil {
			return nil, fmt.Errorf("create target %s: %w", p.newNames[i], err)
		}
		m.created = append(m.created, v.ID)
		targets[i] = v
		if err := m.lease(v, "target"); err != nil {
			return nil, err
		}
	}
	return targets, nil
}

// undo gives back what a request that failed took: its leases, the targets
// it made and their journal (kept when a target could not be removed:
// Open retries).
func (m *making) undo(ctx context.Context) {
	releaseMap(m.leases)
	kept := false
	for _, id := range m.created {
		if err := m.s.vols.Delete(context.WithoutCancel(ctx), id); err != nil {
			m.s.logger.Error("remove target after a refused request", zap.String("volume", string(id)), zap.Error(err))
			kept = true
		}
	}
	if m.intent != nil && !kept {
		if err := m.s.db.Update(func(tx *store.Tx) error { return tx.Delete(bucketIntents, m.intent.ID) }); err != nil {
			m.s.logger.Error("forget the journal of a refused request", zap.Error(err))
		}
	}
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
			Description: p.jobDescription(len(targets)),
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

// jobDescription says what the copy job makes, by the names the client gave:
// the new target's ElementName for a one-element request, else the
// relationship's name.
func (p *plan) jobDescription(targets int) string {
	if p.req.ElementName != "" {
		return fmt.Sprintf("%s of %d volume(s) into %s", p.req.SyncType, targets, p.req.ElementName)
	}
	return fmt.Sprintf("%s of %d volume(s), relationship %s", p.req.SyncType, targets, p.relName)
}
