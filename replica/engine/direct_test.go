package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/replica/engine"
)

// TestCopyDirectIOBypassesPageCache checks what O_DIRECT is for: a copy through the
// default path leaves neither the source's nor the target's data in the page cache,
// while PageCache does fill it.
func TestCopyDirectIOBypassesPageCache(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	makeImage(t, src, 16*mib, 9, seg{0, 16 * mib, false})
	if !engine.DirectIOSupported(t, src) {
		requireFS(t, "the test directory's filesystem (%s) has no O_DIRECT", dir)
	}
	for _, pageCache := range []bool{false, true} {
		evict(t, src)
		dst := filepath.Join(dir, "dst")
		os.Remove(dst)
		opts := engine.DefaultOptions()
		opts.Method = engine.MethodReadWrite
		opts.PageCache = pageCache
		if !pageCache {
			opts.WriteIO = engine.IODirect // IOAuto is direct too: iopath_internal_test.go
		}
		st, err := engine.Copy(context.Background(), src, dst, opts)
		if err != nil {
			t.Fatalf("Copy(PageCache=%v): %v", pageCache, err)
		}
		srcRes, dstRes := residentPages(t, src), residentPages(t, dst)
		if pageCache && dstRes == 0 {
			t.Errorf("PageCache=true: no target page in the cache; the test cannot tell the paths apart")
		}
		if !pageCache && (srcRes != 0 || dstRes != 0) {
			t.Errorf("direct I/O left %d source and %d target pages in the page cache, want 0", srcRes, dstRes)
		}
		if st.DirectIO == pageCache {
			t.Errorf("PageCache=%v: Stats.DirectIO = %v", pageCache, st.DirectIO)
		}
		mustEqualFiles(t, src, dst)
	}
}

// requireFS skips a test whose directory's filesystem cannot show what it
// checks (tmpfs: its pages are its storage), unless REPLICAD_REQUIRE_CLIENTS=1
// (make test) makes that a failure.
func requireFS(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("REPLICAD_REQUIRE_CLIENTS") == "1" {
		t.Fatalf("required (REPLICAD_REQUIRE_CLIENTS=1): "+format, args...)
	}
	t.Skipf(format, args...)
}

// evict drops path's pages from the page cache. FADV_DONTNEED drops only
// clean pages, so the file is fsync'ed first: on a disk filesystem no page
// may stay, whatever writeback had done by then.
func evict(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if n := residentPages(t, path); n != 0 {
		requireFS(t, "%d pages of %s stay cached after fsync and FADV_DONTNEED (a memory filesystem?): the test cannot tell the paths apart", n, path)
	}
}

// residentPages counts path's pages in the page cache (mmap + mincore).
func residentPages(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
