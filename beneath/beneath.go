// Package beneath opens, stats, renames and removes files beneath a
// directory handle without ever following a symbolic link or leaving that
// directory.
//
// A path checked to lie inside a directory and opened later by name can be
// redirected between the check and the open: anyone who can write the
// directory can swap a component for a symlink to a file elsewhere. The
// functions here resolve names relative to an open directory with
// openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS), so the
// kernel refuses any symlink met during the resolution itself. Where openat2
// is missing (ENOSYS, Linux before 5.6, or a seccomp filter that hides it) they
// walk the name one component at a time with openat(O_NOFOLLOW), which gives
// the same guarantee.
//
// Only the directory handle itself is opened by a path ([OpenDir]); links in
// that path are ones the administrator configured and are followed.
//
// Names given to the functions taking a directory handle must be relative,
// clean (filepath.Clean leaves them unchanged) and must not start with "..";
// anything else fails with [ErrBadName]. A symlink anywhere in the name, the
// final component included, fails with an error wrapping [ErrSymlink] and the
// kernel's errno (ELOOP, or EXDEV for an escape).
package beneath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrSymlink is wrapped by every error caused by a symbolic link (or an
// attempt to leave the directory) met while resolving a name.
var ErrSymlink = errors.New("symlink or escape refused")

// ErrBadName is wrapped by the error for a name that is absolute, not clean,
// empty or starts with "..".
var ErrBadName = errors.New("name must be relative, clean and stay beneath its directory")

// resolveFlags are the openat2 resolve flags of every open.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// eagainRetries bounds the retries of openat2, which answers EAGAIN with
// RESOLVE_BENEATH when a rename elsewhere on the file system raced the lookup.
const eagainRetries = 16

// openat2 is the system call, a variable so that tests can make it answer
// ENOSYS and exercise the fallback.
var openat2 = unix.Openat2

// OpenDir opens the directory at path as a handle for the functions below.
// Symlinks in path are followed: the path comes from the administrator's
// configuration, not from a client.
func OpenDir(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open directory", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// OpenFile opens name beneath dir with flag (os.O_* or unix.O_* flags) and,
// when creating, perm. It never follows a symlink: one anywhere in name fails
// with an error wrapping [ErrSymlink]. With unix.O_PATH the final component is
// checked after the open and a symlink is refused as well.
func OpenFile(dir *os.File, name string, flag int, perm os.FileMode) (*os.File, error) {
	if err := checkName(name); err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	fd, err := openBeneath(int(dir.Fd()), name, flag, perm)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: joinName(dir, name), Err: classify(err)}
	}
	f := os.NewFile(uintptr(fd), joinName(dir, name))
	if flag&unix.O_PATH != 0 {
		if err := refuseLink(f); err != nil {
			f.Close()
			return nil, &os.PathError{Op: "open", Path: f.Name(), Err: err}
		}
	}
	return f, nil
}

// Open opens the file at path beneath its parent directory:
// OpenDir(filepath.Dir(path)) then OpenFile of its base name. It is for
// callers that hold only a path whose directory is trusted; the final
// component is never followed if it is a symlink.
func Open(path string, flag int, perm os.FileMode) (*os.File, error) {
	base := filepath.Base(path)
	if base == "." || base == ".." || base == string(filepath.Separator) || strings.HasSuffix(path, "/") {
		return nil, &os.PathError{Op: "open", Path: path, Err: ErrBadName}
	}
	dir, err := OpenDir(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return OpenFile(dir, base, flag, perm)
}

// Lstat returns the file information of name beneath dir. Unlike os.Lstat it
// refuses a symlink as the final component ([ErrSymlink]) instead of
// describing it, so a successful answer always describes a file that
// [OpenFile] would open.
func Lstat(dir *os.File, name string) (fs.FileInfo, error) {
	if oneComponent(name) {
		// No directory to resolve: one fstatat that does not follow a link
		// in the name's place answers as the O_PATH open below would, in one
		// system call instead of three (a pool of 10,000 volumes is stat'ed
		// whole for its space figures).
		var st syscall.Stat_t // what os.FileInfo.Sys gives, so callers see one type
		if err := unix.Fstatat(int(dir.Fd()), name, (*unix.Stat_t)(unsafe.Pointer(&st)), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return nil, &os.PathError{Op: "lstat", Path: joinName(dir, name), Err: err}
		}
		if st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
			return nil, &os.PathError{Op: "lstat", Path: joinName(dir, name), Err: linkErr(unix.ELOOP)}
		}
		return &statInfo{name: name, st: st}, nil
	}
	f, err := OpenFile(dir, name, unix.O_PATH, 0)
	if err != nil {
		return nil, relabel(err, "lstat")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("beneath: lstat %s: %w", f.Name(), err)
	}
	return fi, nil
}

