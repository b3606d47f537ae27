// Package enginetest owns test helpers around the copy engine that need the
// machine: a real reflink filesystem on a loop device.
package enginetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// MountReflinkFS makes an XFS filesystem with reflink=1 in a sparse image file of
// size bytes (at least 300 MiB), loop-mounts it on a temporary directory for the rest
// of the test and returns that directory. Without root or mkfs.xfs it skips the test,
// or fails it under REPLICAD_REQUIRE_CLIENTS=1 (make test, whose
// scripts/test-deps.sh installs xfsprogs).
func MountReflinkFS(t testing.TB, size int64) string {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("REPLICAD_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("reflink filesystem required (REPLICAD_REQUIRE_CLIENTS=1): "+format, args...)
		}
		t.Skipf("no reflink filesystem: "+format, args...)
	}
	if os.Geteuid() != 0 {
		unavailable("mounting a loop filesystem needs root")
	}
	mkfs, err := exec.LookPath("mkfs.xfs")
	if err != nil {
		mkfs, err = exec.LookPath("/usr/sbin/mkfs.xfs") // a PATH without sbin
	}
	if err != nil {
		unavailable("mkfs.xfs not found (Debian package xfsprogs)")
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "xfs.img"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs, "-q", "-m", "reflink=1", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.xfs: %v: %s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		unavailable("mount -o loop %s: %v: %s", img, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}

// FreeBytes returns the bytes free on the filesystem holding path.
func FreeBytes(t testing.TB, path string) int64 {
	t.Helper()
	var s unix.Statfs_t
	if err := unix.Statfs(path, &s); err != nil {
		t.Fatal(err)
	}
	return int64(s.Bfree) * s.Bsize
}
