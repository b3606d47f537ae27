package replica

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/beneath"
	"github.com/replicad/replicad/replica/engine"
	"github.com/replicad/replicad/volumes"
)

// convergePasses bounds the Resync passes that follow a mirror's initial
// copy of a source that is being written; after that many the mirror loop
// takes over, Unsynchronized.
const convergePasses = 8

// copyMember makes the initial copy of x's source at partial. A mirror's
// copy tolerates writes to the source (engine.Options.TolerateSourceChange:
// converge then brings the target level); a resume whose source changed
// since its checkpoint starts over.
func (s *Service) copyMember(ctx context.Context, x *Synchronization, src, partial string, opts engine.Options) (engine.Stats, error) {
	if x.SyncType != SyncTypeMirror {
		return engine.Copy(ctx, src, partial, opts)
	}
	opts.TolerateSourceChange = true
	var st engine.Stats
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		st, err = engine.Copy(ctx, src, partial, opts)
		if err == nil || ctx.Err() != nil || !errors.Is(err, engine.ErrSourceChanged) {
			return st, err
		}
		// Shrunk under the copy, or changed since the checkpoint.
		if rerr := removeBeneath(partial); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return st, errors.Join(err, rerr)
		}
		opts.Resume = nil
	}
	return st, err
}

// converge brings mirror x's freshly installed target level with its
// source. When the source did not change during the copy
// (!copied.SourceChanged; seen is when the copy first looked at it) the copy
// is the source. Otherwise Resync passes run until one finds the
// source unchanged from its start to its end (every block compared or
// copied: the files are equal); it reports true then. After convergePasses
// passes that each saw the source written, the mirror is left
// Unsynchronized for the mirror loop to follow (false, nil) rather than
// failed.
func (s *Service) converge(ctx context.Context, x *Synchronization, src, tgt *volumes.Volume, copied engine.Stats, seen time.Time, log *zap.Logger) (bool, error) {
	if !copied.SourceChanged {
		// The source kept its identity throughout the copy, and the target
		// is as the copy installed it (the job holds it): stamps of both,
		// so that the mirror loop's next look finds nothing to do.
		tstamp, err := stampOf(tgt.Path())
		if err != nil {
			return false, err
		}
		_, err = s.followState(x.ID, func(cur *Synchronization) bool {
			cur.SourceStamp, cur.SourceSeen, cur.TargetStamp = copied.Source.String(), seen, tstamp
			cur.Scanned = seen
			return true
		})
		return err == nil, err
	}
	var gen uint64
	var st engine.Stats
	for pass := 1; pass <= convergePasses; pass++ {
		seen := time.Now()
		stamp, err := stampOf(src.Path())
		if err != nil {
			return false, err
		}
		ro := engine.ResyncOptions{Options: s.resyncOptions(), HashSidecar: sidecarPath(tgt), SidecarGeneration: gen}
		st, err = engine.Resync(ctx, src.Path(), tgt.Path(), ro)
		s.countRead(st, false)
		gen = st.SidecarGeneration
		if err == nil {
			log.Info("mirror converged while its source was written", zap.String("source", src.Name), zap.Int("passes", pass))
			_, err := s.followState(x.ID, func(cur *Synchronization) bool {
				cur.SourceStamp, cur.SourceSeen = stamp, seen
				cur.SidecarGen, cur.TargetStamp = gen, targetStamp(st)
				return true
			})
			return err == nil, err
		}
		if !errors.Is(err, engine.ErrSourceChanged) {
			return false, fmt.Errorf("resync pass %d: %w", pass, err)
		}
	}
	log.Info("mirror source keeps changing; the mirror loop follows it", zap.String("source", src.Name), zap.Int("passes", convergePasses))
	_, err := s.followState(x.ID, func(cur *Synchronization) bool {
		cur.CopyState, cur.Activity = CopyStateUnsynchronized, ActivityFollowing
		cur.SourceStamp, cur.SidecarGen, cur.TargetStamp = "", gen, targetStamp(st)
		return true
	})
	return false, err
}

// statBeneath describes the pool file at path without following a symlink
// in its place (beneath.Lstat refuses one).
func statBeneath(path string) (os.FileInfo, error) {
	dir, err := beneath.OpenDir(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return beneath.Lstat(dir, filepath.Base(path))
}

// removeBeneath removes the pool file at path; a symlink in its place is
// refused, not followed or removed.
func removeBeneath(path string) error {
	dir, err := beneath.OpenDir(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return beneath.Remove(dir, filepath.Base(path))
}

// renameBeneath renames the pool file oldPath to newPath, both in the same
// directory; a symlink as either is refused.
func renameBeneath(oldPath, newPath string) error {
	if filepath.Dir(oldPath) != filepath.Dir(newPath) {
		return fmt.Errorf("rename %s to %s: not in one directory", oldPath, newPath)
	}
	dir, err := beneath.OpenDir(filepath.Dir(oldPath))
	if err != nil {
		return err
	}
	defer dir.Close()
	return beneath.Rename(dir, filepath.Base(oldPath), filepath.Base(newPath))
}
