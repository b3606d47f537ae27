package engine

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// randomFile writes n random bytes to path.
func randomFile(t *testing.T, path string, n int, seed uint64) []byte {
	t.Helper()
	b := make([]byte, n)
	var key [32]byte
	key[0] = byte(seed)
	_, _ = rand.NewChaCha8(key).Read(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIOPaths checks which path each WriteIO takes: IOAuto and IODirect
// write the target with O_DIRECT where the filesystem supports it,
// IOPageCache through the page cache, as Stats reports; the source is read
// with O_DIRECT in each case.
func TestIOPaths(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	want := randomFile(t, src, 4<<20, 1)
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	_, ok := directAlignment(f)
	f.Close()
	if !ok {
		t.Fatalf("%s does not support O_DIRECT: the test cannot tell the paths apart", dir)
	}
	for _, tt := range []struct{ write, want IOPath }{
		{IOAuto, IODirect}, {IODirect, IODirect}, {IOPageCache, IOPageCache},
	} {
		dst := filepath.Join(dir, "dst-"+tt.write.String())
		opts := DefaultOptions()
		opts.Method = MethodReadWrite
		opts.WriteIO = tt.write
		s, err := Copy(context.Background(), src, dst, opts)
		if err != nil {
			t.Fatal(err)
		}
		if s.WriteIO != tt.want || s.ReadIO != IODirect {
			t.Errorf("WriteIO %v: Stats.ReadIO, WriteIO = %v, %v, want direct, %v", tt.write, s.ReadIO, s.WriteIO, tt.want)
		}
		if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, want) {
			t.Errorf("WriteIO %v: the target differs from the source (%v)", tt.write, err)
		}
	}
}

// TestPageCacheCheckpointsAreDurable checks the page-cache path's durability:
// when a checkpoint reaches the caller, no page of the target below its
// offset is dirty or under writeback (cachestat), so the record never covers
// data that a crash could lose.
func TestPageCacheCheckpointsAreDurable(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	randomFile(t, src, 24<<20, 2)
	opts := DefaultOptions()
	opts.Method = MethodReadWrite
	opts.WriteIO = IOPageCache
	opts.ChunkSize = 1 << 20
	opts.CheckpointEvery = 4 << 20
	n := 0
	opts.Checkpoint = func(cp Checkpoint) error {
		n++
		f, err := os.Open(dst)
		if err != nil {
			return err
		}
		defer f.Close()
		var cs unix.Cachestat_t
		if err := unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{Off: 0, Len: uint64(cp.Offset)}, &cs, 0); err != nil {
			return fmt.Errorf("cachestat: %w", err)
		}
		if cs.Dirty != 0 || cs.Writeback != 0 {
			t.Errorf("checkpoint at %d: %d pages below it dirty, %d under writeback, want 0", cp.Offset, cs.Dirty, cs.Writeback)
		}
		return nil
	}
	s, err := Copy(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.WriteIO != IOPageCache {
		t.Fatalf("Stats.WriteIO = %v, want pagecache", s.WriteIO)
	}
	if n == 0 {
		t.Fatal("no checkpoint taken")
	}
}

// TestWriteBehindInFileOrder checks the page-cache path's write-behind:
// writeback of the target starts while the copy goes on, over the finished
// prefix in file order, with no gap and no range twice.
func TestWriteBehindInFileOrder(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	const size = 3*(2<<20) + 5<<20
	randomFile(t, src, size, 3)
	opts := DefaultOptions()
	opts.Method = MethodReadWrite
	opts.WriteIO = IOPageCache
	opts.ChunkSize = 1 << 20
	opts.WriteBehind = 2 << 20
	var mu sync.Mutex
	var ranges [][2]int64
	started := make(chan struct{})
	opts.hooks = &hooks{
		writeBehind: func(from, to int64) {
			mu.Lock()
			defer mu.Unlock()
			if len(ranges) == 0 {
				close(started)
			}
			ranges = append(ranges, [2]int64{from, to})
		},
		afterChunk: func(off int64) {
			if off+opts.ChunkSize < size {
				return
			}
			// The last chunk is written: writeback must have started behind it.
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Errorf("no writeback started before the last chunk was written")
			}
		},
	}
	if _, err := Copy(context.Background(), src, dst, opts); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	next := int64(0)
	for i, r := range ranges {
		if r[0] != next || r[1] <= r[0] {
			t.Errorf("writeback range %d is [%d, %d), want one starting at %d", i, r[0], r[1], next)
		}
		next = r[1]
	}
}
