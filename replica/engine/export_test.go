package engine

import (
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
