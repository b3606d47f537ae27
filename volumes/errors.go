package volumes

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidName is returned when a volume or pool name fails CheckName.
	ErrInvalidName = errors.New("volumes: invalid name")
	// ErrInvalidSize is returned for a size of 0, a size too large to
	// represent as a file length, or a Grow to a smaller size.
	ErrInvalidSize = errors.New("volumes: invalid size")
	// ErrNoSpace is returned when a Create or Grow asks for more bytes than the
	// pool's filesystem has available (see the space policy in the package doc).
	ErrNoSpace = errors.New("volumes: not enough free space in pool")
	// ErrExists is returned by Create when the pool already holds a volume or
	// a file of that name.
	ErrExists = errors.New("volumes: volume already exists")
	// ErrNotFound is returned for an unknown volume ID or name.
	ErrNotFound = errors.New("volumes: volume not found")
	// ErrPoolNotFound is returned for an unknown pool name.
	ErrPoolNotFound = errors.New("volumes: pool not found")
	// ErrPoolExists is returned by CreatePool when the pool or its directory
	// already exists.
	ErrPoolExists = errors.New("volumes: pool already exists")
	// ErrPoolNotEmpty is returned by DeletePool while the pool holds volumes
	// (missing ones included) or other files.
	ErrPoolNotEmpty = errors.New("volumes: pool not empty")
	// ErrDefaultPool is returned by DeletePool for the default pool.
	ErrDefaultPool = errors.New("volumes: the default pool cannot be deleted")
	// ErrInUse is matched (errors.Is) by the *InUseError returned when a
	// volume is leased by someone else.
	ErrInUse = errors.New("volumes: volume in use")
	// ErrInvalidLabel is returned by SetLabels for an empty or oversized key
	// or an oversized value.
	ErrInvalidLabel = errors.New("volumes: invalid label")
	// ErrMissing is returned by Grow and OpenImage when a volume's file is
	// gone or is no longer a regular file.
	ErrMissing = errors.New("volumes: volume file missing")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("volumes: service closed")
)

// InUseError reports that volume ID is leased for Purpose. It matches
// ErrInUse with errors.Is; its text is "volumes: volume in use by <purpose>".
type InUseError struct {
	ID      ID
	Purpose string
}

// Error returns "volumes: volume in use by <purpose>".
func (e *InUseError) Error() string {
	return fmt.Sprintf("volumes: volume in use by %s", e.Purpose)
}

// Is reports whether target is ErrInUse.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }
