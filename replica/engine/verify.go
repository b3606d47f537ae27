package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/replicad/replicad/beneath"
)

// DefaultVerifyMaxDiffs is VerifyOptions.MaxDiffs when it is zero.
const DefaultVerifyMaxDiffs = 16

// VerifyOptions tune Verify. The zero value is usable.
type VerifyOptions struct {
	// ChunkSize is the number of bytes compared at a time, rounded up to a
	// multiple of BlockSize; 0 means DefaultChunkSize.
	ChunkSize int64
	// MaxDiffs is how many differing byte offsets (and differing ranges) the
	// report lists; 0 means DefaultVerifyMaxDiffs. Counting goes on past it.
	MaxDiffs int
	// BandwidthLimit caps the bytes read from both files together, in bytes
	// per second; 0 means unlimited.
	BandwidthLimit int64
	// Progress, when set, is called after each chunk with the bytes of the
	// compared range done and in total.
	Progress func(done, total int64)
	// From and To limit the comparison to the window [From, To) of the
	// common range (To 0: up to its end), so that a long comparison can be
	// done in pieces. The sizes are compared only by the window that
	// reaches the end of the longer file.
	From, To int64
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	// SourceSize and TargetSize are the apparent sizes of the two files.
	SourceSize int64 `json:"sourceSize"`
	TargetSize int64 `json:"targetSize"`
	// BytesCompared is the length of the common range [0, min size), holes
	// on both sides included (they compare equal without being read).
	BytesCompared int64 `json:"bytesCompared"`
	// BytesRead is the number of bytes read from both files together.
	BytesRead int64 `json:"bytesRead"`
	// DiffBytes counts the differing bytes of the common range, plus the
	// bytes past the shorter file's end when the sizes differ.
	DiffBytes int64 `json:"diffBytes"`
	// Offsets are the first differing byte offsets, ascending, at most
	// MaxDiffs. When the sizes differ, the bytes past the shorter file's end
	// count as differing, after those of the common range.
	Offsets []int64 `json:"offsets,omitempty"`
	// Ranges are the first runs of differing bytes, ascending, at most MaxDiffs.
	Ranges []Extent `json:"ranges,omitempty"`
	// Duration is the wall time of the call.
	Duration time.Duration `json:"duration"`
}

// Identical reports whether the two files had the same size and bytes.
func (r VerifyReport) Identical() bool {
	return r.SourceSize == r.TargetSize && r.DiffBytes == 0
}

