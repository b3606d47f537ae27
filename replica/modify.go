package replica

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// ModifyOptions tune Modify.
type ModifyOptions struct {
	// JobName names the job of an asynchronous operation.
	JobName string
	// Force lets Detach, Dissolve and Return To ResourcePool abort a
	// running Resync or Restore first (the target may then be
	// inconsistent), instead of answering ErrCopyInProgress.
	Force bool
	// Members, for ModifyGroup with OpRestore, names the member
	// synchronizations to restore from (IDs among the group
	// synchronization's Members); nil restores from every member. Other
	// operations act on the whole group (ErrNotSupported when it is set).
	Members []string
}

// RestoreChoiceError is the refusal (it wraps ErrInvalidRequest) of a
// Restore From Replica that would write several replicas onto one source,
// one after the other, leaving the source a copy of whichever came last:
// the caller must name the one to restore from (ModifyOptions.Members).
type RestoreChoiceError struct {
	// Source is the volume the candidates are replicas of.
	Source volumes.ID
	// Candidates are its synchronizations the restore would write back,
	// in the order given.
	Candidates []Synchronization
}

// Error lists the candidates' targets.
func (e *RestoreChoiceError) Error() string {
	targets := make([]string, len(e.Candidates))
	for i, x := range e.Candidates {
		targets[i] = string(x.Target)
	}
	return fmt.Sprintf("%v: Restore from Replica would write %d replicas onto source %s (%s); name the one to restore from",
		ErrInvalidRequest, len(e.Candidates), e.Source, strings.Join(targets, ", "))
}

// Unwrap returns ErrInvalidRequest.
func (e *RestoreChoiceError) Unwrap() error { return ErrInvalidRequest }

// checkRestoreChoice refuses a Restore From Replica of syncs in which two
// synchronizations share a source (RestoreChoiceError).
func checkRestoreChoice(syncs []*Synchronization) error {
	bySource := map[volumes.ID][]Synchronization{}
	var order []volumes.ID
	for _, x := range syncs {
		if _, ok := bySource[x.Source]; !ok {
			order = append(order, x.Source)
		}
		bySource[x.Source] = append(bySource[x.Source], *x)
	}
	for _, src := range order {
		if c := bySource[src]; len(c) > 1 {
			return &RestoreChoiceError{Source: src, Candidates: c}
		}
	}
	return nil
}

// chosenMembers returns the members of gs that opts names for op
// (ModifyOptions.Members), or all of them.
func chosenMembers(gs *GroupSynchronization, op Operation, opts ModifyOptions) ([]string, error) {
	if len(opts.Members) == 0 {
		return gs.Members, nil
	}
	if op != OpRestore {
		return nil, unsupported("%s acts on every member of relationship %q; members can be named only to restore from them", op, gs.RelationshipName)
	}
	seen := map[string]bool{}
	for _, id := range opts.Members {
		if !slices.Contains(gs.Members, id) {
			return nil, invalid("synchronization %s is not a member of relationship %q", id, gs.RelationshipName)
		}
		if seen[id] {
			return nil, invalid("synchronization %s named twice", id)
		}
		seen[id] = true
	}
	return slices.Clone(opts.Members), nil
}

// ModifyResult is what Modify did.
type ModifyResult struct {
	// JobID is the job of an asynchronous operation ("" otherwise).
	JobID string
	// Ended reports that the operation removed the association.
	Ended bool
}

// Modify performs op on synchronization id, which must not belong to a
// group synchronization (ErrInRelationship: modify the group). See
// ModifyGroup for the rules.
func (s *Service) Modify(ctx context.Context, id string, op Operation, opts ModifyOptions) (ModifyResult, error) {
	x, err := s.Synchronization(ctx, id)
	if err != nil {
		return ModifyResult{}, err
	}
	if x.GroupSync != "" {
		return ModifyResult{}, fmt.Errorf("%w: synchronization %s → %s belongs to a group synchronization; modify that one", ErrInRelationship, x.Source, x.Target)
	}
	if len(opts.Members) > 0 {
		return ModifyResult{}, invalid("members are named only within a group synchronization")
	}
	return s.modify(ctx, []string{x.ID}, "", op, opts)
}

// ModifyList performs op on every synchronization of ids, all or none
// (ModifyListSynchronization). None may belong to a group synchronization
// (ErrInRelationship) or be listed twice (ErrInvalidRequest). Rules as
// ModifyGroup (two of one source cannot be restored from at once).
func (s *Service) ModifyList(ctx context.Context, ids []string, op Operation, opts ModifyOptions) (ModifyResult, error) {
	if len(ids) == 0 {
		return ModifyResult{}, invalid("no synchronization to modify")
	}
	if len(opts.Members) > 0 {
		return ModifyResult{}, invalid("members are named only within a group synchronization")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return ModifyResult{}, invalid("synchronization %s listed twice", id)
		}
		seen[id] = true
		x, err := s.Synchronization(ctx, id)
		if err != nil {
			return ModifyResult{}, err
		}
		if x.GroupSync != "" {
			return ModifyResult{}, fmt.Errorf("%w: synchronization %s → %s belongs to a group synchronization; modify that one", ErrInRelationship, x.Source, x.Target)
		}
	}
	return s.modify(ctx, slices.Clone(ids), "", op, opts)
}

