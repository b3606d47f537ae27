package replica

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// KindCopy is the jobqueue kind of replication copy jobs.
const KindCopy = "replica.copy"

// Options tune Open. The zero value is usable.
type Options struct {
	// Logger receives the service's logs; zap.NewNop() when nil.
	Logger *zap.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// EngineWorkers is the number of chunks read at once per copy (0: engine default).
	EngineWorkers int
	// BandwidthLimit caps each copy's data rate in bytes per second; 0
	// means unlimited.
	BandwidthLimit int64
	// MirrorLag is how long a write to the source of an Asynchronous
	// Mirror may go unnoticed: the mirror loop looks for changed sources
	// every MirrorLag/2 (0: DefaultMirrorLag).
	MirrorLag time.Duration
	// MirrorScan is how often the mirror loop compares each mirror's whole
	// target with its source, for changes no stamp shows (writes to the
	// device under the filesystem); 0: DefaultMirrorScan, negative: never.
	MirrorScan time.Duration
	// ScrubRate turns on the background scrub (scrub.go): every
	// Synchronized pair is verified in turn at this many bytes per second;
	// 0 means off.
	ScrubRate int64
	// ScrubPause is the pause between two scrub passes (0: DefaultScrubPause).
	ScrubPause time.Duration
	// Copies, when set, is told of the bytes copy jobs write to targets as
	// they go and of each member's finished copy (the daemon passes its
	// metrics); nil counts nothing.
	Copies CopyObserver
	// Quiesce, when set, stops outside I/O (iSCSI initiators) on the
	// volumes a Restore or Resync writes, and on the sources of a
	// Snapshot (of a group: all members at once), for as long as the copy
	// runs (quiesce.go); nil quiesces nothing.
	Quiesce QuiesceFunc
}

// CopyObserver is told of the data copy jobs write to replica targets.
// The daemon's *metrics.Metrics is one; replica does not import metrics.
type CopyObserver interface {
	// AddBytesCopied counts n bytes written to a target. It is called as
	// a copy goes, possibly concurrently, and must not block.
	AddBytesCopied(n int64)
	// ObserveCopy records one member's finished copy run: n bytes written
	// in d.
	ObserveCopy(n int64, d time.Duration)
}

// Service is the replication domain over one store, one volumes.Service
// and one jobqueue.Queue. Its methods are safe for concurrent use.
type Service struct {
	db     *store.DB
	vols   *volumes.Service
	jobs   *jobqueue.Queue
	opts   Options
	logger *zap.Logger

	// mu serialises changes of the replication records and the leases map.
	mu sync.Mutex
	// leases holds, per operation ID, the release functions of the leases a
	// request took, until its job takes them over.
	leases map[string]map[volumes.ID]func()
	closed bool

	// followMu serialises Modify and the endings of relationships
	// (endRecords), so that no two of them decide on one synchronization's
	// state at once. The mirror loop does not take it: it catches a mirror
	// up under the leases of its volumes and records the outcome with
	// followState, which checks the state again (a mirror fractured, split
	// or suspended meanwhile is left as it is). It is taken before mu.
	followMu  sync.Mutex
	stopLoop  context.CancelFunc
	loopDone  chan struct{}
	closeOnce sync.Once
	// catchUps lets Modify take a mirror away from the mirror loop
	// (catchup.go).
	catchUps catchUps
	// integrity holds verification counters and the scrub loop (verify.go).
	integrity *integrity
	// roles keeps Roles' and RoleOf's answer per store generation
	// (relationships.go).
	roles keptRoles
}

// Open returns the replication service and registers its copy handler with
// jobs (call it before jobs.Start). It finishes what a stop interrupted:
// the clean-up of operations that were being terminated, the journaled
// endings of synchronizations (hidden files, targets returned to their
// pool), and it removes hidden files (hash sidecars, partial copies) that
// belong to no synchronization.
func Open(ctx context.Context, db *store.DB, vols *volumes.Service, jobs *jobqueue.Queue, opts Options) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{db: db, vols: vols, jobs: jobs, opts: opts, logger: opts.Logger, leases: map[string]map[volumes.ID]func(){}}
	jobs.Handle(KindCopy, s.runCopy)
	jobs.Handle(KindModify, s.runModify)
	if err := s.reconcile(ctx); err != nil {
		return nil, fmt.Errorf("replica: open: %w", err)
	}
	// What is left is logged, not fatal: the records are consistent, and
	// the next start tries again.
	if err := s.recoverIntents(ctx); err != nil {
		s.logger.Error("an interrupted change could not be finished; it is retried at the next start", zap.Error(err))
	}
	if err := s.sweepHidden(ctx); err != nil {
		s.logger.Error("remove files of no relationship", zap.Error(err))
	}
	loopCtx, stop := context.WithCancel(context.Background())
	s.stopLoop, s.loopDone = stop, make(chan struct{})
	go s.followLoop(loopCtx)
	s.startScrub()
	return s, nil
}

