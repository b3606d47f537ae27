package jobqueue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/replicad/replicad/store"
	"go.uber.org/zap"
)

// Defaults for the zero fields of Options.
const (
	DefaultWorkers          = 2
	DefaultMaxQueued        = 1024
	DefaultRetention        = 5 * time.Minute // CIM_Job.TimeBeforeRemoval default
	DefaultKeepFinished     = 24 * time.Hour
	DefaultProgressInterval = 5 * time.Second
	DefaultPollInterval     = time.Second
	DefaultSweepInterval    = 30 * time.Second
)

// Options tune Open. The zero value is usable: each zero field takes its
// Default value.
type Options struct {
	// Workers is how many handlers run at once.
	Workers int
	// MaxQueued bounds the unfinished (New or Running) jobs; Submit returns
	// ErrQueueFull beyond it.
	MaxQueued int
	// Retention is the TimeBeforeRemoval of jobs whose Spec gives none: how
	// long a finished job with DeleteOnCompletion is kept before the
	// janitor removes it.
	Retention time.Duration
	// KeepFinished is how long a finished job without DeleteOnCompletion is
	// kept when the client never deletes it (a safety net, at least
	// TimeBeforeRemoval). Negative keeps such jobs until Delete.
	KeepFinished time.Duration
	// ProgressInterval is the least time between two writes of a running
	// job's progress to the store.
	ProgressInterval time.Duration
	// PollInterval is how often the queue looks in the store for jobs
	// committed by SubmitTx when the submitter did not call Kick.
	PollInterval time.Duration
	// SweepInterval is how often the janitor removes expired jobs.
	SweepInterval time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Logger receives the queue's logs; zap.NewNop() when nil.
	Logger *zap.Logger
}

// Queue runs persistent jobs on a bounded set of workers. Its methods are
// safe for concurrent use.
type Queue struct {
	db   *store.DB
	opts Options
	log  *zap.Logger

	ctx    context.Context // cancelled by Close; parent of every job's ctx
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	handlers map[string]Handler
	active   map[string]*entry // jobs queued or running in this process
	ready    []string          // IDs waiting for a worker, in order
	changed  chan struct{}     // closed and replaced whenever a job finishes
	started  bool
	closed   bool

	wake chan struct{} // tells a worker that ready is not empty
}

// entry is the in-memory state of a job queued or running in this process.
type entry struct {
	run         *Run               // nil until a worker starts the handler
	cancel      context.CancelFunc // nil until a worker picks the job
	terminating bool               // Terminate was called while it ran
}

// Open returns a queue over db. It starts nothing: register handlers with
// Handle, then call Start.
func Open(db *store.DB, opts Options) (*Queue, error) {
	if db == nil {
		return nil, errors.New("jobqueue: open: nil store")
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = DefaultMaxQueued
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.KeepFinished == 0 {
		opts.KeepFinished = DefaultKeepFinished
	}
	if opts.ProgressInterval <= 0 {
		opts.ProgressInterval = DefaultProgressInterval
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{
		db:       db,
		opts:     opts,
		log:      opts.Logger,
		ctx:      ctx,
		cancel:   cancel,
		handlers: make(map[string]Handler),
		active:   make(map[string]*entry),
		changed:  make(chan struct{}),
		wake:     make(chan struct{}, 1),
	}, nil
}

// Handle registers h for jobs of kind. Call it before Start; it panics when
// kind is empty or already registered, h is nil, or the queue has started.
func (q *Queue) Handle(kind string, h Handler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case kind == "" || h == nil:
		panic("jobqueue: Handle needs a kind and a handler")
	case q.handlers[kind] != nil:
		panic("jobqueue: handler for kind " + kind + " registered twice")
	case q.started:
		panic("jobqueue: Handle called after Start")
	}
	q.handlers[kind] = h
}

// Start launches the workers and the janitor, and queues every job that is
// New or Running in the store: jobs submitted before Start, and jobs that
// were running when the queue last stopped, which are resumed from their
// last checkpoint. Later calls, and calls after Close, do nothing.
func (q *Queue) Start() {
	q.mu.Lock()
	if q.started || q.closed {
		q.mu.Unlock()
		return
	}
	q.started = true
	q.mu.Unlock()
	for range q.opts.Workers {
		q.wg.Go(q.work)
	}
	q.wg.Go(q.janitor)
	q.Kick()
}

// Close stops the queue: it cancels the ctx of running handlers and waits
// for them and the janitor to return. Jobs interrupted this way stay Running
// in the store and resume on the next Start over the same store. Close does
// not close the store. Later calls return nil.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()
	q.cancel()
	q.wg.Wait()
	return nil
}

