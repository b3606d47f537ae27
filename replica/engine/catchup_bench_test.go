package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/replica/engine"
)

// BenchmarkCatchUp brings a mirror of a 256 MiB image, half allocated in 1 MiB
// islands, up to date after 1% of its 64 KiB blocks changed:
//   - tracked: from a dirty map of the change, the target vouched for by its
//     hash sidecar (what the daemon does after its own writes);
//   - sidecar: nothing tracked the change; the source's data is read and
//     hashed, the target vouched for by its sidecar;
//   - scan: nothing vouches for either side; each side's data is read once
//     and compared.
//
// For scale: a full Copy of the source, and a plain sequential read (direct
// I/O, 4 MiB requests) of the data of both files, the disk's read rate for
// what a scan must read. Each iteration changes other blocks. Bytes/s counts
// the allocated source bytes, so ratios of ns/op read as the cost of a
// catch-up against a full copy; read-MiB/op is what a catch-up read of both
// sides. The changes overwrite data (both sides keep 128 MiB allocated), so
// a scan's read-MiB/op is to be compared with read-both's 256.
func BenchmarkCatchUp(b *testing.B) {
	dir := b.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	segs := islands(256 * mib)
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
			// Inside the data islands (the first 1 MiB of every 2 MiB), so
			// that both sides keep their 128 MiB of data.
			k := (i*7919 + int64(round)*104729) % (blocks / 2)
			n := k/16*32 + k%16
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
	// Nothing of the setup or of the full copies left to write back while
	// the catch-ups are timed.
	unix.Sync()
	b.Run("read-both", func(b *testing.B) {
		b.SetBytes(128 * mib)
		var n int64
		for b.Loop() {
			n = readData(b, src) + readData(b, dst)
		}
		b.ReportMetric(float64(n)/mib, "read-MiB/op")
	})
	var gen uint64
	resync := func(b *testing.B, dirty *engine.DirtyMap, side string) engine.Stats {
		ro := engine.ResyncOptions{Options: engine.DefaultOptions(), Dirty: dirty, HashSidecar: side, SidecarGeneration: gen}
		st, err := engine.Resync(context.Background(), src, dst, ro)
		if err != nil {
			b.Fatal(err)
		}
		gen = st.SidecarGeneration
		return st
	}
	resync(b, nil, sidecar) // writes the sidecar
	round := 0
	for _, mode := range []string{"tracked", "sidecar", "scan"} {
		b.Run("1pct-changed/"+mode, func(b *testing.B) {
			b.SetBytes(128 * mib)
			var read int64
			for b.Loop() {
				b.StopTimer()
				round++
				m := change(b, round)
				unix.Sync() // the change written, as an initiator's would be by the lag's end
				side := sidecar
				switch mode {
				case "sidecar":
					m = nil
				case "scan":
					m, side = nil, ""
				}
				b.StartTimer()
				st := resync(b, m, side)
				read += st.BytesRead + st.TargetBytesRead
			}
			b.ReportMetric(float64(read)/float64(b.N)/mib, "read-MiB/op")
		})
	}
}

// readData reads the data extents of path with direct I/O in 4 MiB requests,
// one after the other, and returns the bytes read.
func readData(b *testing.B, path string) int64 {
	exts := dataExtents(b, path)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fd)
	buf, err := unix.Mmap(-1, 0, 4*mib, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Munmap(buf)
	var total int64
	for _, e := range exts {
		for off := e.Offset; off < e.End(); {
			n, err := unix.Pread(fd, buf[:min(int64(len(buf)), e.End()-off)], off)
			if err != nil || n == 0 {
				b.Fatalf("read %s at %d: %d, %v", path, off, n, err)
			}
			off += int64(n)
			total += int64(n)
		}
	}
	return total
}
