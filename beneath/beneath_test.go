package beneath_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/beneath"
)

// secret is what the file outside the directory holds; no function may
// return it or change it.
var secret = []byte("outside the pool: must never be read through a handle\n")

// fixture is a directory handle over dir/pool with a regular file vol.img and
// a subdirectory sub holding inner.img, and a file and a directory outside
// the pool.
type fixture struct {
	pool, outside, outsideDir string
	dir                       *os.File
}

// modes runs fn once with openat2 and once with the openat fallback.
func modes(t *testing.T, fn func(t *testing.T, fx fixture)) {
	t.Helper()
	for _, mode := range []string{"openat2", "fallback"} {
		t.Run(mode, func(t *testing.T) {
			var calls *int
			if mode == "fallback" {
				calls = beneath.ForceFallback(t)
			}
			fn(t, newFixture(t))
			if calls != nil && *calls == 0 {
				t.Fatalf("fallback mode never reached openat2; the walk was not exercised")
			}
		})
	}
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	root := t.TempDir()
	fx := fixture{
		pool:       filepath.Join(root, "pool"),
		outside:    filepath.Join(root, "secret.img"),
		outsideDir: filepath.Join(root, "elsewhere"),
	}
	for _, d := range []string{fx.pool, filepath.Join(fx.pool, "sub"), fx.outsideDir} {
		if err := os.Mkdir(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, fx.outside, secret)
	writeFile(t, filepath.Join(fx.outsideDir, "inner.img"), secret)
	writeFile(t, filepath.Join(fx.pool, "vol.img"), []byte("inside"))
	writeFile(t, filepath.Join(fx.pool, "sub", "inner.img"), []byte("inner"))
	dir, err := beneath.OpenDir(fx.pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	fx.dir = dir
	return fx
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// symlink replaces path with a symlink to target.
func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// wantSymlink fails unless err wraps ErrSymlink and one of ELOOP/EXDEV and
// names name.
func wantSymlink(t *testing.T, err error, name string) {
	t.Helper()
	if !errors.Is(err, beneath.ErrSymlink) {
		t.Fatalf("err = %v, want one wrapping ErrSymlink", err)
	}
	if !errors.Is(err, unix.ELOOP) && !errors.Is(err, unix.EXDEV) {
		t.Fatalf("err = %v, want it to wrap ELOOP or EXDEV", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte(name)) {
		t.Fatalf("err = %v, want the name %q in it", err, name)
	}
}

// outsideIntact fails if the outside file changed.
func (fx fixture) outsideIntact(t *testing.T) {
	t.Helper()
	for _, p := range []string{fx.outside, filepath.Join(fx.outsideDir, "inner.img")} {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, secret) {
			t.Fatalf("outside file %s changed: %q, %v", p, b, err)
		}
	}
}

func readAll(t *testing.T, f *os.File) []byte {
	t.Helper()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenFileRegular(t *testing.T) {
	modes(t, func(t *testing.T, fx fixture) {
		for name, want := range map[string]string{"vol.img": "inside", "sub/inner.img": "inner"} {
			f, err := beneath.OpenFile(fx.dir, name, os.O_RDONLY, 0)
			if err != nil {
				t.Fatalf("OpenFile(%s): %v", name, err)
			}
			if got := readAll(t, f); string(got) != want {
				t.Fatalf("OpenFile(%s) read %q, want %q", name, got, want)
			}
			f.Close()
		}
		f, err := beneath.OpenFile(fx.dir, "sub/new.img", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		f.Close()
		fi, err := os.Stat(filepath.Join(fx.pool, "sub", "new.img"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("created file: %v, %v", fi, err)
		}
		d, err := beneath.OpenFile(fx.dir, ".", os.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatalf("open .: %v", err)
		}
		d.Close()
		_, err = beneath.OpenFile(fx.dir, "missing.img", os.O_RDONLY, 0)
		if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, beneath.ErrSymlink) {
			t.Fatalf("missing file: err = %v, want ErrNotExist only", err)
		}
	})
}

func TestSymlinkFinalComponent(t *testing.T) {
	modes(t, func(t *testing.T, fx fixture) {
		img := filepath.Join(fx.pool, "vol.img")
		symlink(t, fx.outside, img)
		for _, flag := range []int{os.O_RDONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC, os.O_RDWR | os.O_CREATE, unix.O_PATH} {
			f, err := beneath.OpenFile(fx.dir, "vol.img", flag, 0o600)
			if err == nil {
				f.Close()
				t.Fatalf("OpenFile(flag %#x) of a symlink succeeded", flag)
			}
			wantSymlink(t, err, "vol.img")
		}
		// A link to a file inside the directory is refused as well: no link
		// is followed at all.
		symlink(t, "sub/inner.img", img)
		_, err := beneath.OpenFile(fx.dir, "vol.img", os.O_RDONLY, 0)
		wantSymlink(t, err, "vol.img")
		// A dangling link is not created through either.
		symlink(t, filepath.Join(fx.outsideDir, "created.img"), img)
		_, err = beneath.OpenFile(fx.dir, "vol.img", os.O_RDWR|os.O_CREATE, 0o600)
		wantSymlink(t, err, "vol.img")
		if _, err := os.Lstat(filepath.Join(fx.outsideDir, "created.img")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a file was created outside through the link: %v", err)
		}
		fx.outsideIntact(t)
	})
}

func TestSymlinkMiddleDirectory(t *testing.T) {
	modes(t, func(t *testing.T, fx fixture) {
		// A link that stays inside the directory is refused as well.
		if err := os.Symlink("sub", filepath.Join(fx.pool, "alias")); err != nil {
			t.Fatal(err)
		}
		_, err := beneath.OpenFile(fx.dir, "alias/inner.img", os.O_RDONLY, 0)
		wantSymlink(t, err, "alias/inner.img")
		symlink(t, fx.outsideDir, filepath.Join(fx.pool, "sub"))
		_, err = beneath.OpenFile(fx.dir, "sub/inner.img", os.O_RDWR, 0)
		wantSymlink(t, err, "sub/inner.img")
		_, err = beneath.OpenFile(fx.dir, "sub/fresh.img", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		wantSymlink(t, err, "sub/fresh.img")
		_, err = beneath.Lstat(fx.dir, "sub/inner.img")
		wantSymlink(t, err, "sub/inner.img")
		wantSymlink(t, beneath.Remove(fx.dir, "sub/inner.img"), "sub/inner.img")
		wantSymlink(t, beneath.Rename(fx.dir, "vol.img", "sub/inner.img"), "sub/inner.img")
		wantSymlink(t, beneath.Mkdir(fx.dir, "sub/d", 0o750), "sub/d")
		if _, err := os.Lstat(filepath.Join(fx.outsideDir, "fresh.img")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a file was created outside through the link: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(fx.outsideDir, "d")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a directory was created outside through the link: %v", err)
		}
		fx.outsideIntact(t)
	})
}

func TestBadNames(t *testing.T) {
	modes(t, func(t *testing.T, fx fixture) {
		for _, name := range []string{"", "..", "../secret.img", "../pool/vol.img", fx.outside, "/etc/passwd",
			"sub/../vol.img", "./vol.img", "sub/", "sub//inner.img"} {
			_, err := beneath.OpenFile(fx.dir, name, os.O_RDONLY, 0)
			if !errors.Is(err, beneath.ErrBadName) {
				t.Errorf("OpenFile(%q): err = %v, want ErrBadName", name, err)
			}
			if _, err := beneath.Lstat(fx.dir, name); !errors.Is(err, beneath.ErrBadName) {
				t.Errorf("Lstat(%q): err = %v, want ErrBadName", name, err)
			}
			if err := beneath.Remove(fx.dir, name); !errors.Is(err, beneath.ErrBadName) {
				t.Errorf("Remove(%q): err = %v, want ErrBadName", name, err)
			}
			if err := beneath.Rename(fx.dir, "vol.img", name); !errors.Is(err, beneath.ErrBadName) {
				t.Errorf("Rename(vol.img, %q): err = %v, want ErrBadName", name, err)
			}
		}
		if err := beneath.Remove(fx.dir, "."); !errors.Is(err, beneath.ErrBadName) {
			t.Errorf("Remove(.): err = %v, want ErrBadName", err)
		}
		fx.outsideIntact(t)
	})
}

// TestSymlinkSwappedBetweenCalls is the race of the issue: a name checked
// once and then replaced by a link before it is opened.
func TestSymlinkSwappedBetweenCalls(t *testing.T) {
	modes(t, func(t *testing.T, fx fixture) {
		fi, err := beneath.Lstat(fx.dir, "vol.img")
		if err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("Lstat before the swap: %v, %v", fi, err)
		}
		symlink(t, fx.outside, filepath.Join(fx.pool, "vol.img"))
		f, err := beneath.OpenFile(fx.dir, "vol.img", os.O_RDONLY, 0)
		if err == nil {
			got := readAll(t, f)
			f.Close()
			t.Fatalf("opened the swapped link and read %q", got)
		}
		wantSymlink(t, err, "vol.img")
		_, err = beneath.Lstat(fx.dir, "vol.img")
		wantSymlink(t, err, "vol.img")

		// The same with the directory above: opened once, swapped, opened again.
		f, err = beneath.OpenFile(fx.dir, "sub/inner.img", os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		symlink(t, fx.outsideDir, filepath.Join(fx.pool, "sub"))
		_, err = beneath.OpenFile(fx.dir, "sub/inner.img", os.O_RDONLY, 0)
		wantSymlink(t, err, "sub/inner.img")
		fx.outsideIntact(t)
	})
}

func TestLstat(t *testing.T) {
	modes(t, func(t *testing.T, fx fixture) {
		fi, err := beneath.Lstat(fx.dir, "sub/inner.img")
		if err != nil || fi.Size() != int64(len("inner")) || fi.Name() != "inner.img" {
			t.Fatalf("Lstat = %v, %v", fi, err)
		}
		fi, err = beneath.Lstat(fx.dir, "sub")
		if err != nil || !fi.IsDir() {
			t.Fatalf("Lstat(sub) = %v, %v", fi, err)
		}
		if _, err := beneath.Lstat(fx.dir, "missing"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Lstat(missing): %v", err)
		}
	})
}

func TestRemove(t *testing.T) {
	modes(t, func(t *testing.T, fx fixture) {
		if err := beneath.Remove(fx.dir, "sub/inner.img"); err != nil {
			t.Fatal(err)
		}
		if err := beneath.Remove(fx.dir, "sub"); err != nil {
			t.Fatalf("remove empty directory: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(fx.pool, "sub")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("sub still there: %v", err)
		}
		symlink(t, fx.outside, filepath.Join(fx.pool, "vol.img"))
		wantSymlink(t, beneath.Remove(fx.dir, "vol.img"), "vol.img")
		if fi, err := os.Lstat(filepath.Join(fx.pool, "vol.img")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("the refused link was changed: %v, %v", fi, err)
		}
		fx.outsideIntact(t)
	})
}

func TestRename(t *testing.T) {
	modes(t, func(t *testing.T, fx fixture) {
		if err := beneath.Rename(fx.dir, "vol.img", "sub/moved.img"); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(fx.pool, "sub", "moved.img")); err != nil || string(b) != "inside" {
			t.Fatalf("after rename: %q, %v", b, err)
		}
		if err := beneath.Rename(fx.dir, "sub/moved.img", "sub/inner.img"); err != nil {
			t.Fatalf("rename over an existing file: %v", err)
		}
		symlink(t, fx.outside, filepath.Join(fx.pool, "link.img"))
		wantSymlink(t, beneath.Rename(fx.dir, "link.img", "vol.img"), "link.img")
		wantSymlink(t, beneath.Rename(fx.dir, "sub/inner.img", "link.img"), "link.img")
		if b, err := os.ReadFile(filepath.Join(fx.pool, "sub", "inner.img")); err != nil || string(b) != "inside" {
			t.Fatalf("the refused rename moved the file: %q, %v", b, err)
		}
		fx.outsideIntact(t)
	})
}

func TestMkdir(t *testing.T) {
	modes(t, func(t *testing.T, fx fixture) {
		if err := beneath.Mkdir(fx.dir, "sub/d", 0o750); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(filepath.Join(fx.pool, "sub", "d")); err != nil || !fi.IsDir() {
			t.Fatalf("mkdir: %v, %v", fi, err)
		}
	})
}

// TestOpenPath checks Open: the directory's path may hold links, the final
// component may not.
func TestOpenPath(t *testing.T) {
	modes(t, func(t *testing.T, fx fixture) {
		alias := filepath.Join(filepath.Dir(fx.pool), "alias")
		if err := os.Symlink(fx.pool, alias); err != nil {
			t.Fatal(err)
		}
		f, err := beneath.Open(filepath.Join(alias, "vol.img"), os.O_RDONLY, 0)
		if err != nil {
			t.Fatalf("Open through the administrator's link: %v", err)
		}
		if got := readAll(t, f); string(got) != "inside" {
			t.Fatalf("read %q", got)
		}
		f.Close()
		symlink(t, fx.outside, filepath.Join(fx.pool, "vol.img"))
		_, err = beneath.Open(filepath.Join(fx.pool, "vol.img"), os.O_RDONLY, 0)
		wantSymlink(t, err, "vol.img")
		for _, p := range []string{fx.pool + "/", "/", fx.pool + "/.."} {
			if _, err := beneath.Open(p, os.O_RDONLY, 0); !errors.Is(err, beneath.ErrBadName) {
				t.Errorf("Open(%q): err = %v, want ErrBadName", p, err)
			}
		}
		fx.outsideIntact(t)
	})
}

// TestLstatMatchesOS checks that Lstat of a plain name (answered by one
// fstatat) describes the file as os.Lstat does.
func TestLstatMatchesOS(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vol.img")
	if err := os.WriteFile(path, []byte("data"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 1<<20); err != nil {
		t.Fatal(err)
	}
	d, err := beneath.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, name := range []string{"vol.img", "."} {
		got, err := beneath.Lstat(d, name)
		if err != nil {
			t.Fatalf("Lstat(%q): %v", name, err)
		}
		want, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		gs, ws := got.Sys().(*syscall.Stat_t), want.Sys().(*syscall.Stat_t)
		if got.Size() != want.Size() || got.Mode() != want.Mode() || !got.ModTime().Equal(want.ModTime()) ||
			gs == nil || gs.Ino != ws.Ino || gs.Blocks != ws.Blocks {
			t.Errorf("Lstat(%q) = size %d mode %v mtime %v sys %+v, want size %d mode %v mtime %v ino %d blocks %d",
				name, got.Size(), got.Mode(), got.ModTime(), gs, want.Size(), want.Mode(), want.ModTime(), ws.Ino, ws.Blocks)
		}
	}
}
