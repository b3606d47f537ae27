//go:build unix

package volumes

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// fsUsage is what statfs says about the filesystem holding a directory, in bytes.
type fsUsage struct {
	total, free, used uint64
}

// usageOf converts a statfs answer to bytes.
func usageOf(st *unix.Statfs_t) fsUsage {
	bs := uint64(st.Bsize)
	return fsUsage{
		total: st.Blocks * bs,
		free:  st.Bavail * bs,
		used:  (st.Blocks - st.Bfree) * bs,
	}
}

// allocatedBytes is the space a file occupies on disk (st_blocks * 512).
func allocatedBytes(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Blocks) * 512
	}
	return 0
}
