package replica

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// groupCommitEvery is the longest a copy job keeps finished members
// unrecorded while it copies others: their bookkeeping is written together
// once this much time has passed since the last write, and when the job
// ends, is interrupted or saves an engine checkpoint.
const groupCommitEvery = time.Second

// memberBatch is the durable bookkeeping of a copy job's members that are
// copied and installed (the data fdatasynced by the engine, the partial
// renamed over the target) but not yet recorded. flush makes the renames
// durable with one fsync per directory, then writes every member's source
// stamp and Synchronized state in one store commit, then the job's
// checkpoint past them, and only then releases their leases: a record says
// done only after what it covers is durable, and a crash before the
// checkpoint copies those members again (the copy is idempotent), as
// before, when each member cost four commits and a directory fsync.
type memberBatch struct {
	s   *Service
	run *jobqueue.Run
	log *zap.Logger

	mu       sync.Mutex
	leases   map[volumes.ID]func()
	next     int // members before next are finished (recorded or pending)
	reports  []CopyReport
	dirs     map[string]bool
	pending  []finishedMember
	releases []volumes.ID
	last     time.Time
}

// finishedMember is what flush records for one member: its source stamp
// (for a Clone or Snapshot; a mirror's converge records its own) and
// whether it is Synchronized.
type finishedMember struct {
	id      string
	stamp   string
	seen    time.Time
	stamped bool
	synced  bool
}

// newMemberBatch starts the bookkeeping of a copy job resuming at cp.
func (s *Service) newMemberBatch(run *jobqueue.Run, log *zap.Logger, leases map[volumes.ID]func(), cp copyCheckpoint) *memberBatch {
	return &memberBatch{s: s, run: run, log: log, leases: leases, next: cp.Index,
		reports: slices.Clone(cp.Reports), dirs: map[string]bool{}, last: s.now()}
}

// finished adds member index, installed in dir, to the batch; release are
// the volumes whose leases may go once it is recorded.
func (b *memberBatch) finished(index int, dir string, m finishedMember, r CopyReport, release ...volumes.ID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next = index + 1
	b.reports = append(b.reports, r)
	b.dirs[dir] = true
	b.pending = append(b.pending, m)
	b.releases = append(b.releases, release...)
}

// maybeFlush flushes when groupCommitEvery has passed since the last
// flush; a failure is logged and left for the next flush.
func (b *memberBatch) maybeFlush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 || b.s.now().Sub(b.last) < groupCommitEvery {
		return
	}
	if err := b.flushLocked(); err != nil {
		b.log.Warn("record finished members", zap.Error(err))
	}
}

// flush records every pending member (see memberBatch).
func (b *memberBatch) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

// saveEngineCheckpoint records the pending members, then the engine's
// checkpoint of member index, which says every member before it is done.
func (b *memberBatch) saveEngineCheckpoint(cp copyCheckpoint) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.flushLocked(); err != nil {
		return err
	}
	cp.Reports = slices.Clone(b.reports)
	return b.run.SaveCheckpoint(cp)
}

func (b *memberBatch) flushLocked() error {
	if len(b.pending) == 0 {
		return nil
	}
	if err := b.syncDirsLocked(); err != nil {
		return err
	}
	if err := b.s.recordFinished(b.pending); err != nil {
		return err
	}
	if err := b.run.SaveCheckpoint(copyCheckpoint{Index: b.next, Reports: b.reports}); err != nil {
		return err
	}
	for _, id := range b.releases {
		if rel := b.leases[id]; rel != nil {
			rel()
			delete(b.leases, id)
		}
	}
	b.dirs, b.pending, b.releases, b.last = map[string]bool{}, nil, nil, b.s.now()
	return nil
}

// settle makes the pending members' renames durable (one fsync per
// directory) and returns their records, for the caller to write in the
// transaction that completes the job (jobqueue.Run.Complete): a job's last
// flush needs no checkpoint, since the job's end supersedes it. Their leases
// go with releaseAll, once the job is recorded.
func (b *memberBatch) settle() ([]finishedMember, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.syncDirsLocked(); err != nil {
		return nil, err
	}
	return slices.Clone(b.pending), nil
}

// syncDirsLocked makes the pending members' renames durable: one fsync per
// directory. b.mu must be held.
func (b *memberBatch) syncDirsLocked() error {
	for dir := range b.dirs {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// releaseAll releases every lease the job still holds.
func (b *memberBatch) releaseAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	releaseMap(b.leases)
}

// copyReports are the reports of the members finished so far.
func (b *memberBatch) copyReports() []CopyReport {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.reports)
}

// recordFinished writes the stamps and Synchronized states of members in
// one transaction.
func (s *Service) recordFinished(members []finishedMember) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Update(func(tx *store.Tx) error { return s.recordFinishedTx(tx, members) })
}

// recordFinishedTx writes the stamps and Synchronized states of members in
// tx. s.mu must be held.
func (s *Service) recordFinishedTx(tx *store.Tx, members []finishedMember) error {
	now := s.now()
	for _, m := range members {
		x, err := getRecord[Synchronization](tx, bucketSyncs, m.id)
		if err != nil {
			return fmt.Errorf("record %d finished members: %w", len(members), err)
		}
		if x == nil {
			continue
		}
		if m.stamped {
			x.SourceStamp, x.SourceSeen = m.stamp, m.seen
		}
		if m.synced && x.CopyState != CopyStateSynchronized {
			x.CopyState, x.Synchronized = CopyStateSynchronized, now
		}
		if err := tx.Put(bucketSyncs, m.id, x); err != nil {
			return fmt.Errorf("record %d finished members: %w", len(members), err)
		}
	}
	return nil
}

// setCopyStates sets every synchronization of ids to state in one
// transaction.
func (s *Service) setCopyStates(ids []string, state CopyState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Update(func(tx *store.Tx) error {
		for _, id := range ids {
			x, err := getRecord[Synchronization](tx, bucketSyncs, id)
			if err != nil {
				return err
			}
			if x == nil || x.CopyState == state {
				continue
			}
			x.CopyState = state
			if err := tx.Put(bucketSyncs, id, x); err != nil {
				return err
			}
		}
		return nil
	})
}