// Verify compares the files srcPath and dstPath: sizes first, then the
// common range chunk by chunk. Only the data extents of each file are read
// (SEEK_DATA/SEEK_HOLE); a hole reads as zeros, so a range that is a hole in
// both files is equal without any I/O. The files are only read. The report
// is valid only if neither file changed during the call; callers that need
// that guarantee lease both files first.
func Verify(ctx context.Context, srcPath, dstPath string, opts VerifyOptions) (VerifyReport, error) {
	start := time.Now()
	var rep VerifyReport
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	opts.ChunkSize = (opts.ChunkSize + BlockSize - 1) / BlockSize * BlockSize
	if opts.MaxDiffs <= 0 {
		opts.MaxDiffs = DefaultVerifyMaxDiffs
	}
	src, err := openVerifySide(srcPath, "source")
	if err != nil {
		return rep, err
	}
	defer src.f.Close()
	dst, err := openVerifySide(dstPath, "target")
	if err != nil {
		return rep, err
	}
	defer dst.f.Close()
	v := &verifier{opts: opts, src: src, dst: dst, thr: newThrottle(opts.BandwidthLimit), rep: &rep}
	rep.SourceSize, rep.TargetSize = src.size, dst.size
	common := min(src.size, dst.size)
	from, to := max(opts.From, 0), common
	if opts.To > 0 {
		to = min(opts.To, common)
	}
	rep.BytesCompared = max(to-from, 0)
	if err := v.run(ctx, from, to); err != nil {
		return rep, err
	}
	if reachesEnd := opts.To <= 0 || opts.To >= max(src.size, dst.size); src.size != dst.size && reachesEnd {
		tail := max(src.size, dst.size) - common
		rep.DiffBytes += tail
		v.addRun(common, tail)
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// verifySide is one file of a Verify with its data extents.
type verifySide struct {
	f    *os.File
	size int64
	exts []Extent
}

func openVerifySide(path, role string) (*verifySide, error) {
	f, err := beneath.Open(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("engine: open %s: %w", role, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("engine: stat %s: %w", role, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s %s is %v", ErrNotRegular, role, path, fi.Mode().Type())
	}
	exts, err := extentsOf(int(f.Fd()), fi.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	return &verifySide{f: f, size: fi.Size(), exts: exts}, nil
}

type verifier struct {
	opts     VerifyOptions
	src, dst *verifySide
	thr      *throttle
	rep      *VerifyReport
}

// run compares [from, end) chunk by chunk, skipping chunks that are holes
// in both files.
func (v *verifier) run(ctx context.Context, from, end int64) error {
	sbuf := make([]byte, v.opts.ChunkSize)
	dbuf := make([]byte, v.opts.ChunkSize)
	var done int64
	total := max(end-from, 0)
	for _, e := range mergeExtents(clipExtents(clipTo(v.src.exts, end), from), clipExtents(clipTo(v.dst.exts, end), from)) {
		for off := e.Offset; off < e.End(); off += v.opts.ChunkSize {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("engine: verify interrupted: %w", err)
			}
			n := min(v.opts.ChunkSize, e.End()-off)
			s, d := sbuf[:n], dbuf[:n]
			// Both sides at once: two requests in flight, not one.
			var dn int64
			var derr error
			var both sync.WaitGroup
			both.Go(func() { dn, derr = v.read(ctx, v.dst, d, off, "target") })
			sn, serr := v.read(ctx, v.src, s, off, "source")
			both.Wait()
			v.rep.BytesRead += sn + dn
			if err := errors.Join(serr, derr); err != nil {
				return err
			}
			if !bytes.Equal(s, d) {
				v.diff(s, d, off)
			}
			done = off + n - from // holes of both count as done
			if v.opts.Progress != nil {
				v.opts.Progress(done, total)
			}
		}
	}
	if v.opts.Progress != nil {
		v.opts.Progress(total, total)
	}
	return ctx.Err()
}

// read fills p with side's bytes at off: its data extents are read, its
// holes are zeros. It returns the bytes it read.
func (v *verifier) read(ctx context.Context, side *verifySide, p []byte, off int64, role string) (int64, error) {
	clear(p)
	var read int64
	end := off + int64(len(p))
	exts := side.exts
	i := sort.Search(len(exts), func(i int) bool { return exts[i].End() > off })
	for ; i < len(exts) && exts[i].Offset < end; i++ {
		lo, hi := max(exts[i].Offset, off), min(exts[i].End(), end)
		if err := v.thr.wait(ctx, hi-lo); err != nil {
			return read, fmt.Errorf("engine: verify interrupted: %w", err)
		}
		q := p[lo-off : hi-off]
		n, err := side.f.ReadAt(q, lo)
		read += int64(n)
		if err == io.EOF || (err == nil && n < len(q)) {
			return read, fmt.Errorf("%w: %s ends at %d, expected %d", ErrSourceChanged, role, lo+int64(n), side.size)
		}
		if err != nil {
			return read, fmt.Errorf("engine: read %s at %d: %w", role, lo, err)
		}
	}
	return read, nil
}

// diff records the differing bytes of s and d, which start at file offset base.
func (v *verifier) diff(s, d []byte, base int64) {
	for i := 0; i < len(s); {
		// Skip equal blocks quickly.
		if j := min(i+BlockSize, len(s)); i%BlockSize == 0 && bytes.Equal(s[i:j], d[i:j]) {
			i = j
			continue
		}
		if s[i] == d[i] {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] != d[j] {
			j++
		}
		v.rep.DiffBytes += int64(j - i)
		v.addRun(base+int64(i), int64(j-i))
		i = j
	}
}

// addRun lists a run of n differing bytes at off, joining it to the last
// run when they touch, and lists its first offsets while there is room.
func (v *verifier) addRun(off, n int64) {
	r := &v.rep.Ranges
	if k := len(*r); k > 0 && (*r)[k-1].End() == off {
		(*r)[k-1].Length += n
	} else if len(*r) < v.opts.MaxDiffs {
		*r = append(*r, Extent{Offset: off, Length: n})
	}
	for o := off; o < off+n && len(v.rep.Offsets) < v.opts.MaxDiffs; o++ {
		v.rep.Offsets = append(v.rep.Offsets, o)
	}
}

// clipTo returns the parts of exts below end.
func clipTo(exts []Extent, end int64) []Extent {
	var out []Extent
	for _, e := range exts {
		if e.Offset >= end {
			break
		}
		if e.End() > end {
			e.Length = end - e.Offset
		}
		out = append(out, e)
	}
	return out
}

// mergeExtents returns the union of two ascending extent lists, ascending,
// with overlapping or touching extents joined.
func mergeExtents(a, b []Extent) []Extent {
	all := append(append([]Extent(nil), a...), b...)
	sort.Slice(all, func(i, j int) bool { return all[i].Offset < all[j].Offset })
	var out []Extent
	for _, e := range all {
		if k := len(out); k > 0 && e.Offset <= out[k-1].End() {
			out[k-1].Length = max(out[k-1].End(), e.End()) - out[k-1].Offset
			continue
		}
		out = append(out, e)
	}
	return out
}