// Remove removes the file or empty directory name beneath dir (unlinkat).
// A symlink as the final component is refused ([ErrSymlink]) rather than
// removed, and the directories above it are resolved without following links.
func Remove(dir *os.File, name string) error {
	parent, base, err := openParent(dir, name, "remove")
	if err != nil {
		return err
	}
	defer parent.Close()
	var st unix.Stat_t
	if err := unix.Fstatat(int(parent.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "remove", Path: joinName(dir, name), Err: err}
	}
	flags := 0
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return &os.PathError{Op: "remove", Path: joinName(dir, name), Err: linkErr(unix.ELOOP)}
	case unix.S_IFDIR:
		flags = unix.AT_REMOVEDIR
	}
	if err := unix.Unlinkat(int(parent.Fd()), base, flags); err != nil {
		return &os.PathError{Op: "remove", Path: joinName(dir, name), Err: err}
	}
	return nil
}

// Rename renames oldname to newname, both beneath dir (renameat), replacing
// newname if it exists like os.Rename. A symlink as either final component is
// refused ([ErrSymlink]); the directories above them are resolved without
// following links.
func Rename(dir *os.File, oldname, newname string) error {
	oldParent, oldBase, err := openParent(dir, oldname, "rename")
	if err != nil {
		return err
	}
	defer oldParent.Close()
	newParent, newBase, err := openParent(dir, newname, "rename")
	if err != nil {
		return err
	}
	defer newParent.Close()
	for _, c := range []struct {
		fd   int
		base string
		name string
	}{{int(oldParent.Fd()), oldBase, oldname}, {int(newParent.Fd()), newBase, newname}} {
		var st unix.Stat_t
		err := unix.Fstatat(c.fd, c.base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return &os.LinkError{Op: "rename", Old: joinName(dir, oldname), New: joinName(dir, newname), Err: linkErr(unix.ELOOP)}
		}
	}
	if err := unix.Renameat(int(oldParent.Fd()), oldBase, int(newParent.Fd()), newBase); err != nil {
		return &os.LinkError{Op: "rename", Old: joinName(dir, oldname), New: joinName(dir, newname), Err: err}
	}
	return nil
}

// Mkdir creates the directory name beneath dir with perm (mkdirat); the
// directories above it are resolved without following links.
func Mkdir(dir *os.File, name string, perm os.FileMode) error {
	parent, base, err := openParent(dir, name, "mkdir")
	if err != nil {
		return err
	}
	defer parent.Close()
	if err := unix.Mkdirat(int(parent.Fd()), base, uint32(perm.Perm())); err != nil {
		return &os.PathError{Op: "mkdir", Path: joinName(dir, name), Err: err}
	}
	return nil
}

// openParent checks name and opens its parent directory beneath dir as an
// O_PATH handle; it returns the handle and the final component.
func openParent(dir *os.File, name, op string) (*os.File, string, error) {
	if err := checkName(name); err != nil || name == "." {
		if err == nil {
			err = ErrBadName
		}
		return nil, "", &os.PathError{Op: op, Path: name, Err: err}
	}
	parentName, base := filepath.Split(name)
	parentName = strings.TrimSuffix(parentName, "/")
	if parentName == "" {
		parentName = "."
	}
	parent, err := OpenFile(dir, parentName, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, "", &os.PathError{Op: op, Path: joinName(dir, name), Err: err}
	}
	return parent, base, nil
}

// checkName returns ErrBadName unless name is relative, clean and does not
// climb out of its directory.
func checkName(name string) error {
	switch {
	case name == "", filepath.IsAbs(name), filepath.Clean(name) != name,
		name == "..", strings.HasPrefix(name, "../"):
		return ErrBadName
	}
	return nil
}

// openBeneath opens name relative to dirfd with openat2, or with the
// component walk when the kernel has no openat2.
func openBeneath(dirfd int, name string, flag int, perm os.FileMode) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flag | unix.O_CLOEXEC | unix.O_NOFOLLOW),
		Resolve: resolveFlags,
	}
	if flag&(unix.O_CREAT|unix.O_TMPFILE) != 0 {
		how.Mode = uint64(perm.Perm())
	}
	for range eagainRetries {
		fd, err := openat2(dirfd, name, &how)
		switch {
		case err == nil:
			return fd, nil
		case errors.Is(err, unix.ENOSYS):
			return walk(dirfd, name, flag, perm)
		case errors.Is(err, unix.ENOTDIR):
			// openat2 answers ENOTDIR, not ELOOP, for a symlink where a
			// directory is needed; the walk (which follows nothing either)
			// tells the two apart.
			return walk(dirfd, name, flag, perm)
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			continue
		default:
			return -1, err
		}
	}
	return -1, unix.EAGAIN
}

