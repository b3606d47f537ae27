package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
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
		ro := engine.ResyncOptions{Options: s.resyncOptions(), Changed: engine.NewDirtyMap(0, engine.DefaultResyncBlockSize)}
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
			if serr == nil {
				// Where replicad itself made every change to the source
				// since the last sync, only those blocks are read.
				ro.Dirty = s.trackedSince(x, stamp)
			}
		}
		written := writtenBy(pl.Op, x)
		resume, err := s.quiesce(ctx, []volumes.ID{written})
		if err != nil {
			return s.modifyFailed(run.ID, err)
		}
		st, after, err := s.trackedResync(ctx, written, from, to, ro)
		resume()
		tracked := ro.Dirty != nil && st.SidecarTrusted // only the written blocks read
		s.countRead(st, tracked)
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
			// As the Restore left it, settled before the source was let go
			// (a write after that shows); "" when someone else wrote it
			// meanwhile (the loop compares).
			stamp, seen, serr = after.stamp, after.seen, after.err
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
		if tracked {
			s.catchUps.countTracked(x.ID)
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

// settledLook is a stamp of an image seen once a later write must change it
// (settledStamp).
type settledLook struct {
	stamp string
	seen  time.Time
	err   error
}

// trackedResync runs engine.Resync from → to, to being the image of volume
// written, which nobody else writes meanwhile (quiesced and leased), and
// records the blocks it changed as a track of written (catchUps.wrote), so
// that written's mirrors catch up from them. It returns the engine's
// result and to's settled stamp after the pass.
func (s *Service) trackedResync(ctx context.Context, written volumes.ID, from, to string, ro engine.ResyncOptions) (engine.Stats, settledLook, error) {
	before, berr := stampOf(to)
	st, err := engine.Resync(ctx, from, to, ro)
	var after settledLook
	after.stamp, after.seen, after.err = settledStamp(to)
	if berr != nil || after.err != nil || (err != nil && !errors.Is(err, engine.ErrSourceChanged)) {
		// A pass that failed may have written more than it marked.
		s.catchUps.wrote(written, "", "", nil)
	} else {
		s.catchUps.wrote(written, before, after.stamp, ro.Changed)
	}
	return st, after, err
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
