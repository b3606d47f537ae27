package volumes_test

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

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// fleetSizes are the volume counts BenchmarkFleet measures at.
var fleetSizes = []int{100, 1000, 10000}

// BenchmarkFleet measures one Create, Get, Lookup, Pool (the lookup a
// replica request made per target) and ListAfter (a page of 100) with 100, 1,000 and 10,000 volumes in the pool
// (thick, the zero Options: Create counts what the pool's volumes have not
// written): each should cost about the same at every count. The fleet is
// adopted by one Rescan of sparse files, in the data folder of b.TempDir.
// At the end it logs each operation's cost at the largest count over its
// cost at the smallest (the goal is ≤ 1.2).
func BenchmarkFleet(b *testing.B) {
	perOp := map[string]map[int][]time.Duration{} // every -count run
	record := func(op string, n int, b *testing.B) {
		if perOp[op] == nil {
			perOp[op] = map[int][]time.Duration{}
		}
		perOp[op][n] = append(perOp[op][n], b.Elapsed()/time.Duration(b.N))
	}
	for _, n := range fleetSizes {
		b.Run(fmt.Sprintf("volumes=%d", n), func(b *testing.B) {
			svc := openFleet(b, n)
			ctx := context.Background()
			v, err := svc.Lookup(ctx, volumes.DefaultPool, "v00042")
			if err != nil {
				b.Fatal(err)
			}
			b.Run("Get", func(b *testing.B) {
				for b.Loop() {
					if _, err := svc.Get(ctx, v.ID); err != nil {
						b.Fatal(err)
					}
				}
				record("Get", n, b)
			})
			b.Run("Lookup", func(b *testing.B) {
				for b.Loop() {
					if _, err := svc.Lookup(ctx, volumes.DefaultPool, "v00042"); err != nil {
						b.Fatal(err)
					}
				}
				record("Lookup", n, b)
			})
			b.Run("Pool", func(b *testing.B) {
				for b.Loop() {
					if _, err := svc.Pool(ctx, volumes.DefaultPool); err != nil {
						b.Fatal(err)
					}
				}
				record("Pool", n, b)
			})
			b.Run("ListAfter", func(b *testing.B) {
				for b.Loop() {
					if page, _, err := svc.ListAfter(ctx, "", 100); err != nil || len(page) != 100 {
						b.Fatal(err, len(page))
					}
				}
				record("ListAfter", n, b)
			})
			b.Run("Count", func(b *testing.B) { // what Pool pays at most once a second
				for b.Loop() {
					if err := svc.CountNow(volumes.DefaultPool); err != nil {
						b.Fatal(err)
					}
				}
				record("Count", n, b)
			})
			made := 0 // -count runs Create again on the same fleet
			b.Run("Create", func(b *testing.B) {
				for b.Loop() {
					made++
					if _, err := svc.Create(ctx, volumes.DefaultPool, fmt.Sprintf("new%d", made), MiB); err != nil {
						b.Fatal(err)
					}
				}
				record("Create", n, b)
			})
		})
	}
	logFleetRatios(perOp)
}

// logFleetRatios logs, per operation, its cost at the largest fleet over
// its cost at the smallest (medians of the -count runs), when both ran (a
// -bench filter may skip some), on standard output: a parent benchmark's
// own log is not shown.
func logFleetRatios(perOp map[string]map[int][]time.Duration) {
	lo, hi := fleetSizes[0], fleetSizes[len(fleetSizes)-1]
	for _, op := range []string{"Get", "Lookup", "Pool", "ListAfter", "Create", "Count"} {
		small, big := median(perOp[op][lo]), median(perOp[op][hi])
		if small > 0 && big > 0 {
			fmt.Printf("fleet %s: %v at %d volumes, %v at %d: ratio %.2f\n", op, small, lo, big, hi, float64(big)/float64(small))
		}
	}
}

// openFleet opens a Service over a pool of n sparse 1 MiB volumes
// v00000..v<n-1>, closed when b ends.
func openFleet(b *testing.B, n int) *volumes.Service {
	b.Helper()
	dir := b.TempDir()
	pool := filepath.Join(dir, "pools", volumes.DefaultPool)
	if err := os.MkdirAll(pool, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(pool, fmt.Sprintf("v%05d.img", i)), nil, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.Truncate(filepath.Join(pool, fmt.Sprintf("v%05d.img", i)), MiB); err != nil {
			b.Fatal(err)
		}
	}
	db, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	svc, err := volumes.Open(db, dir, volumes.Options{Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	// The fleet's files and records reach the disk now, not during the
	// measured fsyncs of Create.
	syscall.Sync()
	return svc
}

// median is the middle of ds (0 for none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
