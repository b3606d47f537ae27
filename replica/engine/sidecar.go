package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/beneath"
)

// TimestampGranularity bounds how coarse the kernel's file timestamps are
// (they come from a clock that ticks once a jiffy). A write within the same
// tick as an earlier stat may leave every timestamp as it was; only a stat
// taken at least this long after a file's last change proves that a later
// write will show in its ctime.
const TimestampGranularity = 50 * time.Millisecond

// Identity is what a stat tells of a file's content: its device and inode,
// apparent size, and modification and status-change times. Every write
// changes the ctime and user space cannot set it back (touch -r and
// utimensat restore only atime and mtime), so a file whose Identity is
// unchanged, taken TimestampGranularity after its last change, holds the
// same bytes (barring writes to the block device underneath the filesystem,
// which only reading the data finds).
type Identity struct {
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	Size    int64  `json:"size"`
	MtimeNS int64  `json:"mtimeNs"`
	CtimeNS int64  `json:"ctimeNs"`
}

// String returns the identity as "dev:ino:size:mtime:ctime".
func (id Identity) String() string {
	return fmt.Sprintf("%d:%d:%d:%d:%d", id.Dev, id.Ino, id.Size, id.MtimeNS, id.CtimeNS)
}

// matches reports whether a and b are the same version of a file. A ctime of 0
// (a checkpoint older than the field) is not compared.
func (a Identity) matches(b Identity) bool {
	if a.CtimeNS == 0 || b.CtimeNS == 0 {
		a.CtimeNS, b.CtimeNS = 0, 0
	}
	return a == b
}

// change says in words how b differs from a, for error messages.
func (a Identity) change(b Identity) string {
	switch {
	case a.Dev != b.Dev || a.Ino != b.Ino:
		return "the file was replaced"
	case a.Size != b.Size:
		return fmt.Sprintf("its size went from %d to %d bytes", a.Size, b.Size)
	case a.MtimeNS != b.MtimeNS:
		return "it was written"
	default:
		return "it was written or its links changed (ctime moved, mtime kept)"
	}
}

// IdentityOf returns the identity of the open file f.
func IdentityOf(f *os.File) (Identity, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return Identity{}, fmt.Errorf("engine: stat %s: %w", f.Name(), err)
	}
	return identityOfStat(&st), nil
}

func identityOfStat(st *unix.Stat_t) Identity {
	return Identity{Dev: uint64(st.Dev), Ino: st.Ino, Size: st.Size, MtimeNS: st.Mtim.Nano(), CtimeNS: st.Ctim.Nano()}
}

// The hash sidecar: magic, block size, size the hashes cover, generation,
// the target's Identity when the hashes were taken, then one SHA-256 per
// block (all zero for an all-zero block). RHASH001 sidecars (no identity)
// are never trusted.
const (
	sidecarMagicV1 = "RHASH001"
	sidecarMagic   = "RHASH002"
	sidecarHeader  = 8 + 3*8 + 5*8
)

// sidecar is a loaded hash sidecar.
type sidecar struct {
	gen     uint64
	target  Identity
	hashes  [][sha256.Size]byte // whole blocks only
	modTime time.Time           // of the sidecar file itself
}

// trusted reports whether sc may stand for the target's data: it must carry
// the generation the caller recorded (so a sidecar written by a job that
// did not complete is not used) and the target must still have the identity
// recorded in it (inode, size, mtime and ctime: a write since, even one that
// put the mtime back, or a resize shows), and the sidecar must not be older
// than the target's last change.
func (sc *sidecar) trusted(opts ResyncOptions, target Identity) bool {
	return sc != nil && !opts.CompareTarget && opts.SidecarGeneration != 0 &&
		sc.gen == opts.SidecarGeneration && sc.target == target &&
		!sc.modTime.Before(time.Unix(0, target.CtimeNS))
}

