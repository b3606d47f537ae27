package volumes

import (
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/beneath"
)

// heldPools keeps DATA/pools and each pool's directory open for the lookups
// that only read a volume's file state (Get, Lookup, List, ListAfter,
// SetLabels), so that a request stats its image with one fstatat instead of
// opening two directories and closing them again. Operations that change
// files (create, delete, grow, open of an image, scans) still open their pool
// afresh (openPool).
//
// What a held descriptor means: it is the directory that was at
// DATA/pools/<pool> when it was opened, beneath DATA/pools and without
// following a link (package beneath). It keeps naming that directory whatever
// happens to the name afterwards, so nothing reached through it ever follows
// a link put in the pool's place. Before each use the name is checked again
// with one fstatat(AT_SYMLINK_NOFOLLOW) in DATA/pools: when it no longer is
// the held directory (same device and inode; the inode cannot be reused while
// it is held open) the handle is replaced, and when it is a symlink, is
// missing or is not a directory the pool counts as gone, its volumes Missing,
// exactly as when every lookup opened the pool itself. DATA/pools itself is
// held from its first use until the next Rescan or Close: it is the
// administrator's folder (links in its path were always followed), and a
// Rescan opens it again.
//
// Descriptors are closed only under the write lock, after which nothing holds
// them: a reader never sees a closed or reused descriptor.
type heldPools struct {
	path string // DATA/pools

	// clock is the time the racy rule of imageStates compares the pool
	// directories' ctimes with (time.Now; tests change it).
	clock func() time.Time
	// grain, when not 0, coarsens the directories' ctimes to multiples of
	// it (ns), as a filesystem with coarse timestamps would keep them
	// (tests).
	grain int64

	mu      sync.RWMutex
	parentF *os.File            // DATA/pools, nil until opened or after a failed open
	parent  int                 // parentF's descriptor, -1 when nil
	dirs    map[string]heldPool // by pool name
	closed  bool
}

// heldPool is the held state of one pool's directory.
type heldPool struct {
	f        *os.File // nil: the pool's directory is gone (or a symlink, or not a directory)
	fd       int      // f's descriptor, -1 when f is nil
	dev, ino uint64
	images   *imageStates // what its image names were found to be (nil when f is)
}

func newHeldPools(path string) *heldPools {
	return &heldPools{path: path, parent: -1, dirs: map[string]heldPool{}, clock: time.Now}
}

// poolFDs is what heldPools.hold gives: each pool asked for as a heldDir,
// valid until release is called.
type poolFDs struct {
	names     []string
	dirs      []heldDir
	exclusive bool // the hold took h.mu for writing, not reading
}

// release gives back the descriptors of a hold whose exclusive was
// exclusive (they may be closed afterwards).
func (h *heldPools) release(exclusive bool) {
	if exclusive {
		h.mu.Unlock()
	} else {
		h.mu.RUnlock()
	}
}

// heldDir is a held pool directory as one hold found it.
type heldDir struct {
	fd     int          // the directory, -1 when it is gone
	images *imageStates // its image states (nil when fd is -1)
	// stamp is the directory's ctime (ns) as the hold's check found it,
	// when it may key image states (imageStates), else 0.
	stamp int64
}

// goneDir is the heldDir of a pool whose directory is gone.
var goneDir = heldDir{fd: -1}

// dir returns the held directory of pool (goneDir when not asked for).
func (p *poolFDs) dir(pool string) heldDir {
	for i, n := range p.names {
		if n == pool {
			return p.dirs[i]
		}
	}
	return goneDir
}

// hold checks the held directory of each pool in pools (distinct names)
// against what DATA/pools now holds under its name, re-opens those that
// changed, and returns their descriptors, in dirs (its room is used when
// it has enough); the caller must call release when done with them and
// must not call hold again before.
func (h *heldPools) hold(pools []string, dirs []heldDir) poolFDs {
	out := poolFDs{names: pools, dirs: slices.Grow(dirs[:0], len(pools))[:len(pools)]}
	// The clock is read before the directories are checked: a change to a
	// directory after its check gets a ctime no older than this (racyMargin).
	racy := h.clock().Add(-racyMargin).UnixNano()
	h.mu.RLock()
	fresh := true
	for i, name := range pools {
		d, ok := h.dirs[name]
		if !ok {
			fresh = false
			break
		}
		ctime, ok := h.current(name, d)
		if !ok {
			fresh = false
			break
		}
		out.dirs[i] = heldDir{fd: d.fd, images: d.images}
		if d.f != nil && ctime > 0 && ctime < racy {
			out.dirs[i].stamp = ctime
		}
	}
	if fresh {
		return out
	}
	h.mu.RUnlock()
	// Rare: a pool not held yet, or changed on disk. Re-open under the
	// write lock and use the descriptors before anyone else can change them;
	// their image states are neither used nor kept by this hold.
	h.mu.Lock()
	for i, name := range pools {
		d, ok := h.dirs[name]
		if !ok {
			d = h.reopen(name, d)
		} else if _, ok := h.current(name, d); !ok {
			d = h.reopen(name, d)
		}
		out.dirs[i] = heldDir{fd: d.fd}
	}
	out.exclusive = true
	return out
}

// current reports whether d still describes what DATA/pools holds under
// name: the same directory, or still no directory when d is gone; and the
// directory's ctime (ns) when it is the same. Called with h.mu held.
func (h *heldPools) current(name string, d heldPool) (ctime int64, ok bool) {
	if h.parent < 0 {
		return 0, false
	}
	var st unix.Stat_t
	err := unix.Fstatat(h.parent, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	isDir := err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
	if d.f == nil {
		return 0, !isDir
	}
	ctime = st.Ctim.Nano()
	if h.grain != 0 {
		ctime -= ctime % h.grain
	}
	return ctime, isDir && uint64(st.Dev) == d.dev && uint64(st.Ino) == d.ino
}

// reopen replaces the held state of pool name (old) by a fresh open beneath
// DATA/pools. Called with h.mu held for writing.
func (h *heldPools) reopen(name string, old heldPool) heldPool {
	if old.f != nil {
		old.f.Close()
	}
	d := heldPool{fd: -1}
	defer func() { h.dirs[name] = d }()
	if h.closed {
		return d
	}
	if h.parentF == nil {
		p, err := beneath.OpenDir(h.path)
		if err != nil {
			return d
		}
		h.parentF, h.parent = p, int(p.Fd())
	}
	f, err := beneath.OpenFile(h.parentF, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return d // gone, a symlink (ErrSymlink) or not a directory
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return d
	}
	d = heldPool{f: f, fd: int(f.Fd()), dev: uint64(st.Dev), ino: uint64(st.Ino), images: &imageStates{}}
	return d
}

// reset closes every held descriptor, DATA/pools included; the next hold
// opens what is there then. Rescan, pool creation and deletion call it.
func (h *heldPools) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closeAll()
}

// close closes every held descriptor for good.
func (h *heldPools) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	h.closeAll()
}

// closeAll closes the descriptors; h.mu is held for writing.
func (h *heldPools) closeAll() {
	for name, d := range h.dirs {
		if d.f != nil {
			d.f.Close()
		}
		delete(h.dirs, name)
	}
	if h.parentF != nil {
		h.parentF.Close()
		h.parentF, h.parent = nil, -1
	}
}

// lstatBeneath describes name in the directory fd without following a link
// in its place (one fstatat); a symlink is an error matching ErrSymlink.
func lstatBeneath(fd int, name string, st *unix.Stat_t) error {
	if err := unix.Fstatat(fd, name, st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return ErrSymlink
	}
	return nil
}
