package volumes_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicad/replicad/volumes"
)

func TestPoolSizes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.create(volumes.DefaultPool, "a", 4*MiB)
	e.create(volumes.DefaultPool, "b", 1)
	f, err := e.svc.OpenImage(ctx, a.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 64<<10), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p, err := e.svc.Pool(ctx, volumes.DefaultPool)
	if err != nil {
		t.Fatal(err)
	}
	if p.TotalBytes == 0 || p.FreeBytes > p.TotalBytes || p.UsedBytes > p.TotalBytes {
		t.Errorf("filesystem sizes: got total %d free %d used %d, want 0 < free, used <= total",
			p.TotalBytes, p.FreeBytes, p.UsedBytes)
	}
	if want := uint64(4*MiB + 512); p.ProvisionedBytes != want {
		t.Errorf("ProvisionedBytes: got %d, want %d", p.ProvisionedBytes, want)
	}
	if p.AllocatedBytes < 64<<10 {
		t.Errorf("AllocatedBytes: got %d, want >= %d", p.AllocatedBytes, 64<<10)
	}
	if p.Volumes != 2 || p.Missing || p.Path() != e.poolDir(volumes.DefaultPool) {
		t.Errorf("got %+v, want 2 volumes at %s", p, e.poolDir(volumes.DefaultPool))
	}
}

func TestCreateAndDeletePool(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p, err := e.svc.CreatePool(ctx, "fast")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p.Path()); err != nil || !fi.IsDir() {
		t.Fatalf("pool directory: got %v, %v; want a directory", fi, err)
	}
	if path, err := e.svc.PoolPath(ctx, "fast"); err != nil || path != p.Path() {
		t.Errorf("PoolPath(fast): %q, %v; want %q", path, err, p.Path())
	}
	v := e.create("fast", "v", MiB)
	if list, err := e.svc.List(ctx, "fast"); err != nil || len(list) != 1 || list[0].ID != v.ID {
		t.Errorf("List(fast): got %v, %v; want [%s]", list, err, v.ID)
	}
	if list, err := e.svc.List(ctx, volumes.DefaultPool); err != nil || len(list) != 0 {
		t.Errorf("List(default): got %v, %v; want none", list, err)
	}

	bad := []struct {
		name    string
		call    func() error
		wantErr error
	}{
		{"create existing", func() error { _, err := e.svc.CreatePool(ctx, "fast"); return err }, volumes.ErrPoolExists},
		{"create escaping", func() error { _, err := e.svc.CreatePool(ctx, "../x"); return err }, volumes.ErrInvalidName},
		{"delete non-empty", func() error { return e.svc.DeletePool(ctx, "fast") }, volumes.ErrPoolNotEmpty},
		{"delete default", func() error { return e.svc.DeletePool(ctx, volumes.DefaultPool) }, volumes.ErrDefaultPool},
		{"delete unknown", func() error { return e.svc.DeletePool(ctx, "nope") }, volumes.ErrPoolNotFound},
		{"get unknown", func() error { _, err := e.svc.Pool(ctx, "nope"); return err }, volumes.ErrPoolNotFound},
		{"list unknown", func() error { _, err := e.svc.List(ctx, "nope"); return err }, volumes.ErrPoolNotFound},
		{"path of unknown", func() error { _, err := e.svc.PoolPath(ctx, "nope"); return err }, volumes.ErrPoolNotFound},
		{"path of a bad name", func() error { _, err := e.svc.PoolPath(ctx, "../fast"); return err }, volumes.ErrPoolNotFound},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snapshot()
			if err := tt.call(); !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if after := e.snapshot(); after != before {
				t.Errorf("state changed:\ngot  %s\nwant %s", after, before)
			}
		})
	}

	t.Run("stray file keeps pool", func(t *testing.T) {
		if err := e.svc.Delete(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
		stray := filepath.Join(p.Path(), "notes.txt")
		if err := os.WriteFile(stray, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.DeletePool(ctx, "fast"); !errors.Is(err, volumes.ErrPoolNotEmpty) {
			t.Fatalf("got %v, want ErrPoolNotEmpty", err)
		}
		if _, err := e.svc.Pool(ctx, "fast"); err != nil {
			t.Errorf("Pool after refused delete: got %v, want it kept", err)
		}
		if err := os.Remove(stray); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("delete empty", func(t *testing.T) {
		if err := e.svc.DeletePool(ctx, "fast"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(p.Path()); !os.IsNotExist(err) {
			t.Errorf("directory after DeletePool: got %v, want gone", err)
		}
		pools, err := e.svc.Pools(ctx)
		if err != nil || len(pools) != 1 {
			t.Errorf("Pools after delete: got %v, %v; want only default", pools, err)
		}
	})
}

// A pool whose only volume lost its file is still not empty: the record
// keeps it (the name index is asked, not the directory).
func TestDeletePoolWithMissingVolume(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreatePool(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	v := e.create("fast", "gone", MiB)
	if err := os.Remove(v.Path()); err != nil {
		t.Fatal(err)
	}
	err := e.svc.DeletePool(ctx, "fast")
	if !errors.Is(err, volumes.ErrPoolNotEmpty) || !strings.Contains(err.Error(), "volume gone") {
		t.Fatalf("DeletePool with a missing volume: %v, want ErrPoolNotEmpty naming it", err)
	}
	if _, err := e.svc.Pool(ctx, "fast"); err != nil {
		t.Errorf("Pool after refused delete: %v", err)
	}
}
