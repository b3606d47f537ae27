package volumes_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/replicad/replicad/volumes"
)

// dropFiles puts an importable image and several things that must not be
// imported into dir.
func dropFiles(t *testing.T, dir string) {
	t.Helper()
	writeSparse(t, filepath.Join(dir, "dropped.img"), 8*MiB)
	writeSparse(t, filepath.Join(dir, "odd.img"), 1000)
	writeSparse(t, filepath.Join(dir, "empty.img"), 0)
	writeSparse(t, filepath.Join(dir, "notes.txt"), 512)
	writeSparse(t, filepath.Join(dir, ".hidden.img"), 512)
	writeSparse(t, filepath.Join(dir, "CON.img"), 512)
	if err := os.Mkdir(filepath.Join(dir, "dir.img"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("dropped.img", filepath.Join(dir, "link.img")); err != nil {
		t.Fatal(err)
	}
}

func checkImported(t *testing.T, svc *volumes.Service, pool string) {
	t.Helper()
	list, err := svc.List(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range list {
		names = append(names, v.Name)
	}
	if !slices.Equal(names, []string{"dropped"}) {
		t.Fatalf("imported: got %v, want [dropped]", names)
	}
	v := list[0]
	if !v.Imported || v.SizeBytes != 8*MiB || v.Missing || v.ID == "" {
		t.Errorf("imported volume: got %+v, want Imported, 8 MiB, present", v)
	}
}

func TestImportOnRescan(t *testing.T) {
	e := newEnv(t)
	dropFiles(t, e.poolDir(volumes.DefaultPool))
	rep, err := e.svc.Rescan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Imported) != 1 {
		t.Errorf("report: got %d imported, want 1", len(rep.Imported))
	}
	var reasons []string
	for _, s := range rep.Skipped {
		reasons = append(reasons, filepath.Base(s.Path)+": "+s.Reason)
	}
	// odd, empty, CON, dir.img and link.img are reported; .hidden and notes.txt are not ours.
	if len(rep.Skipped) != 5 {
		t.Errorf("skipped: got %q, want 5 entries", reasons)
	}
	checkImported(t, e.svc, volumes.DefaultPool)

	// A second scan changes nothing.
	before := e.snapshot()
	rep, err = e.svc.Rescan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Imported) != 0 || e.snapshot() != before {
		t.Errorf("second Rescan: got %d imports, state changed %v; want none", len(rep.Imported), e.snapshot() != before)
	}
}

func TestImportOnOpen(t *testing.T) {
	e := newEnv(t)
	e.close()
	dropFiles(t, e.poolDir(volumes.DefaultPool))
	newPool := filepath.Join(e.dir, "pools", "found")
	if err := os.Mkdir(newPool, 0o750); err != nil {
		t.Fatal(err)
	}
	writeSparse(t, filepath.Join(newPool, "dropped.img"), 8*MiB)
	e.open()
	checkImported(t, e.svc, volumes.DefaultPool)
	checkImported(t, e.svc, "found")
	first, err := e.svc.Lookup(context.Background(), "found", "dropped")
	if err != nil {
		t.Fatal(err)
	}
	e.reopen()
	again, err := e.svc.Lookup(context.Background(), "found", "dropped")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID {
		t.Errorf("ID after restart: got %s, want %s", again.ID, first.ID)
	}
}

func TestMissingFile(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "m", MiB)
	moved := filepath.Join(e.dir, "elsewhere.img")
	if err := os.Rename(v.Path(), moved); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Get(ctx, v.ID)
	if err != nil || !got.Missing {
		t.Fatalf("Get before Rescan: got %+v, %v; want Missing", got, err)
	}
	rep, err := e.svc.Rescan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Missing, []volumes.ID{v.ID}) {
		t.Errorf("report Missing: got %v, want [%s]", rep.Missing, v.ID)
	}
	e.reopen()
	list, err := e.svc.List(ctx, "")
	if err != nil || len(list) != 1 || !list[0].Missing || list[0].ID != v.ID {
		t.Fatalf("List after restart: got %v, %v; want the volume, Missing", list, err)
	}
	if _, err := e.svc.Grow(ctx, v.ID, 2*MiB); !errors.Is(err, volumes.ErrMissing) {
		t.Errorf("Grow of missing volume: got %v, want ErrMissing", err)
	}
	p, err := e.svc.Pool(ctx, volumes.DefaultPool)
	if err != nil || p.Volumes != 1 || p.ProvisionedBytes != MiB {
		t.Errorf("Pool: got %+v, %v; want the missing volume counted", p, err)
	}

	if err := os.Rename(moved, v.Path()); err != nil {
		t.Fatal(err)
	}
	rep, err = e.svc.Rescan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Found, []volumes.ID{v.ID}) {
		t.Errorf("report Found: got %v, want [%s]", rep.Found, v.ID)
	}
	if got, err := e.svc.Get(ctx, v.ID); err != nil || got.Missing {
		t.Errorf("Get after return: got %+v, %v; want present", got, err)
	}
}

func TestMissingReplacedBySymlink(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "s", MiB)
	if err := os.Remove(v.Path()); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", v.Path()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Get(ctx, v.ID)
	if err != nil || !got.Missing {
		t.Fatalf("Get: got %+v, %v; want Missing", got, err)
	}
	if _, err := e.svc.OpenImage(ctx, v.ID, true); !errors.Is(err, volumes.ErrMissing) {
		t.Errorf("OpenImage through a symlink: got %v, want ErrMissing", err)
	}
	// Deleting the volume forgets it and leaves the foreign symlink alone.
	if err := e.svc.Delete(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(v.Path()); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("symlink after Delete: got %v, %v; want it untouched", fi, err)
	}
}

func TestResizedOutside(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "r", MiB)
	if err := os.Truncate(v.Path(), 3*MiB); err != nil {
		t.Fatal(err)
	}
	rep, err := e.svc.Rescan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Get(ctx, v.ID)
	if err != nil || got.SizeBytes != 3*MiB || len(rep.Resized) != 1 {
		t.Errorf("after Rescan: got size %d (report %v), %v; want %d", got.SizeBytes, rep.Resized, err, 3*MiB)
	}
}

func TestPoolDirectoryGone(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreatePool(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	v := e.create("gone", "v", MiB)
	if err := os.RemoveAll(e.poolDir("gone")); err != nil {
		t.Fatal(err)
	}
	rep, err := e.svc.Rescan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Missing, []volumes.ID{v.ID}) {
		t.Errorf("report Missing: got %v, want [%s]", rep.Missing, v.ID)
	}
	p, err := e.svc.Pool(ctx, "gone")
	if err != nil || !p.Missing || p.TotalBytes != 0 || p.Volumes != 1 {
		t.Errorf("Pool: got %+v, %v; want Missing with its volume counted", p, err)
	}
	if got, err := e.svc.Get(ctx, v.ID); err != nil || !got.Missing {
		t.Errorf("Get: got %+v, %v; want Missing", got, err)
	}
	if _, err := e.svc.Create(ctx, "gone", "w", MiB); !errors.Is(err, volumes.ErrPoolNotFound) {
		t.Errorf("Create in a vanished pool: got %v, want ErrPoolNotFound", err)
	}
	if err := e.svc.Delete(ctx, v.ID); err != nil {
		t.Errorf("Delete of a volume in a vanished pool: got %v, want nil", err)
	}
	if err := e.svc.DeletePool(ctx, "gone"); err != nil {
		t.Errorf("DeletePool of a vanished pool: got %v, want nil", err)
	}
}
