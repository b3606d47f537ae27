package volumes_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/replicad/replicad/volumes"
)

func TestLeaseContention(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "leased", MiB)
	release, err := e.svc.Acquire(v.ID, "replication")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("second acquire", func(t *testing.T) {
		_, err := e.svc.Acquire(v.ID, "clone")
		if !errors.Is(err, volumes.ErrInUse) {
			t.Fatalf("got %v, want ErrInUse", err)
		}
		if got, want := err.Error(), "volumes: volume in use by replication"; got != want {
			t.Errorf("text: got %q, want %q", got, want)
		}
		var iu *volumes.InUseError
		if !errors.As(err, &iu) || iu.ID != v.ID {
			t.Errorf("got %#v, want *InUseError for %s", err, v.ID)
		}
	})
	t.Run("delete and grow", func(t *testing.T) {
		before := e.snapshot()
		if err := e.svc.Delete(ctx, v.ID); !errors.Is(err, volumes.ErrInUse) {
			t.Errorf("Delete: got %v, want ErrInUse", err)
		}
		if _, err := e.svc.Grow(ctx, v.ID, 2*MiB); !errors.Is(err, volumes.ErrInUse) {
			t.Errorf("Grow: got %v, want ErrInUse", err)
		}
		if after := e.snapshot(); after != before {
			t.Errorf("state changed:\ngot  %s\nwant %s", after, before)
		}
	})
	t.Run("labels while leased", func(t *testing.T) {
		if _, err := e.svc.SetLabels(ctx, v.ID, map[string]string{"origin": "x"}); err != nil {
			t.Errorf("SetLabels: got %v, want nil", err)
		}
	})
	release()
	release() // harmless
	t.Run("after release", func(t *testing.T) {
		r2, err := e.svc.Acquire(v.ID, "clone")
		if err != nil {
			t.Fatalf("Acquire after release: got %v, want nil", err)
		}
		release() // a stale release must not end the new lease
		if _, err := e.svc.Acquire(v.ID, "other"); !errors.Is(err, volumes.ErrInUse) {
			t.Errorf("Acquire after stale release: got %v, want ErrInUse", err)
		}
		r2()
		if err := e.svc.Delete(ctx, v.ID); err != nil {
			t.Errorf("Delete after release: got %v, want nil", err)
		}
	})
}

func TestAcquireUnknown(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.Acquire("00000000-0000-0000-0000-000000000000", "x"); !errors.Is(err, volumes.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	v := e.create(volumes.DefaultPool, "v", MiB)
	release, err := e.svc.Acquire(v.ID, "x")
	if err != nil {
		t.Fatalf("Acquire after a failed Acquire: got %v, want nil", err)
	}
	release()
}

// TestConcurrentGrowAndAcquire runs short operations and leases against one
// volume at once: every Grow either succeeds or meets a lease, and the final
// size is the largest successful Grow.
func TestConcurrentGrowAndAcquire(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "busy", MiB)
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	var largest uint64 = MiB
	for i := range n {
		wg.Go(func() {
			if i%2 == 0 {
				release, err := e.svc.Acquire(v.ID, "copy")
				if err == nil {
					release()
				} else if !errors.Is(err, volumes.ErrInUse) {
					t.Errorf("Acquire: got %v, want nil or ErrInUse", err)
				}
				return
			}
			size := uint64(i+1) * MiB
			got, err := e.svc.Grow(ctx, v.ID, size)
			switch {
			case err == nil:
				mu.Lock()
				largest = max(largest, got.SizeBytes)
				mu.Unlock()
			case errors.Is(err, volumes.ErrInUse), errors.Is(err, volumes.ErrInvalidSize):
			default:
				t.Errorf("Grow: got %v, want nil, ErrInUse or ErrInvalidSize", err)
			}
		})
	}
	wg.Wait()
	got, err := e.svc.Get(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SizeBytes != largest || fileSize(t, v.Path()) != int64(largest) {
		t.Errorf("size: got record %d, file %d; want %d", got.SizeBytes, fileSize(t, v.Path()), largest)
	}
}
