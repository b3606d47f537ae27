package engine

import (
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
// BandwidthLimit and Progress; Resume, Checkpoint and Method are ignored.
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
}

// Resync brings the existing target dstPath up to date with srcPath, writing only
// blocks that differ: those in opts.Dirty, or else those whose hash differs from
// the trusted sidecar (or from the target's data where no trusted sidecar
// vouches for it). A block that became all zero is punched in the target, never
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
	if err := unix.Fdatasync(int(dst.Fd())); err != nil {
		return st, fmt.Errorf("engine: fdatasync target: %w", err)
	}
	st = Stats{SidecarTrusted: trusted}
	if opts.HashSidecar != "" {
		// Every block was compared or written: the hashes describe the
		// target now, whether or not the source changed meanwhile.
		if st.SidecarGeneration, st.Target, err = r.saveSidecar(dst, sc, trusted, dstID); err != nil {
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
// written (0): the next pass compares against the target's data.
func (r *resyncer) saveSidecar(dst *os.File, sc *sidecar, trusted bool, before Identity) (uint64, Identity, error) {
	if trusted && !r.mutated.Load() {
		return sc.gen, before, nil
	}
	if err := r.mutate(); err != nil {
		return 0, Identity{}, err
	}
	id, settled, err := settledIdentity(dst)
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
	exts    []Extent
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
}

// plan lists the blocks to look at: the dirty ones (plus any the sidecar does not
// cover when a sidecar is kept), or all of them when comparing hashes.
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
		add(0, r.nblocks)
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
	for range r.opts.Workers {
		g.Go(func() error {
			buf := alignedBuffer(r.opts.ChunkSize/r.opts.BlockSize*r.opts.BlockSize + r.opts.BlockSize)
			tbuf := alignedBuffer(r.opts.BlockSize)
			for i := range idx {
				if err := r.doRange(gctx, r.work[i], buf, tbuf); err != nil {
					return err
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
	return ctx.Err()
}

// readData fills p with the source at off: data extents are read, holes are
// zeroed without reading.
func (r *resyncer) readData(ctx context.Context, p []byte, off int64) error {
	end := off + int64(len(p))
	clear(p)
	i := sort.Search(len(r.exts), func(i int) bool { return r.exts[i].End() > off })
	for ; i < len(r.exts) && r.exts[i].Offset < end; i++ {
		lo, hi := max(r.exts[i].Offset, off), min(r.exts[i].End(), end)
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

func (r *resyncer) doRange(ctx context.Context, br blockRange, buf, tbuf []byte) error {
	bs := r.opts.BlockSize
	off := br.first * bs
	end := min((br.first+br.n)*bs, r.size)
	p := buf[:end-off]
	if err := r.readData(ctx, p, off); err != nil {
		return err
	}
	for b := br.first; b < br.first+br.n; b++ {
		boff := b * bs
		blk := p[boff-off : min(boff+bs, end)-off]
		zero := isZero(blk)
		var h [sha256.Size]byte // all-zero hash stands for an all-zero block
		if !zero {
			h = sha256.Sum256(blk)
		}
		changed := r.dirty && (r.opts.Dirty.Test(b) || b >= r.forced)
		if !changed {
			if b < int64(len(r.old)) {
				changed = h != r.old[b]
			} else {
				th, err := r.targetHash(boff, tbuf[:len(blk)])
				if err != nil {
					return err
				}
				changed = h != th
			}
		}
		r.hashes[b] = h
		if changed {
			if err := r.apply(blk, boff, zero); err != nil {
				return err
			}
		}
	}
	if r.opts.Progress != nil {
		r.progressMu.Lock()
		r.opts.Progress(r.done.Add(end-off), r.total)
		r.progressMu.Unlock()
	}
	return ctx.Err()
}

// targetHash hashes the target's block at off the way doRange hashes the source's.
func (r *resyncer) targetHash(off int64, p []byte) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	n, err := r.dst.ReadAt(p, off)
	r.targetRead.Add(int64(n))
	if err != nil && err != io.EOF {
		return h, fmt.Errorf("engine: read target at %d: %w", off, err)
	}
	clear(p[n:])
	if isZero(p) {
		return h, nil
	}
	return sha256.Sum256(p), nil
}

// apply makes the target's block at off equal to blk: punched when zero, written otherwise.
func (r *resyncer) apply(blk []byte, off int64, zero bool) error {
	if err := r.mutate(); err != nil {
		return err
	}
	r.changed.Add(1)
	if zero {
		err := unix.Fallocate(int(r.dst.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, int64(len(blk)))
		if err == nil {
			r.punched.Add(1)
			r.zeroBytes.Add(int64(len(blk)))
			return nil
		}
		if !errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("engine: punch target at %d: %w", off, err)
		}
		// No hole punching here: write the zeros.
	}
	if r.opts.hooks != nil && r.opts.hooks.writeAt != nil {
		if err := r.opts.hooks.writeAt(blk, off); err != nil {
			return fmt.Errorf("engine: write target at %d: %w", off, err)
		}
	} else if _, err := r.dst.WriteAt(blk, off); err != nil {
		return fmt.Errorf("engine: write target at %d: %w", off, err)
	}
	r.written.Add(int64(len(blk)))
	r.opts.wrote(int64(len(blk)))
	return nil
}
