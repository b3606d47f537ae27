package replica

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// DefaultScrubPause is Options.ScrubPause when it is zero.
const DefaultScrubPause = 10 * time.Second

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
		if x.CopyState != CopyStateSynchronized {
			continue
		}
		start := time.Now()
		res, err := s.verify(ctx, []string{x.ID}, VerifyOptions{BandwidthLimit: s.opts.ScrubRate})
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrInUse) || errors.Is(err, ErrCopyInProgress) || errors.Is(err, ErrSyncNotFound):
			continue // busy or gone meanwhile: next pass
		case err != nil:
			s.logger.Warn("scrub: verify failed", zap.String("sync", x.ID), zap.Error(err))
			continue
		}
		compared := res.Pairs[0].Report.BytesCompared
		if !sleepCtx(ctx, scrubWait(compared, s.opts.ScrubRate, time.Since(start))) {
			return
		}
	}
	s.integrity.passes.Add(1)
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
