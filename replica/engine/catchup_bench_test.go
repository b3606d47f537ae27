package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/replicad/replicad/replica/engine"
)

// BenchmarkCatchUp brings a mirror of a 256 MiB image, half allocated in 1 MiB
// islands, up to date after 1% of its 64 KiB blocks changed: from a dirty map
// (the change tracked), from the hash sidecar (untracked: the source's data is
// read and hashed) and, for scale, a full Copy of the source. Each iteration
// changes other blocks. Bytes/s counts the allocated source bytes, so the
// ratios of ns/op read as the cost of a catch-up against a full copy.
func BenchmarkCatchUp(b *testing.B) {
	dir := b.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	var segs []seg
	for off := int64(0); off < 256*mib; off += 2 * mib {
		segs = append(segs, seg{off, mib, false})
	}
	makeImage(b, src, 256*mib, 1, segs...)
	sidecar := dst + ".hashes"
	const block = engine.DefaultResyncBlockSize
	blocks := int64(256*mib) / block
	change := func(b *testing.B, round int) *engine.DirtyMap {
		f, err := os.OpenFile(src, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		m := engine.NewDirtyMap(256*mib, block)
		p := make([]byte, block)
		for i := range blocks / 100 {
			n := (i*7919 + int64(round)*104729) % blocks
			p[0], p[1] = byte(round), byte(i)
			if _, err := f.WriteAt(p, n*block); err != nil {
				b.Fatal(err)
			}
			m.Set(n)
		}
		return m
	}
	b.Run("full-copy", func(b *testing.B) {
		b.SetBytes(128 * mib)
		for i := 0; b.Loop(); i++ {
			out := filepath.Join(dir, fmt.Sprint("full", i))
			if _, err := engine.Copy(context.Background(), src, out, engine.DefaultOptions()); err != nil {
				b.Fatal(err)
			}
			os.Remove(out)
		}
	})
	if _, err := engine.Copy(context.Background(), src, dst, engine.DefaultOptions()); err != nil {
		b.Fatal(err)
	}
	var gen uint64
	resync := func(b *testing.B, dirty *engine.DirtyMap) {
		ro := engine.ResyncOptions{Options: engine.DefaultOptions(), Dirty: dirty, HashSidecar: sidecar, SidecarGeneration: gen}
		st, err := engine.Resync(context.Background(), src, dst, ro)
		if err != nil {
			b.Fatal(err)
		}
		gen = st.SidecarGeneration
	}
	resync(b, nil) // writes the sidecar
	round := 0
	for _, tracked := range []bool{true, false} {
		b.Run(fmt.Sprintf("1pct-changed/dirty-map=%v", tracked), func(b *testing.B) {
			b.SetBytes(128 * mib)
			for b.Loop() {
				b.StopTimer()
				round++
				m := change(b, round)
				if !tracked {
					m = nil
				}
				b.StartTimer()
				resync(b, m)
			}
		})
	}
}
