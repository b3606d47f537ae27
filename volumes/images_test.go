package volumes_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/replicad/replicad/volumes"
)

// stateOf returns what the lookups that keep image states
// (GetWithoutAllocation, ListAfterWithoutAllocation) and Get say of volume
// id: Missing each, and Get's AllocatedBytes.
func stateOf(t *testing.T, svc *volumes.Service, id volumes.ID) (getMissing, listMissing, fullMissing bool, allocated uint64) {
	t.Helper()
	ctx := context.Background()
	v, err := svc.GetWithoutAllocation(ctx, id)
	if err != nil {
		t.Fatalf("GetWithoutAllocation: %v", err)
	}
	if v.AllocatedBytes != 0 {
		t.Errorf("GetWithoutAllocation: AllocatedBytes %d, want 0 (not read)", v.AllocatedBytes)
	}
	vols, _, err := svc.ListAfterWithoutAllocation(ctx, "", 10)
	if err != nil || len(vols) != 1 || vols[0].ID != id {
		t.Fatalf("ListAfterWithoutAllocation: %d volumes, %v", len(vols), err)
	}
	full, err := svc.Get(ctx, id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return v.Missing, vols[0].Missing, full.Missing, full.AllocatedBytes
}

// ctimeOf returns path's ctime (ns).
func ctimeOf(t *testing.T, path string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ctim.Nano()
}

// waitPastCtime returns once a change made now would give a file a ctime
// later than dir's: the kernel's clock has passed it. (A change to dir
// after a lookup kept its images' states under a ctime within the racy
// margin could otherwise get the same ctime; TestKeptImageStatesRacyWindow
// covers that case with the real clock.)
func waitPastCtime(t *testing.T, dir string) {
	t.Helper()
	c := ctimeOf(t, dir)
	scratch := filepath.Join(t.TempDir(), "tick")
	for {
		if err := os.WriteFile(scratch, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if ctimeOf(t, scratch) > c {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestKeptImageStatesSeeChanges: the lookups that keep what an image file is
// (GetWithoutAllocation, ListAfterWithoutAllocation) see a changed image at
// once, as Get does: removed, replaced by a symlink or a directory, the pool
// directory replaced, and back again; an image grown in place or replaced
// by another file is still there, and Get's AllocatedBytes shows the growth
// at once. The states are kept first (KeptImage), under a clock an hour
// ahead so that the directory's ctime is past the racy margin.
func TestKeptImageStatesSeeChanges(t *testing.T) {
	outside, _ := outsideFile(t, 4096)
	for _, tc := range []struct {
		name    string
		change  func(t *testing.T, pool, img string)
		missing bool
	}{
		{"removed", func(t *testing.T, pool, img string) {
			if err := os.Remove(img); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"symlink", func(t *testing.T, pool, img string) { replaceWithLink(t, outside, img) }, true},
		{"directory", func(t *testing.T, pool, img string) {
			if err := os.Remove(img); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(img, 0o700); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"pool directory replaced", func(t *testing.T, pool, img string) {
			if err := os.Rename(pool, pool+".old"); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(img, 0o700); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"replaced by another file", func(t *testing.T, pool, img string) {
			if err := os.WriteFile(img+".new", make([]byte, 8192), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(img+".new", img); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"grown", func(t *testing.T, pool, img string) {
			f, err := os.OpenFile(img, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(make([]byte, 1<<20), 0); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			v := e.create(volumes.DefaultPool, "v", 4*MiB)
			pool := e.poolDir(volumes.DefaultPool)
			img := filepath.Join(pool, "v.img")
			volumes.SetImageClock(t, e.svc, func() time.Time { return time.Now().Add(time.Hour) })
			if g, l, f, _ := stateOf(t, e.svc, v.ID); g || l || f {
				t.Fatalf("before: Missing %v (Get without allocation), %v (list), %v (Get), want false", g, l, f)
			}
			if regular, ok := volumes.KeptImage(e.svc, volumes.DefaultPool, "v"); !ok || !regular {
				t.Fatalf("before: kept %v, %v; want a regular file kept", regular, ok)
			}
			_, _, _, allocBefore := stateOf(t, e.svc, v.ID)
			waitPastCtime(t, pool)
			tc.change(t, pool, img)
			g, l, f, alloc := stateOf(t, e.svc, v.ID)
			if g != tc.missing || l != tc.missing || f != tc.missing {
				t.Fatalf("after: Missing %v (Get without allocation), %v (list), %v (Get), want %v", g, l, f, tc.missing)
			}
			if tc.name == "grown" && alloc < allocBefore+1<<20 {
				t.Errorf("after: Get's AllocatedBytes %d, want at least %d", alloc, allocBefore+1<<20)
			}
			if !tc.missing {
				return
			}
			// And back: a regular file under the name again.
			if tc.name == "pool directory replaced" {
				if err := os.Rename(pool, pool+".other"); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(pool+".old", pool); err != nil {
					t.Fatal(err)
				}
			} else {
				waitPastCtime(t, pool)
				if err := os.RemoveAll(img); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(img, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if g, l, f, _ := stateOf(t, e.svc, v.ID); g || l || f {
				t.Fatalf("back: Missing %v (Get without allocation), %v (list), %v (Get), want false", g, l, f)
			}
		})
	}
}

// TestKeptImageStatesRacyWindow: changes right after a lookup, in the same
// tick of a coarse clock (ctimes seen as whole seconds, as on a filesystem
// keeping whole seconds), are seen at once with the real clock: a
// directory's ctime that is not older than the racy margin keys nothing.
func TestKeptImageStatesRacyWindow(t *testing.T) {
	e := newEnv(t)
	v := e.create(volumes.DefaultPool, "v", 4*MiB)
	volumes.SetCtimeGrain(t, e.svc, time.Second)
	img := filepath.Join(e.poolDir(volumes.DefaultPool), "v.img")
	for i := range 20 {
		if g, l, f, _ := stateOf(t, e.svc, v.ID); g || l || f {
			t.Fatalf("round %d: Missing %v (Get without allocation), %v (list), %v (Get), want false", i, g, l, f)
		}
		if _, ok := volumes.KeptImage(e.svc, volumes.DefaultPool, "v"); ok {
			t.Fatalf("round %d: an image state is kept for a ctime within the racy margin", i)
		}
		if err := os.Rename(img, img+".away"); err != nil {
			t.Fatal(err)
		}
		if g, l, f, _ := stateOf(t, e.svc, v.ID); !g || !l || !f {
			t.Fatalf("round %d, image renamed away: Missing %v (Get without allocation), %v (list), %v (Get), want true", i, g, l, f)
		}
		if err := os.Rename(img+".away", img); err != nil {
			t.Fatal(err)
		}
	}
}
