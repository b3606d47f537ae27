package volumes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/store"
)

// BlockSize is the logical block size of every volume, in bytes: CIM shows it
// as StorageVolume.BlockSize, with NumberOfBlocks = SizeBytes / BlockSize.
const BlockSize = 512

// Limits on labels accepted by CreateWithLabels and SetLabels.
const (
	MaxLabels        = 64   // labels per volume
	MaxLabelKeyLen   = 128  // bytes
	MaxLabelValueLen = 1024 // bytes
)

// ID identifies a volume for its whole life: a random UUID in canonical text
// form, never reused, which the CIM layer uses as DeviceID.
type ID string

// String returns the UUID text.
func (id ID) String() string { return string(id) }

func newID() ID { return ID(uuid.NewString()) }

// Volume is a snapshot of one volume's metadata; changing it changes nothing.
type Volume struct {
	// ID is the volume's stable identifier.
	ID ID
	// Name is the client-visible name (CIM ElementName); the file is Name+".img".
	Name string
	// Pool is the name of the pool holding the volume.
	Pool string
	// SizeBytes is the apparent size, a multiple of BlockSize.
	SizeBytes uint64
	// AllocatedBytes is the disk space the file occupies (st_blocks*512),
	// read when the Volume was returned; 0 when Missing.
	AllocatedBytes uint64
	// Created is when the volume was created or imported (UTC).
	Created time.Time
	// Imported reports that the volume was found on disk rather than created
	// through this package.
	Imported bool
	// Missing reports that the file has vanished or is not a regular file.
	Missing bool
	// Labels are free-form key/value pairs for other layers (e.g. the
	// replication layer's "origin"); nil when there are none.
	Labels map[string]string

	path string
}

// Path is the absolute path of the volume's image file.
func (v *Volume) Path() string { return v.path }

// NumberOfBlocks is SizeBytes / BlockSize.
func (v *Volume) NumberOfBlocks() uint64 { return v.SizeBytes / BlockSize }

// roundSize validates a requested size and rounds it up to BlockSize.
func roundSize(size uint64) (uint64, error) {
	if size == 0 {
		return 0, fmt.Errorf("%w: 0 bytes", ErrInvalidSize)
	}
	if size > math.MaxInt64-(BlockSize-1) {
		return 0, fmt.Errorf("%w: %d bytes is too large", ErrInvalidSize, size)
	}
	return (size + BlockSize - 1) &^ (BlockSize - 1), nil
}

func checkLabels(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return fmt.Errorf("%w: %d labels, at most %d", ErrInvalidLabel, len(labels), MaxLabels)
	}
	for k, v := range labels {
		if k == "" || len(k) > MaxLabelKeyLen {
			return fmt.Errorf("%w: key %q must be 1..%d bytes", ErrInvalidLabel, k, MaxLabelKeyLen)
		}
		if len(v) > MaxLabelValueLen {
			return fmt.Errorf("%w: value of %q longer than %d bytes", ErrInvalidLabel, k, MaxLabelValueLen)
		}
	}
	return nil
}

// volume turns a record into a Volume, reading the file's state through root
// (nil when the pool directory is gone).
func (s *Service) volume(r volumeRecord, root *dirHandle) *Volume {
	d := goneDir
	if root != nil {
		d = heldDir{fd: int(root.dir.Fd())}
	}
	return s.volumeAt(r, d, true)
}

// imagePath is filepath.Join(s.poolDir(pool), fileName(name)), the path
// of a volume's image, by concatenation when pool and name are plain file
// names (as a volume's always are): what Join would clean then is nothing.
func (s *Service) imagePath(pool, name string) string {
	if pool == "" || pool == "." || pool == ".." || strings.ContainsRune(pool, '/') || strings.ContainsRune(name, '/') {
		return filepath.Join(s.poolDir(pool), fileName(name))
	}
	return s.poolsDir + string(filepath.Separator) + pool + string(filepath.Separator) + fileName(name)
}

// volumeAt turns a record into a Volume, reading the file's state with one
// fstatat in the pool directory d (its fd is -1 when the directory is gone);
// a symlink, or anything but a regular file, in the image's place makes it
// Missing. When allocation is false, AllocatedBytes is left 0 and the
// fstatat is saved when d's image states say what the image is
// (imageStates).
func (s *Service) volumeAt(r volumeRecord, d heldDir, allocation bool) *Volume {
	v := new(Volume)
	s.fillVolume(v, r, d, allocation)
	return v
}

