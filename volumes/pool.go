package volumes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"time"

	"github.com/replicad/replicad/store"
)

// Pool is a snapshot of one storage pool: a directory holding image files,
// with the sizes of its filesystem as statfs reports them when the Pool was
// returned. Several pools on one filesystem report the same filesystem sizes.
type Pool struct {
	// Name is the pool's name; its directory is DATA/pools/Name.
	Name string
	// Created is when the pool was created or found (UTC).
	Created time.Time
	// Missing reports that the pool's directory is gone; sizes are then 0.
	Missing bool
	// TotalBytes is the size of the filesystem holding the pool.
	TotalBytes uint64
	// FreeBytes is the space available to the daemon (statfs f_bavail).
	FreeBytes uint64
	// UsedBytes is the space in use on the filesystem (f_blocks - f_bfree).
	UsedBytes uint64
	// ProvisionedBytes is the sum of the pool's volumes' sizes (apparent,
	// sparse: it may exceed TotalBytes).
	ProvisionedBytes uint64
	// AllocatedBytes is the disk space the pool's volume files occupy, as
	// last counted: a Pool call finding the count older than a second
	// starts another in the background, and one made after a volume was
	// opened for writing through OpenImage waits for a count. Writes made
	// around this package (tgtd, a copy by hand) show after a later call.
	AllocatedBytes uint64
	// Volumes is the number of volumes in the pool, missing ones included.
	Volumes int
	// Policy is the pool's provisioning policy.
	Policy Policy
	// SpaceLimitBytes is the most a thin pool may provision (its
	// over-commit limit); 0 means no limit (thick pools, thin ones without
	// a limit).
	SpaceLimitBytes uint64
	// AvailableBytes is the largest Create (or growth) the policy accepts
	// now: a thin pool's limit minus ProvisionedBytes (FreeBytes without a
	// limit), a thick pool's FreeBytes minus what its volumes have not
	// written yet.
	AvailableBytes uint64
	// LowSpace reports that FreeBytes is below the policy's low-space
	// threshold.
	LowSpace bool

	path string
}

// Path is the absolute path of the pool's directory.
func (p *Pool) Path() string { return p.path }

// Pools returns every pool, ordered by name.
func (s *Service) Pools(ctx context.Context) ([]*Pool, error) {
	if err := s.checkOpen(ctx); err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	var pools []poolRecord
	if err := s.db.View(func(tx *store.Tx) (err error) {
		pools, err = allPools(tx)
		return err
	}); err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	sort.Slice(pools, func(i, j int) bool { return pools[i].Name < pools[j].Name })
	out := make([]*Pool, 0, len(pools))
	for _, p := range pools {
		pl, err := s.pool(p)
		if err != nil {
			return nil, fmt.Errorf("list pools: %w", err)
		}
		out = append(out, pl)
	}
	return out, nil
}

// Pool returns the pool called name. Errors: ErrPoolNotFound.
func (s *Service) Pool(ctx context.Context, name string) (*Pool, error) {
	if err := s.checkOpen(ctx); err != nil {
		return nil, fmt.Errorf("get pool %s: %w", name, err)
	}
	if CheckName(name) != nil {
		return nil, fmt.Errorf("get pool %q: %w", name, ErrPoolNotFound)
	}
	var rec poolRecord
	if err := s.db.View(func(tx *store.Tx) (err error) {
		rec, err = getPool(tx, name)
		return err
	}); err != nil {
		return nil, fmt.Errorf("get pool %s: %w", name, err)
	}
	p, err := s.pool(rec)
	if err != nil {
		return nil, fmt.Errorf("get pool %s: %w", name, err)
	}
	return p, nil
}

// PoolPath returns the absolute path of pool name's directory once the
// pool's record is found: one record read, no figure computed, no file
// stat'ed (for callers that need the pool to exist and its folder, such
// as replication's checks of new targets). Errors: ErrPoolNotFound.
func (s *Service) PoolPath(ctx context.Context, name string) (string, error) {
	if err := s.checkOpen(ctx); err != nil {
		return "", fmt.Errorf("pool %s: %w", name, err)
	}
	if CheckName(name) != nil {
		return "", fmt.Errorf("pool %q: %w", name, ErrPoolNotFound)
	}
	if err := s.db.View(func(tx *store.Tx) error {
		_, err := getPool(tx, name)
		return err
	}); err != nil {
		return "", fmt.Errorf("pool %s: %w", name, err)
	}
	return s.poolDir(name), nil
}

// pool builds the Pool of rec from its tally (tally.go: figuresToReport
// says when its files are counted).
func (s *Service) pool(rec poolRecord) (*Pool, error) {
	p := &Pool{Name: rec.Name, Created: rec.Created, path: s.poolDir(rec.Name)}
	root, err := s.openPool(rec.Name)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, ErrSymlink):
		// A pool directory replaced by a symlink is as good as gone.
		p.Missing = true
		root = nil
	case err != nil:
		return nil, err
	default:
		defer root.Close()
		u, err := root.statFS()
		if err != nil {
			return nil, err
		}
		p.TotalBytes, p.FreeBytes, p.UsedBytes = u.total, u.free, u.used
	}
	f, err := s.figuresToReport(rec.Name)
	if err != nil {
		return nil, err
	}
	p.Volumes, p.ProvisionedBytes, p.AllocatedBytes = f.volumes, f.provisioned, f.allocated
	s.provision(p, f.unwritten)
	return p, nil
}

