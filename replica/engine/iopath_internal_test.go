package engine

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeSysBlock builds a /sys/dev/block lookalike under a temporary folder:
// each entry of devs maps "maj:min" to a device folder path under
// devices/; a loop device gets its backing_file, a partition its
// "partition" file.
func fakeSysBlock(t *testing.T, devs map[string]string, backing map[string]string) string {
	t.Helper()
	root := t.TempDir()
	block := filepath.Join(root, "dev", "block")
	if err := os.MkdirAll(block, 0o755); err != nil {
		t.Fatal(err)
	}
	for num, dev := range devs {
		dir := filepath.Join(root, "devices", dev)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(dev, "/") { // disk/partition
			if err := os.WriteFile(filepath.Join(dir, "partition"), []byte("1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if b, ok := backing[dev]; ok {
			if err := os.MkdirAll(filepath.Join(dir, "loop"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "loop", "backing_file"), []byte(b+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(filepath.Join("..", "..", "devices", dev), filepath.Join(block, num)); err != nil {
			t.Fatal(err)
		}
	}
	return block
}

// fsType is the statfs magic of the filesystem holding path.
func fsType(t *testing.T, path string) int64 {
	t.Helper()
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		t.Fatal(err)
	}
	return fs.Type
}

// TestMemoryBacked checks the device classes IOAuto writes to with O_DIRECT
// (memory-backed: RAM disks, zram, pmem, a loop device over tmpfs) and those
// it writes to through the page cache (everything else, and anything it
// cannot look up).
func TestMemoryBacked(t *testing.T) {
	shm, disk := "/dev/shm", "."
	if fsType(t, shm) != unix.TMPFS_MAGIC {
		t.Fatalf("%s is not tmpfs: the test needs a tmpfs folder to name as a loop's backing file", shm)
	}
	if ty := fsType(t, disk); ty == unix.TMPFS_MAGIC || ty == unix.RAMFS_MAGIC {
		t.Fatalf("the package folder is in memory (fs magic %#x): the test needs it on a disk", ty)
	}
	root := fakeSysBlock(t, map[string]string{
		"7:0":   "loop0",
		"7:1":   "loop1",
		"7:2":   "loop2",
		"1:0":   "ram0",
		"253:0": "zram0",
		"259:0": "pmem0",
		"259:1": "pmem0/pmem0p1",
		"254:0": "vda",
		"254:1": "vda/vda1",
		"8:0":   "sda",
	}, map[string]string{
		"loop0": filepath.Join(shm, "image.ext4"),
		"loop1": filepath.Join(disk, "image.ext4"),
		"loop2": "/nonexistent/image.ext4",
	})
	for _, tt := range []struct {
		maj, min uint32
		want     bool
	}{
		{7, 0, true},    // loop over tmpfs
		{7, 1, false},   // loop over a file on a disk
		{7, 2, false},   // loop whose backing file cannot be looked up
		{1, 0, true},    // RAM disk
		{253, 0, true},  // zram
		{259, 1, true},  // a partition of pmem
		{254, 0, false}, // virtio disk
		{254, 1, false}, // a partition of it
		{8, 0, false},   // SCSI disk
		{0, 42, false},  // no block device (tmpfs, btrfs, NFS)
		{99, 99, false}, // unknown
	} {
		if got := memoryBacked(root, tt.maj, tt.min); got != tt.want {
			t.Errorf("memoryBacked(%d:%d) = %v, want %v", tt.maj, tt.min, got, tt.want)
		}
	}
}

// withSysBlock points the device lookup at root for the test, with an empty cache.
func withSysBlock(t *testing.T, root string) {
	old := sysBlock
	sysBlock = root
	memoryBackedCache = sync.Map{}
	t.Cleanup(func() { sysBlock = old; memoryBackedCache = sync.Map{} })
}

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

// TestAutoWritePathFollowsDevice checks that Copy with IOAuto writes the
// target through the page cache on a disk and with O_DIRECT where the
// target's device is memory-backed, as Stats reports.
func TestAutoWritePathFollowsDevice(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	want := randomFile(t, src, 4<<20, 1)
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	_, ok := directAlignment(f)
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !ok {
		t.Fatalf("%s does not support O_DIRECT: the test cannot tell the paths apart", dir)
	}
	num := fmt.Sprintf("%d:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)))
	for _, tt := range []struct {
		dev, backing string
		want         IOPath
	}{
		{"sda", "", IOPageCache},
		{"loop5", "/dev/shm/image.ext4", IODirect},
	} {
		backing := map[string]string{}
		if tt.backing != "" {
			backing[tt.dev] = tt.backing
		}
		withSysBlock(t, fakeSysBlock(t, map[string]string{num: tt.dev}, backing))
		dst := filepath.Join(dir, "dst-"+tt.dev)
		opts := DefaultOptions()
		opts.Method = MethodReadWrite
		s, err := Copy(context.Background(), src, dst, opts)
		if err != nil {
			t.Fatal(err)
		}
		if s.WriteIO != tt.want || s.ReadIO != IODirect {
			t.Errorf("target on %s: Stats.ReadIO, WriteIO = %v, %v, want direct, %v", tt.dev, s.ReadIO, s.WriteIO, tt.want)
		}
		if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, want) {
			t.Errorf("target on %s differs from the source (%v)", tt.dev, err)
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
