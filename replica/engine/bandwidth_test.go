package engine_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/replicad/replicad/replica/engine"
)

// paceRecorder checks, at each Progress call, that no more bytes were done
// than the bandwidth allows over the window since the start (one chunk goes
// unpaid), and remembers when the last bytes were done. It runs on
// synctest's fake clock, where the disk takes no time and only the throttle
// makes time pass.
type paceRecorder struct {
	t            *testing.T
	rate, chunk  int64
	start        time.Time
	mu           sync.Mutex
	done         int64
	last         time.Duration
	calls        int
	overBudgetAt time.Duration
}

func newPaceRecorder(t *testing.T, rate, chunk int64) *paceRecorder {
	return &paceRecorder{t: t, rate: rate, chunk: chunk, start: time.Now(), overBudgetAt: -1}
}

func (p *paceRecorder) progress(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	el := time.Since(p.start)
	p.calls++
	p.done, p.last = done, el
	if limit := p.chunk + int64(el.Seconds()*float64(p.rate)); done > limit && p.overBudgetAt < 0 {
		p.overBudgetAt = el
		p.t.Errorf("%d of %d bytes done after %v, want at most %d at %d B/s", done, total, el, limit, p.rate)
	}
}

// check requires that the work took at least the time its bytes are due at
// the rate, less the unpaid first chunk.
func (p *paceRecorder) check(what string, total int64, took time.Duration) {
	p.t.Helper()
	if p.calls == 0 || p.done != total {
		p.t.Fatalf("%s: %d progress calls, %d bytes done, want %d", what, p.calls, p.done, total)
	}
	due := time.Duration(float64(total-p.chunk) / float64(p.rate) * float64(time.Second))
	if took < due {
		p.t.Errorf("%s of %d bytes at %d B/s took %v, want at least %v", what, total, p.rate, took, due)
	}
}

// TestBandwidthLimitPacesCopy: Copy with BandwidthLimit writes no faster
// than the limit, on both data paths and with several workers.
func TestBandwidthLimitPacesCopy(t *testing.T) {
	for _, m := range []engine.Method{engine.MethodReadWrite, engine.MethodCopyFileRange} {
		t.Run(m.String(), func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			makeImage(t, src, 8*mib, 3, seg{0, 4 * mib, false}, seg{6 * mib, 2 * mib, false})
			synctest.Test(t, func(t *testing.T) {
				opts := engine.DefaultOptions()
				opts.Method = m
				opts.ChunkSize = 256 << 10
				opts.BandwidthLimit = 2 * mib // 6 MiB of data: 2.875 s
				p := newPaceRecorder(t, opts.BandwidthLimit, opts.ChunkSize)
				opts.Progress = p.progress
				st, err := engine.Copy(context.Background(), src, dst, opts)
				if err != nil {
					t.Fatalf("Copy: %v", err)
				}
				p.check("Copy", 6*mib, st.Duration)
			})
			mustEqualFiles(t, src, dst)
		})
	}
}

// TestBandwidthLimitPacesResync: a Resync that compares every block reads
// no faster than the limit.
func TestBandwidthLimitPacesResync(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 8*mib, 4, seg{0, 8 * mib, false})
	makeImage(t, dst, 8*mib, 5, seg{0, 8 * mib, false})
	synctest.Test(t, func(t *testing.T) {
		var opts engine.ResyncOptions
		opts.ChunkSize = 256 << 10
		opts.BandwidthLimit = 4 * mib
		// A resync range may be up to 1 MiB: that much goes unpaid.
		p := newPaceRecorder(t, opts.BandwidthLimit, 1*mib)
		opts.Progress = p.progress
		st, err := engine.Resync(context.Background(), src, dst, opts)
		if err != nil {
			t.Fatalf("Resync: %v", err)
		}
		p.check("Resync", 8*mib, st.Duration)
	})
	mustEqualFiles(t, src, dst)
}

// TestBandwidthLimitPacesVerify: Verify reads both files together no faster
// than the limit.
func TestBandwidthLimitPacesVerify(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 8*mib, 6, seg{0, 8 * mib, false})
	copyFile(t, src, dst)
	synctest.Test(t, func(t *testing.T) {
		opts := engine.VerifyOptions{ChunkSize: 256 << 10, BandwidthLimit: 4 * mib}
		start := time.Now()
		rep, err := engine.Verify(context.Background(), src, dst, opts)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !rep.Identical() {
			t.Fatalf("Verify of a copy: %+v", rep)
		}
		// 16 MiB read (8 of each file) at 4 MiB/s, less the first chunk of each.
		if took, due := time.Since(start), 3500*time.Millisecond; took < due {
			t.Errorf("Verify of 2 × 8 MiB at 4 MiB/s took %v, want at least %v", took, due)
		}
	})
}
