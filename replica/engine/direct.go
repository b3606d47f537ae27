package engine

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dataFile is an open source or target with, where the filesystem allows it, a second
// descriptor on the same inode opened with O_DIRECT. ReadAt and WriteAt go around the
// page cache for requests whose offset, length and buffer address are aligned, and
// through it otherwise (a file's unaligned tail). The embedded *os.File is the
// buffered descriptor, used for everything else (seek, truncate, punch, fdatasync).
//
// Which side uses it is Options.ReadIO's and Options.WriteIO's choice (iopath.go).
type dataFile struct {
	*os.File
	direct   *os.File // O_DIRECT descriptor, nil when not available
	align    int64
	disabled atomic.Bool // set after the kernel refused a direct request
}

// newDataFile wraps f and, unless pageCache is set, opens its O_DIRECT twin. flag is
// the access mode of the twin (os.O_RDONLY or os.O_WRONLY). A filesystem without
// direct I/O is not an error: the file is then used through the page cache only.
func newDataFile(f *os.File, flag int, pageCache bool) *dataFile {
	d := &dataFile{File: f}
	if pageCache {
		return d
	}
	align, ok := directAlignment(f)
	if !ok {
		return d
	}
	// /proc/self/fd/N names the open file itself, not its path, so a rename or a
	// swapped path cannot put another inode behind the twin. The twin keeps f's
	// name, so that its errors name the volume's file.
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), flag|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return d
	}
	twin := os.NewFile(uintptr(fd), f.Name())
	if !sameInode(f, twin) {
		twin.Close()
		return d
	}
	d.direct, d.align = twin, align
	return d
}

// directAlignment returns the alignment f's filesystem needs for O_DIRECT (statx
// STATX_DIOALIGN; BlockSize where the kernel does not say), and false when it does
// not support direct I/O or needs more than BlockSize, the engine's granularity.
func directAlignment(f *os.File) (int64, bool) {
	var stx unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN, &stx); err != nil {
		return 0, false
	}
	if stx.Mask&unix.STATX_DIOALIGN == 0 {
		return BlockSize, true
	}
	align := int64(max(stx.Dio_offset_align, stx.Dio_mem_align))
	if stx.Dio_offset_align == 0 || align > BlockSize {
		return 0, false
	}
	return align, true
}

func sameInode(a, b *os.File) bool {
	var sa, sb unix.Stat_t
	return unix.Fstat(int(a.Fd()), &sa) == nil && unix.Fstat(int(b.Fd()), &sb) == nil &&
		sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// directFor returns the O_DIRECT descriptor when p at off meets its alignment.
func (d *dataFile) directFor(p []byte, off int64) *os.File {
	if d.direct == nil || d.disabled.Load() || len(p) == 0 {
		return nil
	}
	a := d.align
	if off%a != 0 || int64(len(p))%a != 0 || int64(uintptr(unsafe.Pointer(&p[0])))%a != 0 {
		return nil
	}
	return d.direct
}

// ReadAt reads len(p) bytes at off, like os.File.ReadAt.
func (d *dataFile) ReadAt(p []byte, off int64) (int, error) {
	if f := d.directFor(p, off); f != nil {
		n, err := f.ReadAt(p, off)
		if !errors.Is(err, unix.EINVAL) {
			return n, err
		}
		d.disabled.Store(true)
	}
	return d.File.ReadAt(p, off)
}

// WriteAt writes p at off, like os.File.WriteAt.
func (d *dataFile) WriteAt(p []byte, off int64) (int, error) {
	if f := d.directFor(p, off); f != nil {
		n, err := f.WriteAt(p, off)
		if !errors.Is(err, unix.EINVAL) || n > 0 {
			return n, err
		}
		d.disabled.Store(true)
	}
	return d.File.WriteAt(p, off)
}

// usedDirect reports whether direct I/O is open and was never refused.
func (d *dataFile) usedDirect() bool { return d.direct != nil && !d.disabled.Load() }

// path is IODirect when direct I/O is open and was never refused, IOPageCache otherwise.
func (d *dataFile) path() IOPath {
	if d.usedDirect() {
		return IODirect
	}
	return IOPageCache
}

// closeDirect closes the O_DIRECT descriptor; the buffered one stays its owner's.
func (d *dataFile) closeDirect() {
	if d.direct != nil {
		d.direct.Close()
	}
}

// hugePage is the size of a transparent huge page on x86-64 and arm64 (4 KiB base pages).
const hugePage = 2 << 20

// bufferArena hands a copy's readers their buffers and gives them all back when
// the copy is done (kept for the process's next copy: takeSpare). A buffer of
// hugePage bytes or more is an anonymous mapping
// aligned to hugePage and marked MADV_HUGEPAGE: every O_DIRECT request pins its
// buffer's pages, and the zero scan and the device's copies walk them, 512×
// fewer pages (and TLB entries) with huge pages. On the shm testbed a 2 GiB
// fully allocated copy took 0.65-1.45 s with them against 1.16-2.83 s
// without, faster in each of 16 paired rounds (50% image: 0.44-0.70 s against
// 0.90-1.08 s). Where the kernel gives no huge page the mapping works as
// ordinary memory.
type bufferArena struct {
	mu   sync.Mutex
	maps [][]byte
}

// get returns an n-byte buffer aligned for O_DIRECT; n is a multiple of BlockSize.
// Its bytes are undefined: a chunk-sized one may be a spare that an earlier copy
// of this process filled (takeSpare); every caller reads into it before it looks.
func (a *bufferArena) get(n int64) []byte {
	if n < hugePage {
		return alignedBuffer(n)
	}
	m := takeSpare(int(n + hugePage))
	if m == nil {
		var err error
		m, err = unix.Mmap(-1, 0, int(n+hugePage), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return alignedBuffer(n)
		}
	}
	a.mu.Lock()
	a.maps = append(a.maps, m)
	a.mu.Unlock()
	skip := (hugePage - int64(uintptr(unsafe.Pointer(&m[0])))%hugePage) % hugePage
	b := m[skip : skip+n : skip+n]
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // a hint: without it the buffer still works
	return b
}

// release gives back every buffer get mapped (to the spares, or unmapped);
// none may be used after.
func (a *bufferArena) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	giveSpares(a.maps)
	a.maps = nil
}

