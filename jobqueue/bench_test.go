package jobqueue_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/store"
)

// BenchmarkSubmitWait measures one job's round trip: submit, run an empty
// handler, record the outcome, wake the waiter.
func BenchmarkSubmitWait(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "state.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	q, err := jobqueue.Open(db, jobqueue.Options{MaxQueued: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	q.Handle("noop", func(ctx context.Context, run *jobqueue.Run) error { return nil })
	q.Start()
	for b.Loop() {
		j, err := q.Submit(jobqueue.Spec{Kind: "noop"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := q.Wait(context.Background(), j.ID); err != nil {
			b.Fatal(err)
		}
	}
}
