package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/replicad/replicad/beneath"
	"github.com/replicad/replicad/replica/engine"
)

// TestSymlinksRefused: a symlink swapped in for the source, the target or
// the hash sidecar after the caller checked the path is never followed, so
// no file outside the pool is read into a replica or overwritten.
func TestSymlinksRefused(t *testing.T) {
	ctx := context.Background()
	outside := filepath.Join(t.TempDir(), "secret")
	makeImage(t, outside, 2*mib, 7, seg{0, mib, false})
	secret, err := os.ReadFile(outside)
	if err != nil {
		t.Fatal(err)
	}
	pool := t.TempDir()
	src, dst := filepath.Join(pool, "src.img"), filepath.Join(pool, "dst.img")
	makeImage(t, src, 2*mib, 8, seg{0, mib, false})
	if _, err := engine.Copy(ctx, src, dst, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(pool, "link.img")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	side := filepath.Join(pool, ".dst.img.hashes")
	if err := os.Symlink(outside, side); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
	}{
		{"Copy from a symlinked source", func() error {
			_, err := engine.Copy(ctx, link, filepath.Join(pool, "new.img"), engine.DefaultOptions())
			return err
		}},
		{"Resync from a symlinked source", func() error {
			_, err := engine.Resync(ctx, link, dst, engine.ResyncOptions{})
			return err
		}},
		{"Resync onto a symlinked target", func() error {
			_, err := engine.Resync(ctx, src, link, engine.ResyncOptions{})
			return err
		}},
		{"Resync with a symlinked sidecar", func() error {
			_, err := engine.Resync(ctx, src, dst, engine.ResyncOptions{HashSidecar: side, SidecarGeneration: 1})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, beneath.ErrSymlink) {
				t.Errorf("got %v, want an error wrapping beneath.ErrSymlink", err)
			}
			if b, _ := os.ReadFile(outside); string(b) != string(secret) {
				t.Fatal("the file outside the pool was changed")
			}
			if exists(filepath.Join(pool, "new.img")) {
				t.Error("a copy of the file outside the pool was made")
			}
		})
	}
}
