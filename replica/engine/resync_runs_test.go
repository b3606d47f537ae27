package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/replicad/replicad/replica/engine"
)

// TestResyncWritesRunsPunchesAfter: a pass writes adjacent changed blocks
// as one request, and punches the blocks that became zero only after the
// scan (a punch waits for every direct read of the target in flight, and
// stalled the scan), adjacent ones at once.
func TestResyncWritesRunsPunchesAfter(t *testing.T) {
	const bs = 64 << 10
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 8*mib, 7, seg{0, 8 * mib, false})
	if _, err := engine.Copy(context.Background(), src, dst, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	want := mutate(t, src, bs,
		change{2 * bs, 4 * bs, "data"},   // blocks 2-5: one write
		change{10 * bs, 3 * bs, "zeros"}, // blocks 10-12: one punch, after the scan
		change{40 * bs, bs, "data"},      // block 40, written after the zeros were found
	)
	f, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type write struct{ off, n int64 }
	var (
		mu           sync.Mutex
		writes       []write
		punchedEarly bool
	)
	opts := engine.ResyncOptions{Options: engine.DefaultOptions(), BlockSize: bs}
	opts.ChunkSize, opts.Workers = mib, 1 // one reader, one writer: the changes in file order
	engine.SetWriteHook(&opts.Options, func(p []byte, off int64) error {
		mu.Lock()
		writes = append(writes, write{off, int64(len(p))})
		punchedEarly = punchedEarly || isHole(t, dst, 10*bs, 3*bs)
		mu.Unlock()
		_, err := f.WriteAt(p, off)
		return err
	})
	st, err := engine.Resync(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustEqualFiles(t, src, dst)
	if len(writes) != 2 || writes[0] != (write{2 * bs, 4 * bs}) || writes[1] != (write{40 * bs, bs}) {
		t.Errorf("writes (offset, length) = %v, want [{%d %d} {%d %d}]", writes, 2*bs, 4*bs, 40*bs, bs)
	}
	if punchedEarly {
		t.Error("the zero blocks were punched while the scan still wrote, want after the scan")
	}
	if !isHole(t, dst, 10*bs, 3*bs) || st.HolesPunched != 1 || st.ZeroBytes != 3*bs {
		t.Errorf("zero blocks: hole %v, %d punches of %d bytes, want a hole, 1 punch of %d bytes",
			isHole(t, dst, 10*bs, 3*bs), st.HolesPunched, st.ZeroBytes, 3*bs)
	}
	if got := int64(st.Extents); got != want.Count() {
		t.Errorf("changed %d blocks, want %d", got, want.Count())
	}
}
