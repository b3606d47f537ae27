package engine

import (
	"testing"
	"unsafe"
)

// TestBufferArena checks the copy's buffers: chunk-sized ones are their own
// mappings aligned to a huge page (so the kernel can back them with huge
// pages), zeroed and writable; small ones come from the heap; release
// forgets every mapping.
func TestBufferArena(t *testing.T) {
	var a bufferArena
	defer a.release()
	b := a.get(DefaultChunkSize)
	if len(b) != DefaultChunkSize || cap(b) != DefaultChunkSize {
		t.Fatalf("len, cap = %d, %d, want %d", len(b), cap(b), DefaultChunkSize)
	}
	if addr := uintptr(unsafe.Pointer(&b[0])); addr%hugePage != 0 {
		t.Errorf("buffer at %#x is not aligned to %d", addr, hugePage)
	}
	if !isZero(b) {
		t.Error("a new buffer is not zeroed")
	}
	b[0], b[len(b)-1] = 1, 2
	if n := len(a.maps); n != 1 {
		t.Errorf("%d mappings after one chunk buffer, want 1", n)
	}
	small := a.get(64 << 10)
	if addr := uintptr(unsafe.Pointer(&small[0])); len(small) != 64<<10 || addr%BlockSize != 0 {
		t.Errorf("small buffer: len %d at %#x, want %d aligned to %d", len(small), addr, 64<<10, BlockSize)
	}
	if n := len(a.maps); n != 1 {
		t.Errorf("%d mappings after a small buffer, want still 1 (small ones come from the heap)", n)
	}
	a.release()
	if a.maps != nil {
		t.Errorf("release left %d mappings", len(a.maps))
	}
}
