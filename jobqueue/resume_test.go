package jobqueue_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/store"
)

// stepper is a job handler that does Steps steps, saving a checkpoint after
// each, and stops at Block on its first attempt until its ctx is cancelled.
type stepper struct {
	Block int

	mu      sync.Mutex
	seen    []int // checkpoint each attempt started from
	reached chan struct{}
}

type stepPayload struct{ Steps int }

func (s *stepper) handle(ctx context.Context, run *jobqueue.Run) error {
	var p stepPayload
	if err := json.Unmarshal(run.Payload, &p); err != nil {
		return err
	}
	from := 0
	if run.Checkpoint != nil {
		if err := json.Unmarshal(run.Checkpoint, &from); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.seen = append(s.seen, from)
	s.mu.Unlock()
	for i := from; i < p.Steps; i++ {
		if run.Attempt == 1 && i == s.Block {
			close(s.reached)
			<-ctx.Done()
			return ctx.Err()
		}
		run.Progress(int64(i+1), int64(p.Steps))
		if err := run.SaveCheckpoint(i + 1); err != nil {
			return err
		}
	}
	return nil
}

func reopen(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("reopen store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestResumeAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := reopen(t, path)
	s := &stepper{Block: 3, reached: make(chan struct{})}
	q1 := startQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{"step": s.handle})
	sub := submit(t, q1, jobqueue.Spec{Kind: "step", Payload: stepPayload{Steps: 8}})
	<-s.reached
	if err := q1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}

	db = reopen(t, path)
	q2 := openQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{"step": s.handle})
	j, err := q2.Get(sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != jobqueue.StateRunning || string(j.Checkpoint) != "3" || j.Done != 3 {
		t.Errorf("interrupted job: got state %v, checkpoint %s, done %d; want Running, 3, 3",
			j.State, j.Checkpoint, j.Done)
	}
	q2.Start()
	j = wait(t, q2, sub.ID)
	if j.State != jobqueue.StateCompleted || j.Attempts != 2 || string(j.Checkpoint) != "8" {
		t.Errorf("resumed job: got state %v, attempts %d, checkpoint %s; want Completed, 2, 8",
			j.State, j.Attempts, j.Checkpoint)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Equal(s.seen, []int{0, 3}) {
		t.Errorf("checkpoints seen by attempts: got %v, want [0 3]", s.seen)
	}
}

func TestTerminateWhileDown(t *testing.T) {
	db := openDB(t)
	s := &stepper{Block: 1, reached: make(chan struct{})}
	q1 := startQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{"step": s.handle})
	sub := submit(t, q1, jobqueue.Spec{Kind: "step", Payload: stepPayload{Steps: 4}})
	<-s.reached
	q1.Close()

	q2 := openQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{"step": s.handle})
	if err := q2.Terminate(sub.ID); err != nil {
		t.Fatalf("Terminate a Running job before Start: %v", err)
	}
	if j, _ := q2.Get(sub.ID); j.State != jobqueue.StateRunning {
		t.Errorf("before Start: got %v, want Running until the queue handles the request", j.State)
	}
	q2.Start()
	j := wait(t, q2, sub.ID)
	if j.State != jobqueue.StateTerminated || j.Attempts != 1 {
		t.Errorf("job terminated while down: got %v after %d attempts, want Terminated after 1", j.State, j.Attempts)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) != 1 {
		t.Errorf("handler runs: got %d, want 1 (not resumed)", len(s.seen))
	}
}

func TestResumeWithoutHandler(t *testing.T) {
	db := openDB(t)
	s := &stepper{Block: 0, reached: make(chan struct{})}
	q1 := startQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{"step": s.handle})
	sub := submit(t, q1, jobqueue.Spec{Kind: "step", Payload: stepPayload{Steps: 2}})
	<-s.reached
	q1.Close()

	q2 := startQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{
		"other": func(ctx context.Context, run *jobqueue.Run) error { return nil },
	})
	j := wait(t, q2, sub.ID)
	if j.State != jobqueue.StateFailed || j.ErrorCode != jobqueue.CodeFailed {
		t.Errorf("job whose kind lost its handler: got %v code %d, want Failed code %d",
			j.State, j.ErrorCode, jobqueue.CodeFailed)
	}
	if want := jobqueue.ErrUnknownKind.Error(); !strings.Contains(j.Err, want) {
		t.Errorf("Err: got %q, want it to contain %q", j.Err, want)
	}
}

func TestTerminateIgnored(t *testing.T) {
	db := openDB(t)
	started := make(chan struct{})
	release := make(chan struct{})
	q := startQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{
		// A handler that finishes its work despite the request completes the job.
		"stubborn": func(ctx context.Context, run *jobqueue.Run) error {
			close(started)
			<-release
			return nil
		},
	})
	sub := submit(t, q, jobqueue.Spec{Kind: "stubborn"})
	<-started
	if err := q.Terminate(sub.ID); err != nil {
		t.Fatal(err)
	}
	close(release)
	if j := wait(t, q, sub.ID); j.State != jobqueue.StateCompleted || j.ErrorCode != 0 {
		t.Errorf("job finishing after Terminate: got %v code %d, want Completed code 0", j.State, j.ErrorCode)
	}
}
