package replica_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// copyCounter is a replica.CopyObserver that remembers what it was told.
type copyCounter struct {
	mu       sync.Mutex
	bytes    int64
	adds     int
	finished []int64
	took     []time.Duration
}

func (c *copyCounter) AddBytesCopied(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bytes += n
	c.adds++
}

func (c *copyCounter) ObserveCopy(n int64, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished = append(c.finished, n)
	c.took = append(c.took, d)
}

// TestCopyObserverFed: Options.Copies is told of every byte a copy job
// writes, as it goes, and of each member's finished copy, with the numbers
// the job reports in its result.
func TestCopyObserverFed(t *testing.T) {
	obs := &copyCounter{}
	e := newEnv(t, true, replica.Options{Copies: obs})
	ctx := context.Background()
	a, b := e.filled("a", 8*MiB), e.volume("b", 4*MiB)
	g, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "g", Members: []volumes.ID{a.ID, b.ID}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone, SourceGroup: g.ID})
	if err != nil {
		t.Fatal(err)
	}
	job := e.wait(res.JobID)
	if job.State != jobqueue.StateCompleted {
		t.Fatalf("job %s (%s), want Completed", job.State, job.Err)
	}
	var reports []replica.CopyReport
	if err := json.Unmarshal(job.Result, &reports); err != nil || len(reports) != 2 {
		t.Fatalf("job result %s (%v), want 2 copy reports", job.Result, err)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := reports[0].BytesCopied + reports[1].BytesCopied
	if want < 8*MiB || obs.bytes != want {
		t.Errorf("observer counted %d bytes, want %d (the reports' sum, at least the 8 MiB of data)", obs.bytes, want)
	}
	if obs.adds < 2 {
		t.Errorf("observer told of %d writes, want one per write as the copy goes", obs.adds)
	}
	if len(obs.finished) != 2 || obs.finished[0] != reports[0].BytesCopied || obs.finished[1] != reports[1].BytesCopied {
		t.Errorf("finished copies observed %v, want one per member: %d, %d", obs.finished, reports[0].BytesCopied, reports[1].BytesCopied)
	}
	for i, d := range obs.took {
		if d <= 0 {
			t.Errorf("finished copy %d observed with duration %v, want > 0", i, d)
		}
	}
}