// Close stops the mirror loop and releases the leases of requests whose
// jobs never started. Jobs stop with the queue.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.stopLoop()
		<-s.loopDone
		s.stopScrub()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for id, rel := range s.leases {
		releaseMap(rel)
		delete(s.leases, id)
	}
	return nil
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// GroupSpec describes a group to create.
type GroupSpec struct {
	// Name is the group's name; "" gives a generated one.
	Name string
	// Members are the initial members, in order.
	Members []volumes.ID
	// Persistent, DeleteOnEmptyElement and DeleteOnUnassociated are stored
	// on the group.
	Persistent, DeleteOnEmptyElement, DeleteOnUnassociated bool
}

// CreateGroup records a new group. Errors: ErrInvalidRequest (a member that
// does not exist or is listed twice), ErrGroupExists.
func (s *Service) CreateGroup(ctx context.Context, spec GroupSpec) (*Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if err := s.checkMembers(ctx, nil, spec.Members); err != nil {
		return nil, fmt.Errorf("create group %q: %w", spec.Name, err)
	}
	g := &Group{ID: uuid.NewString(), Name: spec.Name, Members: slices.Clone(spec.Members),
		Persistent: spec.Persistent, DeleteOnEmptyElement: spec.DeleteOnEmptyElement,
		DeleteOnUnassociated: spec.DeleteOnUnassociated, Created: s.now()}
	if g.Name == "" {
		g.Name = "group-" + g.ID[:8]
	}
	err := s.db.Update(func(tx *store.Tx) error {
		groups, err := listRecords[Group](tx, bucketGroups)
		if err != nil {
			return err
		}
		for _, o := range groups {
			if o.Name == g.Name {
				return fmt.Errorf("%w: %q", ErrGroupExists, g.Name)
			}
		}
		return tx.Put(bucketGroups, g.ID, g)
	})
	if err != nil {
		return nil, fmt.Errorf("create group %q: %w", spec.Name, err)
	}
	return g, nil
}

// checkMembers checks that every volume of add exists and that add repeats
// neither itself nor a member of g (nil: a new group).
func (s *Service) checkMembers(ctx context.Context, g *Group, add []volumes.ID) error {
	seen := map[volumes.ID]bool{}
	for _, id := range add {
		if seen[id] {
			return fmt.Errorf("%w: volume %s listed twice", ErrInvalidRequest, id)
		}
		seen[id] = true
		if _, err := s.vols.Get(ctx, id); err != nil {
			return fmt.Errorf("%w: member %s: %v", ErrInvalidRequest, id, err)
		}
	}
	return nil
}

// Group returns group id. Errors: ErrGroupNotFound.
func (s *Service) Group(ctx context.Context, id string) (*Group, error) {
	return getRecordView[Group](s.db, bucketGroups, id, ErrGroupNotFound)
}

