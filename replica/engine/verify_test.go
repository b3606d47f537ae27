package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/replicad/replicad/beneath"
	"github.com/replicad/replicad/replica/engine"
)

// writeAt writes p into path at off (as another process would).
func writeAt(t testing.TB, path string, off int64, p []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(p, off); err != nil {
		t.Fatal(err)
	}
}

// invertAt overwrites n bytes of path at off with their complement, so that
// every one of them differs.
func invertAt(t testing.TB, path string, off, n int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := slices.Clone(b[off : off+n])
	for i := range p {
		p[i] ^= 0xff
	}
	writeAt(t, path, off, p)
}

// copyFile copies a sparse image with the engine (holes stay holes).
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	if _, err := engine.Copy(context.Background(), src, dst, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, src, dst string, opts engine.VerifyOptions) engine.VerifyReport {
	t.Helper()
	rep, err := engine.Verify(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func TestVerifyIdenticalReadsOnlyData(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 64*mib, 1, seg{0, mib, false}, seg{40 * mib, 2 * mib, false})
	copyFile(t, src, dst)
	rep := verify(t, src, dst, engine.VerifyOptions{})
	if !rep.Identical() || rep.DiffBytes != 0 || len(rep.Offsets) != 0 {
		t.Fatalf("identical copy reported different: %+v", rep)
	}
	if rep.BytesCompared != 64*mib {
		t.Errorf("BytesCompared = %d, want %d", rep.BytesCompared, 64*mib)
	}
	// Only the data extents of both sides are read: 3 MiB each, not 64.
	if want := dataBytes(t, src) + dataBytes(t, dst); rep.BytesRead != want {
		t.Errorf("BytesRead = %d, want %d (data extents of both files only)", rep.BytesRead, want)
	}
}

func TestVerifyReportsFirstDifferingOffsets(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 16*mib, 2, seg{0, 8 * mib, false})
	copyFile(t, src, dst)
	const at, n = 3*mib + 4321, 256 << 10
	invertAt(t, dst, at, n)
	// A second, later change, beyond MaxDiffs offsets but still counted.
	invertAt(t, dst, 7*mib, 10)
	// A small chunk makes the first run cross chunk boundaries.
	rep := verify(t, src, dst, engine.VerifyOptions{ChunkSize: 64 << 10, MaxDiffs: 4})
	if rep.Identical() {
		t.Fatal("a target with 256 KiB overwritten reported identical")
	}
	if want := []int64{at, at + 1, at + 2, at + 3}; !slices.Equal(rep.Offsets, want) {
		t.Errorf("Offsets = %v, want %v", rep.Offsets, want)
	}
	if want := []engine.Extent{{Offset: at, Length: n}, {Offset: 7 * mib, Length: 10}}; !slices.Equal(rep.Ranges, want) {
		t.Errorf("Ranges = %v, want %v", rep.Ranges, want)
	}
	if rep.DiffBytes != n+10 {
		t.Errorf("DiffBytes = %d, want %d", rep.DiffBytes, n+10)
	}
	if len(verify(t, src, dst, engine.VerifyOptions{}).Offsets) != engine.DefaultVerifyMaxDiffs {
		t.Errorf("default MaxDiffs is not %d", engine.DefaultVerifyMaxDiffs)
	}
}

// TestVerifyHoles checks that a hole equals zeros on either side, and that
// data where the other side has a hole is compared.
func TestVerifyHoles(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 8*mib, 3, seg{0, mib, false})
	copyFile(t, src, dst)
	// Allocated zeros in the target where the source has a hole: equal.
	writeAt(t, dst, 5*mib, make([]byte, 128<<10))
	if isHole(t, dst, 5*mib, 128<<10) {
		t.Fatal("setup: zeros were not allocated")
	}
	if rep := verify(t, src, dst, engine.VerifyOptions{}); !rep.Identical() {
		t.Fatalf("allocated zeros against a hole reported different: %+v", rep)
	}
	// Data in the target where the source has a hole: different.
	writeAt(t, dst, 6*mib+7, []byte{1})
	rep := verify(t, src, dst, engine.VerifyOptions{})
	if rep.Identical() || len(rep.Offsets) != 1 || rep.Offsets[0] != 6*mib+7 {
		t.Fatalf("a byte written into the target's hole: %+v", rep)
	}
	// Data in the source where the target has a hole: different.
	if err := os.Truncate(dst, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(dst, 8*mib); err != nil {
		t.Fatal(err)
	}
	rep = verify(t, src, dst, engine.VerifyOptions{})
	if rep.Offsets[0] != 0 || rep.DiffBytes != mib {
		t.Fatalf("an empty target: offsets %v, %d differing bytes, want 0 and %d", rep.Offsets, rep.DiffBytes, mib)
	}
}

