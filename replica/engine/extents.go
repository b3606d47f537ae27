package engine

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Extent is a byte range [Offset, Offset+Length) of a file.
type Extent struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// End returns Offset+Length.
func (e Extent) End() int64 { return e.Offset + e.Length }

// extentsOf returns the data extents of the file open as fd, of size bytes,
// in ascending order, found with lseek(SEEK_DATA/SEEK_HOLE). Where the
// filesystem does not support them, it returns one extent covering the
// whole file, which callers then scan for zeros. The result is a superset
// of the data: reading a listed range is always safe. It moves the file
// offset.
func extentsOf(fd int, size int64) ([]Extent, error) {
	var out []Extent
	var off int64
	for off < size {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // no data after off
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
			// No SEEK_DATA support: fall back to a full scan.
			return []Extent{{Offset: 0, Length: size}}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("engine: seek data at %d: %w", off, err)
		}
		if data >= size {
			break
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return nil, fmt.Errorf("engine: seek hole at %d: %w", data, err)
		}
		if hole > size {
			hole = size
		}
		if hole <= data {
			return nil, fmt.Errorf("engine: seek hole at %d returned %d", data, hole)
		}
		out = append(out, Extent{Offset: data, Length: hole - data})
		off = hole
	}
	return out, nil
}

// allocatedBytes sums the lengths of exts.
func allocatedBytes(exts []Extent) int64 {
	var n int64
	for _, e := range exts {
		n += e.Length
	}
	return n
}

// clipExtents returns the parts of exts at or after from.
func clipExtents(exts []Extent, from int64) []Extent {
	var out []Extent
	for _, e := range exts {
		if e.End() <= from {
			continue
		}
		if e.Offset < from {
			e = Extent{Offset: from, Length: e.End() - from}
		}
		out = append(out, e)
	}
	return out
}
