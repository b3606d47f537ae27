package replica

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/replica/engine"
	"github.com/replicad/replicad/volumes"
)

// VerifyOptions tune Verify and VerifyGroup.
type VerifyOptions struct {
	// MaxDiffs is how many differing offsets each pair's report lists
	// (0: engine.DefaultVerifyMaxDiffs).
	MaxDiffs int
	// BandwidthLimit caps the bytes read per second (both files together);
	// 0 means unlimited.
	BandwidthLimit int64
	// Progress, when set, is called with the bytes compared so far and in
	// total over all pairs.
	Progress func(done, total int64)

	// from and to limit the comparison to a window (engine.VerifyOptions);
	// the scrub verifies a pair window by window.
	from, to int64
}

// PairReport is what verifying one synchronization found.
type PairReport struct {
	// Sync is the synchronization's ID; Source and Target its volumes.
	Sync   string     `json:"sync"`
	Source volumes.ID `json:"source"`
	Target volumes.ID `json:"target"`
	// SourceName and TargetName are the volumes' names.
	SourceName string `json:"sourceName"`
	TargetName string `json:"targetName"`
	// Report is the engine's comparison.
	Report engine.VerifyReport `json:"report"`
	// SourceChanged reports that the source was written since the pair's
	// last sync (or during the comparison): a difference is then expected
	// and the pair's state is left alone.
	SourceChanged bool `json:"sourceChanged,omitempty"`
	// Broken reports that this verification found a Synchronized pair
	// different and made it Broken.
	Broken bool `json:"broken,omitempty"`
	// CopyState is the pair's state after the verification.
	CopyState CopyState `json:"copyState"`
	// At is when the comparison ended (service clock, UTC).
	At time.Time `json:"at"`
}

// Identical reports whether source and target had the same size and bytes.
func (r PairReport) Identical() bool { return r.Report.Identical() }

// VerifyResult is the result of Verify or VerifyGroup: one report per pair,
// in the group's member order.
type VerifyResult struct {
	Pairs []PairReport `json:"pairs"`
}

// Identical reports whether every pair was identical.
func (r VerifyResult) Identical() bool {
	for _, p := range r.Pairs {
		if !p.Identical() {
			return false
		}
	}
	return true
}

// IntegrityStats are counters of the verifications since Open, for metrics.
type IntegrityStats struct {
	// Verifications counts comparisons: a pair on request, or a window of
	// up to 256 MiB of one by the scrub.
	Verifications uint64
	// Mismatches counts pairs found different while they claimed
	// Synchronized (each made Broken).
	Mismatches uint64
	// BytesVerified counts the bytes of the compared ranges.
	BytesVerified uint64
	// ScrubPasses counts the scrub's completed passes over every pair.
	ScrubPasses uint64
}

// integrity holds what verifications leave behind: counters, the last
// report per synchronization and the scrub loop.
type integrity struct {
	verifications, mismatches, bytes, passes atomic.Uint64

	mu   sync.Mutex
	last map[string]PairReport

	stopScrub context.CancelFunc
	scrubDone chan struct{}
}

// IntegrityStats returns the verification counters.
func (s *Service) IntegrityStats() IntegrityStats {
	in := s.integrity
	if in == nil {
		return IntegrityStats{}
	}
	return IntegrityStats{Verifications: in.verifications.Load(), Mismatches: in.mismatches.Load(),
		BytesVerified: in.bytes.Load(), ScrubPasses: in.passes.Load()}
}

