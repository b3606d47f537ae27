package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/replicad/replicad/replica/engine"
)

func TestExtents(t *testing.T) {
	tests := []struct {
		name string
		size int64
		segs []seg
		want []engine.Extent
	}{
		{"empty", 0, nil, nil},
		{"all hole", 8 * mib, nil, nil},
		{"dense", 2 * mib, []seg{{0, 2 * mib, false}}, []engine.Extent{{0, 2 * mib}}},
		{"two islands", 16 * mib, []seg{{1 * mib, mib, false}, {8 * mib, 2 * mib, false}},
			[]engine.Extent{{1 * mib, mib}, {8 * mib, 2 * mib}}},
		{"tail data, unaligned size", 4*mib + 100, []seg{{4 * mib, 100, false}},
			[]engine.Extent{{4 * mib, 100}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "img")
			makeImage(t, p, tt.size, 1, tt.segs...)
			got := dataExtents(t, p)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Extents = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCopy(t *testing.T) {
	images := []struct {
		name string
		size int64
		segs []seg
		// zeroInside is the number of allocated zero bytes zero detection can drop.
		zeroInside int64
	}{
		{"empty", 0, nil, 0},
		{"all hole", 16 * mib, nil, 0},
		{"dense", 8 * mib, []seg{{0, 8 * mib, false}}, 0},
		{"islands", 32 * mib, []seg{{mib, 3 * mib, false}, {17*mib + 4096, 5000, false}, {31 * mib, mib, false}}, 0},
		{"unaligned tail", 6*mib + 123, []seg{{5 * mib, mib + 123, false}}, 0},
		{"zero runs inside data", 24 * mib, []seg{{0, 20 * mib, false}, {2 * mib, 3 * mib, true}, {10*mib + 8192, 64 << 10, true}}, 3*mib + 64<<10},
	}
	methods := []engine.Method{engine.MethodAuto, engine.MethodReadWrite, engine.MethodCopyFileRange}
	for _, img := range images {
		for _, m := range methods {
			for _, v := range []struct{ zeros, pageCache bool }{{true, false}, {false, false}, {true, true}} {
				zeros, pageCache := v.zeros, v.pageCache
				if (m == engine.MethodCopyFileRange && zeros) || (m != engine.MethodReadWrite && pageCache) {
					continue // copy_file_range cannot see zeros; the page cache matters to readwrite only
				}
				name := img.name + "/" + m.String()
				if zeros {
					name += "/zeros"
				}
				if pageCache {
					name += "/pagecache"
				}
				t.Run(name, func(t *testing.T) {
					dir := t.TempDir()
					src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
					makeImage(t, src, img.size, 7, img.segs...)
					opts := engine.DefaultOptions()
					opts.ChunkSize = mib
					opts.Method = m
					opts.DetectZeros = zeros
					opts.PageCache = pageCache
					if !pageCache {
						opts.WriteIO = engine.IODirect // IOAuto is direct too: iopath_internal_test.go
					}
					var lastDone, lastTotal int64
					opts.Progress = func(done, total int64) {
						if done < lastDone {
							t.Errorf("progress went back: got %d after %d", done, lastDone)
						}
						lastDone, lastTotal = done, total
					}
					st, err := engine.Copy(context.Background(), src, dst, opts)
					if err != nil {
						t.Fatalf("Copy: %v", err)
					}
					mustEqualFiles(t, src, dst)
					// Data extents, not st_blocks: an extent-tree block depends on how
					// the filesystem placed the file beside other tests' files.
					srcData, dstData := dataBytes(t, src), dataBytes(t, dst)
					want := srcData
					if zeros {
						want = srcData - img.zeroInside
					}
					if dstData > want {
						t.Errorf("target holds %d bytes of data extents, want at most %d (source %d)", dstData, want, srcData)
					}
					if dstAlloc := allocated(t, dst); st.BytesAllocated != dstAlloc {
						t.Errorf("Stats.BytesAllocated = %d, want %d", st.BytesAllocated, dstAlloc)
					}
					if lastDone != lastTotal {
						t.Errorf("final progress = %d of %d, want done == total", lastDone, lastTotal)
					}
					if zeros && st.ZeroBytes < img.zeroInside {
						t.Errorf("Stats.ZeroBytes = %d, want >= %d", st.ZeroBytes, img.zeroInside)
					}
					wantDirect := st.Method == engine.MethodReadWrite && !pageCache && engine.DirectIOSupported(t, src)
					if st.DirectIO != wantDirect {
						t.Errorf("Stats.DirectIO = %v, want %v", st.DirectIO, wantDirect)
					}
					switch {
					case st.Method == engine.MethodReflink:
						// the filesystem supports reflink: fine for auto
						if m != engine.MethodAuto {
							t.Errorf("Stats.Method = reflink, want %v", m)
						}
					case m == engine.MethodAuto && zeros && st.Method != engine.MethodReadWrite:
						t.Errorf("Stats.Method = %v, want readwrite", st.Method)
					case m == engine.MethodAuto && !zeros && st.Method != engine.MethodCopyFileRange:
						t.Errorf("Stats.Method = %v, want copy_file_range", st.Method)
					case m != engine.MethodAuto && st.Method != m:
						t.Errorf("Stats.Method = %v, want %v", st.Method, m)
					}
				})
			}
		}
	}
}

func TestCopyReflink(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 4*mib, 3, seg{0, mib, false})
	opts := engine.DefaultOptions()
	opts.Method = engine.MethodReflink
	st, err := engine.Copy(context.Background(), src, dst, opts)
	if err == nil {
		if st.Method != engine.MethodReflink {
			t.Errorf("Stats.Method = %v, want reflink", st.Method)
		}
		mustEqualFiles(t, src, dst)
		return
	}
	// ext4 and tmpfs have no reflink: the explicit request must fail cleanly.
	if !errors.Is(err, engine.ErrUnsupported) {
		t.Fatalf("Copy(reflink) error = %v, want ErrUnsupported", err)
	}
	if exists(dst) {
		t.Errorf("target %s left behind after failed reflink", dst)
	}
}

func TestCopyBandwidthLimit(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 4*mib, 5, seg{0, 2 * mib, false})
	opts := engine.DefaultOptions()
	opts.ChunkSize = 256 << 10
	opts.BandwidthLimit = 64 * mib
	if _, err := engine.Copy(context.Background(), src, dst, opts); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	mustEqualFiles(t, src, dst)

	// A throttled copy is cancelled promptly and leaves nothing behind.
	dst2 := filepath.Join(dir, "dst2")
	opts.BandwidthLimit = 1 // one byte per second: would take weeks
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The first chunk goes at once; the next one waits on the throttle, where it
	// must notice the cancellation.
	engine.SetAfterChunk(&opts, func(int64) { cancel() })
	_, err := engine.Copy(ctx, src, dst2, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Copy error = %v, want context.Canceled", err)
	}
	if exists(dst2) {
		t.Errorf("cancelled copy left %s behind", dst2)
	}
}

func TestCopyResume(t *testing.T) {
	for _, m := range []engine.Method{engine.MethodReadWrite, engine.MethodCopyFileRange} {
		t.Run(m.String(), func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			makeImage(t, src, 48*mib, 11,
				seg{0, 20 * mib, false}, seg{4 * mib, mib, true}, seg{30 * mib, 10 * mib, false})
			opts := engine.DefaultOptions()
			opts.Method = m
			opts.DetectZeros = m == engine.MethodReadWrite
			opts.ChunkSize = mib
			opts.CheckpointEvery = 4 * mib
			// One worker finishes chunks in order, so the first checkpoint falls early
			// (with several, a slow first chunk can hold the watermark to the end).
			opts.Workers = 1
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var cps []engine.Checkpoint
			opts.Checkpoint = func(cp engine.Checkpoint) error {
				cps = append(cps, cp)
				cancel() // the "crash": stop right after the first checkpoint

				return nil
			}
			_, err := engine.Copy(ctx, src, dst, opts)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted Copy error = %v, want context.Canceled", err)
			}
			if len(cps) == 0 {
				t.Fatal("no checkpoint before the interruption")
			}
			last := cps[len(cps)-1]
			if last.Offset <= 0 || last.Offset >= 48*mib {
				t.Fatalf("last checkpoint offset = %d, want inside (0, %d)", last.Offset, 48*mib)
			}
			for i := 1; i < len(cps); i++ {
				if cps[i].Offset <= cps[i-1].Offset {
					t.Errorf("checkpoint %d offset %d not after %d", i, cps[i].Offset, cps[i-1].Offset)
				}
			}
			if !exists(dst) {
				t.Fatal("interrupted copy with checkpoints removed its target")
			}
			// Garbage past the checkpoint (a torn write before the crash) must not survive.
			f, err := os.OpenFile(dst, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("torn write garbage"), 44*mib); err != nil {
				t.Fatal(err)
			}
			f.Close()

			opts2 := engine.DefaultOptions()
			opts2.Method = m
			opts2.DetectZeros = opts.DetectZeros
			opts2.Resume = &last
			var first int64 = -1
			opts2.Progress = func(done, total int64) {
				if first < 0 {
					first = done
				}
			}
			if _, err := engine.Copy(context.Background(), src, dst, opts2); err != nil {
				t.Fatalf("resumed Copy: %v", err)
			}
			mustEqualFiles(t, src, dst)
			if first <= last.Done {
				t.Errorf("resumed progress started at %d, want above checkpoint's %d", first, last.Done)
			}
			if !isHole(t, dst, 40*mib, 8*mib) {
				t.Errorf("tail of resumed target is allocated, want a hole")
			}
		})
	}
}