// readSidecar loads the sidecar at path. A missing, old-format or corrupt
// file yields none (the target's data is compared instead); a sidecar with
// another block size is ErrBadSidecar.
func readSidecar(path string, blockSize int64) (*sidecar, error) {
	if path == "" {
		return nil, nil
	}
	f, err := beneath.Open(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("engine: open sidecar: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("engine: stat sidecar: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > 1<<36 {
		return nil, fmt.Errorf("%w: %s is %v of %d bytes", ErrBadSidecar, path, fi.Mode().Type(), fi.Size())
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil && fi.Size() > 0 {
		return nil, fmt.Errorf("engine: read sidecar: %w", err)
	}
	if len(b) >= 8 && string(b[:8]) == sidecarMagicV1 {
		return nil, nil
	}
	if len(b) < sidecarHeader || string(b[:8]) != sidecarMagic || (len(b)-sidecarHeader)%sha256.Size != 0 {
		return nil, nil
	}
	le := binary.LittleEndian
	if bs := int64(le.Uint64(b[8:])); bs != blockSize {
		return nil, fmt.Errorf("%w: %s: block size %d, want %d", ErrBadSidecar, path, bs, blockSize)
	}
	size := int64(le.Uint64(b[16:]))
	sc := &sidecar{gen: le.Uint64(b[24:]), modTime: fi.ModTime()}
	sc.target = Identity{Dev: le.Uint64(b[32:]), Ino: le.Uint64(b[40:]), Size: int64(le.Uint64(b[48:])),
		MtimeNS: int64(le.Uint64(b[56:])), CtimeNS: int64(le.Uint64(b[64:]))}
	n := (len(b) - sidecarHeader) / sha256.Size
	if size != sc.target.Size || int64(n) != (size+blockSize-1)/blockSize {
		return nil, nil
	}
	// Only whole blocks are trusted: a block that was partial at the old end is re-compared.
	n = min(n, int(size/blockSize))
	sc.hashes = make([][sha256.Size]byte, n)
	for i := range sc.hashes {
		copy(sc.hashes[i][:], b[sidecarHeader+i*sha256.Size:])
	}
	return sc, nil
}

// writeSidecar replaces path atomically (temporary file, fsync, rename, dir
// fsync) with the hashes of target, generation gen.
func writeSidecar(path string, blockSize int64, gen uint64, target Identity, hs [][sha256.Size]byte) error {
	le := binary.LittleEndian
	b := make([]byte, 0, sidecarHeader+len(hs)*sha256.Size)
	b = append(b, sidecarMagic...)
	b = le.AppendUint64(b, uint64(blockSize))
	b = le.AppendUint64(b, uint64(target.Size))
	b = le.AppendUint64(b, gen)
	for _, v := range []uint64{target.Dev, target.Ino, uint64(target.Size), uint64(target.MtimeNS), uint64(target.CtimeNS)} {
		b = le.AppendUint64(b, v)
	}
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	dir, err := beneath.OpenDir(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("engine: write sidecar: %w", err)
	}
	defer dir.Close()
	name := filepath.Base(path)
	tmp := name + ".tmp"
	if err := beneath.Remove(dir, tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("engine: write sidecar: %w", err)
	}
	f, err := beneath.OpenFile(dir, tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("engine: write sidecar: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		beneath.Remove(dir, tmp)
		return fmt.Errorf("engine: write sidecar: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		beneath.Remove(dir, tmp)
		return fmt.Errorf("engine: fsync sidecar: %w", err)
	}
	if err := f.Close(); err != nil {
		beneath.Remove(dir, tmp)
		return fmt.Errorf("engine: close sidecar: %w", err)
	}
	if err := beneath.Rename(dir, tmp, name); err != nil {
		return fmt.Errorf("engine: rename sidecar: %w", err)
	}
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("engine: fsync dir of sidecar: %w", err)
	}
	return nil
}

// dropSidecar removes the sidecar at path durably, before the first change
// to the target: if the process dies while the target is half updated, no
// sidecar remains to vouch for it (the kernel may lose the target's new
// ctime with the crash, so the identity check alone would not do).
func dropSidecar(path string) error {
	err := removeBeneath(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("engine: remove stale sidecar: %w", err)
	}
	return syncDir(filepath.Dir(path))
}
