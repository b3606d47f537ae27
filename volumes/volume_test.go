package volumes_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

func TestOpenCreatesDefaultPool(t *testing.T) {
	e := newEnv(t)
	fi, err := os.Stat(e.poolDir(volumes.DefaultPool))
	if err != nil || !fi.IsDir() {
		t.Fatalf("default pool directory: got %v, %v; want a directory", fi, err)
	}
	pools, err := e.svc.Pools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(pools) != 1 || pools[0].Name != volumes.DefaultPool {
		t.Fatalf("Pools: got %d pools (%v), want only %q", len(pools), pools, volumes.DefaultPool)
	}
}

func TestCreateRoundsUpAndIsSparse(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name      string
		size      uint64
		wantSize  uint64
		wantBlock uint64
	}{
		{"one-byte", 1, 512, 1},
		{"one-block", 512, 512, 1},
		{"block-and-a-byte", 513, 1024, 2},
		{"one-mib", MiB, MiB, MiB / 512},
		{"one-gib", 1 << 30, 1 << 30, (1 << 30) / 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := e.create(volumes.DefaultPool, tt.name, tt.size)
			if v.SizeBytes != tt.wantSize {
				t.Errorf("SizeBytes: got %d, want %d", v.SizeBytes, tt.wantSize)
			}
			if got := v.NumberOfBlocks(); got != tt.wantBlock {
				t.Errorf("NumberOfBlocks: got %d, want %d", got, tt.wantBlock)
			}
			wantPath := filepath.Join(e.poolDir(volumes.DefaultPool), tt.name+".img")
			if v.Path() != wantPath {
				t.Errorf("Path: got %s, want %s", v.Path(), wantPath)
			}
			if got := fileSize(t, v.Path()); got != int64(tt.wantSize) {
				t.Errorf("file size: got %d, want %d", got, tt.wantSize)
			}
			if v.AllocatedBytes != 0 {
				t.Errorf("AllocatedBytes: got %d, want 0 (sparse)", v.AllocatedBytes)
			}
			if v.ID == "" || v.Pool != volumes.DefaultPool || v.Name != tt.name || v.Missing || v.Imported {
				t.Errorf("got %+v, want a fresh volume %s in %s", v, tt.name, volumes.DefaultPool)
			}
			got, err := e.svc.Get(context.Background(), v.ID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got.SizeBytes != v.SizeBytes || got.Name != v.Name || !got.Created.Equal(v.Created) {
				t.Errorf("Get: got %+v, want %+v", got, v)
			}
		})
	}
}

func TestCreateBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.create(volumes.DefaultPool, "taken", MiB)
	if err := os.WriteFile(filepath.Join(e.poolDir(volumes.DefaultPool), "stray.img"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(e.poolDir(volumes.DefaultPool), "link.img")); err != nil {
		t.Fatal(err)
	}
	pool, err := e.svc.Pool(context.Background(), volumes.DefaultPool)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pool    string
		volume  string
		size    uint64
		wantErr error
	}{
		{"size 0", volumes.DefaultPool, "v", 0, volumes.ErrInvalidSize},
		{"size beyond int64", volumes.DefaultPool, "v", math.MaxUint64, volumes.ErrInvalidSize},
		{"size rounds past int64", volumes.DefaultPool, "v", math.MaxInt64, volumes.ErrInvalidSize},
		{"larger than free space", volumes.DefaultPool, "v", pool.FreeBytes + 64*MiB, volumes.ErrNoSpace},
		{"escaping name", volumes.DefaultPool, "../../etc/passwd", MiB, volumes.ErrInvalidName},
		{"dot dot", volumes.DefaultPool, "..", MiB, volumes.ErrInvalidName},
		{"empty name", volumes.DefaultPool, "", MiB, volumes.ErrInvalidName},
		{"slash", volumes.DefaultPool, "a/b", MiB, volumes.ErrInvalidName},
		{"backslash", volumes.DefaultPool, `a\b`, MiB, volumes.ErrInvalidName},
		{"nul", volumes.DefaultPool, "a\x00b", MiB, volumes.ErrInvalidName},
		{"leading dot", volumes.DefaultPool, ".hidden", MiB, volumes.ErrInvalidName},
		{"reserved", volumes.DefaultPool, "nul", MiB, volumes.ErrInvalidName},
		{"too long", volumes.DefaultPool, string(make([]byte, 129)), MiB, volumes.ErrInvalidName},
		{"unknown pool", "nosuchpool", "v", MiB, volumes.ErrPoolNotFound},
		{"escaping pool", "../pools/default", "v", MiB, volumes.ErrPoolNotFound},
		{"existing volume", volumes.DefaultPool, "taken", MiB, volumes.ErrExists},
		{"existing file", volumes.DefaultPool, "stray", MiB, volumes.ErrExists},
		{"existing symlink", volumes.DefaultPool, "link", MiB, volumes.ErrExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snapshot()
			v, err := e.svc.Create(context.Background(), tt.pool, tt.volume, tt.size)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Create: got %v, %v; want error %v", v, err, tt.wantErr)
			}
			if after := e.snapshot(); after != before {
				t.Errorf("state changed:\ngot  %s\nwant %s", after, before)
			}
		})
	}
}

