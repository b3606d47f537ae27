package volumes

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/store"
)

// countMaxAge is how old a pool's count of its files' allocation may be
// before Pool starts another (in the background); countDuty keeps counts
// of a large pool to at most a tenth of one core's time, however often it
// is asked: a count that took d is not redone before 10·d.
const (
	countMaxAge = time.Second
	countDuty   = 10
)

// testHookCounting, when set by a test, runs in a count after it took the
// pool's volumes and before it stats their files.
var testHookCounting func(pool string)

// tallies keep each pool's totals so that no single operation reads every
// record or stats every file (issue 19: the cost of one operation must not
// grow with the number of volumes).
//
// Exact, kept where records are written: the pool's volumes and their
// sizes (hence Volumes and ProvisionedBytes). They live in memory only and
// are rebuilt from the records by every Rescan, Open's included, so they
// are right after a crash by construction.
//
// Counted: the bytes the pool's files occupy (AllocatedBytes) and what its
// volumes have not written yet (a thick pool's reservation). Writes into a
// volume go around this package (the copy engine, tgtd), so these come from
// a count (an lstat of every file of the pool), adjusted by Create, Grow
// and Delete in between. Between counts only writes change them, and a
// write lowers the true unwritten figure and raises the allocated one: the
// kept unwritten figure is never below the truth (a thick pool's check
// errs on the safe side, refusing rather than over-committing), and a
// check that refuses counts again before it answers. The one exception is
// space freed inside a volume (a discard punching holes), which the next
// count sees.
type tallies struct {
	mu    sync.Mutex
	pools map[string]*tally
}

// tally is one pool's totals. Its fields are guarded by tallies.mu except
// countMu, which one count of the pool's files holds at a time.
type tally struct {
	sizes       map[string]uint64 // volume name → size in bytes
	provisioned uint64            // sum of sizes

	allocated, unwritten uint64        // from the last count, adjusted since
	counted              time.Time     // when the last count began; zero: never
	took                 time.Duration // how long the last count took
	dirty                bool          // a file was opened for writing since
	pending              *adjust       // adjustments made while a count runs
	background           bool          // a count runs in the background

	countMu sync.Mutex
}

// adjust is a change of the counted figures.
type adjust struct{ allocated, unwritten int64 }

// add applies d to n, clamped at 0.
func add(n uint64, d int64) uint64 {
	if d >= 0 {
		return n + uint64(d)
	}
	return sub(n, uint64(-d))
}

func newTallies() *tallies { return &tallies{pools: map[string]*tally{}} }

// get returns pool's tally, nil for an unknown pool.
func (ts *tallies) get(pool string) *tally {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.pools[pool]
}

// poolFigures are a snapshot of one pool's totals.
type poolFigures struct {
	volumes                           int
	provisioned, allocated, unwritten uint64
	counted                           time.Time
	took                              time.Duration
	dirty                             bool
}

// figures returns pool's totals (zero for an unknown pool).
func (ts *tallies) figures(pool string) poolFigures {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.pools[pool]
	if t == nil {
		return poolFigures{}
	}
	return poolFigures{volumes: len(t.sizes), provisioned: t.provisioned, allocated: t.allocated,
		unwritten: t.unwritten, counted: t.counted, took: t.took, dirty: t.dirty}
}

// adjustCounted changes t's counted figures by d, and those of the count
// running now, if any (it began before the change and may not see it).
// ts.mu is held.
func (t *tally) adjustCounted(d adjust) {
	t.allocated = add(t.allocated, d.allocated)
	t.unwritten = add(t.unwritten, d.unwritten)
	if t.pending != nil {
		t.pending.allocated += d.allocated
		t.pending.unwritten += d.unwritten
	}
}

// created records a new volume of size bytes (nothing written yet).
func (ts *tallies) created(pool, name string, size uint64) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.pools[pool]
	if t == nil {
		return
	}
	if old, ok := t.sizes[name]; ok { // not expected: names are unique
		t.provisioned -= old
	}
	t.sizes[name] = size
	t.provisioned += size
	t.adjustCounted(adjust{unwritten: int64(size)})
}

// grown records a volume grown from old to size bytes (the growth is
// unwritten).
func (ts *tallies) grown(pool, name string, old, size uint64) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.pools[pool]
	if t == nil {
		return
	}
	t.sizes[name] = size
	t.provisioned = t.provisioned - old + size
	t.adjustCounted(adjust{unwritten: int64(size - old)})
}

// deleted records the deletion of a volume of size bytes whose file
// occupied alloc bytes just before.
func (ts *tallies) deleted(pool, name string, size, alloc uint64) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.pools[pool]
	if t == nil {
		return
	}
	if old, ok := t.sizes[name]; ok {
		delete(t.sizes, name)
		t.provisioned -= old
	}
	t.adjustCounted(adjust{allocated: -int64(alloc), unwritten: -int64(sub(size, alloc))})
}

// opened notes that a file of pool was opened for writing: Pool counts
// again before it next reports.
func (ts *tallies) opened(pool string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t := ts.pools[pool]; t != nil {
		t.dirty = true
	}
}