// fillVolume is volumeAt into v.
func (s *Service) fillVolume(v *Volume, r volumeRecord, d heldDir, allocation bool) {
	path, name := r.path, r.file
	if path == "" {
		path = s.imagePath(r.Pool, r.Name)
	}
	if name == "" {
		name = fileName(r.Name)
	}
	*v = Volume{
		ID: r.ID, Name: r.Name, Pool: r.Pool, SizeBytes: r.SizeBytes,
		Created: r.Created, Imported: r.Imported, Missing: r.Missing,
		path: path,
	}
	if len(r.Labels) > 0 {
		v.Labels = make(map[string]string, len(r.Labels))
		for k, val := range r.Labels {
			v.Labels[k] = val
		}
	}
	if d.fd < 0 {
		v.Missing = true
		return
	}
	kept := !allocation && d.stamp != 0 && d.images != nil
	if kept {
		if regular, ok := d.images.state(d.stamp, name); ok {
			v.Missing = !regular
			return
		}
	}
	var st unix.Stat_t
	err := lstatBeneath(d.fd, name, &st)
	if kept {
		d.images.keep(d.stamp, name, &st, err)
	}
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		v.Missing = true
		return
	}
	v.Missing = false
	if allocation {
		v.AllocatedBytes = uint64(st.Blocks) * 512
	}
}

// Create makes an empty sparse volume of sizeBytes (rounded up to BlockSize)
// named name in pool; see CreateWithLabels.
func (s *Service) Create(ctx context.Context, pool, name string, sizeBytes uint64) (*Volume, error) {
	return s.CreateWithLabels(ctx, pool, name, sizeBytes, nil)
}

// CreateWithLabels makes an empty sparse volume of sizeBytes (rounded up to
// BlockSize) named name in pool, carrying labels, and returns it. Errors:
// ErrInvalidName, ErrInvalidSize, ErrInvalidLabel, ErrPoolNotFound,
// ErrExists (a volume or a file of that name is already there), ErrNoSpace;
// on any error nothing is left on disk or in the store.
func (s *Service) CreateWithLabels(ctx context.Context, pool, name string, sizeBytes uint64, labels map[string]string) (*Volume, error) {
	v, err := s.create(ctx, pool, name, sizeBytes, labels)
	if err != nil {
		return nil, fmt.Errorf("create volume %s/%s: %w", pool, name, err)
	}
	return v, nil
}