func TestCopyResumeRejectsChangedSource(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 8*mib, 1, seg{0, 8 * mib, false})
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	cp := engine.Checkpoint{Offset: 4 * mib, Size: 8 * mib, Done: 4 * mib,
		Source: engine.Identity{Dev: uint64(st.Dev), Ino: st.Ino, Size: 8 * mib, MtimeNS: fi.ModTime().UnixNano() - 1}}
	if err := os.WriteFile(dst, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := engine.DefaultOptions()
	opts.Resume = &cp
	_, err = engine.Copy(context.Background(), src, dst, opts)
	if !errors.Is(err, engine.ErrSourceChanged) {
		t.Fatalf("Copy error = %v, want ErrSourceChanged", err)
	}
}

func TestCopyCancelledBeforeCheckpointRemovesTarget(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 8*mib, 4, seg{0, 8 * mib, false})
	opts := engine.DefaultOptions()
	opts.ChunkSize = mib
	opts.CheckpointEvery = 64 * mib // never reached
	calls := 0
	opts.Checkpoint = func(engine.Checkpoint) error { calls++; return nil }
	ctx, cancel := context.WithCancel(context.Background())
	engine.SetAfterChunk(&opts, func(int64) { cancel() })
	_, err := engine.Copy(ctx, src, dst, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Copy error = %v, want context.Canceled", err)
	}
	if calls != 0 {
		t.Fatalf("checkpoints = %d, want 0", calls)
	}
	if exists(dst) {
		t.Error("cancelled copy without a checkpoint left its target, want it removed")
	}
}

