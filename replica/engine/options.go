package engine

import (
	"fmt"
	"time"
)

// Method names a data path of the engine.
type Method int

// The data paths. MethodAuto tries a reflink first, then copy_file_range when zero
// detection is off, and the parallel read/write path otherwise; each step falls
// back to the next when the kernel or filesystem refuses it.
const (
	MethodAuto Method = iota
	MethodReflink
	MethodCopyFileRange
	MethodReadWrite
)

var methodNames = [...]string{"auto", "reflink", "copy_file_range", "readwrite"}

// String returns the lower-case name of m ("auto", "reflink", "copy_file_range", "readwrite").
func (m Method) String() string {
	if m < 0 || int(m) >= len(methodNames) {
		return fmt.Sprintf("method(%d)", int(m))
	}
	return methodNames[m]
}

// ParseMethod returns the Method whose String is s.
func ParseMethod(s string) (Method, error) {
	for i, n := range methodNames {
		if n == s {
			return Method(i), nil
		}
	}
	return 0, fmt.Errorf("engine: unknown method %q", s)
}

// Defaults chosen by measurement on the 2-core ext4 (virtio) development machine,
// cold caches, O_DIRECT, 8 GiB fully allocated image, three rounds each (medians):
// 4 readers 10.3 s against 12.1 s for 2 (and 10.0-11.6 s for other reader and
// writer counts; writes to one ext4 file are serialised anyway, hence one writer).
// Reads ahead of the writer keep both directions of the disk busy; past that the
// disk (about 2 GB/s shared between reads and writes) is the limit, and on the 5%
// image every setting landed within noise (0.48-0.58 s). The machine is noisy:
// differences within ~15% are not significant.
//
// Four concurrent O_DIRECT writers were tried again (2026-12-02, paired rounds on the
// 8 GiB 50% image): about 25% faster (median 6.0 s against 8.1 s), but ext4 then
// allocates in completion order and the target had 350 physical extents against 72
// (cp: 77) and more extent-tree blocks than cp's. Reserving blocks in file order with
// fallocate first serialises the writers again (ext4's fallocate waits for every
// direct write in flight), and preallocating all extents up front cost even more
// blocks. Hence one writer, in file order.
const (
	DefaultChunkSize          = 4 << 20
	DefaultWorkers            = 4
	DefaultCheckpointEvery    = 4 << 30
	DefaultCheckpointInterval = 5 * time.Second
	DefaultWriteBehind        = 32 << 20
	// BlockSize is the granularity of zero detection and hole punching.
	BlockSize = 4096
)

// Options tune Copy. The zero value is usable; DefaultOptions turns zero detection on.
type Options struct {
	// ChunkSize is the number of bytes per read/write or copy_file_range call,
	// rounded up to a multiple of BlockSize. 0 means DefaultChunkSize.
	ChunkSize int64
	// Workers is the number of chunks read at once, ahead of the one writer. 0 means DefaultWorkers.
	Workers int
	// DetectZeros turns all-zero BlockSize blocks inside allocated data into holes.
	DetectZeros bool
	// BandwidthLimit caps the data rate in bytes per second; 0 means unlimited.
	BandwidthLimit int64
	// Progress, when set, is called after each chunk with the allocated bytes done and
	// the allocated bytes to do in total. Calls are serialised but come from engine goroutines.
	Progress func(done, total int64)
	// Written, when set, is called with the number of bytes of each write to
	// the target as it completes (a reflink's cloned bytes once, when it is
	// made), so that a caller can count bytes as a long copy goes; the sum
	// is Stats.BytesCopied. Calls may come concurrently from engine
	// goroutines and must not block.
	Written func(n int64)
	// Checkpoint, when set, is called after the target has been fdatasync'ed, at least
	// every CheckpointEvery bytes or CheckpointInterval, whichever comes first. An
	// error from it aborts the copy. Calls are serialised and come from a goroutine
	// beside the writer: the copy goes on while the target is synced and the
	// checkpoint recorded (when one takes longer, the checkpoints due meanwhile
	// collapse into the latest). None comes after Copy returns.
	Checkpoint func(cp Checkpoint) error
	// CheckpointEvery is the number of source data bytes (allocated extents; holes
	// do not count) copied between checkpoints; 0 means DefaultCheckpointEvery.
	CheckpointEvery int64
	// CheckpointInterval is the time between checkpoints; 0 means DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// Resume continues an interrupted copy into an existing dst from this checkpoint.
	Resume *Checkpoint
	// Method selects the data path; MethodAuto picks the fastest that works.
	Method Method
	// PageCache makes the read/write path go through the page cache on both
	// sides, whatever ReadIO and WriteIO say.
	PageCache bool
	// ReadIO is how the read/write path reads the source. IOAuto and IODirect use
	// O_DIRECT where the filesystem supports it (aligned requests only; the
	// unaligned tail of a file and filesystems without direct I/O use the cache).
	ReadIO IOPath
	// WriteIO is how the read/write path writes the target. IOAuto and IODirect use
	// O_DIRECT where the filesystem supports it (iopath.go has the measurements);
	// IOPageCache writes through the page cache with write-behind (WriteBehind).
	WriteIO IOPath
	// WriteBehind is how much finished target data the page-cache path lets
	// accumulate before it starts its writeback (sync_file_range, in file
	// order); 0 means DefaultWriteBehind, a negative value leaves writeback to
	// the kernel until the final fdatasync.
	WriteBehind int64
	// TolerateSourceChange makes Copy keep and report (Stats.SourceChanged) a
	// target whose source changed during the copy instead of failing with
	// ErrSourceChanged. Such a target is not a copy of any one state of the
	// source: the caller must converge it with Resync passes (a mirror's initial
	// copy of a volume that is being written). A source that shrinks under the
	// copy still fails.
	TolerateSourceChange bool

	// hooks is a fault-injection seam for tests (see export_test.go).
	hooks *hooks
}

