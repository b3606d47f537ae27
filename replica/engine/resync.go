package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/beneath"
)

// DefaultResyncBlockSize is the default granularity of dirty maps and hash sidecars
// (the QEMU dirty-bitmap default).
const DefaultResyncBlockSize = 64 << 10

// ResyncOptions tune Resync. The embedded Options supply ChunkSize, Workers, PageCache,
// BandwidthLimit and Progress; Resume, Checkpoint and Method are ignored. Workers
// bounds the reads in flight: a pass that compares the target reads both sides
// of a range at once, with Workers/2 readers.
type ResyncOptions struct {
	Options
	// BlockSize is the comparison and copy granularity, a multiple of 4 KiB; 0 means
	// DefaultResyncBlockSize. A Dirty map brings its own block size, which wins.
	BlockSize int64
	// Dirty, when set, lists the blocks changed since the last sync; only those are
	// read and written. When nil, blocks are found by comparing hashes.
	Dirty *DirtyMap
	// HashSidecar, when set, is a file holding one SHA-256 per block of the target as
	// of the last sync, with the target's Identity at that moment and a generation.
	// It stands for the target's data only while it provably describes the target
	// as it is now: its generation is SidecarGeneration and the target's inode,
	// size, mtime and ctime are those recorded. Otherwise (missing, old format,
	// another generation, a target written, resized or replaced since, even with
	// its mtime put back) every block is compared against the target's own data.
	// The sidecar is removed (durably) before the first change to the target and
	// rewritten (atomically, after the target is fdatasync'ed) at the end, also
	// when the pass ends with ErrSourceChanged, since it then still describes the
	// target; Stats.SidecarGeneration is its new generation.
	HashSidecar string
	// SidecarGeneration is the generation the caller recorded from the
	// Stats.SidecarGeneration of the Resync that last wrote the sidecar; 0
	// (none recorded) never trusts the sidecar. A sidecar written by a run
	// whose caller did not record its generation (a crash before the caller's
	// commit) is thus not trusted.
	SidecarGeneration uint64
	// CompareTarget ignores the sidecar's hashes and compares every block
	// against the target's data (a periodic scan for changes nothing else can
	// see); the sidecar is still rewritten.
	CompareTarget bool
	// Changed, when set, is marked (in its own block size) with every block
	// Resync wrote or punched in the target, so that a caller can tell those
	// who follow the target exactly what changed (a tracked change).
	Changed *DirtyMap
}

