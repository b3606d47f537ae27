package replica

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/replicad/replicad/store"
)

// honest makes synchronization records honest about sizes before anyone
// sees them: a Synchronized synchronization whose source and target images
// differ in size (either was grown, shrunk or truncated since the sync) is
// not a copy any more (checkSizes). Every read of synchronization records
// that reports or acts on their state goes through it (Synchronization,
// Synchronizations, SynchronizationOf, Relationships, the group reads and
// loadSyncs, which Modify, Verify, Abort and the jobs use), so no caller
// can forget the check. A check that cannot look at a volume is logged and
// leaves the record as stored.
func (s *Service) honest(ctx context.Context, syncs ...*Synchronization) {
	for _, x := range syncs {
		if err := s.checkSizes(ctx, x); err != nil {
			s.logger.Warn("size check of a synchronization", zap.String("sync", x.ID), zap.Error(err))
		}
	}
}

// honestAll is honest for a slice of records.
func (s *Service) honestAll(ctx context.Context, syncs []Synchronization) {
	for i := range syncs {
		s.honest(ctx, &syncs[i])
	}
}

// checkSizes ends the Synchronized state of x when its images' sizes
// differ: a Snapshot or Clone becomes Broken (Resync Replica repairs it); a
// Mirror becomes Unsynchronized and the mirror loop catches it up. The
// change is stored and made to x too.
//
// It does not take s.mu, as readers holding it call it (Modify, Verify):
// the change is one transaction that applies only while the stored record
// is still Synchronized, so it cannot undo a concurrent change.
func (s *Service) checkSizes(ctx context.Context, x *Synchronization) error {
	if x.CopyState != CopyStateSynchronized {
		return nil
	}
	src, err := s.vols.Get(ctx, x.Source)
	if err != nil {
		return fmt.Errorf("size check: source %s: %w", x.Source, err)
	}
	tgt, err := s.vols.Get(ctx, x.Target)
	if err != nil {
		return fmt.Errorf("size check: target %s: %w", x.Target, err)
	}
	sid, err := identityOf(src.Path())
	if err != nil {
		return fmt.Errorf("size check: %w", err)
	}
	tid, err := identityOf(tgt.Path())
	if err != nil {
		return fmt.Errorf("size check: %w", err)
	}
	if sid.Size == tid.Size {
		return nil
	}
	var now *Synchronization
	err = s.db.Update(func(tx *store.Tx) error {
		cur, err := getRecord[Synchronization](tx, bucketSyncs, x.ID)
		if err != nil || cur == nil || cur.CopyState != CopyStateSynchronized {
			return err
		}
		if cur.SyncType == SyncTypeMirror {
			cur.CopyState, cur.Activity = CopyStateUnsynchronized, ActivityFollowing
		} else {
			cur.CopyState, cur.Activity = CopyStateBroken, ActivityNone
		}
		now = cur
		return tx.Put(bucketSyncs, x.ID, cur)
	})
	if err != nil {
		return fmt.Errorf("size check: %w", err)
	}
	if now != nil {
		*x = *now
		s.logger.Warn("replica no longer synchronized: source and target sizes differ",
			zap.String("source", src.Name), zap.Int64("sourceBytes", sid.Size),
			zap.String("target", tgt.Name), zap.Int64("targetBytes", tid.Size), zap.Stringer("copyState", x.CopyState))
	}
	return nil
}
