package engine

import (
	"strings"
	"testing"
)

// TestIdentityChangeSaysWhat: a job's ErrorDescription says how the source
// changed in words, not as a dump of stat fields.
func TestIdentityChangeSaysWhat(t *testing.T) {
	a := Identity{Dev: 1, Ino: 2, Size: 4096, MtimeNS: 10, CtimeNS: 10}
	for _, tt := range []struct {
		name string
		b    Identity
		want string
	}{
		{"replaced", Identity{Dev: 1, Ino: 3, Size: 4096, MtimeNS: 10, CtimeNS: 10}, "replaced"},
		{"resized", Identity{Dev: 1, Ino: 2, Size: 8192, MtimeNS: 11, CtimeNS: 11}, "from 4096 to 8192 bytes"},
		{"written", Identity{Dev: 1, Ino: 2, Size: 4096, MtimeNS: 11, CtimeNS: 11}, "it was written"},
		{"mtime put back", Identity{Dev: 1, Ino: 2, Size: 4096, MtimeNS: 10, CtimeNS: 11}, "ctime moved, mtime kept"},
	} {
		if a.matches(tt.b) {
			t.Errorf("%s: %+v matches %+v", tt.name, tt.b, a)
		}
		if got := a.change(tt.b); !strings.Contains(got, tt.want) || strings.Contains(got, "{") {
			t.Errorf("%s: change = %q, want it to say %q in words", tt.name, got, tt.want)
		}
	}
	if old := (Identity{Dev: 1, Ino: 2, Size: 4096, MtimeNS: 10}); !old.matches(a) {
		t.Errorf("a checkpoint without a ctime does not match the same file")
	}
}
