package jobqueue_test

import (
	"context"
	"errors"
	"testing"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/store"
)

// TestCompleteCommitsWithTheHandlersRecords has a handler end its job with
// Run.Complete, writing a record of its own in the same transaction: after
// one commit the record and the Completed job are both in the store, with
// the job's progress and result; until the handler returns, Get and Wait
// still see the job Running.
func TestCompleteCommitsWithTheHandlersRecords(t *testing.T) {
	db := openDB(t)
	completed, release := make(chan uint64), make(chan struct{})
	q := startQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{
		"work": func(ctx context.Context, run *jobqueue.Run) error {
			run.Progress(7, 7)
			if err := run.SetResult("done"); err != nil {
				return err
			}
			before := db.Commits()
			if err := run.Complete(func(tx *store.Tx) error { return tx.Put("mine", run.ID, "recorded") }); err != nil {
				return err
			}
			completed <- db.Commits() - before
			<-release
			return nil
		},
	})
	j := submit(t, q, jobqueue.Spec{Kind: "work"})
	if n := <-completed; n != 1 {
		t.Errorf("Complete took %d commits, want 1", n)
	}
	var mine string
	var stored jobqueue.State
	err := db.View(func(tx *store.Tx) error {
		if _, err := tx.Get("mine", j.ID, &mine); err != nil {
			return err
		}
		var rec struct {
			State jobqueue.State `json:"state"`
		}
		_, err := tx.Get("jobs", j.ID, &rec)
		stored = rec.State
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if mine != "recorded" || stored != jobqueue.StateCompleted {
		t.Errorf("after Complete the store holds the handler's record %q and the job %v; want \"recorded\" and Completed", mine, stored)
	}
	if got, err := q.Get(j.ID); err != nil || got.State != jobqueue.StateRunning {
		t.Errorf("Get before the handler returned: %v, %v; want Running", got.State, err)
	}
	close(release)
	got := wait(t, q, j.ID)
	if got.State != jobqueue.StateCompleted || got.Done != 7 || got.Total != 7 || string(got.Result) != `"done"` || got.Finished.IsZero() {
		t.Errorf("job after the handler returned: %v %d/%d result %s finished %v; want Completed 7/7 \"done\" with a finish time",
			got.State, got.Done, got.Total, got.Result, got.Finished)
	}
}

// TestCompleteFailureWritesNothing has Complete's function fail after it
// wrote a record: the transaction is rolled back (neither the record nor the
// job's end is stored), the handler gets the error and the job fails with it.
func TestCompleteFailureWritesNothing(t *testing.T) {
	db := openDB(t)
	boom := errors.New("boom")
	var completeErr error
	q := startQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{
		"work": func(ctx context.Context, run *jobqueue.Run) error {
			completeErr = run.Complete(func(tx *store.Tx) error {
				if err := tx.Put("mine", run.ID, "recorded"); err != nil {
					return err
				}
				return boom
			})
			return completeErr
		},
	})
	j := wait(t, q, submit(t, q, jobqueue.Spec{Kind: "work"}).ID)
	if !errors.Is(completeErr, boom) {
		t.Errorf("Complete: got %v, want the function's error", completeErr)
	}
	if j.State != jobqueue.StateFailed {
		t.Errorf("job: %v, want Failed", j.State)
	}
	err := db.View(func(tx *store.Tx) error {
		ok, err := tx.Get("mine", j.ID, new(string))
		if ok {
			t.Error("the record written before the function failed was committed")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCompleteAfterTerminateCompletes: a handler that completes its job
// after Terminate was requested completes it, as returning nil does.
func TestCompleteAfterTerminateCompletes(t *testing.T) {
	db := openDB(t)
	started := make(chan struct{})
	q := startQueue(t, db, jobqueue.Options{}, map[string]jobqueue.Handler{
		"work": func(ctx context.Context, run *jobqueue.Run) error {
			close(started)
			<-ctx.Done()
			return run.Complete(func(*store.Tx) error { return nil })
		},
	})
	j := submit(t, q, jobqueue.Spec{Kind: "work"})
	<-started
	if err := q.Terminate(j.ID); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, q, j.ID); got.State != jobqueue.StateCompleted || got.ErrorCode != 0 {
		t.Errorf("job: %v (code %d), want Completed", got.State, got.ErrorCode)
	}
}
