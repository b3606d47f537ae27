package engine_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/replicad/replicad/replica/engine"
)

func TestCopyFaults(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares the files and returns src and dst paths and options.
		setup func(t *testing.T, dir string) (src, dst string, opts engine.Options)
		want  error
		// dstKept says whether dst must exist afterwards (it existed before).
		dstKept bool
	}{
		{
			name: "target exists",
			setup: func(t *testing.T, dir string) (string, string, engine.Options) {
				src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
				makeImage(t, src, mib, 1, seg{0, mib, false})
				if err := os.WriteFile(dst, []byte("precious"), 0o600); err != nil {
					t.Fatal(err)
				}
				return src, dst, engine.DefaultOptions()
			},
			want: engine.ErrTargetExists, dstKept: true,
		},
		{
			name: "same file",
			setup: func(t *testing.T, dir string) (string, string, engine.Options) {
				src := filepath.Join(dir, "src")
				makeImage(t, src, mib, 1, seg{0, mib, false})
				return src, src, engine.DefaultOptions()
			},
			want: engine.ErrSameFile, dstKept: true,
		},
		{
			name: "same file through a hard link, resuming",
			setup: func(t *testing.T, dir string) (string, string, engine.Options) {
				src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "link")
				makeImage(t, src, mib, 1, seg{0, mib, false})
				if err := os.Link(src, dst); err != nil {
					t.Fatal(err)
				}
				opts := engine.DefaultOptions()
				opts.Resume = &engine.Checkpoint{}
				return src, dst, opts
			},
			want: engine.ErrSameFile, dstKept: true,
		},
		{
			name: "source is a directory",
			setup: func(t *testing.T, dir string) (string, string, engine.Options) {
				return dir, filepath.Join(dir, "dst"), engine.DefaultOptions()
			},
			want: engine.ErrNotRegular,
		},
		{
			name: "source is a fifo",
			setup: func(t *testing.T, dir string) (string, string, engine.Options) {
				src := filepath.Join(dir, "fifo")
				if err := syscall.Mkfifo(src, 0o600); err != nil {
					t.Skipf("mkfifo: %v", err)
				}
				// Opening a fifo read-only blocks until a writer comes; open one.
				w, err := os.OpenFile(src, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { w.Close() })
				return src, filepath.Join(dir, "dst"), engine.DefaultOptions()
			},
			want: engine.ErrNotRegular,
		},
		{
			name: "source missing",
			setup: func(t *testing.T, dir string) (string, string, engine.Options) {
				return filepath.Join(dir, "nope"), filepath.Join(dir, "dst"), engine.DefaultOptions()
			},
			want: os.ErrNotExist,
		},
		{
			name: "target filesystem full",
			setup: func(t *testing.T, dir string) (string, string, engine.Options) {
				src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
				makeImage(t, src, 8*mib, 1, seg{0, 8 * mib, false})
				opts := engine.DefaultOptions()
				opts.ChunkSize = mib
				engine.SetWriteHook(&opts, func(p []byte, off int64) error {
					if off >= 3*mib {
						return syscall.ENOSPC
					}
					return nil
				})
				return src, dst, opts
			},
			want: syscall.ENOSPC,
		},
		{
			name:  "source truncated during copy",
			setup: truncatedAfterFirstChunk(engine.MethodAuto),
			want:  engine.ErrSourceChanged,
		},
		{
			name:  "source truncated during copy_file_range copy",
			setup: truncatedAfterFirstChunk(engine.MethodCopyFileRange),
			want:  engine.ErrSourceChanged,
		},
		{
			name: "source rewritten during copy",
			setup: func(t *testing.T, dir string) (string, string, engine.Options) {
				src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
				makeImage(t, src, 4*mib, 1, seg{0, 4 * mib, false})
				opts := engine.DefaultOptions()
				opts.ChunkSize = mib
				opts.Workers = 1
				engine.SetAfterChunk(&opts, func(off int64) {
					if off == 0 {
						f, err := os.OpenFile(src, os.O_WRONLY, 0)
						if err != nil {
							t.Error(err)
							return
						}
						f.WriteAt([]byte("new"), 0)
						f.Close()
					}
				})
				return src, dst, opts
			},
			want: engine.ErrSourceChanged,
		},
		{
			name: "resume without a target",
			setup: func(t *testing.T, dir string) (string, string, engine.Options) {
				src := filepath.Join(dir, "src")
				makeImage(t, src, mib, 1, seg{0, mib, false})
				opts := engine.DefaultOptions()
				opts.Resume = &engine.Checkpoint{}
				return src, filepath.Join(dir, "dst"), opts
			},
			want: engine.ErrBadCheckpoint,
		},
		{
			name: "checkpoint callback fails",
			setup: func(t *testing.T, dir string) (string, string, engine.Options) {
				src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
				makeImage(t, src, 8*mib, 1, seg{0, 8 * mib, false})
				opts := engine.DefaultOptions()
				opts.ChunkSize = mib
				opts.CheckpointEvery = 2 * mib
				opts.Checkpoint = func(engine.Checkpoint) error { return errStoreDown }
				return src, dst, opts
			},
			want: errStoreDown,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			src, dst, opts := tt.setup(t, dir)
			var before []byte
			if fi, err := os.Stat(src); err == nil && fi.Mode().IsRegular() {
				before, _ = os.ReadFile(src)
			}
			var dstBefore []byte
			if tt.dstKept {
				dstBefore, _ = os.ReadFile(dst)
			}
			st, err := engine.Copy(context.Background(), src, dst, opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Copy error = %v, want %v", err, tt.want)
			}
			if st != (engine.Stats{}) {
				t.Errorf("Stats = %+v on failure, want zero", st)
			}
			if tt.dstKept {
				got, rerr := os.ReadFile(dst)
				if rerr != nil || !bytes.Equal(got, dstBefore) {
					t.Errorf("existing target changed: err %v, %d bytes, want %d untouched bytes", rerr, len(got), len(dstBefore))
				}
			} else if exists(dst) {
				t.Errorf("failed copy left target %s behind", dst)
			}
			// The engine never writes the source. (Tests that truncate it themselves skip this.)
			if before != nil && !bytes.Contains([]byte(tt.name), []byte("during")) {
				after, _ := os.ReadFile(src)
				if !bytes.Equal(after, before) {
					t.Errorf("source changed by a failed copy")
				}
			}
		})
	}
}

var errStoreDown = errors.New("store down")

// truncatedAfterFirstChunk sets up a 16 MiB source that shrinks to a little
// over 2 MiB once the first 1 MiB chunk is copied with method.
func truncatedAfterFirstChunk(method engine.Method) func(*testing.T, string) (string, string, engine.Options) {
	return func(t *testing.T, dir string) (string, string, engine.Options) {
		src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
		makeImage(t, src, 16*mib, 1, seg{0, 16 * mib, false})
		opts := engine.DefaultOptions()
		if method == engine.MethodCopyFileRange {
			opts.Method = method
			opts.DetectZeros = false
		}
		opts.ChunkSize = mib
		opts.Workers = 1
		engine.SetAfterChunk(&opts, func(off int64) {
			if off == 0 {
				if err := os.Truncate(src, 2*mib+10); err != nil {
					t.Error(err)
				}
			}
		})
		return src, dst, opts
	}
}
