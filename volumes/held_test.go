package volumes_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/replicad/replicad/volumes"
)

// lookups are the read-only lookups that go through the held pool
// directories; each returns what it says of the volume v.
func lookups(t *testing.T, svc *volumes.Service, v *volumes.Volume) map[string]*volumes.Volume {
	t.Helper()
	ctx := context.Background()
	out := map[string]*volumes.Volume{}
	var err error
	if out["Get"], err = svc.Get(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if out["Lookup"], err = svc.Lookup(ctx, v.Pool, v.Name); err != nil {
		t.Fatal(err)
	}
	if out["SetLabels"], err = svc.SetLabels(ctx, v.ID, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	list, err := svc.List(ctx, v.Pool)
	if err != nil || len(list) != 1 {
		t.Fatalf("List: %d volumes, %v", len(list), err)
	}
	out["List"] = list[0]
	page, _, err := svc.ListAfter(ctx, "", 10)
	if err != nil || len(page) != 1 {
		t.Fatalf("ListAfter: %d volumes, %v", len(page), err)
	}
	out["ListAfter"] = page[0]
	return out
}

// writeData writes n bytes of data at the start of the file at path.
func writeData(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestHeldPoolSwappedForSymlink: after lookups have opened and held a pool's
// directory, the directory is moved away and a symlink to another folder,
// holding a written image of the same name, put in its place. Every lookup
// then reports the volume Missing, as when each opened the pool itself:
// neither the link is followed nor the moved directory still read through the
// held descriptor.
func TestHeldPoolSwappedForSymlink(t *testing.T) {
	e := newEnv(t)
	v := e.create(volumes.DefaultPool, "victim", MiB)
	writeData(t, v.Path(), 64<<10)
	for op, got := range lookups(t, e.svc, v) {
		if got.Missing || got.AllocatedBytes == 0 {
			t.Fatalf("%s before the swap: Missing %v, %d bytes allocated; want present and written", op, got.Missing, got.AllocatedBytes)
		}
	}
	pool := e.poolDir(volumes.DefaultPool)
	if err := os.Rename(pool, pool+".moved"); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	writeSparse(t, filepath.Join(elsewhere, "victim.img"), MiB)
	writeData(t, filepath.Join(elsewhere, "victim.img"), 128<<10)
	if err := os.Symlink(elsewhere, pool); err != nil {
		t.Fatal(err)
	}
	for op, got := range lookups(t, e.svc, v) {
		if !got.Missing || got.AllocatedBytes != 0 {
			t.Errorf("%s after the pool became a symlink: Missing %v, %d bytes allocated; want Missing, 0", op, got.Missing, got.AllocatedBytes)
		}
	}
}

// TestHeldPoolReplacedByDirectory: a pool directory replaced by another real
// directory (moved away, a new one made) is read afresh: the lookups report
// the new directory's image, not the held one's; when the image is gone
// from the new directory the volume is Missing.
func TestHeldPoolReplacedByDirectory(t *testing.T) {
	e := newEnv(t)
	v := e.create(volumes.DefaultPool, "vol", MiB)
	for op, got := range lookups(t, e.svc, v) {
		if got.Missing || got.AllocatedBytes != 0 {
			t.Fatalf("%s: Missing %v, %d bytes allocated; want present and sparse", op, got.Missing, got.AllocatedBytes)
		}
	}
	pool := e.poolDir(volumes.DefaultPool)
	if err := os.Rename(pool, pool+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(pool, 0o750); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(pool, "vol.img")
	writeSparse(t, img, MiB)
	writeData(t, img, 256<<10)
	for op, got := range lookups(t, e.svc, v) {
		if got.Missing || got.AllocatedBytes < 256<<10 {
			t.Errorf("%s after the directory was replaced: Missing %v, %d bytes allocated; want the new image's ≥ 256 KiB", op, got.Missing, got.AllocatedBytes)
		}
	}
	if err := os.Remove(img); err != nil {
		t.Fatal(err)
	}
	for op, got := range lookups(t, e.svc, v) {
		if !got.Missing {
			t.Errorf("%s after the image was removed: not Missing", op)
		}
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestHeldPoolsDoNotLeak: replacing a pool directory many times, creating
// and deleting pools, and Rescan leave no more descriptors open than one
// per pool and one for DATA/pools.
func TestHeldPoolsDoNotLeak(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "vol", MiB)
	lookups(t, e.svc, v)
	before := openFDs(t)
	pool := e.poolDir(volumes.DefaultPool)
	for i := range 20 {
		old := filepath.Join(e.dir, "old")
		if err := os.Rename(pool, old); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(pool, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(old, "vol.img"), filepath.Join(pool, "vol.img")); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(old); err != nil {
			t.Fatal(err)
		}
		if got := lookups(t, e.svc, v)["Get"]; got.Missing {
			t.Fatalf("round %d: volume Missing", i)
		}
		if _, err := e.svc.CreatePool(ctx, "extra"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.ListAfter(ctx, "", 10); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.DeletePool(ctx, "extra"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Rescan(ctx); err != nil {
			t.Fatal(err)
		}
	}
	lookups(t, e.svc, v)
	if after := openFDs(t); after > before {
		t.Fatalf("%d descriptors open after 20 replacements, %d before", after, before)
	}
	e.close()
	if after := openFDs(t); after > before-2 {
		t.Fatalf("%d descriptors open after Close, %d before with the default pool and DATA/pools held", after, before)
	}
}
