package jobqueue_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/store"
	"go.uber.org/zap"
)

var t0 = time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)

func TestRetentionSweep(t *testing.T) {
	const keep = time.Hour
	tests := []struct {
		name      string
		spec      jobqueue.Spec
		finish    bool // run the job to completion; otherwise it stays New
		keepAll   bool // Options.KeepFinished < 0
		retention func(q *jobqueue.Queue, id string) error
		after     time.Duration
		wantKept  bool
	}{
		{name: "delete on completion, before TimeBeforeRemoval", spec: jobqueue.Spec{DeleteOnCompletion: true},
			finish: true, after: 5*time.Minute - time.Second, wantKept: true},
		{name: "delete on completion, at TimeBeforeRemoval", spec: jobqueue.Spec{DeleteOnCompletion: true},
			finish: true, after: 5 * time.Minute, wantKept: false},
		{name: "own TimeBeforeRemoval", spec: jobqueue.Spec{DeleteOnCompletion: true, TimeBeforeRemoval: 10 * time.Minute},
			finish: true, after: 9 * time.Minute, wantKept: true},
		{name: "kept for the client", spec: jobqueue.Spec{},
			finish: true, after: keep - time.Second, wantKept: true},
		{name: "forgotten by the client", spec: jobqueue.Spec{},
			finish: true, after: keep, wantKept: false},
		{name: "KeepFinished negative", spec: jobqueue.Spec{}, keepAll: true,
			finish: true, after: 1000 * time.Hour, wantKept: true},
		{name: "unfinished never removed", spec: jobqueue.Spec{DeleteOnCompletion: true},
			finish: false, after: 1000 * time.Hour, wantKept: true},
		{name: "SetRetention turns DeleteOnCompletion on", spec: jobqueue.Spec{},
			retention: func(q *jobqueue.Queue, id string) error { return q.SetRetention(id, true, time.Minute) },
			finish:    true, after: time.Minute, wantKept: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t)
			opts := jobqueue.Options{Now: func() time.Time { return t0 }, KeepFinished: keep}
			if tt.keepAll {
				opts.KeepFinished = -1
			}
			q := openQueue(t, db, opts, map[string]jobqueue.Handler{
				"work": func(ctx context.Context, run *jobqueue.Run) error { return nil },
			})
			tt.spec.Kind = "work"
			j := submit(t, q, tt.spec)
			if tt.finish {
				q.Start()
				wait(t, q, j.ID)
			}
			if tt.retention != nil {
				if err := tt.retention(q, j.ID); err != nil {
					t.Fatalf("set retention: %v", err)
				}
			}
			n, err := q.Sweep(t0.Add(tt.after))
			if err != nil {
				t.Fatalf("Sweep: %v", err)
			}
			_, err = q.Get(j.ID)
			if kept := err == nil; kept != tt.wantKept {
				t.Errorf("kept: got %v (Get: %v, swept %d), want %v", kept, err, n, tt.wantKept)
			}
		})
	}
}

// TestJanitor runs the real janitor goroutine on synctest's fake clock.
func TestJanitor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// No zaptest logger: logging from the bubble's goroutines is not needed here.
		q, err := jobqueue.Open(db, jobqueue.Options{Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		q.Handle("work", func(ctx context.Context, run *jobqueue.Run) error { return nil })
		q.Start()
		auto := submit(t, q, jobqueue.Spec{Kind: "work", DeleteOnCompletion: true})
		manual := submit(t, q, jobqueue.Spec{Kind: "work"})
		wait(t, q, auto.ID)
		wait(t, q, manual.ID)

		// CIM_Job's default TimeBeforeRemoval is 5 minutes and the janitor
		// sweeps every 30 s: just before 5 minutes the job is still there,
		// once both have passed it is gone.
		time.Sleep(5*time.Minute - time.Second)
		synctest.Wait()
		if _, err := q.Get(auto.ID); err != nil {
			t.Errorf("DeleteOnCompletion job before its 5 minutes: got %v, want kept", err)
		}
		time.Sleep(time.Second + 30*time.Second)
		synctest.Wait()
		if _, err := q.Get(auto.ID); !errors.Is(err, jobqueue.ErrNotFound) {
			t.Errorf("DeleteOnCompletion job after retention: got %v, want ErrNotFound", err)
		}
		if _, err := q.Get(manual.ID); err != nil {
			t.Errorf("job left to the client after retention: got %v, want kept", err)
		}
	})
}
