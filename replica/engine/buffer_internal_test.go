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
	dropSpares() // a fresh mapping, not one an earlier test's copy gave back
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

// TestBufferArenaReusesSpares: the mappings of a finished copy serve the
// next copy of the process (no fresh huge pages to fault in and zero), up to
// spareMax bytes; dropSpares unmaps them all.
func TestBufferArenaReusesSpares(t *testing.T) {
	dropSpares()
	defer dropSpares()
	var a bufferArena
	first := a.get(DefaultChunkSize)
	first[0] = 0xa5 // a fresh mapping reads as zeros, even at the same address
	a.release()
	var b bufferArena
	again := b.get(DefaultChunkSize)
	if again[0] != 0xa5 {
		t.Error("the next copy's buffer is a fresh mapping, not the spare the first copy gave back")
	}
	if len(again) != DefaultChunkSize || cap(again) != DefaultChunkSize {
		t.Errorf("reused buffer: len, cap = %d, %d, want %d", len(again), cap(again), DefaultChunkSize)
	}
	b.release()

	var c bufferArena
	n := spareMax/(DefaultChunkSize+hugePage) + 3
	for range n {
		c.get(DefaultChunkSize)
	}
	c.release()
	spares.Lock()
	kept, bytes := len(spares.maps), spares.bytes
	spares.Unlock()
	if bytes > spareMax || kept == 0 || kept >= n {
		t.Errorf("after %d buffers given back: %d kept (%d bytes); want some, at most %d bytes", n, kept, bytes, spareMax)
	}
	dropSpares()
	if len(spares.maps) != 0 || spares.bytes != 0 {
		t.Errorf("dropSpares left %d mappings (%d bytes)", len(spares.maps), spares.bytes)
	}
}