// TestCheckpointsCoverCopiedData checks, with parallel workers, that every
// checkpoint only claims target bytes that are already equal to the source.
func TestCheckpointsCoverCopiedData(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 24*mib, 8, seg{0, 10 * mib, false}, seg{12 * mib, 11 * mib, false})
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	opts := engine.DefaultOptions()
	opts.Workers = 4
	opts.ChunkSize = 512 << 10
	opts.CheckpointEvery = 1
	var last int64
	opts.Checkpoint = func(cp engine.Checkpoint) error {
		if cp.Offset <= last {
			t.Errorf("checkpoint offset %d not after %d", cp.Offset, last)
		}
		last = cp.Offset
		got, err := os.ReadFile(dst)
		if err != nil {
			return err
		}
		if !bytes.Equal(got[:cp.Offset], want[:cp.Offset]) {
			t.Errorf("checkpoint at %d claims bytes the target does not hold yet", cp.Offset)
		}
		return nil
	}
	if _, err := engine.Copy(context.Background(), src, dst, opts); err != nil {
		t.Fatal(err)
	}
	if last != 24*mib {
		t.Errorf("last checkpoint at %d, want %d", last, 24*mib)
	}
	mustEqualFiles(t, src, dst)
}

// TestCopyWritesInFileOrder checks that the readers running ahead do not reorder
// the writes: the target is written front to back, which lets the filesystem lay
// it out contiguously.
func TestCopyWritesInFileOrder(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 64*mib, 12, seg{0, 20 * mib, false}, seg{24 * mib, 3 * mib, false}, seg{30 * mib, 30 * mib, false})
	opts := engine.DefaultOptions()
	opts.Method = engine.MethodReadWrite
	opts.ChunkSize = 256 << 10
	opts.Workers = 8
	var offs []int64 // written by the one writer only
	engine.SetAfterChunk(&opts, func(off int64) { offs = append(offs, off) })
	if _, err := engine.Copy(context.Background(), src, dst, opts); err != nil {
		t.Fatal(err)
	}
	mustEqualFiles(t, src, dst)
	if want := (20 + 3 + 30) * 4; len(offs) != want {
		t.Fatalf("%d chunks written, want %d", len(offs), want)
	}
	if !slices.IsSorted(offs) {
		t.Errorf("chunks written out of file order: %v", offs)
	}
}

