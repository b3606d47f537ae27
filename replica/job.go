package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica/engine"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// partialPath is where the copy of target t is written before it is renamed
// over the target's image: a hidden file next to it that volume import
// ignores.
func partialPath(t *volumes.Volume) string {
	return filepath.Join(filepath.Dir(t.Path()), "."+t.Name+".img.replica")
}

// CopyReport says how one source was copied onto its target: the engine's data path
// and what it moved. A copy job's result (jobqueue.Job.Result) is a JSON list of them.
type CopyReport struct {
	Source string `json:"source"`
	Target string `json:"target"`
	// Method is the engine's data path: reflink, copy_file_range or readwrite.
	Method string `json:"method"`
	// DirectIO reports that the read/write path bypassed the page cache.
	DirectIO bool `json:"directIO,omitempty"`
	// BytesCopied were written or cloned; ZeroBytes were all-zero blocks left as holes.
	BytesCopied int64 `json:"bytesCopied"`
	ZeroBytes   int64 `json:"zeroBytes,omitempty"`
	// Seconds is the wall time of this member's copy (of its last attempt when resumed).
	Seconds float64 `json:"seconds"`
}

// DataPath names the data path as a person would read it: "readwrite (O_DIRECT)".
func (r CopyReport) DataPath() string {
	if r.DirectIO {
		return r.Method + " (O_DIRECT)"
	}
	return r.Method
}

