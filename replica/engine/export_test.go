package engine

import (
	"encoding/binary"
	"fmt"
	"os"
	"testing"
)

// DirectIOSupported reports whether the filesystem holding path does O_DIRECT at an
// alignment the engine can use.
func DirectIOSupported(t testing.TB, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, ok := directAlignment(f)
	return ok
}

// Extents returns the data extents of f (extentsOf), for tests that check
// what a copy allocated.
func Extents(f *os.File) ([]Extent, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("engine: extents: %w", err)
	}
	return extentsOf(int(f.Fd()), fi.Size())
}

// SetWriteHook replaces target writes of o with fn, for fault injection.
func SetWriteHook(o *Options, fn func(p []byte, off int64) error) {
	if o.hooks == nil {
		o.hooks = &hooks{}
	}
	o.hooks.writeAt = fn
}

// SetAfterChunk makes o call fn after each chunk is written.
func SetAfterChunk(o *Options, fn func(off int64)) {
	if o.hooks == nil {
		o.hooks = &hooks{}
	}
	o.hooks.afterChunk = fn
}

// RestampSidecar rewrites the target identity recorded in the sidecar at path
// with target's current one, as if a crash had lost the target's new ctime
// (fdatasync does not persist timestamps). It reports whether a sidecar was
// there to restamp.
func RestampSidecar(t testing.TB, path, target string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, err := IdentityOf(f)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	for i, v := range []uint64{id.Dev, id.Ino, uint64(id.Size), uint64(id.MtimeNS), uint64(id.CtimeNS)} {
		le.PutUint64(b[32+8*i:], v)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return true
}