// Submit stores a new job in its own transaction and queues it. It returns
// ErrUnknownKind, ErrQueueFull or ErrClosed.
func (q *Queue) Submit(spec Spec) (Job, error) {
	var job Job
	err := q.db.Update(func(tx *store.Tx) error {
		var err error
		job, err = q.SubmitTx(tx, spec)
		return err
	})
	if err != nil {
		return Job{}, err
	}
	q.enqueue([]string{job.ID})
	return job, nil
}

// SubmitTx stores a new job inside the caller's transaction, so that the job
// exists exactly when the caller's own records do. The job runs only once
// the transaction has committed: call Kick after Update returns to start it
// at once, otherwise the queue finds it within Options.PollInterval. A
// rolled-back transaction leaves no job behind. It returns ErrUnknownKind,
// ErrQueueFull or ErrClosed.
func (q *Queue) SubmitTx(tx *store.Tx, spec Spec) (Job, error) {
	q.mu.Lock()
	closed, known := q.closed, q.handlers[spec.Kind] != nil
	q.mu.Unlock()
	if closed {
		return Job{}, ErrClosed
	}
	if !known {
		return Job{}, fmt.Errorf("submit %q: %w", spec.Kind, ErrUnknownKind)
	}
	var payload json.RawMessage
	if spec.Payload != nil {
		raw, err := json.Marshal(spec.Payload)
		if err != nil {
			return Job{}, fmt.Errorf("jobqueue: encode payload of %s job: %w", spec.Kind, err)
		}
		payload = raw
	}
	n, err := countPending(tx)
	if err != nil {
		return Job{}, err
	}
	if n >= q.opts.MaxQueued {
		return Job{}, fmt.Errorf("submit %s job: %d unfinished: %w", spec.Kind, n, ErrQueueFull)
	}
	seq, err := tx.NextSequence(bucketJobs)
	if err != nil {
		return Job{}, fmt.Errorf("jobqueue: submit %s job: %w", spec.Kind, err)
	}
	retention := spec.TimeBeforeRemoval
	if retention <= 0 {
		retention = q.opts.Retention
	}
	rec := &jobRecord{
		Seq:                seq,
		ID:                 uuid.NewString(),
		Kind:               spec.Kind,
		Name:               spec.Name,
		Description:        spec.Description,
		State:              StateNew,
		Submitted:          q.opts.Now(),
		Affected:           slices.Clone(spec.Affected),
		Owner:              spec.Owner,
		DeleteOnCompletion: spec.DeleteOnCompletion,
		TimeBeforeRemoval:  retention,
		Payload:            payload,
	}
	if err := putRecord(tx, rec); err != nil {
		return Job{}, err
	}
	if err := tx.Put(bucketPending, pendingKey(seq), rec.ID); err != nil {
		return Job{}, fmt.Errorf("jobqueue: index job %s: %w", rec.ID, err)
	}
	return rec.job(), nil
}

// Kick queues every committed unfinished job that this process does not run
// or queue yet. Call it after the Update that called SubmitTx returns. It
// does nothing before Start or after Close.
func (q *Queue) Kick() {
	q.mu.Lock()
	live := q.started && !q.closed
	q.mu.Unlock()
	if !live {
		return
	}
	var ids []string
	err := q.db.View(func(tx *store.Tx) error {
		var err error
		ids, err = pendingIDs(tx)
		return err
	})
	if err != nil {
		q.log.Error("look for pending jobs", zap.Error(err))
		return
	}
	q.enqueue(ids)
}

// enqueue adds the IDs not yet known to the ready list and wakes a worker.
// A job queued twice by a race is harmless: the worker re-reads its record.
func (q *Queue) enqueue(ids []string) {
	q.mu.Lock()
	added := false
	for _, id := range ids {
		if _, ok := q.active[id]; ok {
			continue
		}
		q.active[id] = &entry{}
		q.ready = append(q.ready, id)
		added = true
	}
	q.mu.Unlock()
	if added {
		q.signal()
	}
}

// signal wakes one idle worker, if any.
func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// notify wakes every Wait.
func (q *Queue) notify() {
	q.mu.Lock()
	close(q.changed)
	q.changed = make(chan struct{})
	q.mu.Unlock()
}

// Get returns job id, with the in-memory progress of a running job. It
// returns ErrNotFound.
func (q *Queue) Get(id string) (Job, error) {
	var rec *jobRecord
	err := q.db.View(func(tx *store.Tx) error {
		var err error
		rec, err = getRecord(tx, id)
		return err
	})
	if err != nil {
		return Job{}, err
	}
	return q.live(rec), nil
}

