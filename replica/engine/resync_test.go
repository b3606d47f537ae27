package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/replica/engine"
)

func TestDirtyMap(t *testing.T) {
	m := engine.NewDirtyMap(10*mib, 64<<10) // 160 blocks
	m.Set(3)
	m.MarkRange(64<<10*70+5, 64<<10) // touches blocks 70 and 71
	m.Set(159)
	m.Set(3)
	if got, want := m.Count(), int64(4); got != want {
		t.Errorf("Count = %d, want %d", got, want)
	}
	var got []int64
	for i := m.Next(0); i >= 0; i = m.Next(i + 1) {
		got = append(got, i)
	}
	if want := []int64{3, 70, 71, 159}; !slices.Equal(got, want) {
		t.Errorf("dirty blocks = %v, want %v", got, want)
	}
	m.Clear(70)
	if m.Test(70) || !m.Test(71) {
		t.Errorf("after Clear(70): Test(70) = %v, Test(71) = %v, want false, true", m.Test(70), m.Test(71))
	}
	m.Set(200) // past the end: grows
	if got, want := m.Len(), int64(201); got != want {
		t.Errorf("Len after Set(200) = %d, want %d", got, want)
	}

	t.Run("binary round trip", func(t *testing.T) {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var n engine.DirtyMap
		if err := n.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		assertSameMap(t, &n, m)
		if err := n.UnmarshalBinary(b[:len(b)-1]); err == nil {
			t.Error("UnmarshalBinary of truncated data succeeded, want error")
		}
	})
	t.Run("json round trip", func(t *testing.T) {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var n engine.DirtyMap
		if err := json.Unmarshal(b, &n); err != nil {
			t.Fatal(err)
		}
		assertSameMap(t, &n, m)
		if err := json.Unmarshal([]byte(`{"blockSize":0,"blocks":1,"bits":"AAAAAAAAAAA="}`), &n); err == nil {
			t.Error("Unmarshal with block size 0 succeeded, want error")
		}
	})
	m.Reset()
	if got := m.Count(); got != 0 {
		t.Errorf("Count after Reset = %d, want 0", got)
	}
}

func assertSameMap(t *testing.T, got, want *engine.DirtyMap) {
	t.Helper()
	if got.BlockSize() != want.BlockSize() || got.Len() != want.Len() || got.Count() != want.Count() {
		t.Fatalf("map = (bs %d, len %d, count %d), want (%d, %d, %d)",
			got.BlockSize(), got.Len(), got.Count(), want.BlockSize(), want.Len(), want.Count())
	}
	for i := range want.Len() {
		if got.Test(i) != want.Test(i) {
			t.Fatalf("block %d: got %v, want %v", i, got.Test(i), want.Test(i))
		}
	}
}

// mutate applies changes to src and returns the blocks (of bs bytes) it touched.
type change struct {
	off, n int64
	kind   string // "data", "zeros" (allocated zeros written), "punch"
}

func mutate(t *testing.T, path string, bs int64, changes ...change) *engine.DirtyMap {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	m := engine.NewDirtyMap(fi.Size(), bs)
	for i, c := range changes {
		switch c.kind {
		case "data":
			p := make([]byte, c.n)
			for j := range p {
				p[j] = byte(i*31+j) | 1
			}
			_, err = f.WriteAt(p, c.off)
		case "zeros":
			_, err = f.WriteAt(make([]byte, c.n), c.off)
		case "punch":
			err = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, c.off, c.n)
		}
		if err != nil {
			t.Fatal(err)
		}
		m.MarkRange(c.off, c.n)
	}
	return m
}

