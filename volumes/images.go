package volumes

import (
	"errors"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// racyMargin is how much older than the clock (read before the check of
// its directory) a pool directory's ctime must be for imageStates to key
// what its image names were found to be by it: more than the coarsest
// timestamps of a filesystem a pool may sit on (2 seconds: FAT's; ext4's
// small inodes keep whole seconds) plus the lag of the kernel's coarse
// clock behind the real one (a tick, at most 10 ms). A change to the
// directory after its check then gets a ctime later than the kept one,
// however coarse the timestamps and however soon after the check the
// change comes. This is git's rule for "racily clean" index entries.
const racyMargin = 3 * time.Second

// maxKeptImages bounds the image states kept per pool directory.
const maxKeptImages = 4096

// imageStates keeps, for one held pool directory (heldPool: one directory,
// the same device and inode for as long as it is held), whether a regular
// file was found under each image name, while the directory's ctime is the
// one it was found under: a lookup that needs only that (Missing, not
// AllocatedBytes) then makes no fstatat of its own.
//
// Why that is exact: whether an image name is a regular file, something
// else or nothing changes only when the directory's entry for it changes
// (an inode's type never changes), and any change of an entry (create,
// unlink, rename, link, symlink, mkdir, rmdir) sets the directory's ctime
// to the time of the change. A state is kept under the ctime the
// directory's check found (hold) only when that ctime is older than the
// clock read before the check by racyMargin: every later change of the
// directory then sets a different, later ctime, so no lookup that sees
// the kept ctime can have missed a change. A state kept under an older
// ctime is never used again: the first lookup that sees a new ctime
// empties the states. What breaks it: the system clock stepped back by
// more than racyMargin, or a pool on a network filesystem whose server's
// clock runs behind this machine's by more than that (its ctimes come
// from the server); a file bind-mounted over an image is not a change of
// the directory either, but it can only put a regular file over a regular
// file. Safe for concurrent use.
type imageStates struct {
	mu      sync.Mutex
	ctime   int64           // the directory's ctime (ns) the states were found under
	regular map[string]bool // by image file name: whether a regular file is there
}

// state returns whether a regular file was found under name while the
// directory's ctime was stamp (heldDir.stamp, not 0), if that is kept.
func (c *imageStates) state(stamp int64, name string) (regular, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctime != stamp {
		return false, false
	}
	regular, ok = c.regular[name]
	return regular, ok
}

// keep records what an fstatat of name made after the directory's check
// found its ctime to be stamp (not 0) returned (st, err of lstatBeneath),
// when that says what the directory's entry is: a transient error (EIO,
// ENOMEM, EACCES, ...) is not kept.
func (c *imageStates) keep(stamp int64, name string, st *unix.Stat_t, err error) {
	var regular bool
	switch {
	case err == nil:
		regular = st.Mode&unix.S_IFMT == unix.S_IFREG
	case errors.Is(err, ErrSymlink), errors.Is(err, unix.ENOENT):
	default:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctime != stamp || c.regular == nil || len(c.regular) >= maxKeptImages {
		c.ctime = stamp
		c.regular = make(map[string]bool)
	}
	c.regular[name] = regular
}
