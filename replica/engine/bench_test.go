package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/replicad/replicad/replica/engine"
)

// BenchmarkCopy copies a 256 MiB image, half allocated in 1 MiB islands with some
// zero runs, through each data path. Bytes/s counts allocated source bytes.
func BenchmarkCopy(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	segs := islands(256 * mib)
	segs = append(segs, seg{64 * mib, 256 << 10, true})
	makeImage(b, src, 256*mib, 1, segs...)
	for _, c := range []struct {
		m         engine.Method
		zeros     bool
		workers   int
		chunk     int64
		pageCache bool
	}{
		{engine.MethodReadWrite, true, 1, 4 * mib, false},
		{engine.MethodReadWrite, true, 2, 4 * mib, false},
		{engine.MethodReadWrite, true, 4, 4 * mib, false},
		{engine.MethodReadWrite, true, 2, 1 * mib, false},
		{engine.MethodReadWrite, true, 2, 16 * mib, false},
		{engine.MethodReadWrite, true, 2, 4 * mib, true},
		{engine.MethodCopyFileRange, false, 2, 4 * mib, false},
	} {
		name := fmt.Sprintf("%v/zeros=%v/w=%d/chunk=%dM/pagecache=%v", c.m, c.zeros, c.workers, c.chunk/mib, c.pageCache)
		b.Run(name, func(b *testing.B) {
			opts := engine.DefaultOptions()
			opts.Method, opts.DetectZeros, opts.Workers, opts.ChunkSize = c.m, c.zeros, c.workers, c.chunk
			opts.PageCache = c.pageCache
			b.SetBytes(128 * mib)
			for i := 0; b.Loop(); i++ {
				dst := filepath.Join(dir, fmt.Sprint("dst", i))
				if _, err := engine.Copy(context.Background(), src, dst, opts); err != nil {
					b.Fatal(err)
				}
				os.Remove(dst)
			}
		})
	}
}

// BenchmarkVerify compares a 256 MiB image, half allocated in 1 MiB islands,
// with its copy. Bytes/s counts the allocated bytes of one side.
func BenchmarkVerify(b *testing.B) {
	dir := b.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	segs := islands(256 * mib)
	makeImage(b, src, 256*mib, 1, segs...)
	if _, err := engine.Copy(context.Background(), src, dst, engine.DefaultOptions()); err != nil {
		b.Fatal(err)
	}
	for _, chunk := range []int64{1 * mib, 4 * mib} {
		b.Run(fmt.Sprintf("chunk=%dM", chunk/mib), func(b *testing.B) {
			b.SetBytes(128 * mib)
			for b.Loop() {
				rep, err := engine.Verify(context.Background(), src, dst, engine.VerifyOptions{ChunkSize: chunk})
				if err != nil || !rep.Identical() {
					b.Fatalf("Verify: %+v, %v", rep, err)
				}
			}
		})
	}
}
