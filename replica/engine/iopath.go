package engine

import "fmt"

// IOPath is how the read/write path reaches one side's data: around the page
// cache (O_DIRECT) or through it.
type IOPath int

// The I/O paths. IOAuto is O_DIRECT where the filesystem supports it (see
// below for the measurements).
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

// What IOAuto does, measured with bench/copy.sh and replicad-copy -write
// direct|pagecache in paired rounds (docs/copy-benchmark.md): O_DIRECT on both
// sides wherever the filesystem supports it.
//
//   - On the shm testbed (a loop device over a file in tmpfs) a copy is bound
//     by memory copies: O_DIRECT moves each byte once, into the device, where
//     the page cache copies it into the cache first and the loop's one worker
//     copies it again at writeback. The page-cache target cost 1.8-3.6× the
//     direct one.
//   - On the development machine's virtio disk the page-cache target was the
//     faster one (0.73-0.78× on a 50% image) while the chunk buffers were
//     ordinary heap memory, whose pages every direct request had to pin one
//     by one. With huge-page buffers (bufferArena) the direct target took
//     0.93-1.30 s against 1.45-3.12 s on the 50% image and 2.10-2.79 s against
//     2.98-5.92 s on the 100% one, equal on the 5% and zero-run images, in
//     every paired round.
//
// A rule per device class (direct on memory-backed devices, the page cache
// elsewhere) and a timing at run time were tried first; the timing flipped
// from one try to the next on the shared disk, and the class rule lost on the
// disk once the buffers were fixed. The page-cache path (IOPageCache) keeps
// its write-behind: writeback of each finished WriteBehind of the prefix
// starts in file order beside the writer, and checkpoints fdatasync.

// readPageCache says whether the source side goes through the page cache.
func (o *Options) readPageCache() bool {
	return o.PageCache || o.ReadIO == IOPageCache
}

// writePageCache says whether the target goes through the page cache.
func (o *Options) writePageCache() bool {
	return o.PageCache || o.WriteIO == IOPageCache
}
