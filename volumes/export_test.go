package volumes

import "testing"

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
