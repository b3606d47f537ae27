package replica

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// DefaultScrubPause is Options.ScrubPause when it is zero.
const DefaultScrubPause = 10 * time.Second

// scrubWindow is how much of a pair the scrub compares under one lease: at
// 64 MiB/s the volumes are leased for 4 s at a time, so that an
// administrator's Resync, Detach or Delete is refused (In Use) only that
// long, not for the whole pair.
const scrubWindow = 256 << 20

// startScrub sets up the integrity state and, when Options.ScrubRate is
// set, starts the scrub loop (stopped by stopScrub).
func (s *Service) startScrub() {
	s.integrity = &integrity{last: map[string]PairReport{}}
	if s.opts.ScrubRate <= 0 {
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	s.integrity.stopScrub, s.integrity.scrubDone = stop, make(chan struct{})
	s.logger.Info("scrub started", zap.Int64("bytesPerSecond", s.opts.ScrubRate), zap.Duration("pause", s.scrubPause()))
	go s.scrubLoop(ctx)
}

// stopScrub stops the scrub loop and waits for it.
func (s *Service) stopScrub() {
	if s.integrity == nil || s.integrity.stopScrub == nil {
		return
	}
	s.integrity.stopScrub()
	<-s.integrity.scrubDone
}

func (s *Service) scrubPause() time.Duration {
	if s.opts.ScrubPause > 0 {
		return s.opts.ScrubPause
	}
	return DefaultScrubPause
}

// scrubLoop verifies every Synchronized pair in turn, pass after pass, at
// Options.ScrubRate bytes per second of compared range (holes included, so
// a sparse volume takes as long as a full one and the disk sees at most
// that rate), pausing ScrubPause between passes, until ctx ends. A mismatch
// makes the pair Broken (Verify). A pair that is busy (a job, a lease) is
// skipped until the next pass.
func (s *Service) scrubLoop(ctx context.Context) {
	defer close(s.integrity.scrubDone)
	for {
		s.scrubPass(ctx)
		if !sleepCtx(ctx, s.scrubPause()) {
			return
		}
	}
}

// scrubPass verifies each Synchronized pair once.
func (s *Service) scrubPass(ctx context.Context) {
	syncs, err := s.Synchronizations(ctx)
	if err != nil {
		s.logger.Warn("scrub: list synchronizations", zap.Error(err))
		return
	}
	for _, x := range syncs {
		if ctx.Err() != nil {
			return
		}
		if x.CopyState == CopyStateSynchronized && !s.scrubPair(ctx, x.ID) {
			return
		}
	}
	s.integrity.passes.Add(1)
}

// scrubPair verifies pair id window by window, each under its own lease,
// while it stays Synchronized and identical; it reports whether ctx is
// still live. A busy window (a job, another lease) ends the pair's turn
// until the next pass.
func (s *Service) scrubPair(ctx context.Context, id string) bool {
	for from := int64(0); ; from += scrubWindow {
		if x, err := s.Synchronization(ctx, id); err != nil || x.CopyState != CopyStateSynchronized {
			return ctx.Err() == nil // gone, broken, fractured… meanwhile
		}
		start := time.Now()
		res, err := s.verify(ctx, []string{id}, VerifyOptions{BandwidthLimit: s.opts.ScrubRate, from: from, to: from + scrubWindow})
		switch {
		case ctx.Err() != nil:
			return false
		case errors.Is(err, ErrInUse) || errors.Is(err, ErrCopyInProgress) || errors.Is(err, ErrSyncNotFound):
			return true // busy or gone meanwhile: next pass
		case err != nil:
			s.logger.Warn("scrub: verify failed", zap.String("sync", id), zap.Error(err))
			return true
		}
		r := res.Pairs[0].Report
		if !sleepCtx(ctx, scrubWait(r.BytesCompared, s.opts.ScrubRate, time.Since(start))) {
			return false
		}
		if !res.Identical() || from+scrubWindow >= max(r.SourceSize, r.TargetSize) {
			return true
		}
	}
}

// scrubWait is how long the scrub waits after comparing n bytes in elapsed
// so that it moves at rate bytes per second.
func scrubWait(n, rate int64, elapsed time.Duration) time.Duration {
	if rate <= 0 {
		return 0
	}
	due := time.Duration(float64(n) / float64(rate) * float64(time.Second))
	return max(due-elapsed, 0)
}

// sleepCtx waits d or until ctx ends; it reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