// Groups returns every group, ordered by name.
func (s *Service) Groups(ctx context.Context) ([]Group, error) {
	out, err := listRecordsView[Group](s.db, bucketGroups)
	slices.SortFunc(out, func(a, b Group) int {
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out, err
}

// groupInRelationship reports the group synchronization that group id takes
// part in, or nil.
func groupInRelationship(tx *store.Tx, id string) (*GroupSynchronization, error) {
	gss, err := listRecords[GroupSynchronization](tx, bucketGroupSyncs)
	if err != nil {
		return nil, err
	}
	for _, gs := range gss {
		if gs.SourceGroup == id || gs.TargetGroup == id {
			return &gs, nil
		}
	}
	return nil, nil
}

// AddMembers appends members to group id (a volume already in the group is
// not an error and is not added twice). Errors: ErrGroupNotFound,
// ErrInvalidRequest (unknown volume), ErrInRelationship (the group takes part
// in a group synchronization).
func (s *Service) AddMembers(ctx context.Context, id string, members []volumes.ID) (*Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var g *Group
	err := s.db.Update(func(tx *store.Tx) error {
		var err error
		if g, err = getRecord[Group](tx, bucketGroups, id); err != nil {
			return err
		}
		if g == nil {
			return fmt.Errorf("%w: %s", ErrGroupNotFound, id)
		}
		if gs, err := groupInRelationship(tx, id); err != nil {
			return err
		} else if gs != nil {
			return fmt.Errorf("%w: group %s is in relationship %q", ErrInRelationship, g.Name, gs.RelationshipName)
		}
		var add []volumes.ID
		for _, m := range members {
			if !slices.Contains(g.Members, m) && !slices.Contains(add, m) {
				add = append(add, m)
			}
		}
		if err := s.checkMembers(ctx, g, add); err != nil {
			return err
		}
		g.Members = append(g.Members, add...)
		return tx.Put(bucketGroups, g.ID, g)
	})
	if err != nil {
		return nil, fmt.Errorf("add members to group %s: %w", id, err)
	}
	return g, nil
}

// RemoveMembers removes members from group id. With deleteOnEmpty (or the
// group's DeleteOnEmptyElement when deleteOnEmpty is nil) an emptied group is
// deleted; deleted reports that. Errors: ErrGroupNotFound, ErrNotMember,
// ErrInRelationship.
func (s *Service) RemoveMembers(ctx context.Context, id string, members []volumes.ID, deleteOnEmpty *bool) (g *Group, deleted bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err = s.db.Update(func(tx *store.Tx) error {
		var err error
		if g, err = getRecord[Group](tx, bucketGroups, id); err != nil {
			return err
		}
		if g == nil {
			return fmt.Errorf("%w: %s", ErrGroupNotFound, id)
		}
		if gs, err := groupInRelationship(tx, id); err != nil {
			return err
		} else if gs != nil {
			return fmt.Errorf("%w: group %s is in relationship %q", ErrInRelationship, g.Name, gs.RelationshipName)
		}
		for _, m := range members {
			i := slices.Index(g.Members, m)
			if i < 0 {
				return fmt.Errorf("%w: volume %s is not in group %s", ErrNotMember, m, g.Name)
			}
			g.Members = slices.Delete(g.Members, i, i+1)
		}
		del := g.DeleteOnEmptyElement
		if deleteOnEmpty != nil {
			del = *deleteOnEmpty
		}
		if del && len(g.Members) == 0 {
			deleted = true
			return tx.Delete(bucketGroups, g.ID)
		}
		return tx.Put(bucketGroups, g.ID, g)
	})
	if err != nil {
		return nil, false, fmt.Errorf("remove members from group %s: %w", id, err)
	}
	return g, deleted, nil
}

// DeleteGroup deletes group id. A group with members needs removeElements
// (the volumes stay; only the group goes). Errors: ErrGroupNotFound,
// ErrInRelationship, ErrGroupNotEmpty.
func (s *Service) DeleteGroup(ctx context.Context, id string, removeElements bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.Update(func(tx *store.Tx) error {
		g, err := getRecord[Group](tx, bucketGroups, id)
		if err != nil {
			return err
		}
		if g == nil {
			return fmt.Errorf("%w: %s", ErrGroupNotFound, id)
		}
		if gs, err := groupInRelationship(tx, id); err != nil {
			return err
		} else if gs != nil {
			return fmt.Errorf("%w: group %s is in relationship %q", ErrInRelationship, g.Name, gs.RelationshipName)
		}
		if len(g.Members) > 0 && !removeElements {
			return fmt.Errorf("%w: group %s has %d members and RemoveElements is not set", ErrGroupNotEmpty, g.Name, len(g.Members))
		}
		return tx.Delete(bucketGroups, id)
	})
	if err != nil {
		return fmt.Errorf("delete group %s: %w", id, err)
	}
	return nil
}

// Synchronizations returns every synchronization, honest about sizes (a
// Synchronized pair whose sizes differ is not returned Synchronized).
func (s *Service) Synchronizations(ctx context.Context) ([]Synchronization, error) {
	all, err := listRecordsView[Synchronization](s.db, bucketSyncs)
	if err != nil {
		return nil, err
	}
	s.honestAll(ctx, all)
	return all, nil
}

// Synchronization returns synchronization id, honest about sizes. Errors:
// ErrSyncNotFound.
func (s *Service) Synchronization(ctx context.Context, id string) (*Synchronization, error) {
	x, err := getRecordView[Synchronization](s.db, bucketSyncs, id, ErrSyncNotFound)
	if err != nil {
		return nil, err
	}
	s.honest(ctx, x)
	return x, nil
}

// SynchronizationOf returns the synchronization of source and target,
// honest about sizes. Errors: ErrSyncNotFound.
func (s *Service) SynchronizationOf(ctx context.Context, source, target volumes.ID) (*Synchronization, error) {
	all, err := listRecordsView[Synchronization](s.db, bucketSyncs)
	if err != nil {
		return nil, err
	}
	for _, v := range all {
		if v.Source == source && v.Target == target {
			s.honest(ctx, &v)
			return &v, nil
		}
	}
	return nil, fmt.Errorf("%w: %s → %s", ErrSyncNotFound, source, target)
}

// GroupSynchronizations returns every group synchronization; their
// members' records are made honest about sizes first (honest), so a
// caller's next look at a member or at GroupCopyState sees its state.
func (s *Service) GroupSynchronizations(ctx context.Context) ([]GroupSynchronization, error) {
	all, err := listRecordsView[GroupSynchronization](s.db, bucketGroupSyncs)
	if err != nil {
		return nil, err
	}
	members, err := listRecordsView[Synchronization](s.db, bucketSyncs)
	if err != nil {
		return nil, err
	}
	for i := range members {
		if members[i].GroupSync != "" {
			s.honest(ctx, &members[i])
		}
	}
	return all, nil
}

// GroupSynchronization returns group synchronization id; its members'
// records are made honest about sizes first. Errors: ErrSyncNotFound.
func (s *Service) GroupSynchronization(ctx context.Context, id string) (*GroupSynchronization, error) {
	gs, err := getRecordView[GroupSynchronization](s.db, bucketGroupSyncs, id, ErrSyncNotFound)
	if err != nil {
		return nil, err
	}
	if _, err := s.loadSyncs(ctx, gs.Members); err != nil {
		return nil, err
	}
	return gs, nil
}

// GroupSynchronizationOf returns the group synchronization of the two
// groups. Errors: ErrSyncNotFound.
func (s *Service) GroupSynchronizationOf(ctx context.Context, sourceGroup, targetGroup string) (*GroupSynchronization, error) {
	all, err := s.GroupSynchronizations(ctx)
	if err != nil {
		return nil, err
	}
	for _, v := range all {
		if v.SourceGroup == sourceGroup && v.TargetGroup == targetGroup {
			return &v, nil
		}
	}
	return nil, fmt.Errorf("%w: group %s → %s", ErrSyncNotFound, sourceGroup, targetGroup)
}

// GroupCopyState is the copy state of gs: its members' common state, or
// Mixed when they differ (Synchronized for a group without members).
func (s *Service) GroupCopyState(ctx context.Context, gs *GroupSynchronization) (CopyState, error) {
	state := CopyState(0)
	for _, id := range gs.Members {
		m, err := s.Synchronization(ctx, id)
		if err != nil {
			return 0, err
		}
		switch {
		case state == 0:
			state = m.CopyState
		case state != m.CopyState:
			return CopyStateMixed, nil
		}
	}
	if state == 0 {
		state = CopyStateSynchronized
	}
	return state, nil
}

// Terminate stops the copy job jobID and removes what its request created
// (targets it made, groups it made, its synchronizations) once the job has
// stopped. Errors: ErrOperationNotFound, jobqueue.ErrFinished.
func (s *Service) Terminate(ctx context.Context, jobID string) error {
	s.mu.Lock()
	var op *opRecord
	err := s.db.Update(func(tx *store.Tx) error {
		ops, err := listRecords[opRecord](tx, bucketOps)
		if err != nil {
			return err
		}
		for _, o := range ops {
			if o.JobID == jobID {
				op = &o
			}
		}
		if op == nil {
			return fmt.Errorf("%w: job %s", ErrOperationNotFound, jobID)
		}
		if op.State != opActive {
			return fmt.Errorf("terminate job %s: %w", jobID, jobqueue.ErrFinished)
		}
		op.Terminating = true
		return tx.Put(bucketOps, op.ID, op)
	})
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.jobs.Terminate(jobID); err != nil {
		if errors.Is(err, jobqueue.ErrFinished) {
			// It finished meanwhile: a failed copy is cleaned by its handler,
			// a completed one stays.
			s.mu.Lock()
			uerr := s.db.Update(func(tx *store.Tx) error {
				o, err := getRecord[opRecord](tx, bucketOps, op.ID)
				if err != nil || o == nil || o.State != opDone {
					return err
				}
				o.Terminating = false
				return tx.Put(bucketOps, o.ID, o)
			})
			s.mu.Unlock()
			return errors.Join(fmt.Errorf("terminate job %s: %w", jobID, err), uerr)
		}
		return fmt.Errorf("terminate job %s: %w", jobID, err)
	}
	job, err := s.jobs.Get(jobID)
	if err == nil && job.State == jobqueue.StateTerminated && job.Attempts == 0 {
		// A job that never started: no handler will clean up.
		return s.cleanup(context.WithoutCancel(ctx), op.ID)
	}
	return nil
}

// Wait waits until every synchronization of the copy job jobID has reached
// state (Initialized: at once; Unsynchronized: once the copy has started;
// Synchronized or 0: once the job is final) or ctx is done, and returns the
// job as last seen. A job that failed or was terminated is returned without
// error: its State tells. When ctx ends first the error is ctx's.
func (s *Service) Wait(ctx context.Context, jobID string, state CopyState) (jobqueue.Job, error) {
	switch state {
	case CopyStateInitialized:
		return s.jobs.Get(jobID)
	case CopyStateUnsynchronized:
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			job, err := s.jobs.Get(jobID)
			if err != nil || job.State != jobqueue.StateNew {
				return job, err
			}
			select {
			case <-ctx.Done():
				return job, ctx.Err()
			case <-tick.C:
			}
		}
	}
	return s.jobs.Wait(ctx, jobID)
}