func (s *Service) create(ctx context.Context, pool, name string, sizeBytes uint64, labels map[string]string) (*Volume, error) {
	if err := s.checkOpen(ctx); err != nil {
		return nil, err
	}
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if CheckName(pool) != nil {
		return nil, fmt.Errorf("%w: %q", ErrPoolNotFound, pool)
	}
	size, err := roundSize(sizeBytes)
	if err != nil {
		return nil, err
	}
	if err := checkLabels(labels); err != nil {
		return nil, err
	}
	s.scan.RLock()
	defer s.scan.RUnlock()

	if err := s.db.View(func(tx *store.Tx) error {
		if _, err := getPool(tx, pool); err != nil {
			return err
		}
		if _, ok, err := lookupName(tx, pool, name); err != nil {
			return err
		} else if ok {
			return ErrExists
		}
		return nil
	}); err != nil {
		return nil, err
	}
	root, err := s.openPool(pool)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (directory gone)", ErrPoolNotFound, pool)
	} else if err != nil {
		return nil, err
	}
	defer root.Close()
	if err := s.checkSpace(pool, root, size, 0); err != nil {
		return nil, err
	}

	fn := fileName(name)
	f, err := root.OpenFile(fn, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: file %s", ErrExists, fn)
	} else if err != nil {
		return nil, fmt.Errorf("volumes: create %s: %w", fn, err)
	}
	committed := false
	defer func() {
		if f != nil {
			f.Close()
		}
		if !committed {
			if err := root.Remove(fn); err != nil {
				s.log.Error("remove file of failed create", zapPath(root, fn), zapErr(err))
			}
		}
	}()
	if err := f.Truncate(int64(size)); err != nil {
		return nil, fmt.Errorf("volumes: allocate %s: %w", fn, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("volumes: sync %s: %w", fn, err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return nil, fmt.Errorf("volumes: close %s: %w", fn, err)
	}
	if err := syncDir(root); err != nil {
		return nil, err
	}
	rec := volumeRecord{
		V: recordVersion, ID: newID(), Name: name, Pool: pool, SizeBytes: size,
		Created: s.now().UTC(), Labels: cloneLabels(labels),
	}
	if err := s.db.Update(func(tx *store.Tx) error { return putNewVolume(tx, rec) }); err != nil {
		return nil, err
	}
	committed = true
	s.tally.created(pool, name, size)
	return s.volume(rec, root), nil
}

func cloneLabels(in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// syncDir makes directory entry changes under root durable.
func syncDir(root *dirHandle) error {
	if err := root.Sync(); err != nil {
		return fmt.Errorf("volumes: sync pool directory %s: %w", root.Name(), err)
	}
	return nil
}

// Delete removes volume id: its file and its record. A Missing volume loses
// only its record. Errors: ErrNotFound, ErrInUse (leased). If recording the
// deletion fails the file is put back.
func (s *Service) Delete(ctx context.Context, id ID) error {
	if err := s.delete(ctx, id); err != nil {
		return fmt.Errorf("delete volume %s: %w", id, err)
	}
	return nil
}

func (s *Service) delete(ctx context.Context, id ID) error {
	if err := s.checkOpen(ctx); err != nil {
		return err
	}
	s.scan.RLock()
	defer s.scan.RUnlock()
	release, err := s.hold(id, "delete")
	if err != nil {
		return err
	}
	defer release()
	var rec volumeRecord
	if err := s.db.View(func(tx *store.Tx) (err error) {
		rec, err = getVolume(tx, id)
		return err
	}); err != nil {
		return err
	}
	if err := s.checkInUse(rec); err != nil {
		return err
	}
	fn, tmp := fileName(rec.Name), deletingName(rec.Name)
	root, err := s.openPool(rec.Pool)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if root != nil {
		defer root.Close()
	}
	renamed := false
	var alloc uint64 // what the file occupied, for the pool's tally
	if root != nil {
		fi, err := root.Lstat(fn)
		switch {
		case err == nil && fi.Mode().IsRegular():
			alloc = allocatedBytes(fi)
			if err := root.Rename(fn, tmp); err != nil {
				return fmt.Errorf("volumes: rename %s: %w", fn, err)
			}
			renamed = true
		case errors.Is(err, ErrSymlink):
			// Not ours: neither the link nor what it points to is touched;
			// the volume (Missing) loses only its record.
			s.log.Warn("delete leaves a symlink where the volume file was", zapPath(root, fn), zapErr(err))
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("volumes: stat %s: %w", fn, err)
		}
		// Anything else at fn (a directory, a device) is not ours: leave it.
	}
	err = s.db.Update(func(tx *store.Tx) error {
		if err := tx.Delete(bucketVolumes, string(id)); err != nil {
			return err
		}
		if cur, ok, err := lookupName(tx, rec.Pool, rec.Name); err != nil {
			return err
		} else if ok && cur == id {
			return tx.Delete(bucketNames, nameKey(rec.Pool, rec.Name))
		}
		return nil
	})
	if err != nil {
		if renamed {
			if rerr := root.Rename(tmp, fn); rerr != nil {
				s.log.Error("restore file of failed delete", zapPath(root, tmp), zapErr(rerr))
			}
		}
		return err
	}
	s.tally.deleted(rec.Pool, rec.Name, rec.SizeBytes, alloc)
	if renamed {
		if err := root.Remove(tmp); err != nil {
			s.log.Error("remove file of deleted volume", zapPath(root, tmp), zapErr(err))
		} else if err := syncDir(root); err != nil {
			s.log.Warn("sync after delete", zapErr(err))
		}
	}
	return nil
}

// Grow enlarges volume id to sizeBytes (rounded up to BlockSize), sparse: no
// data is written. Growing to the current size changes nothing. Errors:
// ErrNotFound, ErrInvalidSize (0, too large, or smaller than now), ErrInUse
// (leased), ErrMissing, ErrNoSpace (the growth exceeds the free space).
func (s *Service) Grow(ctx context.Context, id ID, sizeBytes uint64) (*Volume, error) {
	v, err := s.grow(ctx, id, sizeBytes)
	if err != nil {
		return nil, fmt.Errorf("grow volume %s: %w", id, err)
	}
	return v, nil
}

func (s *Service) grow(ctx context.Context, id ID, sizeBytes uint64) (*Volume, error) {
	if err := s.checkOpen(ctx); err != nil {
		return nil, err
	}
	size, err := roundSize(sizeBytes)
	if err != nil {
		return nil, err
	}
	s.scan.RLock()
	defer s.scan.RUnlock()
	release, err := s.hold(id, "grow")
	if err != nil {
		return nil, err
	}
	defer release()
	var rec volumeRecord
	if err := s.db.View(func(tx *store.Tx) (err error) {
		rec, err = getVolume(tx, id)
		return err
	}); err != nil {
		return nil, err
	}
	if size < rec.SizeBytes {
		return nil, fmt.Errorf("%w: %d bytes is smaller than the current %d", ErrInvalidSize, size, rec.SizeBytes)
	}
	root, err := s.openPool(rec.Pool)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: pool directory %s gone", ErrMissing, rec.Pool)
	} else if err != nil {
		return nil, err
	}
	defer root.Close()
	if size == rec.SizeBytes {
		return s.volume(rec, root), nil
	}
	fn := fileName(rec.Name)
	fi, err := root.Lstat(fn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMissing, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s", ErrMissing, fn)
	}
	if uint64(fi.Size()) > size {
		// Grown outside replicad since the last Rescan: never cut data off.
		return nil, fmt.Errorf("%w: %d bytes is smaller than the file's %d", ErrInvalidSize, size, fi.Size())
	}
	if err := s.checkSpace(rec.Pool, root, size, rec.SizeBytes); err != nil {
		return nil, err
	}
	afterCheck(root.Name(), fn)
	f, err := root.OpenFile(fn, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("volumes: open %s: %w", fn, err)
	}
	defer f.Close()
	old := rec.SizeBytes
	if err := f.Truncate(int64(size)); err != nil {
		return nil, fmt.Errorf("volumes: grow %s: %w", fn, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("volumes: sync %s: %w", fn, err)
	}
	err = s.db.Update(func(tx *store.Tx) error {
		cur, err := getVolume(tx, id)
		if err != nil {
			return err
		}
		cur.SizeBytes = size
		cur.Missing = false
		rec = cur
		return tx.Put(bucketVolumes, string(id), cur)
	})
	if err != nil {
		if terr := f.Truncate(int64(old)); terr != nil {
			s.log.Error("shrink back after failed grow", zapPath(root, fn), zapErr(terr))
		}
		return nil, err
	}
	s.tally.grown(rec.Pool, rec.Name, old, size)
	return s.volume(rec, root), nil
}

// SetLabels merges labels into volume id's labels; an empty value removes
// its key. It does not need the lease, so a lease holder may call it.
// Errors: ErrNotFound, ErrInvalidLabel.
func (s *Service) SetLabels(ctx context.Context, id ID, labels map[string]string) (*Volume, error) {
	if err := s.checkOpen(ctx); err != nil {
		return nil, fmt.Errorf("set labels of volume %s: %w", id, err)
	}
	var rec volumeRecord
	err := s.db.Update(func(tx *store.Tx) error {
		cur, err := getVolume(tx, id)
		if err != nil {
			return err
		}
		merged := make(map[string]string, len(cur.Labels)+len(labels))
		for k, v := range cur.Labels {
			merged[k] = v
		}
		for k, v := range labels {
			if v == "" {
				delete(merged, k)
			} else {
				merged[k] = v
			}
		}
		if err := checkLabels(labels); err != nil {
			return err
		}
		if err := checkLabels(merged); err != nil {
			return err
		}
		cur.Labels = cloneLabels(merged)
		rec = cur
		return tx.Put(bucketVolumes, string(id), cur)
	})
	if err != nil {
		return nil, fmt.Errorf("set labels of volume %s: %w", id, err)
	}
	return s.withRoot(rec, true), nil
}

// withRoot returns the Volume of rec, its file state read through the held
// pool directory (held.go); AllocatedBytes only when allocation is true.
func (s *Service) withRoot(rec volumeRecord, allocation bool) *Volume {
	pools, dirs := [1]string{rec.Pool}, [1]heldDir{}
	h := s.held.hold(pools[:], dirs[:0])
	defer s.held.release(h.exclusive)
	return s.volumeAt(rec, h.dirs[0], allocation)
}

// Get returns volume id. Errors: ErrNotFound.
func (s *Service) Get(ctx context.Context, id ID) (*Volume, error) {
	return s.get(ctx, id, true)
}

// GetWithoutAllocation is Get, but the Volume's AllocatedBytes is 0: it is
// not read, which lets the lookup use what is kept of the image file's
// state (imageStates) instead of an fstatat of its own. Missing is as
// exact as Get's.
func (s *Service) GetWithoutAllocation(ctx context.Context, id ID) (*Volume, error) {
	return s.get(ctx, id, false)
}

func (s *Service) get(ctx context.Context, id ID, allocation bool) (*Volume, error) {
	if err := s.checkOpen(ctx); err != nil {
		return nil, fmt.Errorf("get volume %s: %w", id, err)
	}
	gen := s.db.Generation()
	if rec, ok := s.reads.record(gen, id); ok {
		return s.withRoot(rec, allocation), nil
	}
	var rec volumeRecord
	if err := s.db.View(func(tx *store.Tx) (err error) {
		rec, err = s.lookupVolume(tx, id)
		return err
	}); err != nil {
		return nil, fmt.Errorf("get volume %s: %w", id, err)
	}
	s.reads.keepRecord(gen, s.db.Generation(), id, rec)
	return s.withRoot(rec, allocation), nil
}

// Lookup returns the volume named name in pool. Errors: ErrInvalidName,
// ErrPoolNotFound, ErrNotFound.
func (s *Service) Lookup(ctx context.Context, pool, name string) (*Volume, error) {
	wrap := func(err error) error { return fmt.Errorf("look up volume %s/%s: %w", pool, name, err) }
	if err := s.checkOpen(ctx); err != nil {
		return nil, wrap(err)
	}
	if err := CheckName(name); err != nil {
		return nil, wrap(err)
	}
	if CheckName(pool) != nil {
		return nil, wrap(fmt.Errorf("%w: %q", ErrPoolNotFound, pool))
	}
	var rec volumeRecord
	if err := s.db.View(func(tx *store.Tx) error {
		if _, err := getPool(tx, pool); err != nil {
			return err
		}
		id, ok, err := lookupName(tx, pool, name)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		rec, err = s.lookupVolume(tx, id)
		return err
	}); err != nil {
		return nil, wrap(err)
	}
	return s.withRoot(rec, true), nil
}

// List returns the volumes of pool, or of every pool when pool is "",
// ordered by pool and name. Errors: ErrPoolNotFound.
func (s *Service) List(ctx context.Context, pool string) ([]*Volume, error) {
	wrap := func(err error) error { return fmt.Errorf("list volumes of pool %q: %w", pool, err) }
	if err := s.checkOpen(ctx); err != nil {
		return nil, wrap(err)
	}
	if pool != "" && CheckName(pool) != nil {
		return nil, wrap(fmt.Errorf("%w: %q", ErrPoolNotFound, pool))
	}
	var recs []volumeRecord
	if err := s.db.View(func(tx *store.Tx) (err error) {
		if pool == "" {
			recs, err = allVolumes(tx)
			return err
		}
		if _, err := getPool(tx, pool); err != nil {
			return err
		}
		recs, err = poolVolumes(tx, pool)
		return err
	}); err != nil {
		return nil, wrap(err)
	}
	return s.volumes(recs), nil
}

// volumes turns records into Volumes sorted by pool and name.
func (s *Service) volumes(recs []volumeRecord) []*Volume {
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Pool != recs[j].Pool {
			return recs[i].Pool < recs[j].Pool
		}
		return recs[i].Name < recs[j].Name
	})
	return s.volumesInOrder(recs, true)
}

