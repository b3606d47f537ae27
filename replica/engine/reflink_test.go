package engine_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/replicad/replicad/replica/engine"
	"github.com/replicad/replicad/replica/engine/enginetest"
)

// TestCopyReflinkXFS runs the reflink path for real: on a filesystem that shares
// extents, the default Copy clones instead of copying, so the target costs no data
// blocks and no source read, keeps the source's holes, and is a separate file
// afterwards (writes to it leave the source alone). Across filesystems it falls
// back to read/write on its own.
func TestCopyReflinkXFS(t *testing.T) {
	mnt := enginetest.MountReflinkFS(t, 512*mib)
	src, dst := filepath.Join(mnt, "src"), filepath.Join(mnt, "dst")
	makeImage(t, src, 64*mib, 11, seg{0, 16 * mib, false}, seg{32 * mib, 16 * mib, false}, seg{56 * mib, mib, true})
	srcData := dataExtents(t, src)

	free := enginetest.FreeBytes(t, mnt)
	st, err := engine.Copy(context.Background(), src, dst, engine.DefaultOptions())
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if st.Method != engine.MethodReflink || st.BytesRead != 0 {
		t.Errorf("Stats.Method = %v, BytesRead = %d; want reflink and 0", st.Method, st.BytesRead)
	}
	// 33 MiB of source data: a copy would take that much; the clone takes metadata only.
	if used := free - enginetest.FreeBytes(t, mnt); used > mib {
		t.Errorf("the clone used %d bytes of free space, want at most 1 MiB (shared extents)", used)
	}
	mustEqualFiles(t, src, dst)
	if !isHole(t, dst, 16*mib, 16*mib) || !isHole(t, dst, 57*mib, 7*mib) {
		t.Errorf("the clone filled in the source's holes: data extents %v", dataExtents(t, dst))
	}

	// The clone is copy-on-write: writing it leaves the source as it was.
	f, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 4096), mib); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := dataExtents(t, src); !slices.Equal(got, srcData) {
		t.Errorf("source extents after writing the clone = %v, want %v", got, srcData)
	}
	if p := readAt(t, src, mib, 4096); bytes.IndexByte(p, 0) >= 0 {
		t.Errorf("the source took the zeros written to its clone at offset %d", mib)
	}

	// Another filesystem cannot share extents: Auto falls back to read/write.
	other := filepath.Join(t.TempDir(), "dst")
	st, err = engine.Copy(context.Background(), src, other, engine.DefaultOptions())
	if err != nil {
		t.Fatalf("Copy across filesystems: %v", err)
	}
	if st.Method != engine.MethodReadWrite {
		t.Errorf("across filesystems Stats.Method = %v, want readwrite", st.Method)
	}
	mustEqualFiles(t, src, other)
}

// BenchmarkCopyReflink clones fully allocated images of growing size on XFS: the
// time per clone stays flat (it depends on extents, not bytes), which is what makes a
// Snapshot or Clone of any size instant there.
func BenchmarkCopyReflink(b *testing.B) {
	mnt := enginetest.MountReflinkFS(b, 4<<30)
	for _, size := range []int64{16 * mib, 256 * mib, 1024 * mib} {
		src := filepath.Join(mnt, "src"+strconv.FormatInt(size/mib, 10))
		makeImage(b, src, size, 1, seg{0, size, false})
		b.Run(strconv.FormatInt(size/mib, 10)+"MiB", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				dst := filepath.Join(mnt, "dst"+strconv.Itoa(i))
				st, err := engine.Copy(context.Background(), src, dst, engine.DefaultOptions())
				if err != nil || st.Method != engine.MethodReflink {
					b.Fatalf("Copy: %v (method %v)", err, st.Method)
				}
				os.Remove(dst)
			}
		})
		os.Remove(src)
	}
}

// readAt returns n bytes of path at off.
func readAt(t testing.TB, path string, off, n int64) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := make([]byte, n)
	if _, err := f.ReadAt(p, off); err != nil {
		t.Fatal(err)
	}
	return p
}
