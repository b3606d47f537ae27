package jobqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/replicad/replicad/store"
	"go.uber.org/zap"
)

// Handler does the work of one kind of job. It is called on a worker
// goroutine with the job's Run, and again with the last saved Checkpoint
// when the job is resumed after a restart.
//
// ctx is cancelled when the job is terminated (Queue.Terminate) or the queue
// closes (Queue.Close). The handler must then stop promptly and return an
// error (ctx.Err() is fine): Close waits for it.
//
//   - Returning nil completes the job, even if ctx was cancelled meanwhile.
//   - Returning an error after Terminate marks the job Terminated. The
//     handler cleans up what it created (partial targets and the like)
//     before it returns: the queue knows nothing of them.
//   - Returning an error after Close leaves the job Running in the store; it
//     is resumed from its last checkpoint on the next Start. The handler
//     should leave its targets as they are, consistent with that checkpoint.
//   - Any other error fails the job; an *Error chooses the error code.
//   - A panic fails the job with CodeFailed; the queue keeps working.
type Handler func(ctx context.Context, job *Run) error

// Run is a handler's view of the job it runs. Its methods are safe for
// concurrent use by the handler's goroutines. Progress and SaveCheckpoint
// write the store: never call them inside a store transaction (bbolt has one
// writer, so that would deadlock).
type Run struct {
	// ID and Kind identify the job.
	ID, Kind string
	// Payload is the job's input as submitted.
	Payload json.RawMessage
	// Checkpoint is the last checkpoint saved by an earlier attempt, nil on
	// the first one.
	Checkpoint json.RawMessage
	// Attempt is 1 on the first run and grows with each resume.
	Attempt int
	// Logger is the queue's logger with the job's ID and kind attached.
	Logger *zap.Logger

	db       *store.DB
	now      func() time.Time
	interval time.Duration

	mu        sync.Mutex
	done      int64
	total     int64
	lastFlush time.Time
	result    json.RawMessage
	completed bool // Complete committed the job's end
}

// Progress records that done of total units are finished. It is kept in
// memory (Queue.Get shows it at once) and written to the store at most once
// per Options.ProgressInterval, at checkpoints and when the job ends.
func (r *Run) Progress(done, total int64) {
	now := r.now()
	r.mu.Lock()
	r.done, r.total = done, total
	flush := now.Sub(r.lastFlush) >= r.interval
	if flush {
		r.lastFlush = now
	}
	r.mu.Unlock()
	if !flush {
		return
	}
	if err := r.save(nil); err != nil {
		r.Logger.Warn("persist job progress", zap.Error(err))
	}
}

// progress returns the last reported progress.
func (r *Run) progress() (done, total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done, r.total
}

// SaveCheckpoint persists v, encoded as JSON, as the job's checkpoint
// together with the current progress, in its own short transaction. A
// resumed handler finds it in Run.Checkpoint. Call it only once the work it
// describes is durable (after fdatasync). It returns ErrNotRunning when the
// job is no longer running in the store.
func (r *Run) SaveCheckpoint(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jobqueue: encode checkpoint of job %s: %w", r.ID, err)
	}
	r.mu.Lock()
	r.lastFlush = r.now()
	r.mu.Unlock()
	return r.save(raw)
}

// save writes the progress, and checkpoint when not nil, to the job's record.
func (r *Run) save(checkpoint json.RawMessage) error {
	return r.db.Update(func(tx *store.Tx) error {
		rec, err := getRecord(tx, r.ID)
		if err != nil {
			return err
		}
		if rec.State != StateRunning {
			return fmt.Errorf("save job %s (%s): %w", r.ID, rec.State, ErrNotRunning)
		}
		rec.Done, rec.Total = r.progress()
		if checkpoint != nil {
			rec.Checkpoint = checkpoint
		}
		return putRecord(tx, rec)
	})
}

// SetResult records v, encoded as JSON, as the job's result. It is saved with
// the job's final state and shown in Job.Result; a later call replaces it.
func (r *Run) SetResult(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jobqueue: encode result of job %s: %w", r.ID, err)
	}
	r.mu.Lock()
	r.result = raw
	r.mu.Unlock()
	return nil
}

// Complete records the job Completed, with its progress and result, in one
// transaction that also runs fn: the handler's own final records commit
// together with the job's end, or neither does. It is for a handler whose
// last step is a store write: one commit instead of two, and no moment at
// which those records are written but the job is not done. Call it only
// once the work is durable, and return nil after it; until the handler has
// returned, Get still shows the job Running, so that nobody acts on a job
// whose handler still holds resources. When fn or the commit fails,
// nothing is written and the job is still running: the handler returns the
// error. It returns ErrNotRunning when the job is no longer running in the
// store.
func (r *Run) Complete(fn func(tx *store.Tx) error) error {
	err := r.db.Update(func(tx *store.Tx) error {
		rec, err := getRecord(tx, r.ID)
		if err != nil {
			return err
		}
		if rec.State != StateRunning {
			return fmt.Errorf("complete job %s (%s): %w", r.ID, rec.State, ErrNotRunning)
		}
		if err := fn(tx); err != nil {
			return err
		}
		rec.Done, rec.Total = r.progress()
		rec.ErrorCode, rec.Err = 0, ""
		rec.Result = r.resultValue()
		return finish(tx, rec, StateCompleted, r.now())
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.completed = true
	r.mu.Unlock()
	return nil
}

// isCompleted reports whether Complete committed the job's end.
func (r *Run) isCompleted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.completed
}

// resultValue returns the result set by the handler.
func (r *Run) resultValue() json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.result
}
