package volumes_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/replicad/replicad/volumes"
)

// outsideFile writes a file of size bytes with a known pattern outside the
// data directory and returns its path and contents.
func outsideFile(t *testing.T, size int) (string, []byte) {
	t.Helper()
	b := bytes.Repeat([]byte("OUTSIDE!"), size/8)
	p := filepath.Join(t.TempDir(), "secret.img")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// replaceWithLink replaces path with a symlink to target.
func replaceWithLink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// wantUnchanged fails if the file at path no longer holds want.
func wantUnchanged(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s changed: %d bytes, %v; want the original %d", path, len(got), err, len(want))
	}
}

// wantRefused fails unless err matches ErrMissing and ErrSymlink.
func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, volumes.ErrMissing) || !errors.Is(err, volumes.ErrSymlink) {
		t.Fatalf("%s: err = %v, want ErrMissing and ErrSymlink", what, err)
	}
}

// TestImageSymlinkRefused: a symlink placed where a volume image should be,
// pointing outside the pool, is refused by OpenImage, Grow, Rescan and Get;
// Delete forgets the volume without touching the link or its target.
func TestImageSymlinkRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "victim", MiB)
	secret, want := outsideFile(t, MiB)
	replaceWithLink(t, secret, v.Path())

	for _, writable := range []bool{false, true} {
		f, err := e.svc.OpenImage(ctx, v.ID, writable)
		if err == nil {
			f.Close()
		}
		wantRefused(t, "OpenImage", err)
	}
	_, err := e.svc.Grow(ctx, v.ID, 2*MiB)
	wantRefused(t, "Grow", err)
	rep, err := e.svc.Rescan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != 1 || rep.Missing[0] != v.ID || len(rep.Resized) != 0 {
		t.Fatalf("Rescan report %+v: want the volume missing and nothing resized", rep)
	}
	got, err := e.svc.Get(ctx, v.ID)
	if err != nil || !got.Missing || got.AllocatedBytes != 0 {
		t.Fatalf("Get: %+v, %v; want Missing with nothing allocated", got, err)
	}
	if err := e.svc.Delete(ctx, v.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if fi, err := os.Lstat(v.Path()); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link after Delete: %v, %v; want it left alone", fi, err)
	}
	wantUnchanged(t, secret, want)
}

// TestImageSwappedAfterCheck swaps the image for a symlink between the check
// and the open (the window os.Root and a path-based open leave): to a file
// outside the pool and to another volume's image inside it. Neither is
// opened, written or grown.
func TestImageSwappedAfterCheck(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	secret, want := outsideFile(t, MiB)
	other := e.create(volumes.DefaultPool, "other", MiB)
	otherBytes := bytes.Repeat([]byte("OTHERVOL"), MiB/8)
	if err := os.WriteFile(other.Path(), otherBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{secret, "other.img"} {
		t.Run(filepath.Base(target), func(t *testing.T) {
			v := e.create(volumes.DefaultPool, "swapped", MiB)
			t.Cleanup(func() {
				os.Remove(v.Path())
				if err := e.svc.Delete(ctx, v.ID); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			})
			volumes.SetAfterCheck(t, func(dir, name string) {
				if name == "swapped.img" {
					replaceWithLink(t, target, filepath.Join(dir, name))
				}
			})
			for _, writable := range []bool{false, true} {
				os.Remove(v.Path())
				writeSparse(t, v.Path(), MiB)
				f, err := e.svc.OpenImage(ctx, v.ID, writable)
				if err == nil {
					b, _ := io.ReadAll(io.LimitReader(f, 16))
					f.Close()
					t.Fatalf("OpenImage(writable=%v) opened the swapped link, read %q", writable, b)
				}
				wantRefused(t, "OpenImage", err)
			}
			os.Remove(v.Path())
			writeSparse(t, v.Path(), MiB)
			_, err := e.svc.Grow(ctx, v.ID, 2*MiB)
			if !errors.Is(err, volumes.ErrSymlink) {
				t.Fatalf("Grow: err = %v, want ErrSymlink", err)
			}
			wantUnchanged(t, secret, want)
			wantUnchanged(t, other.Path(), otherBytes)
		})
	}
}

// TestSymlinkDroppedIntoPool: a link named like an image is not imported,
// and a pool directory replaced by a link counts as missing.
func TestSymlinkDroppedIntoPool(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	secret, want := outsideFile(t, MiB)
	if err := os.Symlink(secret, filepath.Join(e.poolDir(volumes.DefaultPool), "evil.img")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreatePool(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	v := e.create("p2", "inp2", MiB)
	elsewhere := t.TempDir()
	if err := os.WriteFile(filepath.Join(elsewhere, "inp2.img"), want, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(e.poolDir("p2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, e.poolDir("p2")); err != nil {
		t.Fatal(err)
	}
	rep, err := e.svc.Rescan(ctx)
	if err != nil {
		t.Fatalf("Rescan: %v", err)
	}
	if len(rep.Imported) != 0 {
		t.Fatalf("Rescan imported %v through links", rep.Imported)
	}
	if len(rep.Missing) != 1 || rep.Missing[0] != v.ID {
		t.Fatalf("Rescan missing %v, want the volume of the linked pool", rep.Missing)
	}
	if _, err := e.svc.Lookup(ctx, volumes.DefaultPool, "evil"); !errors.Is(err, volumes.ErrNotFound) {
		t.Fatalf("Lookup(evil): %v, want ErrNotFound", err)
	}
	p, err := e.svc.Pool(ctx, "p2")
	if err != nil || !p.Missing {
		t.Fatalf("Pool(p2): %+v, %v; want Missing", p, err)
	}
	f, err := e.svc.OpenImage(ctx, v.ID, true)
	if err == nil {
		f.Close()
	}
	wantRefused(t, "OpenImage in a linked pool", err)
	if _, err := e.svc.Create(ctx, "p2", "fresh", MiB); !errors.Is(err, volumes.ErrSymlink) {
		t.Fatalf("Create in a linked pool: %v, want ErrSymlink", err)
	}
	if _, err := os.Lstat(filepath.Join(elsewhere, "fresh.img")); !os.IsNotExist(err) {
		t.Fatalf("Create wrote through the pool link: %v", err)
	}
	wantUnchanged(t, secret, want)
	wantUnchanged(t, filepath.Join(elsewhere, "inp2.img"), want)
}

// TestNameStartingWithDash: names starting with '-' are refused for volumes
// and pools, and such a file dropped into a pool is not imported.
func TestNameStartingWithDash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.Create(ctx, volumes.DefaultPool, "-rf", MiB); !errors.Is(err, volumes.ErrInvalidName) {
		t.Fatalf("Create(-rf): %v, want ErrInvalidName", err)
	}
	if _, err := e.svc.CreatePool(ctx, "--force"); !errors.Is(err, volumes.ErrInvalidName) {
		t.Fatalf("CreatePool(--force): %v, want ErrInvalidName", err)
	}
	writeSparse(t, filepath.Join(e.poolDir(volumes.DefaultPool), "-x.img"), MiB)
	rep, err := e.svc.Rescan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Imported) != 0 || len(rep.Skipped) != 1 || rep.Skipped[0].Reason != "invalid volume name" {
		t.Fatalf("Rescan: %+v, want -x.img skipped as an invalid name", rep)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "pools", "--force")); !os.IsNotExist(err) {
		t.Fatalf("pool directory made for a refused name: %v", err)
	}
}