// addPool starts an empty pool's tally (already counted: nothing in it).
func (ts *tallies) addPool(pool string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.pools[pool] == nil {
		ts.pools[pool] = &tally{sizes: map[string]uint64{}, counted: time.Now()}
	}
}

// removePool forgets a deleted pool.
func (ts *tallies) removePool(pool string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	delete(ts.pools, pool)
}

// replace installs tallies rebuilt from the records (Rescan); counts
// running on the old ones are discarded.
func (ts *tallies) replace(pools map[string]*tally) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.pools = pools
}

// rebuild reads every pool and volume record into fresh tallies, not yet
// counted.
func (s *Service) rebuild() (map[string]*tally, error) {
	pools := map[string]*tally{}
	err := s.db.View(func(tx *store.Tx) error {
		if err := tx.ForEach(bucketPools, func(name string, _ []byte) error {
			pools[name] = &tally{sizes: map[string]uint64{}}
			return nil
		}); err != nil {
			return err
		}
		return tx.ForEach(bucketVolumes, func(_ string, raw []byte) error {
			var r volumeRecord
			if err := store.Decode(raw, &r); err != nil {
				return err
			}
			t := pools[r.Pool]
			if t == nil { // a volume of a pool without a record: count it anyway
				t = &tally{sizes: map[string]uint64{}}
				pools[r.Pool] = t
			}
			t.sizes[r.Name] = r.SizeBytes
			t.provisioned += r.SizeBytes
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("volumes: tally pools: %w", err)
	}
	return pools, nil
}

// retally rebuilds every pool's tally from the records and counts each
// pool's files. Rescan calls it with creates, deletes and grows excluded.
func (s *Service) retally() error {
	pools, err := s.rebuild()
	if err != nil {
		return err
	}
	s.tally.replace(pools)
	for name := range pools {
		if err := s.count(name, true); err != nil {
			return err
		}
	}
	return nil
}

// fresh reports whether f's count may be reported without counting again.
func (f poolFigures) fresh() bool {
	return !f.dirty && !f.counted.IsZero() && time.Since(f.counted) < max(countMaxAge, countDuty*f.took)
}

// figuresToReport returns pool's figures for Pool. A count older than
// countMaxAge (or countDuty times what it took) is redone in the
// background and the figures in hand are reported, so a Pool costs the
// same at any number of volumes; after a file of the pool was opened for
// writing through OpenImage (or before the first count) Pool waits for a
// count, so that what was written through this package shows at once.
func (s *Service) figuresToReport(pool string) (poolFigures, error) {
	f := s.tally.figures(pool)
	switch {
	case f.fresh():
	case f.dirty || f.counted.IsZero():
		if err := s.count(pool, false); err != nil {
			return f, err
		}
		f = s.tally.figures(pool)
	default:
		s.countInBackground(pool)
	}
	return f, nil
}

// countInBackground starts a count of pool unless one runs already; Close
// waits for it.
func (s *Service) countInBackground(pool string) {
	s.tally.mu.Lock()
	t := s.tally.pools[pool]
	if t == nil || t.background {
		s.tally.mu.Unlock()
		return
	}
	t.background = true
	s.tally.mu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.counts.Add(1) // under s.mu, so never after Close began to wait
	s.mu.Unlock()
	go func() {
		defer s.counts.Done()
		if err := s.count(pool, false); err != nil {
			s.log.Warn("count pool files", zap.String("pool", pool), zapErr(err))
		}
		s.tally.mu.Lock()
		t.background = false
		s.tally.mu.Unlock()
	}()
}

// count stats every file of pool and sets its counted figures, unless
// (force false) another count made them fresh while this one waited for
// it. Volumes created, grown or deleted while it runs are accounted for.
func (s *Service) count(pool string, force bool) error {
	t := s.tally.get(pool)
	if t == nil {
		return nil
	}
	t.countMu.Lock()
	defer t.countMu.Unlock()
	if !force && s.tally.figures(pool).fresh() {
		return nil
	}
	began := time.Now()
	s.tally.mu.Lock()
	sizes := maps.Clone(t.sizes)
	t.pending = &adjust{}
	t.dirty = false
	s.tally.mu.Unlock()
	if testHookCounting != nil {
		testHookCounting(pool)
	}

	var allocated, unwritten uint64
	root, err := s.openPool(pool)
	switch {
	case errors.Is(err, ErrSymlink), errors.Is(err, fs.ErrNotExist):
		root = nil // every volume missing: nothing allocated
	case err != nil:
		s.tally.mu.Lock()
		t.pending = nil
		s.tally.mu.Unlock()
		return err
	default:
		defer root.Close()
	}
	for name, size := range sizes {
		var alloc uint64
		if root != nil {
			if fi, err := root.Lstat(fileName(name)); err == nil && fi.Mode().IsRegular() {
				alloc = allocatedBytes(fi)
			}
		}
		allocated += alloc
		unwritten += sub(size, alloc)
	}

	s.tally.mu.Lock()
	defer s.tally.mu.Unlock()
	if s.tally.pools[pool] == t { // not replaced by a rescan meanwhile
		t.allocated = add(allocated, t.pending.allocated)
		t.unwritten = add(unwritten, t.pending.unwritten)
		t.counted, t.took = began, time.Since(began)
	}
	t.pending = nil
	return nil
}
