package jobqueue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/store"
	"go.uber.org/zap/zaptest"
)

// openDB opens a state database in a temporary directory, closed at cleanup.
func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openQueue opens a queue over db with the given handlers, closed at cleanup.
// It does not start it.
func openQueue(t *testing.T, db *store.DB, opts jobqueue.Options, handlers map[string]jobqueue.Handler) *jobqueue.Queue {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = zaptest.NewLogger(t)
	}
	q, err := jobqueue.Open(db, opts)
	if err != nil {
		t.Fatalf("open queue: %v", err)
	}
	for kind, h := range handlers {
		q.Handle(kind, h)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// startQueue is openQueue followed by Start.
func startQueue(t *testing.T, db *store.DB, opts jobqueue.Options, handlers map[string]jobqueue.Handler) *jobqueue.Queue {
	t.Helper()
	q := openQueue(t, db, opts, handlers)
	q.Start()
	return q
}

// wait waits for job id to finish, failing the test on error.
func wait(t *testing.T, q *jobqueue.Queue, id string) jobqueue.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	j, err := q.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait for job %s: %v", id, err)
	}
	return j
}

func submit(t *testing.T, q *jobqueue.Queue, spec jobqueue.Spec) jobqueue.Job {
	t.Helper()
	j, err := q.Submit(spec)
	if err != nil {
		t.Fatalf("submit %+v: %v", spec, err)
	}
	return j
}

type copyPayload struct {
	Source, Target string
	Size           int64
}

func TestSubmitComplete(t *testing.T) {
	db := openDB(t)
	q := startQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{
		"copy": func(ctx context.Context, run *jobqueue.Run) error {
			var p copyPayload
			if err := json.Unmarshal(run.Payload, &p); err != nil {
				return err
			}
			run.Progress(p.Size/2, p.Size)
			run.Progress(p.Size, p.Size)
			return run.SetResult(map[string]string{"copied": p.Source + " to " + p.Target})
		},
	})
	spec := jobqueue.Spec{
		Kind: "copy", Name: "Replicate", Description: "copy a to b",
		Payload:  copyPayload{Source: "a", Target: "b", Size: 4096},
		Affected: []string{"vol:b"}, Owner: "svc",
	}
	sub := submit(t, q, spec)
	if sub.State != jobqueue.StateNew {
		t.Errorf("submitted state: got %v, want New", sub.State)
	}
	if sub.TimeBeforeRemoval != 5*time.Minute { // CIM_Job.TimeBeforeRemoval's default
		t.Errorf("TimeBeforeRemoval: got %v, want 5m", sub.TimeBeforeRemoval)
	}
	j := wait(t, q, sub.ID)
	checks := []struct {
		name      string
		got, want any
	}{
		{"State", j.State, jobqueue.StateCompleted},
		{"PercentComplete", j.PercentComplete, uint16(100)},
		{"Done", j.Done, int64(4096)},
		{"Total", j.Total, int64(4096)},
		{"ErrorCode", j.ErrorCode, uint32(0)},
		{"Err", j.Err, ""},
		{"Result", string(j.Result), `{"copied":"a to b"}`},
		{"Payload", string(j.Payload), `{"Source":"a","Target":"b","Size":4096}`},
		{"Affected", strings.Join(j.Affected, ","), "vol:b"},
		{"Owner", j.Owner, "svc"},
		{"Name", j.Name, "Replicate"},
		{"Attempts", j.Attempts, 1},
		{"Started set", !j.Started.IsZero(), true},
		{"Finished after Started", !j.Finished.Before(j.Started), true},
		{"Elapsed", j.Elapsed(time.Now()), j.Finished.Sub(j.Started)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	list, err := q.List()
	if err != nil || len(list) != 1 || list[0].ID != sub.ID {
		t.Errorf("List: got %v, %v; want the one job %s", list, err, sub.ID)
	}
}

func TestOutcomes(t *testing.T) {
	db := openDB(t)
	q := startQueue(t, db, jobqueue.Options{Workers: 1}, map[string]jobqueue.Handler{
		"outcome": func(ctx context.Context, run *jobqueue.Run) error {
			var name string
			if err := json.Unmarshal(run.Payload, &name); err != nil {
				return err
			}
			switch name {
			case "plain error":
				return errors.New("disk on fire")
			case "typed error":
				return &jobqueue.Error{Code: 32786, Message: "volume busy", Err: errors.New("EBUSY")}
			case "wrapped typed error":
				return fmt.Errorf("copy extent: %w", &jobqueue.Error{Code: 5, Message: "invalid extent"})
			case "typed error without code":
				return &jobqueue.Error{Err: errors.New("short read")}
			case "panic":
				panic("index out of range")
			case "result":
				return run.SetResult([]int{1, 2})
			}
			return fmt.Errorf("unknown case %q", name)
		},
	})
	tests := []struct {
		name      string
		wantState jobqueue.State
		wantCode  uint32
		wantErr   string
		wantRes   string
	}{
		{"plain error", jobqueue.StateFailed, jobqueue.CodeFailed, "disk on fire", ""},
		{"typed error", jobqueue.StateFailed, 32786, "volume busy", ""},
		{"wrapped typed error", jobqueue.StateFailed, 5, "invalid extent", ""},
		{"typed error without code", jobqueue.StateFailed, jobqueue.CodeFailed, "short read", ""},
		{"panic", jobqueue.StateFailed, jobqueue.CodeFailed, "jobqueue: handler panicked: index out of range", ""},
		// Runs after the panic: the queue keeps working.
		{"result", jobqueue.StateCompleted, 0, "", "[1,2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := wait(t, q, submit(t, q, jobqueue.Spec{Kind: "outcome", Payload: tt.name}).ID)
			if j.State != tt.wantState {
				t.Errorf("State: got %v, want %v", j.State, tt.wantState)
			}
			if j.ErrorCode != tt.wantCode {
				t.Errorf("ErrorCode: got %d, want %d", j.ErrorCode, tt.wantCode)
			}
			if j.Err != tt.wantErr {
				t.Errorf("Err: got %q, want %q", j.Err, tt.wantErr)
			}
			if string(j.Result) != tt.wantRes {
				t.Errorf("Result: got %s, want %s", j.Result, tt.wantRes)
			}
			if j.PercentComplete != 100 {
				t.Errorf("PercentComplete: got %d, want 100", j.PercentComplete)
			}
		})
	}
}

