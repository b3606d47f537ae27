// Package volumes owns replicad's storage pools (directories under the data
// directory) and volumes (raw sparse image files plus their metadata in the
// state database). It knows nothing of CIM, SOAP, jobs or replication: the
// provider maps its types onto CIM classes and the replica package creates
// target volumes through it.
//
// # Files on disk
//
// A pool named P is the directory DATA/pools/P/; the pool "default" is created
// on first start. A volume named N in pool P is the regular file
// DATA/pools/P/N.img. Every file operation in a pool (open, create, stat,
// rename, remove) goes through package beneath, relative to a handle on the
// pool directory, with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) or
// openat(O_NOFOLLOW) per component, after [CheckName] accepted the name: no
// symlink is followed inside DATA/pools, so neither a name nor a link swapped
// in after a check can lead out of the pool. A volume file or pool directory
// that is a symlink counts as missing; operations on it fail with an error
// matching [ErrSymlink] and never touch the link or its target. The data
// directory and DATA/pools themselves may be links the administrator made.
// Lookups that only read a volume's state (Get, Lookup, List, ListAfter)
// stat its file through pool directories held open, each checked against
// DATA/pools before use and opened again when replaced (held.go). Those that
// leave AllocatedBytes out (GetWithoutAllocation, ListAfterWithoutAllocation)
// use instead what an earlier stat found under the image's name while the
// pool directory's ctime, which that check returns, is unchanged and older
// than the clock by a margin (images.go).
//
// Sizes are bytes. A volume's size is always a multiple of [BlockSize] (512,
// the logical block size CIM shows as BlockSize; NumberOfBlocks is
// SizeBytes/BlockSize): Create and Grow round a requested size up. Image files
// are allocated sparse with ftruncate, never written, so a new volume occupies
// (almost) no disk space; [Volume.AllocatedBytes] reports st_blocks*512.
//
// # Space policy
//
// Each pool has a [Policy] ([Options].Provisioning; provisioning.go). A
// thin pool (the daemon's default) counts what its volumes occupy, not their
// sizes: Create and Grow are refused with [ErrOverCommit] only when the sum
// of the pool's volume sizes would pass its over-commit limit (a percentage
// of the filesystem's size, none when 0), and [Service.CheckSpace] checks
// the bytes a copy will write against the free space (statfs f_bavail). A
// thick pool counts every volume at its full size: Create and Grow are
// refused with [ErrNoSpace] unless the free space holds the new bytes and
// what the pool's volumes have not written yet (accounting only: the files
// stay sparse). Both refusals are a [*SpaceError] naming the pool, its
// policy and the most it accepts ([Pool.AvailableBytes]). A pool whose free
// space is below its low-space threshold logs a warning once and reports
// [Pool.LowSpace].
//
// No single operation reads every record or stats every file (tally.go):
// each pool's volume count and provisioned bytes are kept in memory where
// records are written and rebuilt by every Rescan (Open's included); what
// its files occupy, and so what thick volumes have not written yet, comes
// from a count of the files made at most once a second per pool. A thick
// pool's reservation between counts is never below the truth (writes only
// lower it), and a check that would refuse counts again first.
//
// # Import and missing files
//
// [Open] and [Service.Rescan] import regular *.img files dropped into a pool
// directory whose base name passes [CheckName] and whose size is a non-zero
// multiple of BlockSize; symlinks, directories and other files are left alone
// (misaligned or empty images are reported as skipped). An imported volume
// gets a fresh ID and Imported set. A directory dropped into DATA/pools with a
// valid name becomes a pool. A volume whose file vanished, or was replaced by
// something that is not a regular file, is never silently deleted: Rescan
// records it as Missing (Get and List also report it Missing as soon as they
// see it), and it stays listed until deleted or the file comes back.
//
// A volume is created by making its file (O_EXCL) and then recording it in one
// store transaction; if the transaction fails the file is removed again. A
// crash between the two leaves a file that the next start imports. Delete
// renames the file to a hidden ".N.img.deleting", removes the record in one
// transaction and then the file; Open finishes or undoes an interrupted delete.
//
// # Concurrency
//
// All methods of [Service] are safe for concurrent use. Mutating operations on
// one volume are serialised: [Service.Acquire] takes a lease for long work
// (copying, mirroring) and fails fast with [ErrInUse] when the volume is
// busy; Grow and Delete take the lease themselves for their duration (waiting
// for another short operation, failing fast on a long lease). Two concurrent
// Creates of the same name: exactly one wins, the other gets [ErrExists].
// Rescan and pool creation or deletion exclude volume creation and deletion.
//
// # Errors
//
// Bad input changes nothing on disk or in the store. The sentinel errors
// (ErrInvalidName, ErrInvalidSize, ErrNoSpace, ErrExists, ErrNotFound,
// ErrPoolNotFound, ErrInUse, ...) are matched with [errors.Is]; a lease
// conflict is an [*InUseError] that also matches ErrInUse.
package volumes