// Resync brings the existing target dstPath up to date with srcPath, writing only
// blocks that differ: those in opts.Dirty, or else those whose hash differs from
// the trusted sidecar (or from the target's data where no trusted sidecar
// vouches for it: then each side is read once, in chunks, and only its
// allocated extents, a hole standing for zeros). A block that became all zero is punched in the target, never
// skipped. The target takes the source's size and is fdatasync'ed before Resync
// returns nil; nil also means that the source did not change (size, mtime or
// ctime) during the pass, so the two files were equal when it ended. A pass that
// completed while the source changed returns its Stats with ErrSourceChanged.
func Resync(ctx context.Context, srcPath, dstPath string, opts ResyncOptions) (st Stats, err error) {
	start := time.Now()
	opts.Options = opts.Options.withDefaults()
	if opts.Dirty != nil {
		opts.BlockSize = opts.Dirty.BlockSize()
	}
	if opts.BlockSize <= 0 {
		opts.BlockSize = DefaultResyncBlockSize
	}
	if opts.BlockSize%BlockSize != 0 {
		return st, fmt.Errorf("engine: resync block size %d is not a multiple of %d", opts.BlockSize, BlockSize)
	}
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
	dst, err := beneath.Open(dstPath, os.O_RDWR, 0)
	if err != nil {
		return st, fmt.Errorf("engine: open target: %w", err)
	}
	defer dst.Close()
	dfi, err := dst.Stat()
	if err != nil {
		return st, fmt.Errorf("engine: stat target: %w", err)
	}
	if os.SameFile(sfi, dfi) {
		return st, fmt.Errorf("%w: %s and %s", ErrSameFile, srcPath, dstPath)
	}
	if !dfi.Mode().IsRegular() {
		return st, fmt.Errorf("%w: target %s is %v", ErrNotRegular, dstPath, dfi.Mode().Type())
	}
	dstID, err := IdentityOf(dst)
	if err != nil {
		return st, err
	}

	id := identityOfInfo(sfi)
	r := &resyncer{
		opts: opts,
		src:  newDataFile(src, os.O_RDONLY, opts.PageCache),
		dst:  newDataFile(dst, os.O_RDWR, opts.PageCache),
		size: id.Size,
		thr:  newThrottle(opts.BandwidthLimit),
	}
	defer r.src.closeDirect()
	defer r.dst.closeDirect()
	r.nblocks = (r.size + opts.BlockSize - 1) / opts.BlockSize
	if r.exts, err = extentsOf(int(src.Fd()), r.size); err != nil {
		return st, err
	}
	sc, err := readSidecar(opts.HashSidecar, opts.BlockSize)
	if err != nil {
		return st, err
	}
	trusted := sc.trusted(opts, dstID)
	if trusted {
		r.old = sc.hashes
	}
	if int64(len(r.old)) < r.nblocks {
		// Blocks no hash vouches for are compared with the target as it is
		// before the pass: only the pass changes its extents meanwhile, and
		// only in blocks it has already compared.
		if r.dexts, err = extentsOf(int(dst.Fd()), min(dfi.Size(), r.size)); err != nil {
			return st, err
		}
	}
	r.hashes = make([][sha256.Size]byte, r.nblocks)
	copy(r.hashes, r.old)
	// Blocks past the target's old end count as changed: they were never synced.
	oldBlocks := dfi.Size() / opts.BlockSize
	if dfi.Size() != r.size {
		if err := r.mutate(); err != nil {
			return st, err
		}
		if err := dst.Truncate(r.size); err != nil {
			return st, fmt.Errorf("engine: resize target: %w", err)
		}
	}
	r.plan(oldBlocks)
	if err := r.run(ctx); err != nil {
		return st, err
	}
	srcErr := checkUnchanged(src, id)
	if srcErr != nil && !errors.Is(srcErr, ErrSourceChanged) {
		return st, srcErr
	}
	// The target's identity as this pass left it, taken before the
	// fdatasync so that the wait for its timestamps to settle overlaps it.
	written, err := IdentityOf(dst)
	if err != nil {
		return st, err
	}
	if err := unix.Fdatasync(int(dst.Fd())); err != nil {
		return st, fmt.Errorf("engine: fdatasync target: %w", err)
	}
	st = Stats{SidecarTrusted: trusted}
	if opts.HashSidecar != "" {
		// Every block was compared or written: the hashes describe the
		// target now, whether or not the source changed meanwhile.
		if st.SidecarGeneration, st.Target, err = r.saveSidecar(dst, sc, trusted, dstID, written); err != nil {
			return st, err
		}
	}
	var sys unix.Stat_t
	if err := unix.Fstat(int(dst.Fd()), &sys); err != nil {
		return st, fmt.Errorf("engine: stat target: %w", err)
	}
	st.Method = MethodReadWrite
	st.DirectIO = r.src.usedDirect() && r.dst.usedDirect()
	st.BytesAllocated = sys.Blocks * 512
	st.BytesCopied = r.written.Load()
	st.BytesRead = r.read.Load()
	st.TargetBytesRead = r.targetRead.Load()
	st.ZeroBytes = r.zeroBytes.Load()
	st.HolesPunched = r.punched.Load()
	st.Extents = int(r.changed.Load())
	st.Duration = time.Since(start)
	return st, srcErr
}

// mutate is called before the first change to the target: it drops the
// sidecar (see dropSidecar). Safe for concurrent use.
func (r *resyncer) mutate() error {
	r.dropOnce.Do(func() {
		r.mutated.Store(true)
		if r.opts.HashSidecar != "" {
			r.dropErr = dropSidecar(r.opts.HashSidecar)
		}
	})
	return r.dropErr
}

// saveSidecar writes the sidecar for the target as it is now and returns its
// generation. An unchanged target whose sidecar was trusted keeps it. When
// someone else changed the target while its identity settled, no sidecar is
// written (0): the next pass compares against the target's data. written is
// the target's identity when the pass ended.
func (r *resyncer) saveSidecar(dst *os.File, sc *sidecar, trusted bool, before, written Identity) (uint64, Identity, error) {
	if trusted && !r.mutated.Load() {
		return sc.gen, before, nil
	}
	if err := r.mutate(); err != nil {
		return 0, Identity{}, err
	}
	id, settled, err := settle(dst, written)
	if err != nil || !settled {
		return 0, Identity{}, err
	}
	gen := r.opts.SidecarGeneration
	if sc != nil {
		gen = max(gen, sc.gen)
	}
	gen++
	if err := writeSidecar(r.opts.HashSidecar, r.opts.BlockSize, gen, id, r.hashes); err != nil {
		return 0, Identity{}, err
	}
	return gen, id, nil
}

// blockRange is a run of blocks [first, first+n) handled as one unit of work.
type blockRange struct{ first, n int64 }

type resyncer struct {
	opts    ResyncOptions
	src     *dataFile
	dst     *dataFile
	size    int64
	nblocks int64
	exts    []Extent // the source's data extents
	dexts   []Extent // the target's data extents before the pass
	thr     *throttle
	old     [][sha256.Size]byte // sidecar hashes, shorter than nblocks when unknown
	hashes  [][sha256.Size]byte // new hashes; each worker writes only its own blocks
	work    []blockRange
	dirty   bool // only dirty blocks are planned: copy without comparing
	forced  int64

	progressMu                              sync.Mutex // serialises Progress calls
	total                                   int64
	done, read, written, zeroBytes, punched atomic.Int64
	changed, targetRead                     atomic.Int64

	dropOnce sync.Once   // drops the sidecar before the first change
	dropErr  error       // of dropOnce
	mutated  atomic.Bool // the target was changed

	changedMu sync.Mutex // serialises marks in opts.Changed
	bufs      bufferArena
	writes    chan blockWrite // the changed blocks, to the writers (apply)
}

// plan lists the blocks to look at: the dirty ones (plus any the sidecar does not
// cover when a sidecar is kept), or, when comparing, every block that is not
// known to be zero on both sides.
func (r *resyncer) plan(oldBlocks int64) {
	per := max(r.opts.ChunkSize/r.opts.BlockSize, 1)
	add := func(first, n int64) {
		for n > 0 {
			k := min(n, per)
			r.work = append(r.work, blockRange{first, k})
			r.total += k * r.opts.BlockSize
			first, n = first+k, n-k
		}
	}
	if r.opts.Dirty == nil {
		for _, e := range r.looked() {
			add(e.Offset, e.Length)
		}
		return
	}
	r.dirty = true
	r.forced = oldBlocks
	keepSidecar := r.opts.HashSidecar != ""
	for i := int64(0); i < r.nblocks; {
		want := func(b int64) bool {
			return r.opts.Dirty.Test(b) || b >= oldBlocks || (keepSidecar && b >= int64(len(r.old)))
		}
		if !want(i) {
			i++
			continue
		}
		j := i
		for j < r.nblocks && want(j) {
			j++
		}
		add(i, j-i)
		i = j
	}
}

// looked returns, as runs of blocks (Extents counted in blocks, ascending,
// disjoint), the blocks a comparing pass must look at: those holding source
// data, and those whose target side may not be zero, by its trusted hash or,
// where none vouches, by its data extents (SEEK_DATA). A block that is a hole
// in the source and zero in the target is equal already, and neither side of
// it is read: a scan of sparse images reads each side's data once.
func (r *resyncer) looked() []Extent {
	bs := r.opts.BlockSize
	blocks := func(exts []Extent) []Extent {
		out := make([]Extent, 0, len(exts))
		for _, e := range exts {
			first, end := e.Offset/bs, min((e.End()+bs-1)/bs, r.nblocks)
			if end > first {
				out = append(out, Extent{Offset: first, Length: end - first})
			}
		}
		return out
	}
	var tgt []Extent
	var zero [sha256.Size]byte
	for b := range min(int64(len(r.old)), r.nblocks) {
		if r.old[b] == zero {
			continue
		}
		if k := len(tgt); k > 0 && tgt[k-1].End() == b {
			tgt[k-1].Length++
		} else {
			tgt = append(tgt, Extent{Offset: b, Length: 1})
		}
	}
	// Past the blocks hashes vouch for, the target's own extents.
	tgt = append(tgt, blocks(clipExtents(r.dexts, int64(len(r.old))*bs))...)
	return mergeExtents(blocks(r.exts), tgt)
}

func (r *resyncer) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	idx := make(chan int)
	g.Go(func() error {
		defer close(idx)
		for i := range r.work {
			select {
			case idx <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	// Buffers as large as the largest range (a few blocks for a dirty
	// map's scattered changes, not a chunk), only for workers that have
	// work, the target's only when it is read: a catch-up of a few blocks
	// costs a few blocks. Chunk-sized ones are huge pages (bufferArena).
	var most int64
	for _, br := range r.work {
		most = max(most, br.n)
	}
	size := most * r.opts.BlockSize
	defer r.bufs.release() // after g.Wait below: no goroutine holds a buffer then
	// The changes go to writers of their own, so that the readers keep
	// reading: a reader that waited for its own direct write waited behind
	// every read queued on the device (1.3 ms per 64 KiB block on the shm
	// testbed, 2 GiB image, 1% changed). As many writers as readers: one
	// writer, one write at a time behind the reads, took longer than the
	// readers writing themselves in 4 of 4 paired rounds.
	r.writes = make(chan blockWrite, 4*r.opts.Workers)
	// A comparing pass reads both sides of a range at once: half as many
	// readers keep as many reads in flight as a copy with Workers readers.
	// On the shm testbed (2 GiB, 1% changed) 4 readers, 8 reads in flight,
	// cost the loop's one worker 0.55 s of CPU per pass against 0.46 s for
	// 2 readers (dd reading both sides, one request at a time: 0.38; the
	// extra is self time in shmem_file_read_iter, likely contention with
	// the comparison beside it), and the pass took longer in 5 of 5
	// paired rounds (load 11).
	n := r.opts.Workers
	if !r.dirty && int64(len(r.old)) < r.nblocks {
		n = max(1, n/2)
	}
	n = min(n, len(r.work))
	var readers sync.WaitGroup
	for range n {
		readers.Add(1)
		g.Go(func() error {
			defer readers.Done()
			buf := r.bufs.get(size)
			var tbuf []byte
			for i := range idx {
				if err := r.doRange(gctx, r.work[i], buf, &tbuf); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		readers.Wait()
		close(r.writes)
		return nil
	})
	// Blocks that became zero are punched after the scan, not during it:
	// a punch takes the target's inode lock exclusively and first waits
	// for every direct read of the target in flight (inode_dio_wait), so
	// each punch in the scan stalled the target's readers and with them
	// the pipeline. After the scan nothing waits, and adjacent blocks are
	// punched at once.
	holes := make([][]Extent, n)
	for i := range holes {
		g.Go(func() error {
			for w := range r.writes {
				if err := r.apply(w); err != nil {
					return err
				}
				if w.zero {
					holes[i] = appendExtent(holes[i], Extent{Offset: w.off, Length: w.n})
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("engine: resync interrupted: %w", ctx.Err())
		}
		return err
	}
	var all []Extent
	for _, h := range holes {
		all = append(all, h...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Offset < all[j].Offset })
	var merged []Extent
	for _, e := range all {
		merged = appendExtent(merged, e)
	}
	for _, e := range merged {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("engine: resync interrupted: %w", err)
		}
		if err := r.punch(e.Offset, e.Length); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// appendExtent appends e to exts, extending the last extent when e follows it.
func appendExtent(exts []Extent, e Extent) []Extent {
	if k := len(exts); k > 0 && exts[k-1].End() == e.Offset {
		exts[k-1].Length += e.Length
		return exts
	}
	return append(exts, e)
}

// readData fills p with the source at off: data extents are read, holes are
// zeroed without reading.
func (r *resyncer) readData(ctx context.Context, p []byte, off int64) error {
	end := off + int64(len(p))
	zeroed := off // p is zeroed or read up to here
	defer func() { clear(p[zeroed-off:]) }()
	i := sort.Search(len(r.exts), func(i int) bool { return r.exts[i].End() > off })
	for ; i < len(r.exts) && r.exts[i].Offset < end; i++ {
		lo, hi := max(r.exts[i].Offset, off), min(r.exts[i].End(), end)
		clear(p[zeroed-off : lo-off]) // a hole
		zeroed = hi
		if err := r.thr.wait(ctx, hi-lo); err != nil {
			return err
		}
		q := p[lo-off : hi-off]
		n, err := r.src.ReadAt(q, lo)
		r.read.Add(int64(n))
		if err == io.EOF || (err == nil && n < len(q)) {
			return fmt.Errorf("%w: source ends at %d, expected %d", ErrSourceChanged, lo+int64(n), r.size)
		}
		if err != nil {
			return fmt.Errorf("engine: read source at %d: %w", lo, err)
		}
	}
	return nil
}

// readTarget fills p with the target at off as it was before the pass: its
// data extents are read, holes and bytes past its old end are zeros, read
// from nowhere.
func (r *resyncer) readTarget(p []byte, off int64) error {
	end := off + int64(len(p))
	zeroed := off // p is zeroed or read up to here
	defer func() { clear(p[zeroed-off:]) }()
	i := sort.Search(len(r.dexts), func(i int) bool { return r.dexts[i].End() > off })
	for ; i < len(r.dexts) && r.dexts[i].Offset < end; i++ {
		lo, hi := max(r.dexts[i].Offset, off), min(r.dexts[i].End(), end)
		clear(p[zeroed-off : lo-off]) // a hole
		zeroed = hi
		q := p[lo-off : hi-off]
		n, err := r.dst.ReadAt(q, lo)
		r.targetRead.Add(int64(n))
		if err != nil && err != io.EOF {
			return fmt.Errorf("engine: read target at %d: %w", lo, err)
		}
		clear(q[n:])
	}
	return nil
}

func (r *resyncer) doRange(ctx context.Context, br blockRange, buf []byte, tb *[]byte) error {
	bs := r.opts.BlockSize
	off := br.first * bs
	end := min((br.first+br.n)*bs, r.size)
	p := buf[:end-off]
	forced := func(b int64) bool { return r.dirty && (r.opts.Dirty.Test(b) || b >= r.forced) }
	// The target is read once for the span of blocks that no trusted hash
	// and no dirty bit settles, at the same time as the source: both
	// disks' queues (or one disk's, twice as deep) stay full.
	tlo, thi := int64(-1), int64(-1)
	for b := br.first; b < br.first+br.n; b++ {
		if !forced(b) && b >= int64(len(r.old)) {
			if tlo < 0 {
				tlo = b
			}
			thi = b + 1
		}
	}
	var terr error
	var read sync.WaitGroup
	if tlo >= 0 {
		if *tb == nil {
			*tb = r.bufs.get(int64(len(buf)))
		}
		t := (*tb)[tlo*bs-off : min(thi*bs, end)-off]
		read.Go(func() { terr = r.readTarget(t, tlo*bs) })
	}
	err := r.readData(ctx, p, off)
	read.Wait()
	if err := errors.Join(err, terr); err != nil {
		return err
	}
	tbuf := *tb
	// Each block is compared once, side by side (a comparison of the whole
	// range first read the equal prefix of every range holding a change
	// twice: about a fifth more compared bytes with 1% of the blocks changed).
	hashing := r.opts.HashSidecar != "" // hashes are kept only for a sidecar
	// Adjacent changed blocks go to the writers as one run (up to
	// maxWriteRun of data): a large change is written in large requests,
	// not a block at a time.
	var run blockWrite
	send := func() error {
		if run.n == 0 {
			return nil
		}
		if !run.zero {
			// The writer's own copy: buf is read into again meanwhile.
			run.p = alignedBuffer(run.n)
			copy(run.p, p[run.off-off:])
		}
		select {
		case r.writes <- run:
		case <-ctx.Done():
			return ctx.Err()
		}
		run = blockWrite{}
		return nil
	}
	for b := br.first; b < br.first+br.n; b++ {
		boff := b * bs
		blk := p[boff-off : min(boff+bs, end)-off]
		var h [sha256.Size]byte // all-zero hash stands for an all-zero block
		zero, knownZero := false, false
		if hashing {
			zero, knownZero = isZero(blk), true
			if !zero {
				h = sha256.Sum256(blk)
			}
		}
		changed := forced(b)
		if !changed {
			if b < int64(len(r.old)) {
				changed = h != r.old[b]
			} else {
				changed = !bytes.Equal(blk, tbuf[boff-off:boff-off+int64(len(blk))])
			}
		}
		r.hashes[b] = h
		if !changed {
			if err := send(); err != nil {
				return err
			}
			continue
		}
		if !knownZero {
			zero = isZero(blk)
		}
		if run.n > 0 && (run.zero != zero || (!zero && run.n+int64(len(blk)) > maxWriteRun)) {
			if err := send(); err != nil {
				return err
			}
		}
		if run.n == 0 {
			run = blockWrite{off: boff, zero: zero}
		}
		run.n += int64(len(blk))
	}
	if err := send(); err != nil {
		return err
	}
	r.progressed(end - off)
	return ctx.Err()
}

// progressed adds n looked-at bytes and reports progress.
func (r *resyncer) progressed(n int64) {
	if r.opts.Progress != nil {
		r.progressMu.Lock()
		r.opts.Progress(r.done.Add(n), r.total)
		r.progressMu.Unlock()
	}
}

// maxWriteRun bounds a run of changed data blocks written at once: the
// writers' queue holds at most 4 runs per worker, 16 MiB with 4 workers.
const maxWriteRun = 1 << 20

// blockWrite is a change for the writers, a run of adjacent changed blocks:
// the n bytes p at off, or n zero bytes at off (p nil) when zero is set.
type blockWrite struct {
	p    []byte
	off  int64
	n    int64
	zero bool
}

// apply records the change w and writes it to the target unless it is zero:
// zero blocks are punched by punch after the scan (see run).
func (r *resyncer) apply(w blockWrite) error {
	if err := r.mutate(); err != nil {
		return err
	}
	bs := r.opts.BlockSize
	r.changed.Add((w.off+w.n+bs-1)/bs - w.off/bs)
	if r.opts.Changed != nil {
		r.changedMu.Lock()
		r.opts.Changed.MarkRange(w.off, w.n)
		r.changedMu.Unlock()
	}
	if w.zero {
		return nil
	}
	return r.write(w.p, w.off)
}

// write writes p to the target at off.
func (r *resyncer) write(p []byte, off int64) error {
	if r.opts.hooks != nil && r.opts.hooks.writeAt != nil {
		if err := r.opts.hooks.writeAt(p, off); err != nil {
			return fmt.Errorf("engine: write target at %d: %w", off, err)
		}
	} else if _, err := r.dst.WriteAt(p, off); err != nil {
		return fmt.Errorf("engine: write target at %d: %w", off, err)
	}
	r.written.Add(int64(len(p)))
	r.opts.wrote(int64(len(p)))
	return nil
}

// punch makes the target's n bytes at off zeros: a hole, or written zeros
// where the filesystem cannot punch holes.
func (r *resyncer) punch(off, n int64) error {
	err := unix.Fallocate(int(r.dst.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if err == nil {
		r.punched.Add(1)
		r.zeroBytes.Add(n)
		return nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("engine: punch target at %d: %w", off, err)
	}
	zeros := alignedBuffer(min(n, r.opts.BlockSize))
	for done := int64(0); done < n; {
		k := min(n-done, int64(len(zeros)))
		if err := r.write(zeros[:k], off+done); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// timestampTick is how often the clock that stamps file times advances:
// the kernel stamps a write with its coarse clock, which moves once a tick
// (clock_getres(CLOCK_REALTIME_COARSE), 1–10 ms), or TimestampGranularity
// where the kernel does not say.
var timestampTick = sync.OnceValue(func() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGetres(unix.CLOCK_REALTIME_COARSE, &ts); err != nil || ts.Nano() <= 0 {
		return TimestampGranularity
	}
	return time.Duration(ts.Nano())
})

// stampGranularity bounds how coarse the timestamps of id are: two ticks of
// the kernel's coarse clock (one for the clock, one for the margin), or two
// seconds for a file whose times are whole seconds (a filesystem that keeps
// no finer times).
func stampGranularity(id Identity) time.Duration {
	if id.CtimeNS%int64(time.Second) == 0 && id.MtimeNS%int64(time.Second) == 0 {
		return 2 * time.Second
	}
	return 2 * timestampTick()
}

// StampGranularity bounds how coarse the timestamps of a file with
// identity id are (see Settle): a look at the file taken at least this long
// after its ctime proves that any later write changes its identity.
func StampGranularity(id Identity) time.Duration { return stampGranularity(id) }

// Settle returns f's identity once a later write must change it (waiting
// what is left of StampGranularity since its ctime), and whether it is
// still id, the identity the caller saw after its own last write: false
// means someone else wrote f meanwhile.
func Settle(f *os.File, id Identity) (Identity, bool, error) { return settle(f, id) }

// settle returns f's identity once a later write must change it, and
// whether it is still written, the identity f had when the pass ended. A
// write stamps the file with the coarse clock, so a write in the same tick
// as the last one of the pass may leave every timestamp as it was; once the
// clock has moved past the last change's stamp, any later write shows. settle
// waits only for what is left of that (usually nothing: the fdatasync since
// took longer), not a fixed time; a write by someone else meanwhile makes it
// unusable as a description of what the pass wrote (false).
func settle(f *os.File, written Identity) (Identity, bool, error) {
	gran := stampGranularity(written)
	if wait := gran - time.Since(time.Unix(0, written.CtimeNS)); wait > 0 {
		time.Sleep(min(wait, gran)) // a stamp from the future waits one granule
	}
	id, err := IdentityOf(f)
	if err != nil {
		return id, false, err
	}
	return id, id == written, nil
}