// hooks lets tests inject faults into the data path.
type hooks struct {
	// writeAt, when set, replaces the target write.
	writeAt func(p []byte, off int64) error
	// afterChunk, when set, is called after a chunk is written, concurrently from workers.
	afterChunk func(off int64)
	// writeBehind, when set, is called after writeback of [from, to) of the
	// target was started.
	writeBehind func(from, to int64)
}

// DefaultOptions returns Options with tuned defaults and zero detection on.
func DefaultOptions() Options {
	return Options{
		ChunkSize:          DefaultChunkSize,
		WriteBehind:        DefaultWriteBehind,
		Workers:            DefaultWorkers,
		DetectZeros:        true,
		CheckpointEvery:    DefaultCheckpointEvery,
		CheckpointInterval: DefaultCheckpointInterval,
	}
}

// wrote tells Options.Written of n bytes written to the target.
func (o *Options) wrote(n int64) {
	if o.Written != nil && n > 0 {
		o.Written(n)
	}
}

func (o Options) withDefaults() Options {
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	o.ChunkSize = (o.ChunkSize + BlockSize - 1) / BlockSize * BlockSize
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = DefaultCheckpointEvery
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = DefaultCheckpointInterval
	}
	if o.WriteBehind == 0 {
		o.WriteBehind = DefaultWriteBehind
	}
	return o
}

// Checkpoint records how far a copy got. Every source byte below Offset has been
// copied to the target and fdatasync'ed. It is JSON-serialisable so that the job
// layer can store it; Source identifies the source so a resume of a changed file fails.
type Checkpoint struct {
	// Offset is the durable watermark: [0, Offset) of the target is complete.
	Offset int64 `json:"offset"`
	// Size is the source's apparent size.
	Size int64 `json:"size"`
	// Done is the number of allocated source bytes below Offset (for progress).
	Done int64 `json:"done"`
	// Source identifies the source file the checkpoint belongs to.
	// Its CtimeNS is 0 in checkpoints written before it was recorded.
	Source Identity `json:"source"`
}

// Stats describes a finished Copy or Resync.
type Stats struct {
	// Method is the data path that did the work.
	Method Method
	// DirectIO reports that the read/write path went around the page cache (O_DIRECT)
	// on both sides.
	DirectIO bool
	// ReadIO and WriteIO say how the read/write path reached the source and the
	// target (IODirect or IOPageCache; IOAuto for the other data paths).
	ReadIO, WriteIO IOPath
	// BytesAllocated is the target's allocated size (st_blocks × 512) at the end.
	BytesAllocated int64
	// BytesCopied is the number of bytes written to (or cloned into) the target.
	BytesCopied int64
	// BytesRead is the number of source bytes read (0 for reflink and copy_file_range).
	BytesRead int64
	// ZeroBytes is the number of bytes in all-zero blocks inside data left or made holes.
	ZeroBytes int64
	// HolesPunched is the number of zero runs inside data left or made holes.
	HolesPunched int64
	// Extents is the number of source data extents (Copy) or changed blocks (Resync).
	Extents int
	// SourceChanged reports that the source changed during a Copy run with
	// Options.TolerateSourceChange (the target then needs Resync passes).
	SourceChanged bool
	// TargetBytesRead is the number of target bytes a Resync read to compare
	// blocks the hash sidecar could not vouch for.
	TargetBytesRead int64
	// SidecarTrusted reports that a Resync trusted the hash sidecar as a
	// description of the target (see ResyncOptions.HashSidecar).
	SidecarTrusted bool
	// SidecarGeneration is the generation of the hash sidecar that describes the
	// target after a Resync (0: there is none); pass it as
	// ResyncOptions.SidecarGeneration next time.
	SidecarGeneration uint64
	// Source is the source's identity, the same when the copy began and
	// when it ended (zero when SourceChanged, and for a Resync): any later
	// write to the source changes it, once the coarse clock has passed the
	// source's ctime (StampGranularity).
	Source Identity
	// Target is the target's identity that the sidecar records (zero when
	// no sidecar describes the target): a caller that finds the target
	// with another identity later knows it was written since.
	Target Identity
	// Duration is the wall time of the call.
	Duration time.Duration
}
