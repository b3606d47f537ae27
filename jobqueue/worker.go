package jobqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/replicad/replicad/store"
	"go.uber.org/zap"
)

// work is a worker goroutine: it runs queued jobs one at a time until Close.
func (q *Queue) work() {
	for {
		id, ok := q.take()
		if !ok {
			return
		}
		q.execute(id)
	}
}

// take returns the next queued job ID, waiting for one; false after Close.
func (q *Queue) take() (string, bool) {
	for {
		if q.ctx.Err() != nil {
			return "", false
		}
		q.mu.Lock()
		if len(q.ready) > 0 {
			id := q.ready[0]
			q.ready = q.ready[1:]
			more := len(q.ready) > 0
			q.mu.Unlock()
			if more {
				q.signal()
			}
			return id, true
		}
		q.mu.Unlock()
		select {
		case <-q.ctx.Done():
			return "", false
		case <-q.wake:
		}
	}
}

// forget drops job id from this process's bookkeeping.
func (q *Queue) forget(id string) {
	q.mu.Lock()
	delete(q.active, id)
	q.mu.Unlock()
}

// execute claims job id in the store, runs its handler and records the outcome.
func (q *Queue) execute(id string) {
	ctx, cancel := context.WithCancel(q.ctx)
	defer cancel()
	q.mu.Lock()
	e := q.active[id]
	if e == nil { // cannot happen: enqueue registers every ready ID
		q.mu.Unlock()
		return
	}
	e.cancel = cancel
	q.mu.Unlock()
	if ctx.Err() != nil { // closing: leave the job as it is in the store
		q.forget(id)
		return
	}

	rec, err := q.claim(id)
	if err != nil || rec == nil {
		if err != nil {
			q.log.Error("claim job", zap.String("job", id), zap.Error(err))
		}
		q.forget(id)
		return
	}
	log := q.log.With(zap.String("job", id), zap.String("kind", rec.Kind))
	if rec.State.Final() { // terminated while the queue was down
		log.Info("job terminated before it resumed")
		q.forget(id)
		q.notify()
		return
	}

	q.mu.Lock()
	h := q.handlers[rec.Kind]
	q.mu.Unlock()
	run := &Run{
		ID:         id,
		Kind:       rec.Kind,
		Payload:    rec.Payload,
		Checkpoint: rec.Checkpoint,
		Attempt:    rec.Attempts,
		Logger:     log,
		db:         q.db,
		now:        q.opts.Now,
		interval:   q.opts.ProgressInterval,
		done:       rec.Done,
		total:      rec.Total,
		lastFlush:  q.opts.Now(),
	}
	q.mu.Lock()
	e.run = run
	q.mu.Unlock()

	var herr error
	switch {
	case h == nil:
		herr = &Error{Code: CodeFailed, Err: fmt.Errorf("kind %q: %w", rec.Kind, ErrUnknownKind)}
	case ctx.Err() != nil: // terminated or closed before it began
		herr = ctx.Err()
	default:
		log.Info("job started", zap.Int("attempt", run.Attempt))
		herr = q.call(ctx, h, run)
	}
	q.record(run, e, herr)
}