func TestResync(t *testing.T) {
	const bs = 64 << 10
	changes := []change{
		{0, 100, "data"},              // block 0
		{5*mib + 10, 3 * bs, "data"},  // blocks 80..83
		{2 * mib, bs, "zeros"},        // block 32 becomes zeros: must be punched
		{3 * mib, bs, "punch"},        // block 48 becomes a hole
		{30 * mib, bs, "data"},        // block 480, inside a source hole before
		{32*mib - 4096, 4096, "data"}, // last block
	}
	modes := []string{"dirty map", "hash sidecar", "dirty map with sidecar", "compare target"}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			src, dst, side := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "dst.hashes")
			makeImage(t, src, 32*mib, 9, seg{0, 8 * mib, false}, seg{20 * mib, mib, false})
			if _, err := engine.Copy(context.Background(), src, dst, engine.DefaultOptions()); err != nil {
				t.Fatal(err)
			}
			opts := engine.ResyncOptions{Options: engine.DefaultOptions(), BlockSize: bs}
			opts.ChunkSize = mib
			if mode != "dirty map" && mode != "compare target" {
				opts.HashSidecar = side
				// First sync builds the sidecar by comparing with the target: nothing differs.
				st, err := engine.Resync(context.Background(), src, dst, opts)
				if err != nil {
					t.Fatal(err)
				}
				if st.Extents != 0 || st.BytesCopied != 0 {
					t.Errorf("initial resync changed %d blocks, wrote %d bytes, want 0, 0", st.Extents, st.BytesCopied)
				}
				opts.SidecarGeneration = st.SidecarGeneration
				if !exists(side) {
					t.Fatalf("sidecar %s not written", side)
				}
			}
			dirty := mutate(t, src, bs, changes...)
			if mode == "dirty map" || mode == "dirty map with sidecar" {
				opts.Dirty = dirty
			}
			var lastDone, lastTotal int64
			opts.Progress = func(done, total int64) { lastDone, lastTotal = done, total }
			st, err := engine.Resync(context.Background(), src, dst, opts)
			if err != nil {
				t.Fatalf("Resync: %v", err)
			}
			mustEqualFiles(t, src, dst)
			if lastDone == 0 || lastDone != lastTotal {
				t.Errorf("final progress = %d of %d, want done == total > 0", lastDone, lastTotal)
			}
			if got, want := int64(st.Extents), dirty.Count(); got != want {
				t.Errorf("changed blocks = %d, want %d", got, want)
			}
			if st.BytesCopied > dirty.Count()*bs {
				t.Errorf("wrote %d bytes, want at most %d", st.BytesCopied, dirty.Count()*bs)
			}
			for _, off := range []int64{2 * mib, 3 * mib} {
				if !isHole(t, dst, off, bs) {
					t.Errorf("target block at %d is allocated, want a hole (zeroed in source)", off)
				}
			}
			if opts.HashSidecar != "" {
				// Nothing changed since: the sidecar alone proves it, without
				// writes and without reading the target.
				opts.Dirty = nil
				opts.SidecarGeneration = st.SidecarGeneration
				st, err := engine.Resync(context.Background(), src, dst, opts)
				if err != nil {
					t.Fatal(err)
				}
				if st.Extents != 0 || !st.SidecarTrusted || st.TargetBytesRead != 0 {
					t.Errorf("resync of an unchanged source: changed %d blocks, sidecar trusted %v, read %d target bytes; want 0, true, 0",
						st.Extents, st.SidecarTrusted, st.TargetBytesRead)
				}
			}
		})
	}
}

func TestResyncSizeChange(t *testing.T) {
	for _, tc := range []struct {
		name    string
		newSize int64
	}{{"grown", 12*mib + 5}, {"shrunk", 4*mib + 4096}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			makeImage(t, src, 8*mib, 2, seg{0, 6 * mib, false})
			if _, err := engine.Copy(context.Background(), src, dst, engine.DefaultOptions()); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(src, tc.newSize); err != nil {
				t.Fatal(err)
			}
			f, _ := os.OpenFile(src, os.O_WRONLY, 0)
			f.WriteAt([]byte("tail"), tc.newSize-4)
			f.Close()
			opts := engine.ResyncOptions{Options: engine.DefaultOptions(), HashSidecar: filepath.Join(dir, "side")}
			if _, err := engine.Resync(context.Background(), src, dst, opts); err != nil {
				t.Fatal(err)
			}
			mustEqualFiles(t, src, dst)
		})
	}
}

func TestResyncFaults(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 4*mib, 2, seg{0, mib, false})
	if _, err := engine.Copy(context.Background(), src, dst, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	side := filepath.Join(dir, "side")
	first, err := engine.Resync(context.Background(), src, dst, engine.ResyncOptions{HashSidecar: side, BlockSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		src, dst string
		opts     engine.ResyncOptions
		want     error
	}{
		{"same file", context.Background(), src, src, engine.ResyncOptions{}, engine.ErrSameFile},
		{"target missing", context.Background(), src, filepath.Join(dir, "nope"), engine.ResyncOptions{}, os.ErrNotExist},
		{"source not regular", context.Background(), dir, dst, engine.ResyncOptions{}, engine.ErrNotRegular},
		{"sidecar of another block size", context.Background(), src, dst, engine.ResyncOptions{HashSidecar: side, BlockSize: 128 << 10}, engine.ErrBadSidecar},
		{"cancelled", cancelled, src, dst, engine.ResyncOptions{}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engine.Resync(tt.ctx, tt.src, tt.dst, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Resync error = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("write error", func(t *testing.T) {
		mutate(t, src, 64<<10, change{0, 10, "data"})
		opts := engine.ResyncOptions{BlockSize: 64 << 10}
		engine.SetWriteHook(&opts.Options, func([]byte, int64) error { return unix.ENOSPC })
		opts.HashSidecar, opts.SidecarGeneration = side, first.SidecarGeneration
		_, err := engine.Resync(context.Background(), src, dst, opts)
		if !errors.Is(err, unix.ENOSPC) {
			t.Fatalf("Resync error = %v, want ENOSPC", err)
		}
		if exists(side) {
			t.Error("sidecar kept after a failed resync that began changing the target, want it removed")
		}
		opts = engine.ResyncOptions{BlockSize: 64 << 10, HashSidecar: side, SidecarGeneration: first.SidecarGeneration}
		if _, err := engine.Resync(context.Background(), src, dst, opts); err != nil {
			t.Fatal(err)
		}
		mustEqualFiles(t, src, dst)
	})
}
