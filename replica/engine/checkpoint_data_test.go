package engine_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/replicad/replicad/replica/engine"
)

// TestCheckpointsFollowData checks that checkpoints are spaced by the data
// copied, not by file offsets: in a sparse image a long hole costs nothing
// to redo, while every checkpoint costs an fdatasync and a record.
func TestCheckpointsFollowData(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	// 4 MiB of data, a 56 MiB hole, 4 MiB of data.
	makeImage(t, src, 64*mib, 9, seg{0, 4 * mib, false}, seg{60 * mib, 4 * mib, false})
	opts := engine.DefaultOptions()
	opts.ChunkSize = mib
	opts.CheckpointEvery = 6 * mib
	opts.CheckpointInterval = time.Hour
	var done []int64
	opts.Checkpoint = func(cp engine.Checkpoint) error {
		done = append(done, cp.Done)
		return nil
	}
	if _, err := engine.Copy(context.Background(), src, dst, opts); err != nil {
		t.Fatal(err)
	}
	mustEqualFiles(t, src, dst)
	if len(done) != 1 {
		t.Fatalf("checkpoints at data done %v, want exactly one (8 MiB of data, one every 6 MiB)", done)
	}
	if done[0] < 6*mib {
		t.Errorf("checkpoint after %d bytes of data, want at least %d", done[0], 6*mib)
	}
}
