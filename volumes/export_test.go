package volumes

import (
	"testing"
	"time"
)

// SetAfterCheck makes fn run between the check of a volume file (its Lstat)
// and its open in OpenImage and Grow, until the test ends.
func SetAfterCheck(t testing.TB, fn func(dir, name string)) {
	t.Helper()
	testHookAfterCheck = fn
	t.Cleanup(func() { testHookAfterCheck = nil })
}

// StoreBuckets are the buckets this package owns, for tests that compare the
// whole store before and after a failed call.
var StoreBuckets = []string{bucketVolumes, bucketNames, bucketPools}

// Tally is what pool's tally holds: its volumes and their sizes' sum
// (exact), and the bytes its files occupy and its volumes have not written
// (as of the last count, adjusted since).
func (s *Service) Tally(pool string) (vols int, provisioned, allocated, unwritten uint64) {
	f := s.tally.figures(pool)
	return f.volumes, f.provisioned, f.allocated, f.unwritten
}

// CountNow counts pool's files now.
func (s *Service) CountNow(pool string) error { return s.count(pool, true) }

// SetImageClock makes s's lookups compare the pool directories' ctimes with
// clock instead of time.Now (imageStates' racy rule), until the test ends.
// Call it before the Service is used concurrently.
func SetImageClock(t testing.TB, s *Service, clock func() time.Time) {
	t.Helper()
	s.held.clock = clock
	t.Cleanup(func() { s.held.clock = time.Now })
}

// SetCtimeGrain makes s see its pool directories' ctimes as multiples of
// grain, as on a filesystem that keeps coarse timestamps, until the test
// ends. Call it before the Service is used concurrently.
func SetCtimeGrain(t testing.TB, s *Service, grain time.Duration) {
	t.Helper()
	s.held.grain = int64(grain)
	t.Cleanup(func() { s.held.grain = 0 })
}

// KeptImage reports what s keeps of the image file of volume name in pool
// (imageStates) for the pool directory's present ctime: whether it is a
// regular file, and whether anything is kept.
func KeptImage(s *Service, pool, name string) (regular, ok bool) {
	h := s.held.hold([]string{pool}, nil)
	defer s.held.release(h.exclusive)
	d := h.dirs[0]
	if d.images == nil || d.stamp == 0 {
		return false, false
	}
	return d.images.state(d.stamp, fileName(name))
}
