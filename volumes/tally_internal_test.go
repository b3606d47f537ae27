package volumes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/replicad/replicad/store"
)

// openTest opens a Service (thick pools) in a fresh directory.
func openTest(t *testing.T) *Service {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := Open(db, dir, Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A volume created, grown or deleted while a count stats the pool's files
// (after the count took the list of them) is accounted for in its result.
func TestCountKeepsChangesMadeMeanwhile(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	gone, err := s.Create(ctx, DefaultPool, "gone", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	grown, err := s.Create(ctx, DefaultPool, "grown", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	testHookCounting = func(string) {
		testHookCounting = nil
		if _, err := s.Create(ctx, DefaultPool, "late", 3<<20); err != nil {
			t.Error(err)
		}
		if _, err := s.Grow(ctx, grown.ID, 2<<20); err != nil {
			t.Error(err)
		}
		if err := s.Delete(ctx, gone.ID); err != nil {
			t.Error(err)
		}
	}
	defer func() { testHookCounting = nil }()
	if err := s.count(DefaultPool, true); err != nil {
		t.Fatal(err)
	}
	// gone was in the list but its file is gone when stat'ed: counted
	// missing (all unwritten), then its deletion takes its size off.
	f := s.tally.figures(DefaultPool)
	if want := uint64(3<<20 + 2<<20); f.unwritten != want || f.provisioned != want || f.volumes != 2 {
		t.Errorf("after a count with changes meanwhile: %+v, want 2 volumes, %d provisioned and unwritten", f, want)
	}
}

// A thick pool whose tally overstates what its volumes have not written
// (writes since the last count) counts its files before it refuses: the
// Create that fits the true figure succeeds, and the tally is exact again.
// One that fits neither is still refused.
func TestThickCheckCountsBeforeRefusing(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, DefaultPool, "a", 1<<20); err != nil {
		t.Fatal(err)
	}
	p, err := s.Pool(ctx, DefaultPool)
	if err != nil {
		t.Fatal(err)
	}
	// As if a had been huge and written since the last count: the tally
	// reserves all the free space.
	s.tally.mu.Lock()
	s.tally.pools[DefaultPool].unwritten = p.FreeBytes
	s.tally.mu.Unlock()
	if _, err := s.Create(ctx, DefaultPool, "b", 1<<20); err != nil {
		t.Fatalf("Create with a stale reservation: %v, want a count and success", err)
	}
	if f := s.tally.figures(DefaultPool); f.unwritten != 2<<20 {
		t.Errorf("unwritten after the count: %d, want %d", f.unwritten, 2<<20)
	}
	if _, err := s.Create(ctx, DefaultPool, "c", p.FreeBytes+(1<<30)); !errors.Is(err, ErrNoSpace) {
		t.Errorf("Create larger than the free space: %v, want ErrNoSpace", err)
	}
}

// Pool reports the figures in hand when the count is merely old and counts
// in the background: written bytes show once that count is done.
func TestPoolCountsInTheBackground(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	v, err := s.Create(ctx, DefaultPool, "a", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// Written around the package (as tgtd does): nothing marks the pool.
	if err := os.WriteFile(v.Path(), make([]byte, 256<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	s.tally.mu.Lock()
	s.tally.pools[DefaultPool].counted = time.Now().Add(-time.Hour)
	s.tally.mu.Unlock()
	p, err := s.Pool(ctx, DefaultPool)
	if err != nil {
		t.Fatal(err)
	}
	if p.AllocatedBytes != 0 {
		t.Errorf("Pool waited for a count: AllocatedBytes %d, want the 0 in hand", p.AllocatedBytes)
	}
	s.counts.Wait()
	if p, err = s.Pool(ctx, DefaultPool); err != nil || p.AllocatedBytes < 256<<10 {
		t.Errorf("after the background count: %v, AllocatedBytes %d, want >= %d", err, p.AllocatedBytes, 256<<10)
	}
}
