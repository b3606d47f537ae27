package engine_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/replicad/replicad/replica/engine"
)

const mib = 1 << 20

// seg is a piece of a test image: n bytes at off, random unless zero is set
// (then allocated zeros are written).
type seg struct {
	off, n int64
	zero   bool
}

// islands lays out an image of size bytes as 1 MiB of data every 2 MiB:
// half allocated, in the islands the benchmarks use.
func islands(size int64) []seg {
	var segs []seg
	for off := int64(0); off < size; off += 2 * mib {
		segs = append(segs, seg{off, mib, false})
	}
	return segs
}

// makeImage creates a sparse file of the given apparent size holding segs.
func makeImage(t testing.TB, path string, size int64, seed uint64, segs ...seg) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, s := range segs {
		p := make([]byte, s.n)
		if !s.zero {
			// Eight bytes a draw (a store the race detector checks once);
			// never a zero byte, so zero detection sees data.
			var w [8]byte
			for i := 0; i < len(p); i += 8 {
				binary.LittleEndian.PutUint64(w[:], rng.Uint64()|0x0101010101010101)
				copy(p[i:], w[:])
			}
		}
		if _, err := f.WriteAt(p, s.off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// allocated returns st_blocks × 512 of path.
func allocated(t testing.TB, path string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// dataBytes returns the bytes in path's data extents (SEEK_DATA/SEEK_HOLE).
func dataBytes(t testing.TB, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	exts, err := engine.Extents(f)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range exts {
		n += e.Length
	}
	return n
}

// mustEqualFiles fails unless a and b have the same size and bytes. It
// compares 1 MiB at a time (reading whole images costs the race detector
// shadow memory for every byte).
func mustEqualFiles(t testing.TB, a, b string) {
	t.Helper()
	fa, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	sa, err := fa.Stat()
	if err != nil {
		t.Fatal(err)
	}
	sb, err := fb.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if sa.Size() != sb.Size() {
		t.Fatalf("size of %s = %d, want %d", filepath.Base(b), sb.Size(), sa.Size())
	}
	x, y := make([]byte, mib), make([]byte, mib)
	for off := int64(0); off < sa.Size(); off += mib {
		n, err := io.ReadFull(fa, x)
		if err != nil && err != io.ErrUnexpectedEOF {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(fb, y[:n]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x[:n], y[:n]) {
			i := 0
			for x[i] == y[i] {
				i++
			}
			t.Fatalf("%s differs from %s at byte %d", filepath.Base(b), filepath.Base(a), off+int64(i))
		}
	}
}

// dataExtents returns the data extents of path.
func dataExtents(t testing.TB, path string) []engine.Extent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	exts, err := engine.Extents(f)
	if err != nil {
		t.Fatal(err)
	}
	return exts
}

// isHole reports whether [off, off+n) of path holds no data extent.
func isHole(t testing.TB, path string, off, n int64) bool {
	t.Helper()
	for _, e := range dataExtents(t, path) {
		if e.Offset < off+n && e.End() > off {
			return false
		}
	}
	return true
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