// spares are the huge-page mappings of finished copies, kept for the next
// copy of this process: the kernel zeroes a huge page at its first fault,
// which happens inside the readers' first direct reads of a copy (perf of the
// daemon cloning a 2 GiB image holding 100 MB: 13% of its samples, about
// 10 ms a clone at load 10), and a long-lived process need not pay that for
// every copy. At most spareMax bytes are kept, and all are unmapped once
// spareIdle has passed since a copy last gave any back: a daemon working
// through a series of replica requests (a script's loop, one after another)
// keeps them, an idle one holds no more than its heap. The price is up to
// spareMax bytes held for spareIdle after the last copy.
var spares struct {
	sync.Mutex
	maps  [][]byte
	bytes int
	idle  *time.Timer
}

const (
	spareMax  = 64 << 20 // a default copy's buffers: 9 mappings of 6 MiB
	spareIdle = time.Minute
)

// takeSpare returns a kept mapping of exactly size bytes, or nil.
func takeSpare(size int) []byte {
	spares.Lock()
	defer spares.Unlock()
	for i, m := range spares.maps {
		if len(m) == size {
			spares.maps = slices.Delete(spares.maps, i, i+1)
			spares.bytes -= size
			return m
		}
	}
	return nil
}

// giveSpares keeps maps for later copies, up to spareMax bytes, and unmaps
// the rest.
func giveSpares(maps [][]byte) {
	if len(maps) == 0 {
		return
	}
	spares.Lock()
	defer spares.Unlock()
	for _, m := range maps {
		if spares.bytes+len(m) > spareMax {
			_ = unix.Munmap(m)
			continue
		}
		spares.maps = append(spares.maps, m)
		spares.bytes += len(m)
	}
	if spares.idle == nil {
		spares.idle = time.AfterFunc(spareIdle, dropSpares)
	} else {
		spares.idle.Reset(spareIdle)
	}
}

// dropSpares unmaps every kept mapping.
func dropSpares() {
	spares.Lock()
	defer spares.Unlock()
	for _, m := range spares.maps {
		_ = unix.Munmap(m)
	}
	spares.maps, spares.bytes = nil, 0
}

// alignedBuffer returns a zeroed n-byte slice whose first byte is BlockSize-aligned,
// as O_DIRECT needs; n is a multiple of BlockSize.
func alignedBuffer(n int64) []byte {
	b := make([]byte, n+BlockSize)
	skip := (BlockSize - int64(uintptr(unsafe.Pointer(&b[0])))%BlockSize) % BlockSize
	return b[skip : skip+n : skip+n]
}