// runCopy is the KindCopy job handler: it copies every source of an
// operation onto its target, in pairing order, resuming from the job's
// checkpoint.
func (s *Service) runCopy(ctx context.Context, run *jobqueue.Run) (err error) {
	var pl copyPayload
	if err := json.Unmarshal(run.Payload, &pl); err != nil {
		return &jobqueue.Error{Code: jobqueue.CodeFailed, Message: "bad replication job payload", Err: err}
	}
	op, err := s.op(pl.Op)
	if err != nil {
		return err
	}
	if op == nil || op.State != opActive {
		return &jobqueue.Error{Code: jobqueue.CodeFailed, Message: "the replication operation of this job is gone"}
	}
	log := run.Logger.With(zap.String("op", op.ID))
	syncs := make([]*Synchronization, len(op.Syncs))
	for i, id := range op.Syncs {
		if syncs[i], err = s.Synchronization(ctx, id); err != nil {
			return s.fail(op, log, fmt.Errorf("synchronization %s: %w", id, err))
		}
	}
	leases, err := s.takeLeases(op, syncs)
	if err != nil {
		return s.fail(op, log, err)
	}
	var cp copyCheckpoint
	if len(run.Checkpoint) > 0 {
		if err := json.Unmarshal(run.Checkpoint, &cp); err != nil {
			log.Warn("unreadable checkpoint; copying from the start", zap.Error(err))
			cp = copyCheckpoint{}
		}
	}
	b := s.newMemberBatch(run, log, leases, cp)
	defer b.releaseAll()
	fail := func(cause error) error {
		b.releaseAll()
		return s.fail(op, log, cause)
	}

	const scale = 1000
	total := int64(len(syncs)) * scale
	lastUse := map[volumes.ID]int{}
	for i, x := range syncs {
		lastUse[x.Source] = i
	}
	resume, err := s.quiesce(ctx, consistentSources(op.Consistency, syncs))
	if err != nil {
		return fail(err)
	}
	defer resume()
	// Every member left to copy is Unsynchronized from now on: the job
	// works on the group as a whole, and one commit says so.
	var left []string
	for _, x := range syncs[min(cp.Index, len(syncs)):] {
		left = append(left, x.ID)
	}
	if err := s.setCopyStates(left, CopyStateUnsynchronized); err != nil {
		return fail(err)
	}
	for i := cp.Index; i < len(syncs); i++ {
		x := syncs[i]
		src, err := s.vols.Get(ctx, x.Source)
		if err != nil {
			return fail(fmt.Errorf("source %s: %w", x.Source, err))
		}
		tgt, err := s.vols.Get(ctx, x.Target)
		if err != nil {
			return fail(fmt.Errorf("target %s: %w", x.Target, err))
		}
		partial := partialPath(tgt)
		var resume *engine.Checkpoint
		if i == cp.Index && cp.Engine != nil {
			if _, err := statBeneath(partial); err == nil {
				resume = cp.Engine
			}
		}
		if resume == nil {
			removeBeneath(partial) // a stale partial from an attempt without checkpoint
		}
		opts := engine.DefaultOptions()
		opts.Workers = s.opts.EngineWorkers
		opts.BandwidthLimit = s.opts.BandwidthLimit
		opts.Resume = resume
		if s.opts.Copies != nil {
			opts.Written = s.opts.Copies.AddBytesCopied
		}
		base := int64(i) * scale
		opts.Progress = func(done, all int64) {
			if all > 0 {
				run.Progress(base+done*scale/all, total)
			}
			b.maybeFlush() // members finished before this one
		}
		opts.Checkpoint = func(c engine.Checkpoint) error {
			return b.saveEngineCheckpoint(copyCheckpoint{Index: i, Engine: &c})
		}
		// Before the copy's first look at the source: SourceSeen never
		// postdates what it saw. A resumed copy first looked at it in an
		// earlier run, at a time not kept: zero, so the stamp counts as
		// unsettled and the mirror loop or Verify looks once more.
		var seen time.Time
		if resume == nil {
			seen = time.Now()
		}
		st, err := s.copyMember(ctx, x, src.Path(), partial, opts)
		if err != nil {
			if ctx.Err() != nil && !s.terminating(op.ID) {
				log.Info("copy interrupted; it resumes from its checkpoint", zap.Int("member", i))
				// What is finished is recorded: the resume starts here.
				return errors.Join(fmt.Errorf("copy %s to %s: %w", src.Name, tgt.Name, err), b.flush())
			}
			return fail(fmt.Errorf("copy %s to %s: %w", src.Name, tgt.Name, err))
		}
		if s.opts.Copies != nil {
			s.opts.Copies.ObserveCopy(st.BytesCopied, st.Duration)
		}
		// The rename is made durable by the batch's fsync of the directory,
		// before anything records the member as done.
		if err := renameBeneath(partial, tgt.Path()); err != nil {
			return fail(fmt.Errorf("install copy of %s as %s: %w", src.Name, tgt.Name, err))
		}
		m := finishedMember{id: x.ID, synced: true}
		if x.SyncType == SyncTypeMirror {
			// A mirror's source may be written during its copy: converge.
			if m.synced, err = s.converge(ctx, x, src, tgt, st, seen, log); err != nil {
				if ctx.Err() != nil && !s.terminating(op.ID) {
					return errors.Join(fmt.Errorf("converge %s to %s: %w", src.Name, tgt.Name, err), b.flush())
				}
				return fail(fmt.Errorf("converge %s to %s: %w", src.Name, tgt.Name, err))
			}
		} else {
			// The copy checked that the source kept this identity
			// throughout; Verify tells later writes to the source from a
			// corrupted target by this stamp.
			m.stamp, m.seen, m.stamped = st.Source.String(), seen, true
		}
		run.Progress(base+scale, total)
		report := CopyReport{
			Source: src.Name, Target: tgt.Name, Method: st.Method.String(), DirectIO: st.DirectIO,
			BytesCopied: st.BytesCopied, ZeroBytes: st.ZeroBytes, Seconds: st.Duration.Seconds(),
		}
		release := []volumes.ID{x.Target}
		if op.Consistency != ConsistencySequential && lastUse[x.Source] == i {
			release = append(release, x.Source)
		}
		b.finished(i, filepath.Dir(tgt.Path()), m, report, release...)
		if i < len(syncs)-1 {
			b.maybeFlush() // the last member is recorded with the job's end
		}
		log.Info("replica synchronized", zap.String("source", src.Name), zap.String("target", tgt.Name),
			zap.String("path", report.DataPath()), zap.Int64("bytes", st.BytesCopied),
			zap.Duration("took", st.Duration))
	}
	pending, err := b.settle()
	if err != nil {
		return fail(err)
	}
	if err := run.SetResult(b.copyReports()); err != nil {
		return fail(err)
	}
	// One commit ends the job: the last members' states and stamps, the
	// operation done and the job Completed, after everything they cover is
	// durable (the engine's fdatasync, settle's directory fsync).
	s.mu.Lock()
	err = run.Complete(func(tx *store.Tx) error {
		if err := s.recordFinishedTx(tx, pending); err != nil {
			return err
		}
		return finishOpTx(tx, op.ID)
	})
	s.mu.Unlock()
	if err != nil {
		return fail(fmt.Errorf("record the end of the copy: %w", err))
	}
	return nil
}

// fail cleans up after a failed or terminated copy and returns the job's
// error.
func (s *Service) fail(op *opRecord, log *zap.Logger, cause error) error {
	terminated := s.terminating(op.ID)
	if !terminated {
		log.Warn("replication failed; removing its targets", zap.Error(cause))
	}
	if err := s.cleanup(context.Background(), op.ID); err != nil {
		log.Error("clean up replication", zap.Error(err))
	}
	if terminated {
		return fmt.Errorf("replication terminated: %w", cause)
	}
	return &jobqueue.Error{Code: jobqueue.CodeFailed, Message: "replication failed: " + cause.Error(), Err: cause}
}

func releaseMap(m map[volumes.ID]func()) {
	for id, r := range m {
		r()
		delete(m, id)
	}
}

// takeLeases returns the leases of the operation's volumes: those its
// request took, or (after a restart) new ones.
func (s *Service) takeLeases(op *opRecord, syncs []*Synchronization) (map[volumes.ID]func(), error) {
	s.mu.Lock()
	held, ok := s.leases[op.ID]
	delete(s.leases, op.ID)
	s.mu.Unlock()
	if ok {
		return held, nil
	}
	out := map[volumes.ID]func(){}
	for _, x := range syncs {
		for _, id := range []volumes.ID{x.Source, x.Target} {
			if _, ok := out[id]; ok {
				continue
			}
			r, err := s.vols.Acquire(id, "replication "+op.ID[:8])
			if err != nil {
				releaseMap(out)
				return nil, fmt.Errorf("%w: resume: %w", ErrInUse, err)
			}
			out[id] = r
		}
	}
	return out, nil
}

func (s *Service) op(id string) (*opRecord, error) {
	var op *opRecord
	err := s.db.View(func(tx *store.Tx) error {
		var err error
		op, err = getRecord[opRecord](tx, bucketOps, id)
		return err
	})
	return op, err
}

func (s *Service) terminating(opID string) bool {
	op, err := s.op(opID)
	return err == nil && op != nil && op.Terminating
}

func (s *Service) finishOp(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Update(func(tx *store.Tx) error { return finishOpTx(tx, id) })
}

// finishOpTx records operation id done in tx.
func finishOpTx(tx *store.Tx, id string) error {
	op, err := getRecord[opRecord](tx, bucketOps, id)
	if err != nil || op == nil {
		return err
	}
	op.State = opDone
	return tx.Put(bucketOps, id, op)
}

// cleanup removes what operation id created: partial files, created target
// volumes, created groups, its synchronizations and group synchronization.
// It is idempotent.
func (s *Service) cleanup(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var op *opRecord
	var syncs []*Synchronization
	err := s.db.View(func(tx *store.Tx) error {
		var err error
		if op, err = getRecord[opRecord](tx, bucketOps, id); err != nil || op == nil {
			return err
		}
		for _, sid := range op.Syncs {
			x, err := getRecord[Synchronization](tx, bucketSyncs, sid)
			if err != nil {
				return err
			}
			if x != nil {
				syncs = append(syncs, x)
			}
		}
		return nil
	})
	if err != nil || op == nil || op.State == opCleaned {
		return err
	}
	if rel, ok := s.leases[id]; ok {
		releaseMap(rel)
		delete(s.leases, id)
	}
	var errs []error
	for _, x := range syncs {
		if t, err := s.vols.Get(ctx, x.Target); err == nil {
			if err := s.removeHiddenFiles(ctx, t.Pool, t.Name, partialSuffix); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, vid := range op.CreatedTargets {
		if err := s.vols.Delete(ctx, vid); err != nil && !errors.Is(err, volumes.ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete target %s: %w", vid, err))
		}
	}
	err = s.db.Update(func(tx *store.Tx) error {
		for _, x := range syncs {
			if err := tx.Delete(bucketSyncs, x.ID); err != nil {
				return err
			}
		}
		if op.GroupSync != "" {
			if err := tx.Delete(bucketGroupSyncs, op.GroupSync); err != nil {
				return err
			}
		}
		for _, g := range op.CreatedGroups {
			if err := tx.Delete(bucketGroups, g); err != nil {
				return err
			}
		}
		// An existing target group loses the targets this request created.
		groups, err := listRecords[Group](tx, bucketGroups)
		if err != nil {
			return err
		}
		for _, g := range groups {
			kept := g.Members[:0:0]
			for _, m := range g.Members {
				if !containsID(op.CreatedTargets, m) {
					kept = append(kept, m)
				}
			}
			if len(kept) != len(g.Members) {
				g.Members = kept
				if err := tx.Put(bucketGroups, g.ID, &g); err != nil {
					return err
				}
			}
		}
		op.State = opCleaned
		return tx.Put(bucketOps, op.ID, op)
	})
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		s.logger.Info("replication cleaned up", zap.String("op", id), zap.Int("targetsDeleted", len(op.CreatedTargets)))
	}
	return errors.Join(errs...)
}

func containsID(ids []volumes.ID, id volumes.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// reconcile finishes what a stop interrupted: operations being terminated,
// and operations whose job failed, was terminated or vanished, are cleaned up.
func (s *Service) reconcile(ctx context.Context) error {
	var ops []opRecord
	if err := s.db.View(func(tx *store.Tx) error {
		var err error
		ops, err = listRecords[opRecord](tx, bucketOps)
		return err
	}); err != nil {
		return err
	}
	var errs []error
	for _, op := range ops {
		if op.State != opActive {
			continue
		}
		job, err := s.jobs.Get(op.JobID)
		clean := op.Terminating
		switch {
		case errors.Is(err, jobqueue.ErrNotFound):
			clean = true
		case err != nil:
			errs = append(errs, err)
			continue
		case job.State == jobqueue.StateFailed || job.State == jobqueue.StateTerminated:
			clean = true
		case job.State == jobqueue.StateCompleted:
			if err := s.finishOp(op.ID); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if clean {
			s.logger.Info("cleaning up an interrupted replication", zap.String("op", op.ID), zap.String("job", op.JobID))
			if err := s.cleanup(ctx, op.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
