package volumes

import (
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/beneath"
)

// ErrSymlink is matched (errors.Is) by the error of an operation that met a
// symbolic link where a volume file or pool directory should be; no link
// is ever followed inside DATA/pools. It is [beneath.ErrSymlink].
var ErrSymlink = beneath.ErrSymlink

// testHookAfterCheck, when set by a test, runs between the check of a volume
// file and its open, so that tests can swap the file in that window.
var testHookAfterCheck func(dir, name string)

// afterCheck calls testHookAfterCheck if a test set it.
func afterCheck(dir, name string) {
	if testHookAfterCheck != nil {
		testHookAfterCheck(dir, name)
	}
}

// dirHandle is an open directory (DATA/pools or one pool). Every file in it
// is reached through package beneath, relative to the handle and without
// following any symlink, never by a path: a link swapped in after a check
// cannot redirect an operation outside the directory.
type dirHandle struct {
	dir *os.File
}

// openPoolsDir opens DATA/pools. Links in its path are the administrator's
// and are followed.
func (s *Service) openPoolsDir() (*dirHandle, error) {
	d, err := beneath.OpenDir(s.poolsDir)
	if err != nil {
		return nil, fmt.Errorf("volumes: open %s: %w", s.poolsDir, err)
	}
	return &dirHandle{dir: d}, nil
}

// openPool opens pool name's directory beneath DATA/pools; a pool directory
// that is a symlink is refused (ErrSymlink). A missing directory gives an
// error matching fs.ErrNotExist.
func (s *Service) openPool(name string) (*dirHandle, error) {
	parent, err := s.openPoolsDir()
	if err != nil {
		return nil, fmt.Errorf("volumes: open pool %s: %w", name, err)
	}
	defer parent.Close()
	d, err := beneath.OpenFile(parent.dir, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("volumes: open pool %s: %w", name, err)
	}
	return &dirHandle{dir: d}, nil
}

// Close closes the directory.
func (h *dirHandle) Close() error { return h.dir.Close() }

// Name is the directory's path, for messages.
func (h *dirHandle) Name() string { return h.dir.Name() }

// Lstat describes name; a symlink is an error matching ErrSymlink.
func (h *dirHandle) Lstat(name string) (fs.FileInfo, error) { return beneath.Lstat(h.dir, name) }

// OpenFile opens name with flag and perm, refusing symlinks.
func (h *dirHandle) OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	return beneath.OpenFile(h.dir, name, flag, perm)
}

// Remove removes the file or empty directory name; a symlink is refused.
func (h *dirHandle) Remove(name string) error { return beneath.Remove(h.dir, name) }

// Rename renames oldname to newname; symlinks are refused.
func (h *dirHandle) Rename(oldname, newname string) error {
	return beneath.Rename(h.dir, oldname, newname)
}

// Mkdir creates the directory name.
func (h *dirHandle) Mkdir(name string, perm os.FileMode) error {
	return beneath.Mkdir(h.dir, name, perm)
}

// ReadDir lists the directory's entries (through a fresh handle, so that the
// offset of h is untouched).
func (h *dirHandle) ReadDir() ([]fs.DirEntry, error) {
	d, err := beneath.OpenFile(h.dir, ".", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// Sync makes the directory's entry changes durable.
func (h *dirHandle) Sync() error { return h.dir.Sync() }

// statFS is what fstatfs says about the directory's filesystem.
func (h *dirHandle) statFS() (fsUsage, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(h.dir.Fd()), &st); err != nil {
		return fsUsage{}, fmt.Errorf("volumes: statfs %s: %w", h.Name(), err)
	}
	return usageOf(&st), nil
}