// walk is the fallback of openBeneath: it opens each directory of name with
// openat(O_PATH|O_DIRECTORY|O_NOFOLLOW) and the final component with
// openat(flag|O_NOFOLLOW), checking that no directory opened is a symlink.
func walk(dirfd int, name string, flag int, perm os.FileMode) (int, error) {
	parts := strings.Split(name, "/")
	cur := dirfd
	closeCur := func() {
		if cur != dirfd {
			unix.Close(cur)
		}
	}
	defer func() { closeCur() }()
	for _, p := range parts[:len(parts)-1] {
		next, err := unix.Openat(cur, p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == nil {
			err = fdNotLink(next)
			if err != nil {
				unix.Close(next)
			}
		} else if errors.Is(err, unix.ENOTDIR) && isLink(cur, p) {
			err = unix.ELOOP
		}
		if err != nil {
			return -1, err
		}
		closeCur()
		cur = next
	}
	last := parts[len(parts)-1]
	mode := uint32(0)
	if flag&(unix.O_CREAT|unix.O_TMPFILE) != 0 {
		mode = uint32(perm.Perm())
	}
	fd, err := unix.Openat(cur, last, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		if errors.Is(err, unix.ENOTDIR) && isLink(cur, last) {
			err = unix.ELOOP
		}
		return -1, err
	}
	return fd, nil
}

// isLink reports whether name in dirfd is a symlink.
func isLink(dirfd int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// fdNotLink returns ELOOP if fd (an O_PATH|O_NOFOLLOW handle) is a symlink.
func fdNotLink(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return unix.ELOOP
	}
	return nil
}

// refuseLink returns an ErrSymlink error if f, opened with O_PATH, is a
// symlink (O_PATH|O_NOFOLLOW opens the link itself).
func refuseLink(f *os.File) error {
	if err := fdNotLink(int(f.Fd())); err != nil {
		return classify(err)
	}
	return nil
}

// classify wraps ErrSymlink around ELOOP and EXDEV, the answers to a symlink
// and to an escape; other errors are returned unchanged.
func classify(err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) && (errno == unix.ELOOP || errno == unix.EXDEV) {
		return linkErr(errno)
	}
	return err
}

// linkErr is the error for errno caused by a symlink or an escape.
func linkErr(errno unix.Errno) error {
	return fmt.Errorf("%w (%w)", ErrSymlink, errno)
}

// relabel changes the Op of a *os.PathError to op.
func relabel(err error, op string) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return &os.PathError{Op: op, Path: pe.Path, Err: pe.Err}
	}
	return err
}

// joinName is the name given to files opened beneath dir, for messages.
func joinName(dir *os.File, name string) string {
	return filepath.Join(dir.Name(), name)
}

// oneComponent reports whether name is a single file name that OpenFile
// would accept as it is: no separator, not empty, not "." and not starting
// with "..".
func oneComponent(name string) bool {
	return name != "" && name != "." && !strings.HasPrefix(name, "..") && !strings.ContainsRune(name, '/')
}

// unix.Stat_t and syscall.Stat_t are the kernel's struct stat both: the
// same size (these fail to compile otherwise) and layout.
var (
	_ [unsafe.Sizeof(unix.Stat_t{}) - unsafe.Sizeof(syscall.Stat_t{})]byte
	_ [unsafe.Sizeof(syscall.Stat_t{}) - unsafe.Sizeof(unix.Stat_t{})]byte
)

// statInfo is the fs.FileInfo of a stat_t, as os.Lstat builds it.
type statInfo struct {
	name string
	st   syscall.Stat_t
}

func (fi *statInfo) Name() string       { return fi.name }
func (fi *statInfo) Size() int64        { return fi.st.Size }
func (fi *statInfo) ModTime() time.Time { return time.Unix(fi.st.Mtim.Unix()) }
func (fi *statInfo) IsDir() bool        { return fi.Mode().IsDir() }
func (fi *statInfo) Sys() any           { return &fi.st }

// Mode converts the stat_t mode as the os package does.
func (fi *statInfo) Mode() fs.FileMode {
	m := fs.FileMode(fi.st.Mode & 0o777)
	switch fi.st.Mode & syscall.S_IFMT {
	case syscall.S_IFBLK:
		m |= fs.ModeDevice
	case syscall.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFDIR:
		m |= fs.ModeDir
	case syscall.S_IFIFO:
		m |= fs.ModeNamedPipe
	case syscall.S_IFLNK:
		m |= fs.ModeSymlink
	case syscall.S_IFSOCK:
		m |= fs.ModeSocket
	}
	if fi.st.Mode&syscall.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if fi.st.Mode&syscall.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if fi.st.Mode&syscall.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}
