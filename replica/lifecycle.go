package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica/engine"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// KindModify is the jobqueue kind of Resync Replica and Restore From
// Replica jobs.
const KindModify = "replica.modify"

// Operation is a ModifyReplicaSynchronization operation (DMTF Operation,
// cim-replication.md §1.6).
type Operation uint16

// The operations replicad knows. Operations shows which of them a
// synchronization accepts in which CopyState.
const (
	OpAbort        Operation = 2
	OpDetach       Operation = 8
	OpDissolve     Operation = 9
	OpFracture     Operation = 12
	OpResync       Operation = 14
	OpRestore      Operation = 15
	OpResume       Operation = 16
	OpReturnToPool Operation = 19
	OpSplit        Operation = 21
	OpSuspend      Operation = 22
)

// String returns the DMTF name of o.
func (o Operation) String() string {
	names := map[Operation]string{2: "Abort", 8: "Detach", 9: "Dissolve", 12: "Fracture", 14: "Resync Replica",
		15: "Restore from Replica", 16: "Resume", 19: "Return To ResourcePool", 21: "Split", 22: "Suspend"}
	if n, ok := names[o]; ok {
		return n
	}
	return fmt.Sprintf("Operation(%d)", uint16(o))
}

// Activity is what a job is doing to a synchronization besides its initial
// copy; it drives ProgressStatus.
type Activity string

// The activities.
const (
	ActivityNone      Activity = ""
	ActivityResyncing Activity = "resyncing"
	ActivityRestoring Activity = "restoring"
)

// transition is one row of the operation table: the copy states an
// operation is allowed from and the state it leads to (while its job runs,
// for an asynchronous one).
type transition struct {
	from []CopyState
	// mirrorFrom are further states a Mirror allows it from (Unsynchronized
	// there means: while the mirror loop catches up, not during a job).
	mirrorFrom []CopyState
	// mirrorOnly marks an operation on a mirror's background copy.
	mirrorOnly bool
	to         CopyState
	async      bool
	// end is the Ending of an operation that removes the association.
	end Ending
}

// settled are the states of a synchronization no job works on.
var settled = []CopyState{CopyStateSynchronized, CopyStateFractured, CopyStateSplit, CopyStateBroken, CopyStateAborted}

// transitions is the table of the operations replicad performs on Mirror,
// Snapshot and Clone synchronizations, element or group
// (cim-replication.md §5.3). Suspend and Resume stop and continue a
// mirror's background copy; Snapshot and Clone have none
// (ErrNotSupported).
var transitions = map[Operation]transition{
	OpFracture:     {from: []CopyState{CopyStateSynchronized}, mirrorFrom: []CopyState{CopyStateUnsynchronized}, to: CopyStateFractured},
	OpSplit:        {from: []CopyState{CopyStateSynchronized}, to: CopyStateSplit},
	OpSuspend:      {mirrorOnly: true, mirrorFrom: []CopyState{CopyStateSynchronized, CopyStateUnsynchronized}, to: CopyStateSuspended},
	OpResume:       {mirrorOnly: true, mirrorFrom: []CopyState{CopyStateSuspended}, to: CopyStateUnsynchronized},
	OpResync:       {from: settled, mirrorFrom: []CopyState{CopyStateSuspended}, to: CopyStateUnsynchronized, async: true},
	OpRestore:      {from: []CopyState{CopyStateSynchronized, CopyStateFractured, CopyStateSplit}, to: CopyStateUnsynchronized, async: true},
	OpAbort:        {from: []CopyState{CopyStateUnsynchronized}, to: CopyStateAborted},
	OpDetach:       {from: settled, mirrorFrom: []CopyState{CopyStateSuspended}, end: EndDetach},
	OpDissolve:     {from: settled, mirrorFrom: []CopyState{CopyStateSuspended}, end: EndDissolve},
	OpReturnToPool: {from: settled, mirrorFrom: []CopyState{CopyStateSuspended}, end: EndReturnToPool},
}

// Operations returns the operations replicad performs on some kind of
// synchronization, in ascending order.
func Operations() []Operation {
	var out []Operation
	for op := range transitions {
		out = append(out, op)
	}
	slices.Sort(out)
	return out
}

// OperationsFor returns the operations replicad performs on a
// synchronization of type t, in ascending order (what
// GetSupportedOperations advertises): Suspend and Resume only for a Mirror.
func OperationsFor(t SyncType) []Operation {
	var out []Operation
	for _, op := range Operations() {
		if t == SyncTypeMirror || !transitions[op].mirrorOnly {
			out = append(out, op)
		}
	}
	return out
}