func TestTerminateRunning(t *testing.T) {
	db := openDB(t)
	started := make(chan string, 1)
	var cleaned atomic.Bool
	q := startQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{
		"long": func(ctx context.Context, run *jobqueue.Run) error {
			run.Progress(10, 100)
			started <- run.ID
			<-ctx.Done()
			cleaned.Store(true) // the handler removes its partial target here
			return ctx.Err()
		},
	})
	sub := submit(t, q, jobqueue.Spec{Kind: "long"})
	if id := <-started; id != sub.ID {
		t.Fatalf("started job: got %s, want %s", id, sub.ID)
	}
	if err := q.Terminate(sub.ID); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	j := wait(t, q, sub.ID)
	if j.State != jobqueue.StateTerminated || j.PercentComplete >= 100 || j.ErrorCode != jobqueue.CodeFailed {
		t.Errorf("terminated job: got state %v, percent %d, code %d; want Terminated, below 100 (issue 20), %d",
			j.State, j.PercentComplete, j.ErrorCode, jobqueue.CodeFailed)
	}
	if j.Err != jobqueue.ErrTerminated.Error() {
		t.Errorf("Err: got %q, want %q", j.Err, jobqueue.ErrTerminated.Error())
	}
	if !cleaned.Load() {
		t.Errorf("handler cleanup: got not run, want run before the job is final")
	}
	if err := q.Terminate(sub.ID); !errors.Is(err, jobqueue.ErrFinished) {
		t.Errorf("second Terminate: got %v, want ErrFinished", err)
	}
	if err := q.Delete(sub.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := q.Get(sub.ID); !errors.Is(err, jobqueue.ErrNotFound) {
		t.Errorf("Get after Delete: got %v, want ErrNotFound", err)
	}
}

