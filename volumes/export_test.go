package volumes

// StoreBuckets are the buckets this package owns, for tests that compare the
// whole store before and after a failed call.
var StoreBuckets = []string{bucketVolumes, bucketNames, bucketPools}
