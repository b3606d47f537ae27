package replica_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// groupMembers is the size of the source group BenchmarkGroupReplica copies.
const groupMembers = 64

// BenchmarkGroupReplica measures a 64-member CreateGroupReplica (a Clone
// of a source group into 64 new targets) with 100, 1,000 and 10,000
// volumes in the pool: the request (Replicate, what the Invoke answers
// after), the request until its copy job is done, and the cleanup (ending
// the group synchronization with Return To ResourcePool, which deletes the
// 64 targets). ns/op is the whole cycle; request-ms, done-ms and
// cleanup-ms the phases. Each should cost the same at every count (goals:
// 10,000/100 ≤ 1.2 for the request, done < 2 s). At the end it prints the
// 10,000/100 ratios of the medians over -count runs. Run it with
// -benchtime=3x or more: one cycle takes about a second.
func BenchmarkGroupReplica(b *testing.B) {
	phases := []string{"request", "done", "cleanup"}
	runs := map[string]map[int][]time.Duration{}
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("volumes=%d", n), func(b *testing.B) {
			f := openReplicaFleet(b, n)
			ctx := context.Background()
			var sum [3]time.Duration
			i := 0
			for b.Loop() {
				i++
				t0 := time.Now()
				res, err := f.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeGroup, SyncType: replica.SyncTypeClone,
					SourceGroup: f.group, RelationshipName: fmt.Sprintf("bench%d", i)})
				if err != nil {
					b.Fatal(err)
				}
				request := time.Since(t0)
				wctx, cancel := context.WithTimeout(ctx, time.Minute)
				j, err := f.jobs.Wait(wctx, res.JobID)
				cancel()
				if err != nil || j.State != jobqueue.StateCompleted {
					b.Fatalf("copy job: %v, %s (%s)", err, j.State, j.Err)
				}
				done := time.Since(t0)
				t1 := time.Now()
				if err := f.svc.EndGroupSynchronization(ctx, res.GroupSync.ID, replica.EndReturnToPool); err != nil {
					b.Fatal(err)
				}
				for k, d := range []time.Duration{request, done, time.Since(t1)} {
					sum[k] += d
				}
			}
			for k, ph := range phases {
				avg := sum[k] / time.Duration(i)
				b.ReportMetric(float64(avg)/1e6, ph+"-ms")
				if runs[ph] == nil {
					runs[ph] = map[int][]time.Duration{}
				}
				runs[ph][n] = append(runs[ph][n], avg)
			}
		})
	}
	for _, ph := range phases {
		small, big := medianOf(runs[ph][100]), medianOf(runs[ph][10000])
		if small > 0 && big > 0 {
			fmt.Printf("group replica %s: %v at 100 volumes, %v at 10000: ratio %.2f\n", ph, small, big, float64(big)/float64(small))
		}
	}
}

// medianOf is the middle of ds (0 for none).
func medianOf(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// replicaFleet is a replication service over a pool of sparse volumes and
// a source group of its first groupMembers volumes.
type replicaFleet struct {
	svc   *replica.Service
	jobs  *jobqueue.Queue
	group string
}

// openReplicaFleet opens volumes, a running job queue and replication over
// a pool of n sparse 1 MiB volumes v00000.. (adopted by Open's Rescan) in
// b.TempDir, closed when b ends.
func openReplicaFleet(b *testing.B, n int) *replicaFleet {
	b.Helper()
	dir := b.TempDir()
	pool := filepath.Join(dir, "pools", volumes.DefaultPool)
	if err := os.MkdirAll(pool, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		name := filepath.Join(pool, fmt.Sprintf("v%05d.img", i))
		if err := os.WriteFile(name, []byte("data"), 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.Truncate(name, MiB); err != nil {
			b.Fatal(err)
		}
	}
	db, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	log := zap.NewNop()
	vols, err := volumes.Open(db, dir, volumes.Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { vols.Close() })
	jobs, err := jobqueue.Open(db, jobqueue.Options{Logger: log, PollInterval: 20 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { jobs.Close() })
	svc, err := replica.Open(context.Background(), db, vols, jobs, replica.Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	jobs.Start()
	ctx := context.Background()
	var members []volumes.ID
	for i := range groupMembers {
		v, err := vols.Lookup(ctx, volumes.DefaultPool, fmt.Sprintf("v%05d", i))
		if err != nil {
			b.Fatal(err)
		}
		members = append(members, v.ID)
	}
	g, err := svc.CreateGroup(ctx, replica.GroupSpec{Name: "sources", Members: members})
	if err != nil {
		b.Fatal(err)
	}
	// The fleet's files and records reach the disk now, not during the
	// measured fsyncs of the request.
	syscall.Sync()
	return &replicaFleet{svc: svc, jobs: jobs, group: g.ID}
}