func TestTerminateNew(t *testing.T) {
	db := openDB(t)
	var mu sync.Mutex
	var ran []string
	q := openQueue(t, db, jobqueue.Options{Workers: 1}, map[string]jobqueue.Handler{
		"work": func(ctx context.Context, run *jobqueue.Run) error {
			mu.Lock()
			ran = append(ran, run.ID)
			mu.Unlock()
			return nil
		},
	})
	a := submit(t, q, jobqueue.Spec{Kind: "work"})
	if err := q.Terminate(a.ID); err != nil {
		t.Fatalf("Terminate New: %v", err)
	}
	j, err := q.Get(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != jobqueue.StateTerminated || j.PercentComplete != 0 || !j.Started.IsZero() {
		t.Errorf("terminated New job: got state %v, percent %d, started %v; want Terminated, 0, zero",
			j.State, j.PercentComplete, j.Started)
	}
	q.Start()
	b := submit(t, q, jobqueue.Spec{Kind: "work"})
	wait(t, q, b.ID)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(ran, []string{b.ID}) {
		t.Errorf("handlers run: got %v, want only %s", ran, b.ID)
	}
}

func TestDeleteAndGetErrors(t *testing.T) {
	db := openDB(t)
	q := openQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{
		"work": func(ctx context.Context, run *jobqueue.Run) error { return nil },
	})
	j := submit(t, q, jobqueue.Spec{Kind: "work"})
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"Delete New", func() error { return q.Delete(j.ID) }, jobqueue.ErrNotFinished},
		{"Delete unknown", func() error { return q.Delete("nope") }, jobqueue.ErrNotFound},
		{"Get unknown", func() error { _, err := q.Get("nope"); return err }, jobqueue.ErrNotFound},
		{"Terminate unknown", func() error { return q.Terminate("nope") }, jobqueue.ErrNotFound},
		{"Wait unknown", func() error { _, err := q.Wait(t.Context(), "nope"); return err }, jobqueue.ErrNotFound},
		{"Submit unknown kind", func() error { _, err := q.Submit(jobqueue.Spec{Kind: "other"}); return err }, jobqueue.ErrUnknownKind},
		{"SetRetention unknown", func() error { return q.SetRetention("nope", true, 0) }, jobqueue.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWait(t *testing.T) {
	db := openDB(t)
	q := openQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{
		"work": func(ctx context.Context, run *jobqueue.Run) error { return nil },
	})
	j := submit(t, q, jobqueue.Spec{Kind: "work"})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got, err := q.Wait(ctx, j.ID)
	if !errors.Is(err, context.Canceled) || got.State != jobqueue.StateNew {
		t.Errorf("Wait with cancelled ctx: got %v, %v; want New, context.Canceled", got.State, err)
	}

	q.Start()
	if got := wait(t, q, j.ID); got.State != jobqueue.StateCompleted {
		t.Errorf("Wait: got %v, want Completed", got.State)
	}

	pending := submit(t, q, jobqueue.Spec{Kind: "work"})
	q.Close()
	// The job may or may not have run before Close; Wait must return either way.
	got, err = q.Wait(t.Context(), pending.ID)
	if err != nil && !errors.Is(err, jobqueue.ErrClosed) {
		t.Errorf("Wait after Close: got %v, want nil or ErrClosed", err)
	}
	if err == nil && !got.State.Final() {
		t.Errorf("Wait after Close: got state %v with no error, want a final state", got.State)
	}
	if _, err := q.Submit(jobqueue.Spec{Kind: "work"}); !errors.Is(err, jobqueue.ErrClosed) {
		t.Errorf("Submit after Close: got %v, want ErrClosed", err)
	}
}

