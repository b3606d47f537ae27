package volumes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/store"
)

// DefaultPool is the name of the pool created on first start.
const DefaultPool = "default"

// Options tune Open. The zero value is usable.
type Options struct {
	// Logger receives imports, missing files and cleanup failures; nil means
	// zap.NewNop().
	Logger *zap.Logger
	// Now is the clock used for Created times; nil means time.Now.
	Now func() time.Time
	// Provisioning chooses each pool's policy (provisioning.go); the zero
	// value makes every pool thick.
	Provisioning ProvisioningOptions
}

// Service manages the pools and volumes under one data directory. Its methods
// are safe for concurrent use.
type Service struct {
	db       *store.DB
	poolsDir string
	log      *zap.Logger
	now      func() time.Time
	prov     *provisioner
	tally    *tallies       // each pool's totals (tally.go)
	held     *heldPools     // pool directories held open for lookups (held.go)
	records  *recordCache   // decoded volume records of the lookups (records.go)
	reads    readCache      // records and pages of an unchanged store (reads.go)
	counts   sync.WaitGroup // counts of pool files in the background

	// scan is held shared by operations that create or remove files and
	// records, exclusively by Rescan and pool creation or deletion.
	scan sync.RWMutex

	mu     sync.Mutex
	cond   *sync.Cond     // signalled when a holder is released
	busy   map[ID]*holder // current holder of each busy volume
	inUse  InUseCheck     // asked before a delete (guard.go); nil: none
	closed bool
}

// holder is who holds a volume: a long lease (Acquire) or a short operation.
type holder struct {
	purpose string
	long    bool
}

// Open opens the pools under dataDir/pools, creating dataDir/pools/default
// on first start, and imports files and pool directories found there (see
// the package doc). It does not take ownership of db: close the Service
// before the store.
func Open(db *store.DB, dataDir string, opts Options) (*Service, error) {
	if db == nil {
		return nil, errors.New("volumes: open: nil store")
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("volumes: open %s: %w", dataDir, err)
	}
	s := &Service{
		db:       db,
		poolsDir: filepath.Join(abs, "pools"),
		log:      opts.Logger,
		now:      opts.Now,
		busy:     make(map[ID]*holder),
		tally:    newTallies(),
	}
	s.held = newHeldPools(s.poolsDir)
	s.records = newRecordCache(s.imagePath)
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.cond = sync.NewCond(&s.mu)
	s.prov = newProvisioner(opts.Provisioning, s.log)
	if err := os.MkdirAll(filepath.Join(s.poolsDir, DefaultPool), 0o750); err != nil {
		return nil, fmt.Errorf("volumes: open: create default pool: %w", err)
	}
	if _, err := s.Rescan(context.Background()); err != nil {
		return nil, fmt.Errorf("volumes: open: %w", err)
	}
	return s, nil
}

// Close makes every later call fail with ErrClosed. Leases already held stay
// valid until released. It waits for counts of pool files running in the
// background, and does not close the store. Close is idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.counts.Wait()
	s.held.close()
	return nil
}

func (s *Service) checkOpen(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// poolDir is the directory of pool name; name must have passed CheckName.
func (s *Service) poolDir(name string) string { return filepath.Join(s.poolsDir, name) }

// Acquire leases volume id for purpose (e.g. "replication"), for as long as
// a long operation runs. It fails fast: when the volume is leased or busy
// with a short operation it returns an *InUseError (errors.Is ErrInUse, text
// "volumes: volume in use by <purpose>"); for an unknown id ErrNotFound.
// release ends the lease; calling it more than once is harmless. While leased,
// Grow and Delete of the volume fail with ErrInUse.
func (s *Service) Acquire(id ID, purpose string) (release func(), err error) {
	if purpose == "" {
		purpose = "unspecified"
	}
	if err := s.checkOpen(context.Background()); err != nil {
		return nil, err
	}
	h := &holder{purpose: purpose, long: true}
	s.mu.Lock()
	if cur := s.busy[id]; cur != nil {
		s.mu.Unlock()
		return nil, &InUseError{ID: id, Purpose: cur.purpose}
	}
	s.busy[id] = h
	s.mu.Unlock()
	release = s.releaser(id, h)
	if err := s.db.View(func(tx *store.Tx) error {
		_, err := getVolume(tx, id)
		return err
	}); err != nil {
		release()
		return nil, fmt.Errorf("acquire volume %s: %w", id, err)
	}
	return release, nil
}

func (s *Service) releaser(id ID, h *holder) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.busy[id] == h {
				delete(s.busy, id)
			}
			s.cond.Broadcast()
			s.mu.Unlock()
		})
	}
}

// hold marks id busy for a short operation, waiting while another short
// operation runs and failing fast with *InUseError on a lease.
func (s *Service) hold(id ID, purpose string) (release func(), err error) {
	h := &holder{purpose: purpose}
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		cur := s.busy[id]
		if cur == nil {
			break
		}
		if cur.long {
			return nil, &InUseError{ID: id, Purpose: cur.purpose}
		}
		s.cond.Wait()
	}
	s.busy[id] = h
	return s.releaser(id, h), nil
}

func zapErr(err error) zap.Field { return zap.Error(err) }

func zapPath(root *dirHandle, name string) zap.Field {
	return zap.String("path", filepath.Join(root.Name(), name))
}