// ModifyGroup performs op on every member of group synchronization id, all
// or none. Each operation is allowed only from the states of its row in the
// transition table (AllowedFrom): from a state where a job works on the
// synchronization the answer is ErrCopyInProgress, from another forbidden
// state ErrInvalidState; an operation replicad does not perform is
// ErrNotSupported. Fracture, Split and Abort are synchronous; Resync Replica
// and Restore From Replica return the job that does the work; Detach,
// Dissolve and Return To ResourcePool end the association
// (EndSynchronization). A Restore From Replica writes each member's target
// onto its source, so two members of one source (several replicas of one
// element) are refused with a *RestoreChoiceError unless opts.Members names
// the member to restore from. Errors leave every record as it was.
func (s *Service) ModifyGroup(ctx context.Context, id string, op Operation, opts ModifyOptions) (ModifyResult, error) {
	gs, err := s.GroupSynchronization(ctx, id)
	if err != nil {
		return ModifyResult{}, err
	}
	members, err := chosenMembers(gs, op, opts)
	if err != nil {
		return ModifyResult{}, err
	}
	return s.modify(ctx, members, gs.ID, op, opts)
}

func (s *Service) modify(ctx context.Context, ids []string, groupSync string, op Operation, opts ModifyOptions) (ModifyResult, error) {
	tr, ok := transitions[op]
	if !ok {
		return ModifyResult{}, unsupported("%s: replicad does not perform it", op)
	}
	if tr.end != 0 {
		if opts.Force {
			if err := s.abortRunning(ctx, ids); err != nil {
				return ModifyResult{}, err
			}
		}
		syncs, err := s.loadSyncs(ctx, ids)
		if err != nil {
			return ModifyResult{}, err
		}
		if err := checkFrom(op, tr, syncs); err != nil {
			return ModifyResult{}, err
		}
		if err := s.end(ctx, syncs, groupSync, tr.end); err != nil {
			return ModifyResult{}, err
		}
		return ModifyResult{Ended: true}, nil
	}
	if op == OpAbort {
		return ModifyResult{}, s.abort(ctx, ids)
	}
	if tr.async {
		// The copy needs the volumes: take them from the mirror loop first
		// (before mu, which a catch-up needs to finish).
		defer s.catchUps.hold(ids)()
	}
	s.followMu.Lock()
	defer s.followMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ModifyResult{}, ErrClosed
	}
	var leases map[volumes.ID]func()
	if tr.async {
		// Checked before the leases so that a busy synchronization answers
		// ErrCopyInProgress rather than the lease's ErrInUse.
		syncs, err := s.loadSyncs(ctx, ids)
		if err != nil {
			return ModifyResult{}, err
		}
		if err := checkFrom(op, tr, syncs); err != nil {
			return ModifyResult{}, err
		}
		if op == OpRestore {
			if err := checkRestoreChoice(syncs); err != nil {
				return ModifyResult{}, err
			}
		}
		leases = map[volumes.ID]func(){}
		for _, x := range syncs {
			for _, v := range []volumes.ID{x.Source, x.Target} {
				if _, ok := leases[v]; ok {
					continue
				}
				rel, err := s.vols.Acquire(v, op.String())
				if err != nil {
					releaseMap(leases)
					return ModifyResult{}, fmt.Errorf("%w: %s: %w", ErrInUse, op, err)
				}
				leases[v] = rel
			}
		}
	}
	var res ModifyResult
	err := s.db.Update(func(tx *store.Tx) error {
		syncs := make([]*Synchronization, len(ids))
		for i, id := range ids {
			x, err := getRecord[Synchronization](tx, bucketSyncs, id)
			if err != nil {
				return err
			}
			if x == nil {
				return fmt.Errorf("%w: %s", ErrSyncNotFound, id)
			}
			syncs[i] = x
		}
		if err := checkFrom(op, tr, syncs); err != nil {
			return err
		}
		if tr.async {
			job, err := s.jobs.SubmitTx(tx, jobqueue.Spec{Kind: KindModify, Name: cmpOr(opts.JobName, op.String()),
				Description: fmt.Sprintf("%s of %d synchronization(s)", op, len(ids)),
				Payload:     modifyPayload{Op: op, Syncs: ids}, Affected: affectedOf(op, syncs), Owner: "replication"})
			if err != nil {
				return err
			}
			res.JobID = job.ID
		}
		for _, x := range syncs {
			x.CopyState = tr.to
			x.Activity = ActivityNone
			x.ModifyJob = res.JobID
			switch op {
			case OpResync:
				x.Activity = ActivityResyncing
			case OpRestore:
				x.Activity = ActivityRestoring
			case OpResume:
				x.Activity = ActivityFollowing // the mirror loop catches up
			}
			if err := tx.Put(bucketSyncs, x.ID, x); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		releaseMap(leases)
		return ModifyResult{}, fmt.Errorf("%s: %w", op, err)
	}
	if res.JobID != "" {
		s.leases[res.JobID] = leases
	}
	s.logger.Info("synchronization modified", zap.Stringer("operation", op), zap.Int("pairs", len(ids)), zap.String("groupSync", groupSync), zap.String("job", res.JobID))
	return res, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// affectedOf lists the volumes op writes: the targets of a Resync, the
// sources of a Restore.
func affectedOf(op Operation, syncs []*Synchronization) []string {
	var out []string
	for _, x := range syncs {
		if op == OpRestore {
			out = append(out, AffectedVolume(x.Source, false))
		} else {
			out = append(out, AffectedVolume(x.Target, false))
		}
	}
	return out
}

// loadSyncs reads synchronizations ids in one transaction (ErrSyncNotFound
// when one is missing) and makes them honest about sizes (honest).
func (s *Service) loadSyncs(ctx context.Context, ids []string) ([]*Synchronization, error) {
	out := make([]*Synchronization, 0, len(ids))
	err := s.db.View(func(tx *store.Tx) error {
		for _, id := range ids {
			x, err := getRecord[Synchronization](tx, bucketSyncs, id)
			if err != nil {
				return err
			}
			if x == nil {
				return fmt.Errorf("%w: %s", ErrSyncNotFound, id)
			}
			out = append(out, x)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.honest(ctx, out...)
	return out, nil
}