func TestVerifySizes(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 8*mib, 4, seg{0, mib, false})
	copyFile(t, src, dst)
	if err := os.Truncate(dst, 16*mib); err != nil { // grown, the new part a hole
		t.Fatal(err)
	}
	rep := verify(t, src, dst, engine.VerifyOptions{})
	if rep.Identical() {
		t.Fatal("a grown target reported identical")
	}
	if rep.SourceSize != 8*mib || rep.TargetSize != 16*mib || rep.Offsets[0] != 8*mib || rep.DiffBytes != 8*mib {
		t.Fatalf("grown target: %+v", rep)
	}
}

func TestVerifyErrors(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 8*mib, 5, seg{0, 8 * mib, false})
	copyFile(t, src, dst)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := engine.Verify(ctx, src, dst, engine.VerifyOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Verify: %v, want context.Canceled", err)
	}
	// A limited rate is still interrupted by its context: at 1 KiB/s the
	// target's first chunk is due after 64 s, the deadline comes first.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := engine.Verify(ctx, src, dst, engine.VerifyOptions{ChunkSize: 64 << 10, BandwidthLimit: 1 << 10})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("throttled Verify past its deadline: %v, want context.DeadlineExceeded", err)
	}
	if _, err := engine.Verify(context.Background(), src, filepath.Join(dir, "missing"), engine.VerifyOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing target: %v", err)
	}
	// A symlink in a volume's place is not followed (issue 14 item 5).
	link := filepath.Join(dir, "link")
	if err := os.Symlink(dst, link); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Verify(context.Background(), src, link, engine.VerifyOptions{}); !errors.Is(err, beneath.ErrSymlink) {
		t.Errorf("symlinked target: %v, want beneath.ErrSymlink", err)
	}
	if _, err := engine.Verify(context.Background(), dir, dst, engine.VerifyOptions{}); !errors.Is(err, engine.ErrNotRegular) {
		t.Errorf("directory source: %v, want ErrNotRegular", err)
	}
}

// TestVerifyWindows compares a file in windows [From, To): each window sees
// only its own differences, and only the last one the size difference.
func TestVerifyWindows(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 8*mib, 6, seg{0, 8 * mib, false})
	copyFile(t, src, dst)
	invertAt(t, dst, 5*mib+1, 2)
	if err := os.Truncate(dst, 9*mib); err != nil {
		t.Fatal(err)
	}
	var offsets []int64
	var compared, diff int64
	for from := int64(0); from < 9*mib; from += 2 * mib {
		rep := verify(t, src, dst, engine.VerifyOptions{From: from, To: from + 2*mib})
		offsets = append(offsets, rep.Offsets...)
		compared += rep.BytesCompared
		diff += rep.DiffBytes
		if from == 4*mib && (rep.Identical() || rep.Offsets[0] != 5*mib+1) {
			t.Errorf("window [4M, 6M): %+v", rep)
		}
		if from == 0 && rep.DiffBytes != 0 {
			t.Errorf("window [0, 2M) sees differences: %+v", rep)
		}
	}
	if compared != 8*mib || diff != 2+mib || offsets[0] != 5*mib+1 || offsets[2] != 8*mib {
		t.Fatalf("windows: compared %d, %d differing bytes, offsets %v…; want %d, %d, 5M+1, 5M+2, 8M", compared, diff, offsets[:3], 8*mib, 2+mib)
	}
}
