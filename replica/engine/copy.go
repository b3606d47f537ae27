package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/beneath"
)

// Copy copies the regular file srcPath to dstPath, reading only the source's
// allocated extents and keeping holes. dst must not exist unless opts.Resume is set,
// in which case it must be the partial target the checkpoint describes. dst gets the
// source's apparent size, is fdatasync'ed and its directory fsync'ed before Copy
// returns nil. See the package documentation for what happens to dst on failure.
func Copy(ctx context.Context, srcPath, dstPath string, opts Options) (st Stats, err error) {
	start := time.Now()
	opts = opts.withDefaults()

	src, err := beneath.Open(srcPath, os.O_RDONLY, 0)
	if err != nil {
		return st, fmt.Errorf("engine: open source: %w", err)
	}
	defer src.Close()
	sfi, err := src.Stat()
	if err != nil {
		return st, fmt.Errorf("engine: stat source: %w", err)
	}
	if !sfi.Mode().IsRegular() {
		return st, fmt.Errorf("%w: source %s is %v", ErrNotRegular, srcPath, sfi.Mode().Type())
	}
	srcID := identityOfInfo(sfi)

	dst, err := openTarget(srcPath, dstPath, sfi, opts.Resume)
	if err != nil {
		return st, err
	}
	keep := false
	defer func() {
		if err == nil {
			return
		}
		dst.Close()
		if !keep {
			removeBeneath(dstPath)
		}
	}()

	if opts.Resume != nil {
		if !opts.Resume.Source.matches(srcID) || opts.Resume.Size != srcID.Size {
			return st, fmt.Errorf("%w: resume of %s: since the checkpoint %s",
				ErrSourceChanged, srcPath, opts.Resume.Source.change(srcID))
		}
		if opts.Resume.Offset < 0 || opts.Resume.Offset > srcID.Size {
			return st, fmt.Errorf("%w: offset %d outside size %d", ErrBadCheckpoint, opts.Resume.Offset, srcID.Size)
		}
	}

	if opts.Resume == nil && (opts.Method == MethodAuto || opts.Method == MethodReflink) {
		cerr := unix.IoctlFileClone(int(dst.Fd()), int(src.Fd()))
		if cerr == nil {
			st.Method = MethodReflink
			st.BytesCopied = srcID.Size
			opts.wrote(srcID.Size)
			return finish(src, dst, dstPath, srcID, st, start, opts.TolerateSourceChange)
		}
		if opts.Method == MethodReflink {
			return st, fmt.Errorf("%w: reflink %s to %s: %v", ErrUnsupported, srcPath, dstPath, cerr)
		}
	}

	c := &copier{
		ctx:  ctx,
		opts: opts,
		src:  newDataFile(src, os.O_RDONLY, opts.readPageCache()),
		dst:  newDataFile(dst, os.O_WRONLY, opts.writePageCache()),
		size: srcID.Size,
		id:   srcID,
		thr:  newThrottle(opts.BandwidthLimit),
	}
	switch opts.Method {
	case MethodAuto:
		c.method = MethodReadWrite
		if !opts.DetectZeros {
			c.method = MethodCopyFileRange
		}
	case MethodReflink:
		return st, fmt.Errorf("%w: reflink cannot resume", ErrUnsupported)
	default:
		c.method = opts.Method
	}
	defer c.src.closeDirect()
	defer c.dst.closeDirect()
	if err := c.prepare(); err != nil {
		return st, err
	}
	if err := c.run(); err != nil {
		// A cancelled copy is kept for Resume once the caller holds a checkpoint for it.
		keep = ctx.Err() != nil && errors.Is(err, ctx.Err()) && (c.recorded || opts.Resume != nil)
		return st, err
	}
	st = c.stats()
	return finish(src, dst, dstPath, srcID, st, start, opts.TolerateSourceChange)
}

// openTarget checks dst against the source and opens it for writing: created
// exclusively for a fresh copy, opened as it is for a resume.
func openTarget(srcPath, dstPath string, sfi fs.FileInfo, resume *Checkpoint) (*os.File, error) {
	flag := os.O_WRONLY
	if resume == nil {
		flag |= os.O_CREATE | os.O_EXCL
	}
	dst, err := beneath.Open(dstPath, flag, sfi.Mode().Perm()|0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		if f, perr := beneath.Open(dstPath, unix.O_PATH, 0); perr == nil {
			dfi, serr := f.Stat()
			f.Close()
			if serr == nil && os.SameFile(sfi, dfi) {
				return nil, fmt.Errorf("%w: %s and %s", ErrSameFile, srcPath, dstPath)
			}
		}
		return nil, fmt.Errorf("%w: %s", ErrTargetExists, dstPath)
	case errors.Is(err, fs.ErrNotExist) && resume != nil:
		return nil, fmt.Errorf("%w: resume target %s is missing", ErrBadCheckpoint, dstPath)
	case err != nil:
		return nil, fmt.Errorf("engine: open target: %w", err)
	}
	dfi, err := dst.Stat()
	if err != nil {
		dst.Close()
		return nil, fmt.Errorf("engine: stat target: %w", err)
	}
	if os.SameFile(sfi, dfi) {
		dst.Close()
		return nil, fmt.Errorf("%w: %s and %s", ErrSameFile, srcPath, dstPath)
	}
	if !dfi.Mode().IsRegular() {
		dst.Close()
		return nil, fmt.Errorf("%w: target %s is %v", ErrNotRegular, dstPath, dfi.Mode().Type())
	}
	return dst, nil
}