// claim marks job id Running in the store and returns its record. It returns
// nil when the job is no longer runnable (finished or removed since it was
// queued), and a Terminated record when a Terminate arrived while nobody ran
// it.
func (q *Queue) claim(id string) (*jobRecord, error) {
	var rec *jobRecord
	err := q.db.Update(func(tx *store.Tx) error {
		r, err := getRecord(tx, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if r.State.Final() {
			return nil
		}
		rec = r
		now := q.opts.Now()
		if r.TerminateRequested {
			r.ErrorCode, r.Err = CodeFailed, ErrTerminated.Error()
			return finish(tx, r, StateTerminated, now)
		}
		r.State = StateRunning
		if r.Started.IsZero() {
			r.Started = now
		}
		r.Attempts++
		return putRecord(tx, r)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// call runs h, turning a panic into an error.
func (q *Queue) call(ctx context.Context, h Handler, run *Run) (err error) {
	defer func() {
		if p := recover(); p != nil {
			run.Logger.Error("job handler panicked", zap.Any("panic", p), zap.StackSkip("stack", 1))
			err = &panicError{value: p}
		}
	}()
	return h(ctx, run)
}

// panicError is the outcome of a handler that panicked.
type panicError struct{ value any }

func (p *panicError) Error() string { return fmt.Sprintf("jobqueue: handler panicked: %v", p.value) }

// record stores the outcome of a handler and drops the job from memory.
func (q *Queue) record(run *Run, e *entry, herr error) {
	if run.isCompleted() {
		// Run.Complete recorded the end; an error returned after it changes
		// nothing.
		if herr != nil {
			run.Logger.Warn("job handler returned an error after it completed the job", zap.Error(herr))
		}
		q.forget(run.ID)
		run.Logger.Info("job completed")
		q.notify()
		return
	}
	q.mu.Lock()
	terminating := e.terminating
	q.mu.Unlock()
	var pe *panicError
	state := StateFailed
	switch {
	case herr == nil:
		state = StateCompleted
	case errors.As(herr, &pe):
	case terminating:
		state = StateTerminated
	case q.ctx.Err() != nil:
		state = StateRunning // interrupted by Close: resume on next Start
	}
	code, text := uint32(0), ""
	switch state {
	case StateFailed:
		code, text = CodeFailed, herr.Error()
		var je *Error
		if errors.As(herr, &je) {
			if je.Code != 0 {
				code = je.Code
			}
			if je.Message != "" {
				text = je.Message
			}
		}
	case StateTerminated:
		code, text = CodeFailed, ErrTerminated.Error()
	}
	done, total := run.progress()
	err := q.db.Update(func(tx *store.Tx) error {
		rec, err := getRecord(tx, run.ID)
		if err != nil {
			return err
		}
		rec.Done, rec.Total = done, total
		if state == StateRunning {
			return putRecord(tx, rec)
		}
		rec.ErrorCode, rec.Err = code, text
		rec.Result = run.resultValue()
		return finish(tx, rec, state, q.opts.Now())
	})
	log := run.Logger
	if err != nil {
		log.Error("record job outcome", zap.Stringer("state", state), zap.Error(err))
	}
	q.forget(run.ID)
	switch state {
	case StateRunning:
		log.Info("job interrupted; it resumes on next start", zap.NamedError("cause", herr))
	case StateCompleted:
		log.Info("job completed")
	case StateTerminated:
		log.Info("job terminated", zap.NamedError("cause", herr))
	default:
		log.Warn("job failed", zap.Uint32("code", code), zap.Error(herr))
	}
	if state != StateRunning {
		q.notify()
	}
}

// janitor periodically removes expired jobs and picks up jobs committed by
// SubmitTx without a Kick, until Close.
func (q *Queue) janitor() {
	poll := time.NewTicker(q.opts.PollInterval)
	defer poll.Stop()
	sweep := time.NewTicker(q.opts.SweepInterval)
	defer sweep.Stop()
	for {
		select {
		case <-q.ctx.Done():
			return
		case <-poll.C:
			q.Kick()
		case <-sweep.C:
			if n, err := q.sweep(q.opts.Now()); err != nil {
				q.log.Error("remove expired jobs", zap.Error(err))
			} else if n > 0 {
				q.log.Debug("removed expired jobs", zap.Int("count", n))
			}
		}
	}
}

// expired reports whether finished job r may be removed at now: TimeBeforeRemoval
// after it finished with DeleteOnCompletion, otherwise after KeepFinished
// (never when KeepFinished is negative).
func (q *Queue) expired(r *jobRecord, now time.Time) bool {
	if !r.State.Final() {
		return false
	}
	keep := r.TimeBeforeRemoval
	if !r.DeleteOnCompletion {
		if q.opts.KeepFinished < 0 {
			return false
		}
		keep = max(keep, q.opts.KeepFinished)
	}
	return !now.Before(r.Finished.Add(keep))
}

// sweep removes the finished jobs expired at now and returns how many.
func (q *Queue) sweep(now time.Time) (int, error) {
	var n int
	err := q.db.Update(func(tx *store.Tx) error {
		var ids []string
		err := tx.ForEach(bucketJobs, func(key string, raw []byte) error {
			var r jobRecord
			if err := store.Decode(raw, &r); err != nil {
				return err
			}
			if q.expired(&r, now) {
				ids = append(ids, key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.Delete(bucketJobs, id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("jobqueue: sweep: %w", err)
	}
	return n, nil
}