// TestCheckpointDoesNotStopWriter checks that the copy goes on writing while
// a checkpoint is being taken: the first checkpoint waits until the writer
// has written chunks past it.
func TestCheckpointDoesNotStopWriter(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 16*mib, 3, seg{0, 16 * mib, false})
	opts := engine.DefaultOptions()
	opts.Method = engine.MethodReadWrite
	opts.ChunkSize = mib
	opts.Workers = 1
	opts.CheckpointEvery = mib
	var written atomic.Int64 // end of the last chunk written
	engine.SetAfterChunk(&opts, func(off int64) { written.Store(off + mib) })
	first := true
	opts.Checkpoint = func(cp engine.Checkpoint) error {
		if !first {
			return nil
		}
		first = false
		// Generous: this only fails when the writer waits for this call.
		for deadline := time.Now().Add(20 * time.Second); written.Load() < cp.Offset+4*mib; {
			if time.Now().After(deadline) {
				return fmt.Errorf("writer stalled at %d behind the checkpoint at %d", written.Load(), cp.Offset)
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	}
	if _, err := engine.Copy(context.Background(), src, dst, opts); err != nil {
		t.Fatal(err)
	}
	mustEqualFiles(t, src, dst)
}

// TestProgressDoesNotStopWriter checks that a slow Progress callback (the
// job layer persists progress with an fsync) does not hold up the writer,
// and that the last report is the whole copy.
func TestProgressDoesNotStopWriter(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 16*mib, 4, seg{0, 16 * mib, false})
	opts := engine.DefaultOptions()
	opts.Method = engine.MethodReadWrite
	opts.ChunkSize = mib
	opts.Workers = 1
	var written atomic.Int64
	engine.SetAfterChunk(&opts, func(off int64) { written.Store(off + mib) })
	first := true
	var stalled error
	var last int64
	opts.Progress = func(done, total int64) {
		last = done
		if !first {
			return
		}
		first = false
		for deadline := time.Now().Add(20 * time.Second); written.Load() < done+4*mib; {
			if time.Now().After(deadline) {
				stalled = fmt.Errorf("writer stalled at %d behind a progress report of %d", written.Load(), done)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	if _, err := engine.Copy(context.Background(), src, dst, opts); err != nil {
		t.Fatal(err)
	}
	if stalled != nil {
		t.Error(stalled)
	}
	if last != 16*mib {
		t.Errorf("last progress %d, want %d", last, 16*mib)
	}
	mustEqualFiles(t, src, dst)
}