// removeBeneath removes the file at path without following a symlink in its
// place (beneath.Remove in its parent directory).
func removeBeneath(path string) error {
	dir, err := beneath.OpenDir(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return beneath.Remove(dir, filepath.Base(path))
}

// finish checks that the source did not change (or, when tolerate is set,
// reports it), makes dst durable and fills in the target's allocation.
func finish(src, dst *os.File, dstPath string, id Identity, st Stats, start time.Time, tolerate bool) (Stats, error) {
	if err := checkUnchanged(src, id); err != nil {
		if !tolerate || !errors.Is(err, ErrSourceChanged) {
			return Stats{}, err
		}
		st.SourceChanged = true
	} else {
		st.Source = id
	}
	if err := unix.Fdatasync(int(dst.Fd())); err != nil {
		return Stats{}, fmt.Errorf("engine: fdatasync target: %w", err)
	}
	var sys unix.Stat_t
	if err := unix.Fstat(int(dst.Fd()), &sys); err != nil {
		return Stats{}, fmt.Errorf("engine: stat target: %w", err)
	}
	st.BytesAllocated = sys.Blocks * 512
	if err := dst.Close(); err != nil {
		return Stats{}, fmt.Errorf("engine: close target: %w", err)
	}
	if err := syncDir(filepath.Dir(dstPath)); err != nil {
		return Stats{}, err
	}
	st.Duration = time.Since(start)
	return st, nil
}

func checkUnchanged(src *os.File, id Identity) error {
	fi, err := src.Stat()
	if err != nil {
		return fmt.Errorf("engine: stat source: %w", err)
	}
	if now := identityOfInfo(fi); !now.matches(id) {
		return fmt.Errorf("%w: %s", ErrSourceChanged, id.change(now))
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("engine: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("engine: fsync dir %s: %w", dir, err)
	}
	return nil
}

// identityOfInfo is the Identity of the file fi describes.
func identityOfInfo(fi fs.FileInfo) Identity {
	id := Identity{Size: fi.Size(), MtimeNS: fi.ModTime().UnixNano()}
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.Dev, id.Ino = uint64(s.Dev), s.Ino
		id.CtimeNS = s.Ctim.Nano()
	}
	return id
}

// chunk is one unit of work: a piece of a data extent, at most ChunkSize long and
// not crossing a ChunkSize-aligned boundary.
type chunk struct{ off, len int64 }

// copier runs one Copy through the copy_file_range or read/write path.
type copier struct {
	ctx    context.Context
	opts   Options
	src    *dataFile
	dst    *dataFile
	size   int64
	id     Identity
	thr    *throttle
	method Method

	chunks   []chunk
	total    int64 // allocated bytes in the source
	fellBack atomic.Bool

	read, written, zeroBytes, holes atomic.Int64
	bufs                            bufferArena

	mu       sync.Mutex
	finished []bool
	next     int   // first chunk not yet finished
	doneLow  int64 // allocated bytes of chunks below next, resume base included
	doneAll  int64 // allocated bytes finished, resume base included
	cpOff    int64 // offset of the last checkpoint asked for
	cpDone   int64 // doneLow at the last checkpoint asked for
	cpTime   time.Time
	recorded bool                 // a checkpoint was handed to the caller
	kicked   int64                // writeback was asked for [0, kicked)
	behind   *checkpointer[int64] // write-behind: start writeback below the offset
	cps      *checkpointer[Checkpoint]
	progress *checkpointer[[2]int64] // done, total
}

// prepare sizes the target, clears anything past a resume point and plans the chunks.
func (c *copier) prepare() error {
	from := int64(0)
	if c.opts.Resume != nil {
		from = c.opts.Resume.Offset
		if from < c.size {
			// Whatever was written past the checkpoint is not trusted: make it a hole again.
			if err := unix.Fallocate(int(c.dst.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, from, c.size-from); err != nil {
				return fmt.Errorf("engine: clear target past checkpoint: %w", err)
			}
		}
	}
	if err := c.dst.Truncate(c.size); err != nil {
		return fmt.Errorf("engine: size target: %w", err)
	}
	exts, err := extentsOf(int(c.src.Fd()), c.size)
	if err != nil {
		return err
	}
	c.total = allocatedBytes(exts)
	work := clipExtents(exts, from)
	c.doneLow = c.total - allocatedBytes(work)
	c.doneAll = c.doneLow
	cs := c.opts.ChunkSize
	for _, e := range work {
		for off := e.Offset; off < e.End(); {
			end := (off/cs + 1) * cs
			if end > e.End() {
				end = e.End()
			}
			c.chunks = append(c.chunks, chunk{off: off, len: end - off})
			off = end
		}
	}
	c.finished = make([]bool, len(c.chunks))
	c.cpOff, c.cpDone = from, c.doneLow
	c.cpTime = time.Now()
	c.kicked = from
	return nil
}

// filled is a chunk that has been read (or copied in the kernel) and waits for its writes.
type filled struct {
	i    int
	buf  []byte // the chunk's data, a pool buffer handed back after the writes
	runs []run  // data and zero runs of buf; none when copy_file_range wrote the chunk
}

// run copies the chunks in two stages, so the disk always has reads and writes to do:
// Workers readers fill buffers and find their zero runs, one writer writes the data
// runs in file order and records each chunk done. In-order writes let the filesystem
// allocate the target contiguously (no more extents than the source needs). A pool
// of buffers bounds the read-ahead; a reader takes its buffer before its chunk, so
// the chunk the writer waits for always has one.
func (c *copier) run() error {
	defer c.bufs.release() // after g.Wait below: no goroutine holds a buffer then
	g, ctx := errgroup.WithContext(c.ctx)
	if c.opts.Checkpoint != nil {
		c.cps = newCheckpointer[Checkpoint]()
		g.Go(func() error { return c.cps.serve(ctx, c.checkpoint) })
	}
	if c.opts.Progress != nil {
		// The caller may persist progress (a job does, with an fsync): not on the writer.
		c.progress = newCheckpointer[[2]int64]()
		g.Go(func() error {
			return c.progress.serve(ctx, func(p [2]int64) error { c.opts.Progress(p[0], p[1]); return nil })
		})
	}
	if (c.dst.direct == nil || c.method == MethodCopyFileRange) && c.opts.WriteBehind >= 0 {
		// Page-cache writes (copy_file_range writes through the cache too): writeback
		// of the finished prefix starts beside the writer (sync_file_range blocks
		// while the disk's queue is full).
		c.behind = newCheckpointer[int64]()
		started := c.kicked
		g.Go(func() error {
			return c.behind.serve(ctx, func(wm int64) error {
				_ = unix.SyncFileRange(int(c.dst.Fd()), started, wm-started, unix.SYNC_FILE_RANGE_WRITE)
				if h := c.opts.hooks; h != nil && h.writeBehind != nil {
					h.writeBehind(started, wm)
				}
				started = wm
				return nil
			})
		})
	}
	idx := make(chan int)
	ahead := 0
	if c.method == MethodReadWrite && c.src.direct == nil {
		// Read the source sequentially ahead of the workers: their concurrent preads at
		// strided offsets defeat the kernel's readahead on a cold cache.
		_ = unix.Fadvise(int(c.src.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
		ahead = c.opts.Workers
	}
	g.Go(func() error {
		defer close(idx)
		for i := range c.chunks {
			// Paced here, in file order: a later chunk let through before an earlier
			// one would hold up the in-order writer.
			if err := c.thr.wait(ctx, c.chunks[i].len); err != nil {
				return err
			}
			if j := i + ahead; ahead > 0 && j < len(c.chunks) {
				_ = unix.Fadvise(int(c.src.Fd()), c.chunks[j].off, c.chunks[j].len, unix.FADV_WILLNEED)
			}
			select {
			case idx <- i:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})

	nbuf := 2*c.opts.Workers + 1
	free := make(chan []byte, nbuf)
	for range nbuf {
		free <- nil // allocated on first use
	}
	full := make(chan filled, c.opts.Workers)
	for range c.opts.Workers {
		g.Go(func() error {
			for {
				var buf []byte
				select {
				case buf = <-free:
				case <-ctx.Done():
					return ctx.Err()
				}
				var i int
				select {
				case j, ok := <-idx:
					if !ok {
						return nil
					}
					i = j
				case <-ctx.Done():
					return ctx.Err()
				}
				f, err := c.fill(i, buf)
				if err != nil {
					return err
				}
				select {
				case full <- f:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		})
	}
	g.Go(func() error {
		defer c.cps.close()
		defer c.progress.close()
		defer c.behind.close()
		waiting := map[int]filled{}
		for next := 0; next < len(c.chunks); next++ {
			f, ok := waiting[next]
			for !ok {
				select {
				case f = <-full:
					waiting[f.i] = f
					f, ok = waiting[next]
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			delete(waiting, next)
			if err := c.drain(f); err != nil {
				return err
			}
			free <- f.buf
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		if c.ctx.Err() != nil {
			return fmt.Errorf("engine: copy interrupted: %w", c.ctx.Err())
		}
		return err
	}
	return c.ctx.Err()
}

// fill does the reading half of chunk i: copy_file_range, which writes too, or a
// read into buf (allocated when nil) and the split into zero and data runs.
func (c *copier) fill(i int, buf []byte) (filled, error) {
	ch := c.chunks[i]
	if c.method == MethodCopyFileRange && !c.fellBack.Load() {
		err := c.copyRange(ch)
		if err == nil {
			return filled{i: i, buf: buf}, nil
		}
		if !fallbackErr(err) {
			return filled{}, err
		}
		if c.opts.Method == MethodCopyFileRange {
			return filled{}, fmt.Errorf("%w: copy_file_range: %v", ErrUnsupported, err)
		}
		c.fellBack.Store(true)
	}
	if buf == nil {
		buf = c.bufs.get(c.opts.ChunkSize)
	}
	p := buf[:ch.len]
	n, err := c.src.ReadAt(p, ch.off)
	c.read.Add(int64(n))
	if err == io.EOF || (err == nil && n < len(p)) {
		return filled{}, fmt.Errorf("%w: source ends at %d, expected %d", ErrSourceChanged, ch.off+int64(n), c.size)
	}
	if err != nil {
		return filled{}, fmt.Errorf("engine: read source at %d: %w", ch.off, err)
	}
	f := filled{i: i, buf: buf, runs: []run{{off: 0, len: len(p)}}}
	if c.opts.DetectZeros {
		f.runs = splitRuns(p, ch.off, nil)
	}
	return f, nil
}

// drain writes the data runs of f, leaving zero runs as holes (the target range is a
// hole already: a fresh file, or punched on resume), and records the chunk done.
func (c *copier) drain(f filled) error {
	ch := c.chunks[f.i]
	for _, r := range f.runs {
		if r.zero {
			c.zeroBytes.Add(int64(r.len))
			c.holes.Add(1)
			continue
		}
		if err := c.write(f.buf[r.off:r.off+r.len], ch.off+int64(r.off)); err != nil {
			return err
		}
	}
	if c.opts.hooks != nil && c.opts.hooks.afterChunk != nil {
		c.opts.hooks.afterChunk(ch.off)
	}
	return c.complete(f.i)
}

func fallbackErr(err error) bool {
	return errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EOPNOTSUPP) ||
		errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL)
}

// copyRange copies ch in the kernel. A 0 return before the end means the source shrank.
func (c *copier) copyRange(ch chunk) error {
	roff, woff := ch.off, ch.off
	for roff < ch.off+ch.len {
		n, err := unix.CopyFileRange(int(c.src.Fd()), &roff, int(c.dst.Fd()), &woff, int(ch.off+ch.len-roff), 0)
		if err != nil {
			if roff == ch.off && fallbackErr(err) {
				return err
			}
			return fmt.Errorf("engine: copy_file_range at %d: %w", roff, err)
		}
		if n == 0 {
			return fmt.Errorf("%w: source ends at %d, expected %d", ErrSourceChanged, roff, c.size)
		}
		c.written.Add(int64(n))
		c.opts.wrote(int64(n))
	}
	return nil
}

func (c *copier) write(p []byte, off int64) error {
	var err error
	if c.opts.hooks != nil && c.opts.hooks.writeAt != nil {
		err = c.opts.hooks.writeAt(p, off)
	} else {
		_, err = c.dst.WriteAt(p, off)
	}
	if err != nil {
		return fmt.Errorf("engine: write target at %d: %w", off, err)
	}
	c.written.Add(int64(len(p)))
	c.opts.wrote(int64(len(p)))
	return nil
}

// complete records chunk i as done, advances the durable watermark, and reports
// progress and, when due, a checkpoint after fdatasync of the target.
func (c *copier) complete(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished[i] = true
	c.doneAll += c.chunks[i].len
	for c.next < len(c.chunks) && c.finished[c.next] {
		c.doneLow += c.chunks[c.next].len
		c.next++
	}
	c.progress.ask([2]int64{c.doneAll, c.total})
	wm := c.size
	if c.next < len(c.chunks) {
		wm = c.chunks[c.next].off
	}
	if c.behind != nil && wm-c.kicked >= c.opts.WriteBehind {
		// Write-behind: start writeback of the finished prefix, in file order: the
		// final fdatasync then has little left to do, and the filesystem allocates
		// the target's blocks in order (writeback per chunk, in completion order,
		// fragmented the target and cost extra extent-tree blocks).
		c.behind.ask(wm)
		c.kicked = wm
	}
	if c.opts.Checkpoint == nil {
		return nil
	}
	// Counted in data copied, not in offsets: a sparse image's holes cost nothing to
	// redo, and each checkpoint costs an fdatasync (a disk cache flush) and a record.
	if wm <= c.cpOff || (c.doneLow-c.cpDone < c.opts.CheckpointEvery && time.Since(c.cpTime) < c.opts.CheckpointInterval) {
		return nil
	}
	// The target below wm is written: the checkpointer makes it durable and
	// records it while the copy goes on.
	c.cps.ask(Checkpoint{Offset: wm, Size: c.size, Done: c.doneLow, Source: c.id})
	c.cpOff, c.cpDone, c.cpTime = wm, c.doneLow, time.Now()
	return nil
}

// checkpoint makes the target durable and hands cp to the caller. It runs on the
// checkpointer's goroutine, beside the writer: every byte cp covers was written
// before it was asked for, so the fdatasync started here covers them.
func (c *copier) checkpoint(cp Checkpoint) error {
	if err := unix.Fdatasync(int(c.dst.Fd())); err != nil {
		return fmt.Errorf("engine: fdatasync target for checkpoint: %w", err)
	}
	if err := c.opts.Checkpoint(cp); err != nil {
		return fmt.Errorf("engine: record checkpoint at %d: %w", cp.Offset, err)
	}
	c.mu.Lock()
	c.recorded = true
	c.mu.Unlock()
	return nil
}

func (c *copier) stats() Stats {
	m := c.method
	if c.fellBack.Load() {
		m = MethodReadWrite
	}
	st := Stats{
		Method:       m,
		DirectIO:     m == MethodReadWrite && c.src.usedDirect() && c.dst.usedDirect(),
		BytesCopied:  c.written.Load(),
		BytesRead:    c.read.Load(),
		ZeroBytes:    c.zeroBytes.Load(),
		HolesPunched: c.holes.Load(),
		Extents:      countExtents(c.chunks),
	}
	if m == MethodReadWrite {
		st.ReadIO, st.WriteIO = c.src.path(), c.dst.path()
	}
	return st
}

// countExtents counts runs of adjacent chunks.
func countExtents(cs []chunk) int {
	n := 0
	for i, ch := range cs {
		if i == 0 || cs[i-1].off+cs[i-1].len != ch.off {
			n++
		}
	}
	return n
}