func TestSubmitTx(t *testing.T) {
	db := openDB(t)
	var mu sync.Mutex
	ran := map[string]bool{}
	q := startQueue(t, db, jobqueue.Options{Workers: 1, PollInterval: 10 * time.Millisecond}, map[string]jobqueue.Handler{
		"work": func(ctx context.Context, run *jobqueue.Run) error {
			mu.Lock()
			ran[run.ID] = true
			mu.Unlock()
			return nil
		},
	})
	errRollback := errors.New("caller's own record failed")
	var rolledBack jobqueue.Job
	err := db.Update(func(tx *store.Tx) error {
		var err error
		if rolledBack, err = q.SubmitTx(tx, jobqueue.Spec{Kind: "work"}); err != nil {
			return err
		}
		if err := tx.Put("replicas", "r1", "caller record"); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("rolled-back Update: got %v, want %v", err, errRollback)
	}
	q.Kick()

	commit := func(kick bool) jobqueue.Job {
		var j jobqueue.Job
		err := db.Update(func(tx *store.Tx) error {
			var err error
			j, err = q.SubmitTx(tx, jobqueue.Spec{Kind: "work"})
			return err
		})
		if err != nil {
			t.Fatalf("committed Update: %v", err)
		}
		if kick {
			q.Kick()
		}
		return j
	}
	kicked := commit(true)
	polled := commit(false) // found by the queue's poll
	for _, j := range []jobqueue.Job{kicked, polled} {
		if got := wait(t, q, j.ID); got.State != jobqueue.StateCompleted {
			t.Errorf("committed job %s: got %v, want Completed", j.ID, got.State)
		}
	}
	if _, err := q.Get(rolledBack.ID); !errors.Is(err, jobqueue.ErrNotFound) {
		t.Errorf("Get rolled-back job: got %v, want ErrNotFound", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ran[rolledBack.ID] || len(ran) != 2 {
		t.Errorf("handlers run: got %v, want only %s and %s", ran, kicked.ID, polled.ID)
	}
}

func TestQueueFull(t *testing.T) {
	db := openDB(t)
	q := openQueue(t, db, jobqueue.Options{MaxQueued: 2}, map[string]jobqueue.Handler{
		"work": func(ctx context.Context, run *jobqueue.Run) error { return nil },
	})
	a := submit(t, q, jobqueue.Spec{Kind: "work"})
	submit(t, q, jobqueue.Spec{Kind: "work"})
	if _, err := q.Submit(jobqueue.Spec{Kind: "work"}); !errors.Is(err, jobqueue.ErrQueueFull) {
		t.Fatalf("third Submit: got %v, want ErrQueueFull", err)
	}
	if err := q.Terminate(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Submit(jobqueue.Spec{Kind: "work"}); err != nil {
		t.Errorf("Submit after a job finished: got %v, want nil", err)
	}
}

func TestProgressInMemory(t *testing.T) {
	db := openDB(t)
	step := make(chan string)
	next := make(chan struct{})
	q := startQueue(t, db, jobqueue.Options{ProgressInterval: time.Hour}, map[string]jobqueue.Handler{
		"copy": func(ctx context.Context, run *jobqueue.Run) error {
			run.Progress(50, 100)
			step <- "progress"
			<-next
			if err := run.SaveCheckpoint(map[string]int{"extent": 5}); err != nil {
				return err
			}
			run.Progress(100, 100)
			step <- "checkpoint"
			<-next
			return nil
		},
	})
	sub := submit(t, q, jobqueue.Spec{Kind: "copy"})

	type want struct {
		state            jobqueue.State
		percent          uint16
		done, storedDone int64
		checkpoint       string
	}
	check := func(name string, w want) {
		t.Helper()
		j, err := q.Get(sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		storedDone, _, err := jobqueue.StoredProgress(db, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := want{j.State, j.PercentComplete, j.Done, storedDone, string(j.Checkpoint)}
		if got != w {
			t.Errorf("%s: got %+v, want %+v", name, got, w)
		}
	}
	<-step
	check("after Progress", want{jobqueue.StateRunning, 50, 50, 0, ""})
	next <- struct{}{}
	<-step
	check("after checkpoint", want{jobqueue.StateRunning, 99, 100, 50, `{"extent":5}`})
	next <- struct{}{}
	wait(t, q, sub.ID)
	check("finished", want{jobqueue.StateCompleted, 100, 100, 100, `{"extent":5}`})
}

func TestBoundedWorkers(t *testing.T) {
	const workers, jobs = 2, 6
	db := openDB(t)
	var inflight, most atomic.Int32
	started := make(chan struct{}, jobs)
	gate := make(chan struct{})
	q := startQueue(t, db, jobqueue.Options{Workers: workers}, map[string]jobqueue.Handler{
		"work": func(ctx context.Context, run *jobqueue.Run) error {
			n := inflight.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			started <- struct{}{}
			<-gate
			inflight.Add(-1)
			return nil
		},
	})
	var ids []string
	for range jobs {
		ids = append(ids, submit(t, q, jobqueue.Spec{Kind: "work"}).ID)
	}
	for range workers {
		<-started
	}
	close(gate)
	for _, id := range ids {
		if j := wait(t, q, id); j.State != jobqueue.StateCompleted {
			t.Errorf("job %s: got %v, want Completed", id, j.State)
		}
	}
	if got := most.Load(); got != workers {
		t.Errorf("most handlers at once: got %d, want %d", got, workers)
	}
}

func TestStateString(t *testing.T) {
	tests := []struct {
		s     jobqueue.State
		want  string
		final bool
	}{
		{jobqueue.StateNew, "New", false},
		{jobqueue.StateRunning, "Running", false},
		{jobqueue.StateCompleted, "Completed", true},
		{jobqueue.StateFailed, "Failed", true},
		{jobqueue.StateTerminated, "Terminated", true},
		{jobqueue.State(0), "State(0)", false},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.s.String(); got != tt.want {
				t.Errorf("String: got %q, want %q", got, tt.want)
			}
			if got := tt.s.Final(); got != tt.final {
				t.Errorf("Final: got %v, want %v", got, tt.final)
			}
		})
	}
}
