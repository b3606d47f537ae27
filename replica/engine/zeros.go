package engine

import "bytes"

var zeroBlock [BlockSize]byte

// isZero reports whether p holds only zero bytes.
func isZero(p []byte) bool {
	for len(p) >= BlockSize {
		if !bytes.Equal(p[:BlockSize], zeroBlock[:]) {
			return false
		}
		p = p[BlockSize:]
	}
	return bytes.Equal(p, zeroBlock[:len(p)])
}

// run is a span of a buffer that is either all zero or holds data.
type run struct {
	off, len int
	zero     bool
}

// splitRuns cuts p into alternating data and zero runs at BlockSize granularity,
// with base the file offset of p[0]. Block boundaries follow file offsets, so
// holes land on filesystem blocks. A partial block is treated as data unless zero.
func splitRuns(p []byte, base int64, dst []run) []run {
	dst = dst[:0]
	i := 0
	for i < len(p) {
		// end of the filesystem block containing file offset base+i
		end := i + BlockSize - int((base+int64(i))%BlockSize)
		if end > len(p) {
			end = len(p)
		}
		z := isZero(p[i:end])
		if n := len(dst); n > 0 && dst[n-1].zero == z {
			dst[n-1].len += end - i
		} else {
			dst = append(dst, run{off: i, len: end - i, zero: z})
		}
		i = end
	}
	return dst
}