// provision fills in p's policy fields from its sizes and the bytes its
// volumes have not written yet, and notes its low-space state.
func (s *Service) provision(p *Pool, unwritten uint64) {
	p.Policy = s.prov.policy(p.Name)
	if p.Missing {
		return
	}
	u := fsUsage{total: p.TotalBytes, free: p.FreeBytes, used: p.UsedBytes}
	p.LowSpace = s.prov.observe(p.Name, u)
	p.SpaceLimitBytes = p.Policy.limit(p.TotalBytes)
	switch {
	case p.Policy.Provisioning != Thin:
		p.AvailableBytes = sub(p.FreeBytes, unwritten)
	case p.SpaceLimitBytes > 0:
		p.AvailableBytes = sub(p.SpaceLimitBytes, p.ProvisionedBytes)
	default:
		p.AvailableBytes = p.FreeBytes
	}
}

// CreatePool makes the directory DATA/pools/name and records the pool.
// Errors: ErrInvalidName, ErrPoolExists (also when the directory is already
// there: Rescan adopts such a directory instead).
func (s *Service) CreatePool(ctx context.Context, name string) (*Pool, error) {
	wrap := func(err error) error { return fmt.Errorf("create pool %s: %w", name, err) }
	if err := s.checkOpen(ctx); err != nil {
		return nil, wrap(err)
	}
	if err := CheckName(name); err != nil {
		return nil, wrap(err)
	}
	s.scan.Lock()
	defer s.scan.Unlock()
	if err := s.db.View(func(tx *store.Tx) error {
		if _, err := getPool(tx, name); err == nil {
			return ErrPoolExists
		} else if !errors.Is(err, ErrPoolNotFound) {
			return err
		}
		return nil
	}); err != nil {
		return nil, wrap(err)
	}
	parent, err := s.openPoolsDir()
	if err != nil {
		return nil, wrap(err)
	}
	defer parent.Close()
	if err := parent.Mkdir(name, 0o750); errors.Is(err, fs.ErrExist) {
		return nil, wrap(fmt.Errorf("%w: directory %s exists", ErrPoolExists, name))
	} else if err != nil {
		return nil, wrap(err)
	}
	rec := poolRecord{V: recordVersion, Name: name, Created: s.now().UTC()}
	if err := s.db.Update(func(tx *store.Tx) error { return tx.Put(bucketPools, name, rec) }); err != nil {
		if rerr := parent.Remove(name); rerr != nil {
			s.log.Error("remove directory of failed pool create", zapPath(parent, name), zapErr(rerr))
		}
		return nil, wrap(err)
	}
	s.tally.addPool(name)
	s.held.reset()
	p, err := s.pool(rec)
	if err != nil {
		return nil, wrap(err)
	}
	return p, nil
}

// DeletePool removes an empty pool: its directory and its record. Errors:
// ErrPoolNotFound, ErrDefaultPool, ErrPoolNotEmpty (it holds volumes,
// missing ones included, or any other file).
func (s *Service) DeletePool(ctx context.Context, name string) error {
	wrap := func(err error) error { return fmt.Errorf("delete pool %s: %w", name, err) }
	if err := s.checkOpen(ctx); err != nil {
		return wrap(err)
	}
	if CheckName(name) != nil {
		return wrap(fmt.Errorf("%w: %q", ErrPoolNotFound, name))
	}
	if name == DefaultPool {
		return wrap(ErrDefaultPool)
	}
	s.scan.Lock()
	defer s.scan.Unlock()
	if err := s.db.View(func(tx *store.Tx) error {
		if _, err := getPool(tx, name); err != nil {
			return err
		}
		return tx.ForEachPrefix(bucketNames, nameKey(name, ""), func(key string, _ []byte) error {
			return fmt.Errorf("%w: volume %s", ErrPoolNotEmpty, key[len(name)+1:])
		})
	}); err != nil {
		return wrap(err)
	}
	parent, err := s.openPoolsDir()
	if err != nil {
		return wrap(err)
	}
	defer parent.Close()
	if fi, err := parent.Lstat(name); err == nil && fi.IsDir() {
		// Remove refuses a non-empty directory, so stray files are kept.
		if err := parent.Remove(name); err != nil {
			return wrap(fmt.Errorf("%w: %v", ErrPoolNotEmpty, err))
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return wrap(err)
	}
	if err := s.db.Update(func(tx *store.Tx) error { return tx.Delete(bucketPools, name) }); err != nil {
		if merr := parent.Mkdir(name, 0o750); merr != nil {
			s.log.Error("recreate directory of failed pool delete", zapPath(parent, name), zapErr(merr))
		}
		return wrap(err)
	}
	s.tally.removePool(name)
	s.held.reset() // closes the deleted directory's descriptor
	return nil
}