func TestCreateStoreFailureRemovesFile(t *testing.T) {
	e := newEnv(t)
	// Closing the database underneath makes the recording transaction fail
	// after the file was made.
	e.db.Close()
	_, err := e.svc.Create(context.Background(), volumes.DefaultPool, "v", MiB)
	if err == nil {
		t.Fatal("Create with a closed store: got nil error, want one")
	}
	path := filepath.Join(e.poolDir(volumes.DefaultPool), "v.img")
	if _, serr := os.Lstat(path); !os.IsNotExist(serr) {
		t.Errorf("file after failed create: got %v, want it removed", serr)
	}
	e.db = nil
}

func TestConcurrentCreateSameName(t *testing.T) {
	e := newEnv(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.svc.Create(context.Background(), volumes.DefaultPool, "same", MiB)
		})
	}
	for range 2 {
		wg.Go(func() {
			// A scan must never import a file a running Create has made
			// but not yet recorded.
			rep, err := e.svc.Rescan(context.Background())
			if err != nil || len(rep.Imported) != 0 {
				t.Errorf("Rescan during creates: got %d imports, %v; want none", len(rep.Imported), err)
			}
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, volumes.ErrExists):
			t.Errorf("losing Create: got %v, want ErrExists", err)
		}
	}
	if wins != 1 {
		t.Errorf("winning Creates: got %d, want 1", wins)
	}
	list, err := e.svc.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Errorf("volumes after race: got %d, want 1", len(list))
	}
}

func TestRestartKeepsVolumes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreatePool(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	a := e.create(volumes.DefaultPool, "a", MiB)
	b, err := e.svc.CreateWithLabels(ctx, "fast", "b", 3*MiB, map[string]string{"origin": "replica of a"})
	if err != nil {
		t.Fatal(err)
	}
	e.reopen()
	for _, want := range []*volumes.Volume{a, b} {
		got, err := e.svc.Lookup(ctx, want.Pool, want.Name)
		if err != nil {
			t.Fatalf("Lookup(%s, %s) after restart: %v", want.Pool, want.Name, err)
		}
		if got.ID != want.ID || got.SizeBytes != want.SizeBytes || !got.Created.Equal(want.Created) ||
			got.Path() != want.Path() || got.Labels["origin"] != want.Labels["origin"] || got.Imported {
			t.Errorf("after restart: got %+v, want %+v", got, want)
		}
	}
	list, err := e.svc.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Errorf("List after restart: got %d volumes, want 2", len(list))
	}
}