// AllowedFrom returns the copy states op is allowed from for a
// synchronization of type t (nil for an operation replicad does not
// perform on t). For a Mirror, Unsynchronized means while the mirror loop
// catches up.
func AllowedFrom(op Operation, t SyncType) []CopyState {
	tr := transitions[op]
	if t != SyncTypeMirror {
		if tr.mirrorOnly {
			return nil
		}
		return slices.Clone(tr.from)
	}
	return slices.Concat(tr.from, tr.mirrorFrom)
}

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

// modifyPayload is the KindModify job's input.
type modifyPayload struct {
	Op    Operation `json:"op"`
	Syncs []string  `json:"syncs"`
}

// sidecarPath is the hash sidecar of target t: one SHA-256 per block of
// the target as of its last sync (engine.ResyncOptions.HashSidecar), a
// hidden file volume import ignores.
func sidecarPath(t *volumes.Volume) string {
	return filepath.Join(filepath.Dir(t.Path()), "."+t.Name+".img.hashes")
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
		return ModifyResult{}, unsupported("Operation %d (%s) on a Snapshot or Clone", uint16(op), op)
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

// checkFrom checks that every synchronization is in a state op is allowed
// from.
func checkFrom(op Operation, tr transition, syncs []*Synchronization) error {
	for _, x := range syncs {
		if x.SyncType != SyncTypeMirror && tr.mirrorOnly {
			return fmt.Errorf("%w: %s applies to a Mirror's background copy; %s → %s is a %s", ErrNotSupported, op, x.Source, x.Target, x.SyncType)
		}
		if slices.Contains(tr.from, x.CopyState) && (x.Activity == ActivityNone || x.CopyState != CopyStateUnsynchronized || op == OpAbort) {
			continue
		}
		if x.SyncType == SyncTypeMirror && slices.Contains(tr.mirrorFrom, x.CopyState) &&
			(x.CopyState != CopyStateUnsynchronized || x.Activity == ActivityFollowing) {
			continue
		}
		if x.CopyState == CopyStateUnsynchronized || x.CopyState == CopyStateInitialized {
			return fmt.Errorf("%w: %s of %s → %s: a job works on it (%s); abort or wait for it", ErrCopyInProgress, op, x.Source, x.Target, x.CopyState)
		}
		return fmt.Errorf("%w: %s of %s → %s is not allowed from %s", ErrInvalidState, op, x.Source, x.Target, x.CopyState)
	}
	return nil
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

// abort stops the Resync jobs of ids; their synchronizations become
// Aborted (restart with Resync Replica). A Restore cannot be aborted (the
// source would be left half restored) and an initial copy is stopped by
// terminating its job.
func (s *Service) abort(ctx context.Context, ids []string) error {
	syncs, err := s.loadSyncs(ctx, ids)
	if err != nil {
		return err
	}
	jobs := map[string]bool{}
	for _, x := range syncs {
		switch {
		case x.CopyState != CopyStateUnsynchronized && x.CopyState != CopyStateInitialized:
			return fmt.Errorf("%w: Abort of %s → %s is not allowed from %s: no copy runs", ErrInvalidState, x.Source, x.Target, x.CopyState)
		case x.Activity == ActivityNone:
			return fmt.Errorf("%w: Abort of the initial copy %s → %s: terminate its job (RequestStateChange 4) instead", ErrNotSupported, x.Source, x.Target)
		case x.Activity == ActivityRestoring:
			return fmt.Errorf("%w: Abort of a Restore From Replica (%s → %s) would leave the source half restored", ErrInvalidState, x.Source, x.Target)
		case x.Activity == ActivityFollowing:
			return fmt.Errorf("%w: Abort of a mirror catching up (%s → %s): use Fracture or Suspend", ErrInvalidState, x.Source, x.Target)
		}
		jobs[x.ModifyJob] = true
	}
	return s.stopJobs(ctx, jobs)
}

// abortRunning aborts the Resync or Restore jobs working on ids (Force).
func (s *Service) abortRunning(ctx context.Context, ids []string) error {
	syncs, err := s.loadSyncs(ctx, ids)
	if err != nil {
		return err
	}
	jobs := map[string]bool{}
	for _, x := range syncs {
		if x.CopyState == CopyStateUnsynchronized && (x.Activity == ActivityResyncing || x.Activity == ActivityRestoring) && x.ModifyJob != "" {
			jobs[x.ModifyJob] = true
		}
	}
	return s.stopJobs(ctx, jobs)
}

// stopJobs terminates jobs and waits until each has stopped (its handler
// then leaves its synchronizations Aborted).
func (s *Service) stopJobs(ctx context.Context, jobs map[string]bool) error {
	if len(jobs) == 0 {
		return nil
	}
	s.mu.Lock()
	err := s.db.Update(func(tx *store.Tx) error {
		all, err := listRecords[Synchronization](tx, bucketSyncs)
		if err != nil {
			return err
		}
		for _, x := range all {
			if jobs[x.ModifyJob] && (x.Activity == ActivityResyncing || x.Activity == ActivityRestoring) {
				x.Aborting = true
				if err := tx.Put(bucketSyncs, x.ID, &x); err != nil {
					return err
				}
			}
		}
		return nil
	})
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("abort: %w", err)
	}
	for id := range jobs {
		if err := s.jobs.Terminate(id); err != nil && !errors.Is(err, jobqueue.ErrFinished) {
			return fmt.Errorf("abort job %s: %w", id, err)
		}
		j, err := s.jobs.Wait(ctx, id)
		if err != nil {
			return fmt.Errorf("abort job %s: %w", id, err)
		}
		if j.State == jobqueue.StateTerminated && j.Attempts == 0 {
			// Never started: no handler will set the state.
			if err := s.settle(id, CopyStateAborted); err != nil {
				return err
			}
		}
	}
	return nil
}

// settle ends the activity of job's synchronizations in state.
func (s *Service) settle(job string, state CopyState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rel, ok := s.leases[job]; ok {
		releaseMap(rel)
		delete(s.leases, job)
	}
	return s.db.Update(func(tx *store.Tx) error {
		all, err := listRecords[Synchronization](tx, bucketSyncs)
		if err != nil {
			return err
		}
		for _, x := range all {
			if x.ModifyJob != job || (x.Activity != ActivityResyncing && x.Activity != ActivityRestoring) {
				continue
			}
			x.CopyState = state
			x.Activity = ActivityNone
			x.Aborting = false
			if state == CopyStateSynchronized {
				x.Synchronized = s.now()
			}
			if err := tx.Put(bucketSyncs, x.ID, &x); err != nil {
				return err
			}
		}
		return nil
	})
}

// runModify is the KindModify job handler: Resync Replica brings each
// target up to date with its source, copying every block that differs
// (found from the target's hash sidecar while it provably describes the
// target, by reading the target otherwise); Restore From Replica writes
// each target's differing blocks back onto its source. Either ends
// Synchronized only when engine.Resync returned nil: every block compared
// or copied, and the side read unchanged meanwhile.
func (s *Service) runModify(ctx context.Context, run *jobqueue.Run) error {
	var pl modifyPayload
	if err := json.Unmarshal(run.Payload, &pl); err != nil {
		return &jobqueue.Error{Code: jobqueue.CodeFailed, Message: "bad modify job payload", Err: err}
	}
	s.mu.Lock()
	leases, ok := s.leases[run.ID]
	delete(s.leases, run.ID)
	s.mu.Unlock()
	syncs, err := s.loadSyncs(ctx, pl.Syncs)
	if err != nil {
		releaseMap(leases)
		return s.modifyFailed(run.ID, err)
	}
	if !ok {
		// After a restart: take the leases again.
		leases = map[volumes.ID]func(){}
		for _, x := range syncs {
			for _, v := range []volumes.ID{x.Source, x.Target} {
				if _, ok := leases[v]; ok {
					continue
				}
				rel, err := s.vols.Acquire(v, pl.Op.String())
				if err != nil {
					releaseMap(leases)
					return s.modifyFailed(run.ID, fmt.Errorf("%w: %w", ErrInUse, err))
				}
				leases[v] = rel
			}
		}
	}
	defer releaseMap(leases)
	const scale = 1000
	total := int64(len(syncs)) * scale
	for i, x := range syncs {
		src, err := s.vols.Get(ctx, x.Source)
		if err != nil {
			return s.modifyFailed(run.ID, fmt.Errorf("source %s: %w", x.Source, err))
		}
		tgt, err := s.vols.Get(ctx, x.Target)
		if err != nil {
			return s.modifyFailed(run.ID, fmt.Errorf("target %s: %w", x.Target, err))
		}
		ro := engine.ResyncOptions{Options: engine.DefaultOptions()}
		ro.Workers = s.opts.EngineWorkers
		ro.BandwidthLimit = s.opts.BandwidthLimit
		base := int64(i) * scale
		ro.Progress = func(done, all int64) {
			if all > 0 {
				run.Progress(base+done*scale/all, total)
			}
		}
		// A mirror's loop follows from the source as the job leaves it: as
		// seen before a Resync, after a Restore.
		seen := time.Now()
		stamp, serr := stampOf(src.Path())
		from, to := src.Path(), tgt.Path()
		if pl.Op == OpRestore {
			// The target's sidecar keeps describing the target, which a
			// Restore only reads; every block of the source is compared
			// with the target's, so writes to either side while the pair
			// was fractured or split are undone.
			from, to = to, from
		} else {
			// The sidecar stands for the target only while it provably
			// describes it (engine.ResyncOptions.HashSidecar): after a
			// Fracture or Split in which anyone wrote the target, or a
			// crash, the target's data is compared.
			ro.HashSidecar, ro.SidecarGeneration = sidecarPath(tgt), x.SidecarGen
		}
		resume, err := s.quiesce(ctx, []volumes.ID{writtenBy(pl.Op, x)})
		if err != nil {
			return s.modifyFailed(run.ID, err)
		}
		st, err := engine.Resync(ctx, from, to, ro)
		resume()
		if err != nil && pl.Op == OpResync && x.SyncType == SyncTypeMirror && errors.Is(err, engine.ErrSourceChanged) {
			// A mirror's source is written meanwhile: the mirror loop
			// takes over and catches up.
			run.Logger.Info("mirror source written during Resync; the mirror loop catches up", zap.String("source", src.Name))
			if _, err := s.followState(x.ID, func(cur *Synchronization) bool {
				if cur.ModifyJob != run.ID || cur.Activity != ActivityResyncing {
					return false
				}
				cur.Activity = ActivityFollowing
				cur.SidecarGen, cur.TargetStamp = st.SidecarGeneration, targetStamp(st)
				return true
			}); err != nil {
				return s.modifyFailed(run.ID, err)
			}
			run.Progress(base+scale, total)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				if s.jobTerminated(run.ID) {
					if err := s.settle(run.ID, CopyStateAborted); err != nil {
						return err
					}
					return fmt.Errorf("%s aborted: %w", pl.Op, ctx.Err())
				}
				return fmt.Errorf("%s interrupted; it restarts: %w", pl.Op, err)
			}
			return s.modifyFailed(run.ID, fmt.Errorf("%s %s → %s: %w", pl.Op, x.Source, x.Target, err))
		}
		if pl.Op == OpRestore {
			seen = time.Now()
			stamp, serr = stampOf(src.Path())
		}
		if serr == nil {
			_, serr = s.followState(x.ID, func(cur *Synchronization) bool {
				cur.SourceStamp, cur.SourceSeen = stamp, seen
				if pl.Op == OpResync {
					cur.SidecarGen, cur.TargetStamp = st.SidecarGeneration, targetStamp(st)
				}
				return true
			})
		}
		if serr != nil {
			return s.modifyFailed(run.ID, fmt.Errorf("stamp source %s: %w", src.Name, serr))
		}
		if pl.Op == OpRestore {
			// The sidecar still describes the target, which did not change.
			run.Logger.Info("source restored from replica", zap.String("source", src.Name), zap.String("replica", tgt.Name), zap.Int64("bytes", st.BytesCopied))
		} else {
			run.Logger.Info("replica resynchronized", zap.String("source", src.Name), zap.String("replica", tgt.Name), zap.Int64("bytes", st.BytesCopied))
		}
		run.Progress(base+scale, total)
	}
	return s.settle(run.ID, CopyStateSynchronized)
}

// jobTerminated reports whether job id was asked to terminate (an Abort),
// as opposed to a queue stop.
func (s *Service) jobTerminated(id string) bool {
	all, err := listRecordsView[Synchronization](s.db, bucketSyncs)
	if err != nil {
		return false
	}
	for _, x := range all {
		if x.ModifyJob == id && x.Aborting {
			return true
		}
	}
	return false
}

// modifyFailed marks job's synchronizations Broken (restart with Resync
// Replica) and returns the job's error.
func (s *Service) modifyFailed(job string, cause error) error {
	if err := s.settle(job, CopyStateBroken); err != nil {
		cause = errors.Join(cause, err)
	}
	s.logger.Warn("modify job failed; synchronization broken", zap.String("job", job), zap.Error(cause))
	return &jobqueue.Error{Code: jobqueue.CodeFailed, Message: cause.Error(), Err: cause}
}
