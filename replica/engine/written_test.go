package engine_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/replicad/replicad/replica/engine"
)

// TestWrittenCountsEveryWrite: Options.Written is told of every byte Copy
// and Resync write to the target, as they go: its sum is Stats.BytesCopied,
// and it is called more than once for a copy of several chunks.
func TestWrittenCountsEveryWrite(t *testing.T) {
	for _, m := range []engine.Method{engine.MethodReadWrite, engine.MethodCopyFileRange} {
		t.Run(m.String(), func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			makeImage(t, src, 8*mib, 7, seg{0, 3 * mib, false}, seg{5 * mib, 2 * mib, false})
			opts := engine.DefaultOptions()
			opts.Method = m
			opts.DetectZeros = false
			opts.ChunkSize = 512 << 10
			var sum, calls atomic.Int64
			opts.Written = func(n int64) { sum.Add(n); calls.Add(1) }
			st, err := engine.Copy(context.Background(), src, dst, opts)
			if err != nil {
				t.Fatalf("Copy: %v", err)
			}
			if st.BytesCopied != 5*mib || sum.Load() != st.BytesCopied {
				t.Errorf("Written summed %d, Stats.BytesCopied %d, want both %d", sum.Load(), st.BytesCopied, 5*mib)
			}
			if calls.Load() < 10 {
				t.Errorf("Written called %d times for 10 chunks, want once a write at least", calls.Load())
			}

			// A Resync writes the blocks that differ, and says so.
			makeImage(t, src, 8*mib, 8, seg{0, 3 * mib, false}, seg{5 * mib, 2 * mib, false})
			sum.Store(0)
			ro := engine.ResyncOptions{Options: opts}
			rst, err := engine.Resync(context.Background(), src, dst, ro)
			if err != nil {
				t.Fatalf("Resync: %v", err)
			}
			if rst.BytesCopied == 0 || sum.Load() != rst.BytesCopied {
				t.Errorf("Resync: Written summed %d, Stats.BytesCopied %d, want equal and non-zero", sum.Load(), rst.BytesCopied)
			}
			mustEqualFiles(t, src, dst)
		})
	}
}
