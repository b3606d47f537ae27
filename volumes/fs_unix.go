//go:build unix

package volumes

import (
	"fmt"
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// fsUsage is what statfs says about the filesystem holding a directory, in bytes.
type fsUsage struct {
	total, free, used uint64
}

func statFS(dir string) (fsUsage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fsUsage{}, fmt.Errorf("volumes: statfs %s: %w", dir, err)
	}
	bs := uint64(st.Bsize)
	return fsUsage{
		total: st.Blocks * bs,
		free:  st.Bavail * bs,
		used:  (st.Blocks - st.Bfree) * bs,
	}, nil
}

// allocatedBytes is the space a file occupies on disk (st_blocks * 512).
func allocatedBytes(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Blocks) * 512
	}
	return 0
}
