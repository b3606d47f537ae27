package volumes_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicad/replicad/volumes"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"disk1", true},
		{"Disk-1_backup.v2", true},
		{"a", true},
		{strings.Repeat("x", 128), true},
		{"console", true},
		{"COM10", true},
		{"", false},
		{strings.Repeat("x", 129), false},
		{"../../etc/passwd", false},
		{"..", false},
		{".", false},
		{"a..b", false},
		{".hidden", false},
		{"trailing.", false},
		{"a/b", false},
		{`a\b`, false},
		{"a\x00b", false},
		{"with space", false},
		{"tab\t", false},
		{"ünïcode", false},
		{"a:b", false},
		{"CON", false},
		{"nul", false},
		{"Com1", false},
		{"lpt9.img", false},
		{"aux.backup", false},
		{"-rf", false},
		{"--help", false},
		{"-", false},
		{"a-", true},
		{"a-b", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := volumes.CheckName(tt.name)
			if tt.ok && err != nil {
				t.Errorf("CheckName(%q): got %v, want nil", tt.name, err)
			}
			if !tt.ok && !errors.Is(err, volumes.ErrInvalidName) {
				t.Errorf("CheckName(%q): got %v, want ErrInvalidName", tt.name, err)
			}
		})
	}
}

// FuzzName checks that a name CheckName accepts never leads out of its
// pool: the joined path is a direct child of the pool directory, and
// creating it through os.Root succeeds or fails without escaping.
func FuzzName(f *testing.F) {
	for _, s := range []string{"disk1", "../x", "..", ".", "a/b", `a\b`, "CON", "a\x00", "x.img", ".img", ""} {
		f.Add(s)
	}
	pool := f.TempDir()
	root, err := os.OpenRoot(pool)
	if err != nil {
		f.Fatal(err)
	}
	defer root.Close()
	f.Fuzz(func(t *testing.T, name string) {
		if volumes.CheckName(name) != nil {
			return
		}
		file := name + ".img"
		if !filepath.IsLocal(file) {
			t.Fatalf("CheckName accepted %q but %q is not local", name, file)
		}
		joined := filepath.Join(pool, file)
		if filepath.Dir(joined) != pool || filepath.Base(joined) != file {
			t.Fatalf("CheckName accepted %q but it joins to %s, outside %s", name, joined, pool)
		}
		if strings.ContainsAny(name, "/\\\x00") || strings.HasPrefix(name, ".") || len(name) > volumes.MaxNameLen {
			t.Fatalf("CheckName accepted %q", name)
		}
		fh, err := root.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatalf("os.Root refused accepted name %q: %v", name, err)
		}
		fh.Close()
		if err := root.Remove(file); err != nil {
			t.Fatalf("remove %q: %v", file, err)
		}
	})
}