// OpenImage opens volume id's image file for reading, or for reading and
// writing when writable, beneath its pool's directory handle without following
// any symlink. The caller should hold the volume's lease while it uses the
// file. Errors: ErrNotFound, ErrMissing (also when the file or the pool
// directory is a symlink; the error then matches ErrSymlink as well).
func (s *Service) OpenImage(ctx context.Context, id ID, writable bool) (*os.File, error) {
	wrap := func(err error) error { return fmt.Errorf("open image of volume %s: %w", id, err) }
	if err := s.checkOpen(ctx); err != nil {
		return nil, wrap(err)
	}
	var rec volumeRecord
	if err := s.db.View(func(tx *store.Tx) (err error) {
		rec, err = getVolume(tx, id)
		return err
	}); err != nil {
		return nil, wrap(err)
	}
	root, err := s.openPool(rec.Pool)
	if err != nil {
		return nil, wrap(fmt.Errorf("%w: %w", ErrMissing, err))
	}
	defer root.Close()
	fn := fileName(rec.Name)
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR
		s.tally.opened(rec.Pool)
	}
	// The Lstat keeps a FIFO from blocking the open; the open itself refuses
	// a link swapped in after it, and the Stat below checks what was opened.
	if _, err := root.Lstat(fn); err != nil {
		return nil, wrap(fmt.Errorf("%w: %w", ErrMissing, err))
	}
	afterCheck(root.Name(), fn)
	f, err := root.OpenFile(fn, flag, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, ErrSymlink):
		return nil, wrap(fmt.Errorf("%w: %w", ErrMissing, err))
	case err != nil:
		return nil, wrap(err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, wrap(fmt.Errorf("%w: %s is not a regular file", ErrMissing, fn))
	}
	return f, nil
}
