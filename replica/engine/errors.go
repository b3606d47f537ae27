package engine

import "errors"

// ErrTargetExists is returned by Copy when dst already exists and Options.Resume is nil.
var ErrTargetExists = errors.New("engine: target already exists")

// ErrSameFile is returned when source and target are the same file (same device and inode).
var ErrSameFile = errors.New("engine: source and target are the same file")

// ErrNotRegular is returned when the source (or an existing target) is not a regular file.
var ErrNotRegular = errors.New("engine: not a regular file")

// ErrSourceChanged is returned when the source is shorter than expected, was truncated
// or modified during the copy, or no longer matches the Checkpoint being resumed.
var ErrSourceChanged = errors.New("engine: source changed during copy")

// ErrBadCheckpoint is returned when Options.Resume does not describe a copy of this source.
var ErrBadCheckpoint = errors.New("engine: checkpoint does not match source")

// ErrUnsupported is returned when an explicitly requested Method is not supported
// for this pair of files (for example Reflink on ext4).
var ErrUnsupported = errors.New("engine: copy method not supported")

// ErrBadSidecar is returned by Resync when the hash sidecar is corrupt or was made
// with another block size.
var ErrBadSidecar = errors.New("engine: bad hash sidecar")
