package replica

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// CheckSizes makes x's record honest about sizes: a Synchronized
// synchronization whose source and target images differ in size (either
// was grown, shrunk or truncated since the sync) is not a copy any more. A
// Snapshot or Clone becomes Broken (Resync Replica repairs it); a Mirror
// becomes Unsynchronized and the mirror loop catches it up. The change is
// stored and made to x too. The provider calls it before it reports a
// synchronization; the mirror loop calls it every round.
func (s *Service) CheckSizes(ctx context.Context, x *Synchronization) error {
	return s.checkSizes(ctx, x)
}

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
	_, err = s.followState(x.ID, func(cur *Synchronization) bool {
		if cur.CopyState != CopyStateSynchronized {
			return false
		}
		if cur.SyncType == SyncTypeMirror {
			cur.CopyState, cur.Activity = CopyStateUnsynchronized, ActivityFollowing
		} else {
			cur.CopyState, cur.Activity = CopyStateBroken, ActivityNone
		}
		now = cur
		return true
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