func TestGrow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "g", MiB)
	pool, err := e.svc.Pool(ctx, volumes.DefaultPool)
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name    string
		id      volumes.ID
		size    uint64
		wantErr error
	}{
		{"smaller", v.ID, MiB - 512, volumes.ErrInvalidSize},
		{"zero", v.ID, 0, volumes.ErrInvalidSize},
		{"beyond int64", v.ID, math.MaxUint64, volumes.ErrInvalidSize},
		{"no space", v.ID, MiB + pool.FreeBytes + 64*MiB, volumes.ErrNoSpace},
		{"unknown", "00000000-0000-0000-0000-000000000000", 2 * MiB, volumes.ErrNotFound},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snapshot()
			if _, err := e.svc.Grow(ctx, tt.id, tt.size); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Grow: got %v, want %v", err, tt.wantErr)
			}
			if after := e.snapshot(); after != before {
				t.Errorf("state changed:\ngot  %s\nwant %s", after, before)
			}
		})
	}
	t.Run("same size", func(t *testing.T) {
		got, err := e.svc.Grow(ctx, v.ID, MiB-100)
		if err != nil || got.SizeBytes != MiB {
			t.Fatalf("Grow to same rounded size: got %v, %v; want size %d", got, err, MiB)
		}
	})
	t.Run("larger", func(t *testing.T) {
		got, err := e.svc.Grow(ctx, v.ID, 2*MiB+1)
		if err != nil {
			t.Fatal(err)
		}
		want := uint64(2*MiB + 512)
		if got.SizeBytes != want || fileSize(t, v.Path()) != int64(want) {
			t.Errorf("after Grow: got size %d, file %d; want %d", got.SizeBytes, fileSize(t, v.Path()), want)
		}
		if got.AllocatedBytes != 0 {
			t.Errorf("AllocatedBytes after Grow: got %d, want 0", got.AllocatedBytes)
		}
	})
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "d", MiB)
	if err := e.svc.Delete(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(v.Path()); !os.IsNotExist(err) {
		t.Errorf("file after Delete: got %v, want not exist", err)
	}
	if _, err := e.svc.Get(ctx, v.ID); !errors.Is(err, volumes.ErrNotFound) {
		t.Errorf("Get after Delete: got %v, want ErrNotFound", err)
	}
	if err := e.svc.Delete(ctx, v.ID); !errors.Is(err, volumes.ErrNotFound) {
		t.Errorf("second Delete: got %v, want ErrNotFound", err)
	}
	again := e.create(volumes.DefaultPool, "d", MiB)
	if again.ID == v.ID {
		t.Errorf("ID of recreated volume: got %s again, want a new one", again.ID)
	}
	entries, err := os.ReadDir(e.poolDir(volumes.DefaultPool))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("pool entries: got %d, want 1 (no leftovers)", len(entries))
	}
}

func TestDeleteStoreFailureKeepsFile(t *testing.T) {
	e := newEnv(t)
	v := e.create(volumes.DefaultPool, "keep", MiB)
	e.db.Close()
	if err := e.svc.Delete(context.Background(), v.ID); err == nil {
		t.Fatal("Delete with a closed store: got nil error, want one")
	}
	e.db = nil
	if got := fileSize(t, v.Path()); got != MiB {
		t.Errorf("file after failed delete: got size %d, want %d", got, MiB)
	}
}

