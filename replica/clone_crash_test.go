package replica_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
)

// snapshotAtCopy is a CopyObserver that, when the first member's copy
// returns, copies the whole data directory to dst: what a power loss at that
// moment leaves (every fsync before it done, nothing after it: the rename of
// the copy over the target, its directory's fsync and the commit that ends
// the job all come later).
type snapshotAtCopy struct {
	t        *testing.T
	src, dst string
	once     sync.Once
}

func (s *snapshotAtCopy) AddBytesCopied(int64) {}

func (s *snapshotAtCopy) ObserveCopy(int64, time.Duration) {
	s.once.Do(func() {
		if err := copyTree(s.src, s.dst); err != nil {
			s.t.Errorf("snapshot %s: %v", s.src, err)
		}
	})
}

// copyTree copies the regular files and directories under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// TestCloneCrashBeforeItsEnd: a clone whose daemon dies after the copy of
// its data but before the job's end is recorded (the copy job now records
// the member Synchronized, the operation done and the job Completed in one
// commit, after the rename and its directory's fsync) is not reported done
// after the restart: the job is still Running and the member not
// Synchronized. The resumed job copies again and ends Completed, with the
// target equal to the source, the member Synchronized with its stamp and no
// partial copy left; the target created by the request is kept.
func TestCloneCrashBeforeItsEnd(t *testing.T) {
	live, crashed := t.TempDir(), t.TempDir()
	snap := &snapshotAtCopy{t: t, src: live, dst: crashed}
	e := newEnvIn(t, live, false, replica.Options{Copies: snap})
	ctx := context.Background()
	src := e.volume("src", 4*MiB)
	res, err := e.svc.Replicate(ctx, replica.Request{SyncType: replica.SyncTypeClone, SourceElement: src.ID, ElementName: "c"})
	if err != nil {
		t.Fatal(err)
	}
	e.jobs.Start()
	if j := e.wait(res.JobID); j.State != jobqueue.StateCompleted {
		t.Fatalf("copy job before the crash: %s (%s)", j.State, j.Err)
	}
	e.close()

	after := newEnvIn(t, crashed, false, replica.Options{})
	j, err := after.jobs.Get(res.JobID)
	if err != nil {
		t.Fatal(err)
	}
	x, err := after.svc.Synchronization(ctx, res.Syncs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State.Final() || x.CopyState == replica.CopyStateSynchronized {
		t.Fatalf("after a crash before the job's end: job %s, member %s; want the job unfinished and the member not Synchronized", j.State, x.CopyState)
	}
	after.jobs.Start()
	if j := after.wait(res.JobID); j.State != jobqueue.StateCompleted || j.Attempts != 2 {
		t.Fatalf("resumed copy job: %s after %d attempts (%s); want Completed after 2", j.State, j.Attempts, j.Err)
	}
	x, err = after.svc.Synchronization(ctx, res.Syncs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if x.CopyState != replica.CopyStateSynchronized || x.SourceStamp == "" {
		t.Errorf("member after the resumed job: %s, stamp %q; want Synchronized with a stamp", x.CopyState, x.SourceStamp)
	}
	after.sameBytes(src.ID, res.Syncs[0].Target)
	if hidden := hiddenFiles(after); len(hidden) != 0 {
		t.Errorf("partial copies left after the resumed job: %v", hidden)
	}
}
