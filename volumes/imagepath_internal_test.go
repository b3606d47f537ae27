package volumes

import (
	"path/filepath"
	"testing"
)

// TestImagePathIsJoin checks that imagePath gives what filepath.Join
// gives for every pool and volume name, the odd ones too (which it leaves
// to Join).
func TestImagePathIsJoin(t *testing.T) {
	s := &Service{poolsDir: "/data/pools"}
	for _, pool := range []string{"default", "a b", "p.img", "", ".", "..", "x/y", "x/../y", "/abs"} {
		for _, name := range []string{"v1", "..", ".", "", "a/b", "../escape", "name with spaces"} {
			want := filepath.Join(s.poolDir(pool), fileName(name))
			if got := s.imagePath(pool, name); got != want {
				t.Errorf("imagePath(%q, %q) = %q, want %q (Join)", pool, name, got, want)
			}
		}
	}
}