// List returns every job in the store, oldest first.
func (q *Queue) List() ([]Job, error) {
	var recs []*jobRecord
	err := q.db.View(func(tx *store.Tx) error {
		return tx.ForEach(bucketJobs, func(_ string, raw []byte) error {
			var r jobRecord
			if err := store.Decode(raw, &r); err != nil {
				return err
			}
			recs = append(recs, &r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("jobqueue: list jobs: %w", err)
	}
	slices.SortFunc(recs, func(a, b *jobRecord) int { return cmp.Compare(a.Seq, b.Seq) })
	jobs := make([]Job, len(recs))
	for i, r := range recs {
		jobs[i] = q.live(r)
	}
	return jobs, nil
}

// live converts rec to a Job, with the in-memory progress when the job is
// running in this process. A job that Run.Complete recorded Completed is
// shown Running until its handler has returned.
func (q *Queue) live(rec *jobRecord) Job {
	if rec.State == StateRunning || rec.State == StateCompleted {
		q.mu.Lock()
		e := q.active[rec.ID]
		var run *Run
		if e != nil {
			run = e.run
		}
		q.mu.Unlock()
		if run != nil {
			if rec.State == StateCompleted {
				rec.State, rec.Finished, rec.Result = StateRunning, time.Time{}, nil
			}
			rec.Done, rec.Total = run.progress()
		}
	}
	return rec.job()
}

// Terminate stops job id. A New job becomes Terminated at once. A Running
// job has its handler's ctx cancelled and becomes Terminated when the
// handler returns (Completed if it returns nil); the request is stored, so
// a job interrupted by a restart meanwhile is terminated instead of resumed.
// It returns ErrNotFound, or ErrFinished for a job already final.
func (q *Queue) Terminate(id string) error {
	var state State
	err := q.db.Update(func(tx *store.Tx) error {
		rec, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		state = rec.State
		switch rec.State {
		case StateNew:
			rec.ErrorCode, rec.Err = CodeFailed, ErrTerminated.Error()
			return finish(tx, rec, StateTerminated, q.opts.Now())
		case StateRunning:
			rec.TerminateRequested = true
			return putRecord(tx, rec)
		}
		return fmt.Errorf("terminate job %s (%s): %w", id, rec.State, ErrFinished)
	})
	if err != nil {
		return err
	}
	if state == StateNew {
		q.log.Info("job terminated before it started", zap.String("job", id))
		q.notify()
		return nil
	}
	q.mu.Lock()
	if e := q.active[id]; e != nil {
		e.terminating = true
		if e.cancel != nil {
			e.cancel()
		}
	}
	q.mu.Unlock()
	q.log.Info("job termination requested", zap.String("job", id))
	return nil
}

// Delete removes finished job id. It returns ErrNotFound, or ErrNotFinished
// for a job that is New or Running (Terminate it first).
func (q *Queue) Delete(id string) error {
	return q.db.Update(func(tx *store.Tx) error {
		rec, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		if !rec.State.Final() {
			return fmt.Errorf("delete job %s (%s): %w", id, rec.State, ErrNotFinished)
		}
		if err := tx.Delete(bucketJobs, id); err != nil {
			return fmt.Errorf("jobqueue: delete job %s: %w", id, err)
		}
		return nil
	})
}

// SetRetention changes when finished job id is removed (CIM
// DeleteOnCompletion and TimeBeforeRemoval are writable). A
// timeBeforeRemoval of 0 keeps the current value. It returns ErrNotFound.
func (q *Queue) SetRetention(id string, deleteOnCompletion bool, timeBeforeRemoval time.Duration) error {
	return q.db.Update(func(tx *store.Tx) error {
		rec, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		rec.DeleteOnCompletion = deleteOnCompletion
		if timeBeforeRemoval > 0 {
			rec.TimeBeforeRemoval = timeBeforeRemoval
		}
		return putRecord(tx, rec)
	})
}

// Wait blocks until job id is final and returns it. It returns early with
// the job as last seen and ctx's error when ctx is done, ErrClosed when the
// queue closes, and ErrNotFound for an unknown job.
func (q *Queue) Wait(ctx context.Context, id string) (Job, error) {
	for {
		q.mu.Lock()
		changed := q.changed
		q.mu.Unlock()
		job, err := q.Get(id)
		if err != nil || job.State.Final() {
			return job, err
		}
		select {
		case <-ctx.Done():
			return job, fmt.Errorf("wait for job %s: %w", id, ctx.Err())
		case <-q.ctx.Done():
			return job, fmt.Errorf("wait for job %s: %w", id, ErrClosed)
		case <-changed:
		}
	}
}