func TestInterruptedDeleteIsUndone(t *testing.T) {
	e := newEnv(t)
	v := e.create(volumes.DefaultPool, "half", MiB)
	e.close()
	// A crash after the rename but before the store recorded the delete.
	tmp := filepath.Join(e.poolDir(volumes.DefaultPool), ".half.img.deleting")
	if err := os.Rename(v.Path(), tmp); err != nil {
		t.Fatal(err)
	}
	// A crash after the store recorded a delete but before the file went.
	orphan := filepath.Join(e.poolDir(volumes.DefaultPool), ".gone.img.deleting")
	writeSparse(t, orphan, MiB)
	e.open()
	got, err := e.svc.Get(context.Background(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Missing || fileSize(t, v.Path()) != MiB {
		t.Errorf("after restart: got Missing=%v, want the file restored", got.Missing)
	}
	if _, err := os.Lstat(orphan); !os.IsNotExist(err) {
		t.Errorf("orphan after restart: got %v, want removed", err)
	}
}

func TestLabels(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "l", MiB)
	got, err := e.svc.SetLabels(ctx, v.ID, map[string]string{"origin": "replica of x", "tier": "gold"})
	if err != nil {
		t.Fatal(err)
	}
	got, err = e.svc.SetLabels(ctx, v.ID, map[string]string{"tier": ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Labels) != 1 || got.Labels["origin"] != "replica of x" {
		t.Errorf("labels: got %v, want only origin", got.Labels)
	}
	before := e.snapshot()
	if _, err := e.svc.SetLabels(ctx, v.ID, map[string]string{"": "x"}); !errors.Is(err, volumes.ErrInvalidLabel) {
		t.Errorf("empty key: got %v, want ErrInvalidLabel", err)
	}
	if after := e.snapshot(); after != before {
		t.Errorf("state changed by a bad label:\ngot  %s\nwant %s", after, before)
	}
}

func TestOpenImage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "io", MiB)
	f, err := e.svc.OpenImage(ctx, v.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("data"), 4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := e.svc.Get(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.AllocatedBytes == 0 {
		t.Errorf("AllocatedBytes after a write: got 0, want > 0")
	}
	if _, err := e.svc.OpenImage(ctx, "nope", false); !errors.Is(err, volumes.ErrNotFound) {
		t.Errorf("OpenImage unknown: got %v, want ErrNotFound", err)
	}
}

func TestClosed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "c", MiB)
	e.svc.Close()
	if _, err := e.svc.Create(ctx, volumes.DefaultPool, "x", MiB); !errors.Is(err, volumes.ErrClosed) {
		t.Errorf("Create after Close: got %v, want ErrClosed", err)
	}
	if _, err := e.svc.Get(ctx, v.ID); !errors.Is(err, volumes.ErrClosed) {
		t.Errorf("Get after Close: got %v, want ErrClosed", err)
	}
	if _, err := e.svc.Acquire(v.ID, "x"); !errors.Is(err, volumes.ErrClosed) {
		t.Errorf("Acquire after Close: got %v, want ErrClosed", err)
	}
}

func TestGrowNeverCutsAFileGrownOutside(t *testing.T) {
	e := newEnv(t)
	v := e.create(volumes.DefaultPool, "ext", MiB)
	if err := os.Truncate(v.Path(), 4*MiB); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Grow(context.Background(), v.ID, 2*MiB); !errors.Is(err, volumes.ErrInvalidSize) {
		t.Errorf("Grow below the file's size: got %v, want ErrInvalidSize", err)
	}
	if got := fileSize(t, v.Path()); got != 4*MiB {
		t.Errorf("file size: got %d, want %d", got, 4*MiB)
	}
}

func TestCancelledContextChangesNothing(t *testing.T) {
	e := newEnv(t)
	v := e.create(volumes.DefaultPool, "v", MiB)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := e.snapshot()
	calls := []struct {
		name string
		call func() error
	}{
		{"create", func() error { _, err := e.svc.Create(ctx, volumes.DefaultPool, "w", MiB); return err }},
		{"grow", func() error { _, err := e.svc.Grow(ctx, v.ID, 2*MiB); return err }},
		{"delete", func() error { return e.svc.Delete(ctx, v.ID) }},
		{"create pool", func() error { _, err := e.svc.CreatePool(ctx, "p"); return err }},
		{"rescan", func() error { _, err := e.svc.Rescan(ctx); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want context.Canceled", err)
			}
		})
	}
	if after := e.snapshot(); after != before {
		t.Errorf("state changed:\ngot  %s\nwant %s", after, before)
	}
}

func BenchmarkCreateDelete(b *testing.B) {
	dir := b.TempDir()
	db, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc, err := volumes.Open(db, dir, volumes.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	ctx := context.Background()
	for b.Loop() {
		v, err := svc.Create(ctx, volumes.DefaultPool, "bench", 1<<30)
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.Delete(ctx, v.ID); err != nil {
			b.Fatal(err)
		}
	}
}
