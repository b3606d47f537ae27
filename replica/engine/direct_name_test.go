package engine

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDirectTwinKeepsName: the O_DIRECT twin of a file carries the file's own
// name, so that an error on a direct write (ENOSPC, EIO) names the volume's
// file in a job's ErrorDescription, not /proc/self/fd/N.
func TestDirectTwinKeepsName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vol.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := newDataFile(f, os.O_WRONLY, false)
	defer d.closeDirect()
	if d.direct == nil {
		if _, ok := directAlignment(f); ok {
			t.Fatal("the filesystem supports O_DIRECT but no twin was opened")
		}
		t.Skip("the test directory's filesystem has no O_DIRECT")
	}
	if d.direct.Name() != path {
		t.Errorf("the direct twin is named %q, want %q", d.direct.Name(), path)
	}
}
