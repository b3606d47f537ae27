package volumes_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/replicad/replicad/volumes"
)

// figures are a pool's totals: from its tally, or recounted from scratch.
type figures struct {
	vols                              int
	provisioned, allocated, unwritten uint64
}

func tallyOf(svc *volumes.Service, pool string) figures {
	var f figures
	f.vols, f.provisioned, f.allocated, f.unwritten = svc.Tally(pool)
	return f
}

// recount reads every volume of pool (List stats each file) and sums.
func recount(t *testing.T, svc *volumes.Service, pool string) figures {
	t.Helper()
	vs, err := svc.List(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	f := figures{vols: len(vs)}
	for _, v := range vs {
		f.provisioned += v.SizeBytes
		f.allocated += v.AllocatedBytes
		if v.AllocatedBytes < v.SizeBytes {
			f.unwritten += v.SizeBytes - v.AllocatedBytes
		}
	}
	return f
}

// checkTally checks pool's tally against a recount: volumes and
// provisioned bytes always equal; between counts the unwritten figure
// never below the truth (a thick pool's check errs on the safe side) and
// the allocated one never above it; after a count (exact) all equal.
func checkTally(t *testing.T, svc *volumes.Service, pool string, exact bool, step string) {
	t.Helper()
	got, want := tallyOf(svc, pool), recount(t, svc, pool)
	switch {
	case exact && got != want:
		t.Fatalf("%s: pool %s tally %+v, recount %+v", step, pool, got, want)
	case got.vols != want.vols || got.provisioned != want.provisioned:
		t.Fatalf("%s: pool %s tally %+v, recount %+v: volumes or provisioned bytes differ", step, pool, got, want)
	case got.unwritten < want.unwritten || got.allocated > want.allocated:
		t.Fatalf("%s: pool %s tally %+v, recount %+v: unwritten below (or allocated above) the truth", step, pool, got, want)
	}
}

// A pool's tally equals a full recount after random creates, deletes,
// grows, writes and rescans, after a count, and after reopening (with a
// file dropped in, as a crash between file and record leaves one).
func TestTallyMatchesRecount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pools := []string{volumes.DefaultPool, "b"}
	if _, err := e.svc.CreatePool(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var ids []volumes.ID
	for i := range 200 {
		step := ""
		switch op := rng.IntN(10); {
		case op < 4 || len(ids) == 0:
			pool := pools[rng.IntN(len(pools))]
			v := e.create(pool, fmt.Sprintf("v%d", i), uint64(1+rng.IntN(8*MiB)))
			ids = append(ids, v.ID)
			step = "create " + v.Name
		case op < 6:
			k := rng.IntN(len(ids))
			if err := e.svc.Delete(ctx, ids[k]); err != nil {
				t.Fatal(err)
			}
			step = "delete " + string(ids[k])
			ids = append(ids[:k], ids[k+1:]...)
		case op < 7:
			v, err := e.svc.Get(ctx, ids[rng.IntN(len(ids))])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Grow(ctx, v.ID, v.SizeBytes+uint64(rng.IntN(4*MiB))); err != nil {
				t.Fatal(err)
			}
			step = "grow " + v.Name
		case op < 9:
			v, err := e.svc.Get(ctx, ids[rng.IntN(len(ids))])
			if err != nil {
				t.Fatal(err)
			}
			f, err := e.svc.OpenImage(ctx, v.ID, true)
			if err != nil {
				t.Fatal(err)
			}
			// A write inside the volume, as an initiator's: it cannot grow
			// the file past the volume's size (a later Grow by less than
			// such an overhang would be refused).
			off := rng.Int64N(int64(v.SizeBytes))
			n := 1 + rng.IntN(int(min(256<<10, int64(v.SizeBytes)-off)))
			if _, err := f.WriteAt(make([]byte, n), off); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			step = "write " + v.Name
		default:
			if _, err := e.svc.Rescan(ctx); err != nil {
				t.Fatal(err)
			}
			step = "rescan"
		}
		for _, p := range pools {
			checkTally(t, e.svc, p, false, step)
		}
		if i%20 == 19 {
			for _, p := range pools {
				if err := e.svc.CountNow(p); err != nil {
					t.Fatal(err)
				}
				checkTally(t, e.svc, p, true, step+", counted")
			}
		}
	}
	e.reopen() // nothing changed on disk
	for _, p := range pools {
		checkTally(t, e.svc, p, true, "reopened")
	}
	writeSparse(t, filepath.Join(e.poolDir("b"), "dropped.img"), 3*MiB)
	e.reopen()
	for _, p := range pools {
		checkTally(t, e.svc, p, true, "reopened")
	}
	if got := tallyOf(e.svc, "b"); got.vols == 0 {
		t.Errorf("pool b empty after reopening: %+v", got)
	}
}

// Concurrent creates, grows, deletes and counts leave the tally equal to a
// recount once a last count has run.
func TestTallyConcurrent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				v, err := e.svc.Create(ctx, volumes.DefaultPool, fmt.Sprintf("g%d-%d", g, i), MiB)
				if err != nil {
					errs <- err
					return
				}
				if _, err := e.svc.Grow(ctx, v.ID, 2*MiB); err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if err := e.svc.Delete(ctx, v.ID); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 30 {
			if err := e.svc.CountNow(volumes.DefaultPool); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, volumes.ErrInUse) {
			t.Fatal(err)
		}
	}
	checkTally(t, e.svc, volumes.DefaultPool, false, "concurrent")
	if err := e.svc.CountNow(volumes.DefaultPool); err != nil {
		t.Fatal(err)
	}
	checkTally(t, e.svc, volumes.DefaultPool, true, "concurrent, counted")
	if got := tallyOf(e.svc, volumes.DefaultPool); got.vols != 4*7 {
		t.Errorf("%d volumes, want %d", got.vols, 4*7)
	}
}
