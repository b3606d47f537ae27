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
