package engine

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSettle: settle returns only once the file's last change is older
// than the timestamps' granularity (a later write then shows in the ctime),
// and refuses an identity that a write after the pass changed.
func TestSettle(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("pass"), 0); err != nil {
		t.Fatal(err)
	}
	written, err := IdentityOf(f)
	if err != nil {
		t.Fatal(err)
	}
	id, ok, err := settle(f, written)
	if err != nil || !ok || id != written {
		t.Fatalf("settle of an unwritten file = %v, %v, %v; want %v, true", id, ok, err, written)
	}
	if age := time.Since(time.Unix(0, written.CtimeNS)); age < stampGranularity(written) {
		t.Errorf("settle returned %v after the last change, before the granularity %v", age, stampGranularity(written))
	}
	if _, err := f.WriteAt([]byte("other"), 4096); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := settle(f, written); err != nil || ok {
		t.Errorf("settle after another write = %v, %v; want false", ok, err)
	}
}

// TestStampGranularity: a tick or two of the coarse clock where the file
// keeps fine times, seconds where it keeps whole seconds.
func TestStampGranularity(t *testing.T) {
	if g := stampGranularity(Identity{MtimeNS: 1e9 + 4e6, CtimeNS: 2e9 + 4e6}); g <= 0 || g > TimestampGranularity {
		t.Errorf("granularity of fine stamps = %v, want within (0, %v]", g, TimestampGranularity)
	}
	if g := stampGranularity(Identity{MtimeNS: 1e9, CtimeNS: 2e9}); g < time.Second {
		t.Errorf("granularity of whole-second stamps = %v, want at least 1s", g)
	}
}
