package replica

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/replica/engine"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// DefaultMirrorLag is Options.MirrorLag when it is zero.
const DefaultMirrorLag = 2 * time.Second

// ActivityFollowing is the activity of an Asynchronous Mirror that is
// catching up with writes to its source (CopyState Unsynchronized).
const ActivityFollowing Activity = "following"

// stampOf identifies the content of the file at path as far as a stat can
// tell: size and modification time. A write by any process changes it.
func stampOf(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%d", fi.Size(), fi.ModTime().UnixNano()), nil
}

// following reports whether the mirror loop looks after x: an Asynchronous
// Mirror whose initial copy is done and that is neither fractured, split,
// suspended nor worked on by a job.
func following(x *Synchronization) bool {
	return x.SyncType == SyncTypeMirror &&
		(x.CopyState == CopyStateSynchronized || (x.CopyState == CopyStateUnsynchronized && x.Activity == ActivityFollowing))
}

// mirrorLag is the configured lag.
func (s *Service) mirrorLag() time.Duration {
	if s.opts.MirrorLag > 0 {
		return s.opts.MirrorLag
	}
	return DefaultMirrorLag
}

// followLoop keeps every Asynchronous Mirror in step with its source until
// ctx ends: every half lag it looks for sources changed since their
// mirror's last sync (by size and modification time, so writes by any
// process count) and brings the mirror up to date with engine.Resync,
// which copies only the blocks whose hash differs from the target's hash
// sidecar. A mirror is Unsynchronized from the moment a change is seen
// until its catch-up is done, then Synchronized with a new WhenSynced.
func (s *Service) followLoop(ctx context.Context) {
	defer close(s.loopDone)
	tick := time.NewTicker(s.mirrorLag() / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		syncs, err := s.Synchronizations(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("mirror loop: list synchronizations", zap.Error(err))
			}
			continue
		}
		for i := range syncs {
			if ctx.Err() != nil {
				return
			}
			if x := &syncs[i]; following(x) {
				if err := s.follow(ctx, x); err != nil && ctx.Err() == nil {
					s.logger.Warn("mirror catch-up failed", zap.String("source", string(x.Source)), zap.String("target", string(x.Target)), zap.Error(err))
				}
			}
		}
	}
}

// follow brings mirror x up to date if its source changed since its last
// sync. A mirror whose volumes are leased by someone else (a Resync job, a
// replication of the same source) waits for the next round.
func (s *Service) follow(ctx context.Context, x *Synchronization) error {
	src, err := s.vols.Get(ctx, x.Source)
	if err != nil {
		return err
	}
	tgt, err := s.vols.Get(ctx, x.Target)
	if err != nil {
		return err
	}
	stamp, err := stampOf(src.Path())
	if err != nil {
		return err
	}
	seen := time.Now()
	if x.CopyState == CopyStateSynchronized && stamp == x.SourceStamp && !x.SourceSeen.IsZero() {
		// File times are coarse: a write in the same tick as the last
		// look leaves them as they were. Only a look well after the last
		// change proves that nothing changed since.
		if mt, err := mtimeOf(src.Path()); err == nil && x.SourceSeen.Sub(mt) > mtimeGranularity {
			return nil
		}
	}
	var leases []func()
	defer func() {
		for _, r := range leases {
			r()
		}
	}()
	for _, v := range []volumes.ID{x.Source, x.Target} {
		r, err := s.vols.Acquire(v, "mirror "+x.ID[:8])
		if err != nil {
			return nil // busy: next round
		}
		leases = append(leases, r)
	}
	// Unsynchronized from now on, if nobody changed the state meanwhile.
	if ok, err := s.followState(x.ID, func(cur *Synchronization) bool {
		if !following(cur) {
			return false
		}
		cur.CopyState, cur.Activity = CopyStateUnsynchronized, ActivityFollowing
		return true
	}); err != nil || !ok {
		return err
	}
	ro := engine.ResyncOptions{Options: engine.DefaultOptions(), HashSidecar: sidecarPath(tgt)}
	ro.Workers = s.opts.EngineWorkers
	ro.BandwidthLimit = s.opts.BandwidthLimit
	st, err := engine.Resync(ctx, src.Path(), tgt.Path(), ro)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, engine.ErrSourceChanged) {
			// Stays Unsynchronized: the next round (or start) catches up.
			return nil
		}
		_, serr := s.followState(x.ID, func(cur *Synchronization) bool {
			if cur.Activity != ActivityFollowing {
				return false
			}
			cur.CopyState, cur.Activity = CopyStateBroken, ActivityNone
			return true
		})
		return errors.Join(fmt.Errorf("catch up %s → %s: %w", src.Name, tgt.Name, err), serr)
	}
	_, err = s.followState(x.ID, func(cur *Synchronization) bool {
		if cur.CopyState != CopyStateUnsynchronized || cur.Activity != ActivityFollowing {
			return false // fractured, split or suspended meanwhile
		}
		cur.CopyState, cur.Activity = CopyStateSynchronized, ActivityNone
		cur.Synchronized = s.now()
		// The stamp seen before the copy: a write during it shows next round.
		cur.SourceStamp, cur.SourceSeen = stamp, seen
		return true
	})
	if err == nil {
		s.logger.Debug("mirror caught up", zap.String("source", src.Name), zap.String("target", tgt.Name), zap.Int64("bytes", st.BytesCopied))
	}
	return err
}

// followState applies change to synchronization id in one transaction
// when change returns true; it reports whether it did.
func (s *Service) followState(id string, change func(*Synchronization) bool) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	done := false
	err := s.db.Update(func(tx *store.Tx) error {
		cur, err := getRecord[Synchronization](tx, bucketSyncs, id)
		if err != nil || cur == nil || !change(cur) {
			return err
		}
		done = true
		return tx.Put(bucketSyncs, id, cur)
	})
	return done, err
}

// setStamp records the source stamp of synchronization id, seen now.
func (s *Service) setStamp(id, path string) error {
	seen := time.Now()
	stamp, err := stampOf(path)
	if err != nil {
		return err
	}
	_, err = s.followState(id, func(cur *Synchronization) bool {
		cur.SourceStamp, cur.SourceSeen = stamp, seen
		return true
	})
	return err
}

// mtimeGranularity bounds how coarse file modification times are.
const mtimeGranularity = 50 * time.Millisecond

func mtimeOf(path string) (time.Time, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}
