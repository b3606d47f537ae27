package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/replicad/replicad/replica/engine"
)

// synced returns a 16 MiB source, its copy and a fresh hash sidecar, with
// the options (generation included) a caller would keep for the next pass.
func synced(t *testing.T) (src, dst string, opts engine.ResyncOptions) {
	t.Helper()
	dir := t.TempDir()
	src, dst = filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 16*mib, 5, seg{0, 6 * mib, false}, seg{10 * mib, 2 * mib, false})
	if _, err := engine.Copy(context.Background(), src, dst, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	opts = engine.ResyncOptions{Options: engine.DefaultOptions(), BlockSize: 64 << 10, HashSidecar: filepath.Join(dir, ".dst.hashes")}
	st, err := engine.Resync(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.SidecarGeneration == 0 {
		t.Fatal("first Resync wrote no sidecar generation")
	}
	opts.SidecarGeneration = st.SidecarGeneration
	return src, dst, opts
}

// writeKeepingMtime writes n bytes of 0xA5 at off into path and puts its
// access and modification times back, as `touch -r` does.
func writeKeepingMtime(t *testing.T, path string, off, n int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, n)
	for i := range p {
		p[i] = 0xA5
	}
	if _, err := f.WriteAt(p, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.Stat(path); !now.ModTime().Equal(fi.ModTime()) || now.Size() != fi.Size() {
		t.Fatalf("mtime/size not restored: %v %d, want %v %d", now.ModTime(), now.Size(), fi.ModTime(), fi.Size())
	}
}

// TestResyncSidecarTrust checks the rules under which Resync lets the hash
// sidecar stand for the target's data: whatever happened to the target, a
// Resync that returns nil leaves it byte-identical to the source.
func TestResyncSidecarTrust(t *testing.T) {
	ctx := context.Background()

	t.Run("unchanged target is trusted", func(t *testing.T) {
		src, dst, opts := synced(t)
		st, err := engine.Resync(ctx, src, dst, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !st.SidecarTrusted || st.TargetBytesRead != 0 || st.SidecarGeneration != opts.SidecarGeneration {
			t.Errorf("trusted %v, target bytes read %d, generation %d; want true, 0, %d",
				st.SidecarTrusted, st.TargetBytesRead, st.SidecarGeneration, opts.SidecarGeneration)
		}
	})

	t.Run("target written with its mtime restored", func(t *testing.T) {
		src, dst, opts := synced(t)
		time.Sleep(engine.TimestampGranularity) // a later tick: the write changes the ctime
		writeKeepingMtime(t, dst, 1*mib, 256<<10)
		st, err := engine.Resync(ctx, src, dst, opts)
		if err != nil {
			t.Fatal(err)
		}
		mustEqualFiles(t, src, dst)
		if st.SidecarTrusted || st.BytesCopied < 256<<10 {
			t.Errorf("trusted %v, copied %d bytes; want false, at least %d", st.SidecarTrusted, st.BytesCopied, 256<<10)
		}
	})

	for _, tc := range []struct {
		name string
		size int64
	}{{"target truncated smaller", 3 * mib}, {"target grown bigger", 40 * mib}} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst, opts := synced(t)
			if tc.size > 16*mib {
				writeKeepingMtime(t, dst, 2*mib, 4096)
			}
			if err := os.Truncate(dst, tc.size); err != nil {
				t.Fatal(err)
			}
			st, err := engine.Resync(ctx, src, dst, opts)
			if err != nil {
				t.Fatal(err)
			}
			mustEqualFiles(t, src, dst)
			if st.SidecarTrusted {
				t.Error("sidecar trusted for a resized target")
			}
		})
	}

	t.Run("generation not the recorded one", func(t *testing.T) {
		src, dst, opts := synced(t)
		mutate(t, src, 64<<10, change{5 * mib, 4096, "data"})
		st, err := engine.Resync(ctx, src, dst, opts)
		if err != nil {
			t.Fatal(err)
		}
		if st.SidecarGeneration <= opts.SidecarGeneration {
			t.Fatalf("new generation %d, want more than %d", st.SidecarGeneration, opts.SidecarGeneration)
		}
		// The caller never recorded the new generation (it crashed first).
		for _, gen := range []uint64{opts.SidecarGeneration, 0} {
			o := opts
			o.SidecarGeneration = gen
			st, err := engine.Resync(ctx, src, dst, o)
			if err != nil {
				t.Fatal(err)
			}
			if st.SidecarTrusted || st.TargetBytesRead == 0 {
				t.Errorf("generation %d: trusted %v, read %d target bytes; want false, > 0", gen, st.SidecarTrusted, st.TargetBytesRead)
			}
		}
	})

	t.Run("sidecar of an interrupted run", func(t *testing.T) {
		src, dst, opts := synced(t)
		// Block 0 of the source changes; a Resync starts copying it and
		// the machine crashes right after the target's block is written.
		orig := make([]byte, 4096)
		f, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.ReadAt(orig, 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
		mutate(t, src, 64<<10, change{0, 4096, "data"})
		o := opts
		crash := errors.New("crash")
		engine.SetWriteHook(&o.Options, func(p []byte, off int64) error {
			w, err := os.OpenFile(dst, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer w.Close()
			if _, err := w.WriteAt(p, off); err != nil {
				return err
			}
			return crash
		})
		if _, err := engine.Resync(ctx, src, dst, o); !errors.Is(err, crash) {
			t.Fatalf("Resync error = %v, want the injected crash", err)
		}
		// The crash lost the target's new ctime; if a sidecar survived it,
		// it now matches the target's identity. And the source's block 0
		// is put back as it was when that sidecar was written.
		if engine.RestampSidecar(t, opts.HashSidecar, dst) {
			t.Error("the sidecar of a target that was being changed survived the crash")
		}
		w, err := os.OpenFile(src, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteAt(orig, 0); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if _, err := engine.Resync(ctx, src, dst, opts); err != nil {
			t.Fatal(err)
		}
		mustEqualFiles(t, src, dst)
	})

	t.Run("source written during the pass", func(t *testing.T) {
		src, dst, opts := synced(t)
		mutate(t, src, 64<<10, change{mib, 4096, "data"})
		o := opts
		o.Workers, o.ChunkSize = 1, 64<<10
		engine.SetWriteHook(&o.Options, func(p []byte, off int64) error {
			w, err := os.OpenFile(dst, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer w.Close()
			if _, err := w.WriteAt(p, off); err != nil {
				return err
			}
			// Someone writes the source's last block, keeping its mtime.
			writeKeepingMtime(t, src, 16*mib-4096, 4096)
			return nil
		})
		st, err := engine.Resync(ctx, src, dst, o)
		if !errors.Is(err, engine.ErrSourceChanged) {
			t.Fatalf("Resync error = %v, want ErrSourceChanged (the source's ctime changed)", err)
		}
		// The sidecar written anyway describes the target: the next pass
		// trusts it and copies only the block written meanwhile.
		o = opts
		o.SidecarGeneration = st.SidecarGeneration
		st, err = engine.Resync(ctx, src, dst, o)
		if err != nil {
			t.Fatal(err)
		}
		mustEqualFiles(t, src, dst)
		if !st.SidecarTrusted || st.Extents != 1 {
			t.Errorf("second pass: trusted %v, changed %d blocks; want true, 1", st.SidecarTrusted, st.Extents)
		}
	})
}

// TestResyncCompareTarget checks that a scan (CompareTarget) reads the
// target even when the sidecar is trusted.
func TestResyncCompareTarget(t *testing.T) {
	src, dst, opts := synced(t)
	opts.CompareTarget = true
	st, err := engine.Resync(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.SidecarTrusted || st.TargetBytesRead == 0 {
		t.Errorf("trusted %v, read %d target bytes; want false, > 0", st.SidecarTrusted, st.TargetBytesRead)
	}
}
