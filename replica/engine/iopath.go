package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// IOPath is how the read/write path reaches one side's data: around the page
// cache (O_DIRECT) or through it.
type IOPath int

// The I/O paths. IOAuto chooses per file by the device class of its
// filesystem (see Options.ReadIO and Options.WriteIO).
const (
	IOAuto IOPath = iota
	IODirect
	IOPageCache
)

var ioPathNames = [...]string{"auto", "direct", "pagecache"}

// String returns the lower-case name of p ("auto", "direct", "pagecache").
func (p IOPath) String() string {
	if p < 0 || int(p) >= len(ioPathNames) {
		return fmt.Sprintf("iopath(%d)", int(p))
	}
	return ioPathNames[p]
}

// ParseIOPath returns the IOPath whose String is s.
func ParseIOPath(s string) (IOPath, error) {
	for i, n := range ioPathNames {
		if n == s {
			return IOPath(i), nil
		}
	}
	return 0, fmt.Errorf("engine: unknown I/O path %q (auto, direct or pagecache)", s)
}

// The rule IOAuto applies to the target, measured with bench/copy.sh and
// replicad-copy -write direct|pagecache in paired rounds (docs/copy-benchmark.md):
//
//   - On a memory-backed block device (a loop device over a file in tmpfs,
//     a RAM disk, zram, pmem) a copy is bound by memory copies and the
//     device has no queue to fill: O_DIRECT moves each byte once, into the
//     device, where the page cache copies it into the cache first and the
//     loop's one worker copies it again at writeback. There the page-cache
//     target cost 1.8-3.6× the direct one.
//   - On a real disk one writer's O_DIRECT writes in file order keep one
//     request in flight and the disk idles between them; page-cache writes
//     let the kernel's writeback keep its queue full. On the development
//     machine's virtio disk the page-cache target took 0.73-0.78× the direct
//     one on a 50%-allocated image (1 MiB extents) and was within noise of
//     it on a fully allocated one.
//
// So the target goes through the page cache (with write-behind in file
// order and fdatasync at checkpoints) except on memory-backed devices. A
// timing at run time was tried instead (a short direct write against a
// page-cache write and fdatasync) and flipped from one try to the next on
// the shared disk. The source is read with O_DIRECT wherever the filesystem
// allows it: several large reads in flight fill a disk's queue, and it
// leaves the page cache to the rest of the system.

// memoryBackedCache remembers the class of each device (st_dev) once looked up
// (a loop device attached to another backing file later keeps its first class
// until the process restarts: the choice is about speed, never about safety).
var memoryBackedCache sync.Map // uint64 -> bool

// sysBlock is the sysfs folder of block devices by number; tests point it at
// a fake tree.
var sysBlock = "/sys/dev/block"

// onMemoryDevice reports whether f's filesystem lives on a memory-backed
// block device. Anything it cannot tell counts as a real disk.
func onMemoryDevice(f *os.File) bool {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	dev := uint64(st.Dev)
	if v, ok := memoryBackedCache.Load(dev); ok {
		return v.(bool)
	}
	mem := memoryBacked(sysBlock, unix.Major(dev), unix.Minor(dev))
	memoryBackedCache.Store(dev, mem)
	return mem
}

// memoryBacked reports whether the block device maj:min (or the disk a
// partition of it belongs to) keeps its data in memory, looking it up in
// the sysfs tree at root.
func memoryBacked(root string, maj, minor uint32) bool {
	dir, err := filepath.EvalSymlinks(filepath.Join(root, fmt.Sprintf("%d:%d", maj, minor)))
	if err != nil {
		return false // no block device: tmpfs, NFS, btrfs (anonymous st_dev)…
	}
	if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
		dir = filepath.Dir(dir)
	}
	name := filepath.Base(dir)
	for _, p := range []string{"ram", "zram", "pmem"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	if !strings.HasPrefix(name, "loop") {
		return false
	}
	b, err := os.ReadFile(filepath.Join(dir, "loop", "backing_file"))
	if err != nil {
		return false
	}
	var fs unix.Statfs_t
	// The backing file's folder: a deleted backing file reads "path (deleted)".
	if err := unix.Statfs(filepath.Dir(strings.TrimSpace(string(b))), &fs); err != nil {
		return false
	}
	return fs.Type == unix.TMPFS_MAGIC || fs.Type == unix.RAMFS_MAGIC
}

// readPageCache says whether the source side goes through the page cache.
func (o *Options) readPageCache() bool {
	return o.PageCache || o.ReadIO == IOPageCache
}

// writePageCache says whether the target dst goes through the page cache.
func (o *Options) writePageCache(dst *os.File) bool {
	switch {
	case o.PageCache || o.WriteIO == IOPageCache:
		return true
	case o.WriteIO == IODirect:
		return false
	}
	return !onMemoryDevice(dst)
}
