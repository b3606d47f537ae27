// Package engine owns the byte-level copy of sparse image files: extent discovery,
// the reflink, copy_file_range and parallel read/write data paths, zero detection,
// durable checkpoints for resumable copies, and mirror catch-up (Resync) from a
// dirty-block map or a per-block hash sidecar.
//
// It knows nothing of SOAP, CIM, jobs or the state store: callers hand it two paths
// and Options, persist the Checkpoint values it reports, and decide about file names.
//
// # Naming and durability
//
// Copy writes to dst only. It never renames, so a caller that wants an atomic
// "appears when complete" target copies to a temporary name and renames it after
// Copy returns nil. dst is fdatasync'ed and its directory fsync'ed before Copy
// returns nil. A Checkpoint is reported only after the target data it covers has
// been fdatasync'ed; that sync and the report run beside the writer, so a checkpoint
// never stops the data flowing. On failure, dst is removed, except when the copy was cancelled
// through ctx after a Checkpoint was reported (or while resuming one): then dst is
// kept, so that Copy can resume it with Options.Resume set to the last Checkpoint.
// Copy never reports a partial target as done; a failed Resync leaves the target
// partly updated and its hash sidecar removed (it is removed durably before the
// first change), so the next Resync compares against the target's data.
//
// # Trusting the hash sidecar
//
// A hash sidecar lets Resync skip reading the target, so it must never vouch
// for a target that changed since it was written. It records the target's
// Identity (device, inode, size, mtime and ctime, taken once the timestamps
// have settled: two ticks of the kernel's coarse clock, StampGranularity) and
// a generation; Resync trusts it only
// when the caller passes that generation (ResyncOptions.SidecarGeneration, kept
// by the caller when its own commit is done) and the target's identity is
// unchanged. A write by anyone, even one that restores the mtime (touch -r),
// changes the ctime, which user space cannot set back. Otherwise every block is
// compared against the target's own data, so a Resync that returns nil leaves
// the two files equal whichever side was written. ResyncOptions.CompareTarget
// forces that comparison (a periodic scan).
//
// # Data paths
//
// A reflink is tried first; without zero detection, copy_file_range comes next.
// Otherwise, and whenever those are refused, the data extents are cut into ChunkSize
// chunks that Workers readers read ahead (and scan for zero blocks) while one writer
// writes them in file order, so the disk always has both reads and writes queued. Both
// sides use O_DIRECT where the filesystem supports it (Options.ReadIO, Options.WriteIO),
// from chunk buffers backed by huge pages (bufferArena: a direct request pins its
// buffer's pages, 512× fewer of them); measured faster than the page cache on
// bench/copy.sh's loop over tmpfs and on the development machine's virtio disk
// (iopath.go). IOPageCache (or Options.PageCache, both sides) writes through the page
// cache instead, with writeback of each finished WriteBehind of the prefix started in
// file order beside the writer (sync_file_range) and fdatasync at checkpoints.
// A file's unaligned tail always goes through the cache. Stats.Method, Stats.ReadIO and
// Stats.WriteIO say which path did the work.
//
// # Holes
//
// Only allocated source ranges (SEEK_DATA/SEEK_HOLE) are read. Holes stay holes in
// the target, and with Options.DetectZeros, all-zero 4 KiB blocks inside data
// become holes too. The target's apparent size always equals the source's.
// A reflink shares the source's blocks as they are, allocated zeros included.
//
// The extent map of a file that is being written is not trustworthy: snapshot or
// quiesce the source first. Copy checks that the source's size, mtime and ctime
// did not change during the copy and fails with ErrSourceChanged otherwise (unless
// Options.TolerateSourceChange asks for the target anyway, to be converged with Resync).
package engine