// LastVerify returns the last report of synchronization id (on request or
// by the scrub) since Open, if any.
func (s *Service) LastVerify(id string) (PairReport, bool) {
	in := s.integrity
	if in == nil {
		return PairReport{}, false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	r, ok := in.last[id]
	return r, ok
}

// Verify compares the source and target of synchronization id byte for
// byte and reports the first differing offsets. It follows a Resync's
// rules: a synchronization a job works on (Initialized, Unsynchronized) is
// ErrCopyInProgress, and both volumes are leased for the comparison
// (ErrInUse when another operation holds one). A Synchronized pair found
// different, whose source was not written since its last sync, becomes
// Broken: the mismatch is logged as an ERROR, counted, and the target's
// hash sidecar is removed so that the next Resync re-reads the target.
// Resync Replica repairs it. Other states are compared and reported only.
func (s *Service) Verify(ctx context.Context, id string, opts VerifyOptions) (VerifyResult, error) {
	return s.verify(ctx, []string{id}, opts)
}

// VerifyGroup verifies every member of group synchronization id, as Verify;
// every member is checked and leased before the first comparison.
func (s *Service) VerifyGroup(ctx context.Context, id string, opts VerifyOptions) (VerifyResult, error) {
	gs, err := s.GroupSynchronization(ctx, id)
	if err != nil {
		return VerifyResult{}, err
	}
	return s.verify(ctx, gs.Members, opts)
}

func (s *Service) verify(ctx context.Context, ids []string, opts VerifyOptions) (VerifyResult, error) {
	syncs, release, err := s.leaseForVerify(ctx, ids)
	if err != nil {
		return VerifyResult{}, err
	}
	defer release()
	var res VerifyResult
	type pair struct{ src, tgt *volumes.Volume }
	pairs := make([]pair, len(syncs))
	var total int64
	for i, x := range syncs {
		if pairs[i].src, err = s.vols.Get(ctx, x.Source); err != nil {
			return res, fmt.Errorf("verify: source %s: %w", x.Source, err)
		}
		if pairs[i].tgt, err = s.vols.Get(ctx, x.Target); err != nil {
			return res, fmt.Errorf("verify: target %s: %w", x.Target, err)
		}
		total += max(fileSize(pairs[i].src.Path()), fileSize(pairs[i].tgt.Path()))
	}
	var base int64
	for i, x := range syncs {
		eo := engine.VerifyOptions{MaxDiffs: opts.MaxDiffs, BandwidthLimit: opts.BandwidthLimit, From: opts.from, To: opts.to}
		if opts.Progress != nil {
			b := base
			eo.Progress = func(done, _ int64) { opts.Progress(b+done, total) }
		}
		r, err := s.verifyPair(ctx, x, pairs[i].src, pairs[i].tgt, eo)
		if err != nil {
			return res, err
		}
		base += max(r.Report.SourceSize, r.Report.TargetSize)
		res.Pairs = append(res.Pairs, r)
	}
	if opts.Progress != nil {
		opts.Progress(total, total)
	}
	return res, nil
}

// leaseForVerify checks that no job works on ids and leases their volumes.
func (s *Service) leaseForVerify(ctx context.Context, ids []string) ([]*Synchronization, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, ErrClosed
	}
	syncs, err := s.loadSyncs(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	for _, x := range syncs {
		if x.CopyState == CopyStateUnsynchronized || x.CopyState == CopyStateInitialized {
			return nil, nil, fmt.Errorf("%w: verify of %s → %s: a job works on it (%s); wait for it", ErrCopyInProgress, x.Source, x.Target, x.CopyState)
		}
	}
	leases := map[volumes.ID]func(){}
	for _, x := range syncs {
		for _, v := range []volumes.ID{x.Source, x.Target} {
			if _, ok := leases[v]; ok {
				continue
			}
			rel, err := s.vols.Acquire(v, "verify")
			if err != nil {
				releaseMap(leases)
				return nil, nil, fmt.Errorf("%w: verify: %w", ErrInUse, err)
			}
			leases[v] = rel
		}
	}
	return syncs, func() { releaseMap(leases) }, nil
}

// verifyPair compares one leased pair and acts on a mismatch.
func (s *Service) verifyPair(ctx context.Context, x *Synchronization, src, tgt *volumes.Volume, eo engine.VerifyOptions) (PairReport, error) {
	r := PairReport{Sync: x.ID, Source: x.Source, Target: x.Target, SourceName: src.Name, TargetName: tgt.Name, CopyState: x.CopyState}
	before, err := stampOf(src.Path())
	if err != nil {
		return r, fmt.Errorf("verify %s → %s: %w", src.Name, tgt.Name, err)
	}
	r.Report, err = engine.Verify(ctx, src.Path(), tgt.Path(), eo)
	if err != nil {
		return r, fmt.Errorf("verify %s → %s: %w", src.Name, tgt.Name, err)
	}
	after, err := stampOf(src.Path())
	if err != nil {
		return r, fmt.Errorf("verify %s → %s: %w", src.Name, tgt.Name, err)
	}
	r.At = s.now()
	r.SourceChanged = before != after || sourceWrittenSince(x, before)
	in := s.integrity
	in.verifications.Add(1)
	in.bytes.Add(uint64(r.Report.BytesCompared))
	if !r.Identical() && !r.SourceChanged && x.CopyState == CopyStateSynchronized {
		if err := s.breakPair(ctx, x, tgt, &r); err != nil {
			return r, err
		}
	} else if !r.Identical() {
		s.logger.Info("replica differs from its source", zap.String("sync", x.ID), zap.String("source", src.Name),
			zap.String("target", tgt.Name), zap.Stringer("copyState", x.CopyState), zap.Bool("sourceChanged", r.SourceChanged),
			zap.Int64s("offsets", r.Report.Offsets))
	}
	s.recordLast(r)
	return r, nil
}

// recordLast keeps r as the last report of its synchronization.
func (s *Service) recordLast(r PairReport) {
	in := s.integrity
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.last == nil {
		in.last = map[string]PairReport{}
	}
	in.last[r.Sync] = r
}

// breakPair makes Synchronized pair x Broken after a mismatch, removes its
// target's hash sidecar and raises the alert.
func (s *Service) breakPair(ctx context.Context, x *Synchronization, tgt *volumes.Volume, r *PairReport) error {
	ok, err := s.followState(x.ID, func(cur *Synchronization) bool {
		if cur.CopyState != CopyStateSynchronized || cur.Activity != ActivityNone {
			return false
		}
		cur.CopyState = CopyStateBroken
		// Recorded before the state shows, so a reader who sees Broken
		// finds the report that made it so.
		r.Broken, r.CopyState = true, CopyStateBroken
		s.recordLast(*r)
		return true
	})
	if err != nil {
		return fmt.Errorf("verify: mark %s → %s broken: %w", r.SourceName, r.TargetName, err)
	}
	// The sidecar describes a target that is not there: the next Resync
	// must read the target itself.
	if err := s.removeHiddenFiles(context.WithoutCancel(ctx), tgt.Pool, tgt.Name, sidecarSuffix); err != nil {
		s.logger.Warn("verify: remove hash sidecar", zap.String("target", tgt.Name), zap.Error(err))
	}
	s.integrity.mismatches.Add(1)
	if !ok {
		r.Broken, r.CopyState = false, x.CopyState // changed meanwhile by another operation
	}
	s.logger.Error("ALERT: replica does not match its source; synchronization is now Broken (repair with Resync Replica)",
		zap.String("sync", x.ID), zap.String("source", r.SourceName), zap.String("target", r.TargetName),
		zap.Int64("differingBytes", r.Report.DiffBytes), zap.Int64s("offsets", r.Report.Offsets),
		zap.Int64("sourceSize", r.Report.SourceSize), zap.Int64("targetSize", r.Report.TargetSize))
	return nil
}

// sourceWrittenSince reports whether the source, whose stamp is now
// stamp, was written since x's last sync: its identity (inode, size,
// mtime, ctime; a write that puts the mtime back still changes the ctime)
// differs from the stamp recorded when the last copy, Resync or Restore
// ended. A record without a stamp (a Snapshot or Clone synchronized before
// every SyncType recorded one) cannot prove that the source was written,
// so it is taken as not written: a difference found then makes a
// Synchronized pair Broken rather than leaving it reported as a copy it is
// not. Resync Replica repairs it and records a stamp.
func sourceWrittenSince(x *Synchronization, stamp string) bool {
	return x.SourceStamp != "" && stamp != x.SourceStamp
}

// fileSize is the apparent size of path, 0 when it cannot be read.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
