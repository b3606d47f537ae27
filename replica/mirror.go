package replica

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/beneath"
	"github.com/replicad/replicad/replica/engine"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// DefaultMirrorLag is Options.MirrorLag when it is zero.
const DefaultMirrorLag = 2 * time.Second

// ActivityFollowing is the activity of an Asynchronous Mirror that is
// catching up with writes to its source (CopyState Unsynchronized).
const ActivityFollowing Activity = "following"

// DefaultMirrorScan is Options.MirrorScan when it is zero.
const DefaultMirrorScan = 6 * time.Hour

// identityOf returns the identity of the image at path (engine.Identity:
// device, inode, size, mtime and ctime). A write by any process changes it,
// also one that puts the mtime back (touch -r): user space cannot set the
// ctime.
func identityOf(path string) (engine.Identity, error) {
	f, err := beneath.Open(path, unix.O_PATH, 0)
	if err != nil {
		return engine.Identity{}, err
	}
	defer f.Close()
	return engine.IdentityOf(f)
}

// stampOf is the stamp of the image at path: its identity as a string.
func stampOf(path string) (string, error) {
	id, err := identityOf(path)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// settledStamp is the stamp of the image at path once a later write by
// anyone must change it (engine.Settle), and when it was seen then; ""
// when the image was written meanwhile by someone else.
func settledStamp(path string) (string, time.Time, error) {
	f, err := beneath.Open(path, unix.O_PATH, 0)
	if err != nil {
		return "", time.Time{}, err
	}
	defer f.Close()
	id, err := engine.IdentityOf(f)
	if err != nil {
		return "", time.Time{}, err
	}
	id, ok, err := engine.Settle(f, id)
	seen := time.Now()
	if err != nil || !ok {
		return "", seen, err
	}
	return id.String(), seen, nil
}

// stampSettled reports whether stamp, seen at seen, was seen long enough
// after the image's last change (its ctime) that any later write changed
// it: file times are coarse, and a write in the same tick as the look
// leaves them as they were.
func stampSettled(stamp string, seen time.Time) bool {
	var id engine.Identity
	if _, err := fmt.Sscanf(stamp, "%d:%d:%d:%d:%d", &id.Dev, &id.Ino, &id.Size, &id.MtimeNS, &id.CtimeNS); err != nil || id.String() != stamp {
		return false
	}
	return seen.Sub(time.Unix(0, id.CtimeNS)) > engine.StampGranularity(id)
}

// trackedSince returns the blocks replicad itself wrote into x's source
// since x's last sync, now that the source has stamp now, or nil when
// someone else may have written it (catchUps.changedSince).
func (s *Service) trackedSince(x *Synchronization, now string) *engine.DirtyMap {
	if !stampSettled(x.SourceStamp, x.SourceSeen) {
		return nil
	}
	return s.catchUps.changedSince(x.Source, x.SourceStamp, now)
}

// targetStamp is the stamp of the target a Resync left: the identity its
// hash sidecar records, "" when none does (the next look catches up).
func targetStamp(st engine.Stats) string {
	if st.Target == (engine.Identity{}) {
		return ""
	}
	return st.Target.String()
}

// following reports whether the mirror loop looks after x: an Asynchronous
// Mirror whose initial copy is done and that is neither fractured, split,
// suspended nor worked on by a job.
func following(x *Synchronization) bool {
	return x.SyncType == SyncTypeMirror &&
		(x.CopyState == CopyStateSynchronized || (x.CopyState == CopyStateUnsynchronized && x.Activity == ActivityFollowing))
}

// mirrorScan is the configured scan interval (0: never).
func (s *Service) mirrorScan() time.Duration {
	switch {
	case s.opts.MirrorScan < 0:
		return 0
	case s.opts.MirrorScan == 0:
		return DefaultMirrorScan
	}
	return s.opts.MirrorScan
}

// mirrorLag is the configured lag.
func (s *Service) mirrorLag() time.Duration {
	if s.opts.MirrorLag > 0 {
		return s.opts.MirrorLag
	}
	return DefaultMirrorLag
}

// followLoop keeps every Asynchronous Mirror in step with its source until
// ctx ends: every half lag it looks for mirrors whose source or target
// changed since their last sync (by identity: inode, size, mtime and
// ctime, so writes by any process count, also those that restore the
// mtime) and brings them up to date with engine.Resync, which copies only
// the blocks that differ (from the target's hash sidecar while that
// provably describes the target, from the target's data otherwise; each
// side's data is read once). Where replicad itself made every change to
// the source since the last sync (a Restore from another mirror of it:
// catchUps' tracks), only the blocks it wrote are read and copied. Every
// Options.MirrorScan it compares each whole target with its source, for
// changes no stamp shows. A mirror is Unsynchronized from the moment a
// change is seen until its catch-up is done, then Synchronized with a new
// WhenSynced. Every round's read of the records also ends the Synchronized
// state of pairs whose sizes differ (honest).
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
	seen := time.Now()
	sid, err := identityOf(src.Path())
	if err != nil {
		return err
	}
	tstamp, err := stampOf(tgt.Path())
	if err != nil {
		return err
	}
	scan := s.mirrorScan() > 0 && seen.Sub(x.Scanned) >= s.mirrorScan()
	if x.CopyState == CopyStateSynchronized && !scan && sid.String() == x.SourceStamp && tstamp == x.TargetStamp &&
		stampSettled(x.SourceStamp, x.SourceSeen) {
		// Only a look well after the last change proves that nothing
		// changed since.
		return nil
	}
	// Registered before the leases are taken, so that it ends after they
	// are released: Modify's hold waits for exactly that.
	ctx, end, ok := s.catchUps.begin(ctx, x.ID)
	if !ok {
		return nil // an operation holds this mirror: next round
	}
	defer end()
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
	ro := engine.ResyncOptions{Options: s.resyncOptions(), HashSidecar: sidecarPath(tgt),
		SidecarGeneration: x.SidecarGen, CompareTarget: scan}
	if !scan {
		// Only the blocks replicad wrote, when nobody else wrote the source
		// since the last sync; the source's data otherwise.
		ro.Dirty = s.trackedSince(x, sid.String())
	}
	st, err := engine.Resync(ctx, src.Path(), tgt.Path(), ro)
	// Tracked: only the blocks replicad wrote were read (the sidecar
	// vouched for the rest of the target).
	tracked := ro.Dirty != nil && st.SidecarTrusted
	s.countRead(st, tracked)
	if err != nil {
		if errors.Is(err, engine.ErrSourceChanged) {
			// Stays Unsynchronized: the next round catches up, trusting the
			// sidecar this pass wrote for the target.
			_, serr := s.followState(x.ID, func(cur *Synchronization) bool {
				if cur.Activity != ActivityFollowing {
					return false
				}
				cur.SidecarGen, cur.TargetStamp = st.SidecarGeneration, targetStamp(st)
				return true
			})
			return serr
		}
		if ctx.Err() != nil {
			return nil // stays Unsynchronized: the next start catches up
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
		cur.SourceStamp, cur.SourceSeen = sid.String(), seen
		cur.SidecarGen, cur.TargetStamp = st.SidecarGeneration, targetStamp(st)
		if scan {
			cur.Scanned = seen
		}
		return true
	})
	if err == nil {
		if tracked {
			s.catchUps.countTracked(x.ID)
		}
		s.logger.Debug("mirror caught up", zap.String("source", src.Name), zap.String("target", tgt.Name),
			zap.Int64("bytes", st.BytesCopied), zap.Int64("bytesRead", st.BytesRead+st.TargetBytesRead),
			zap.Bool("scan", scan), zap.Bool("tracked", tracked), zap.Bool("sidecarTrusted", st.SidecarTrusted))
	}
	return err
}

// resyncOptions are the engine options of the Resync passes replicad runs
// (catch-ups, convergence, Resync and Restore): the configured workers and
// bandwidth, the bytes written counted as copied.
func (s *Service) resyncOptions() engine.Options {
	o := engine.DefaultOptions()
	o.Workers = s.opts.EngineWorkers
	o.BandwidthLimit = s.opts.BandwidthLimit
	if s.opts.Copies != nil {
		o.Written = s.opts.Copies.AddBytesCopied
	}
	return o
}

// readCounter is the optional part of a CopyObserver that counts the bytes
// Resync passes read to find what changed (the daemon's metrics have it).
type readCounter interface {
	AddBytesRead(n int64, tracked bool)
}

// countRead tells Options.Copies, when it counts reads, what a Resync pass
// read; tracked says it worked from the blocks replicad wrote.
func (s *Service) countRead(st engine.Stats, tracked bool) {
	if rc, ok := s.opts.Copies.(readCounter); ok {
		rc.AddBytesRead(st.BytesRead+st.TargetBytesRead, tracked)
	}
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
