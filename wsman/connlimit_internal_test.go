package wsman

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// TestGatherSendsHeldBytes checks limitedConn's gathering over a pipe,
// where each write arrives as one read: the bytes of a gathered reply go
// out in one write once the last one is written, and bytes held for a
// reply that fell short go out before the next read and at close.
func TestGatherSendsHeldBytes(t *testing.T) {
	newConn := func() (*limitedConn, net.Conn) {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return &limitedConn{Conn: a, l: &limitListener{open: map[string]int{"x": 1}, total: 1}, source: "x"}, b
	}
	readOnce := func(b net.Conn) string {
		buf := make([]byte, 64)
		n, err := b.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}

	c, b := newConn()
	c.gather(10)
	if n, err := c.Write([]byte("12345")); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if c.held == nil || string(*c.held) != "12345" {
		t.Fatal("after the first write of a gathered reply, the bytes are not held")
	}
	done := make(chan error)
	go func() { _, err := c.Write([]byte("67890")); done <- err }()
	if got := readOnce(b); got != "1234567890" {
		t.Errorf("the gathered reply arrived as %q, want it in one write", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Not gathering: each write goes out as it is.
	go c.Write([]byte("ab"))
	if got := readOnce(b); got != "ab" {
		t.Errorf("a write outside a gathered reply arrived as %q", got)
	}

	// A reply that fell short goes out before the next read.
	c.gather(100)
	c.Write([]byte("short"))
	go c.Read(make([]byte, 1))
	if got := readOnce(b); got != "short" {
		t.Errorf("before a read, the held bytes arrived as %q", got)
	}

	// And at close.
	c2, b2 := newConn()
	c2.gather(100)
	c2.Write([]byte("closing"))
	go c2.Close()
	got, _ := io.ReadAll(b2)
	if !bytes.Equal(got, []byte("closing")) {
		t.Errorf("at close, the held bytes arrived as %q", got)
	}
}

// TestCloseDuringBlockedWrite checks that closing a connection whose
// gathered reply is stuck in a write (the client reads nothing) ends the
// write instead of waiting for it, as closing a plain connection does.
func TestCloseDuringBlockedWrite(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := &limitedConn{Conn: a, l: &limitListener{open: map[string]int{"x": 1}, total: 1}, source: "x"}
	c.gather(4)
	c.Write([]byte("ab"))
	wrote := make(chan error)
	go func() { _, err := c.Write([]byte("cd")); wrote <- err }() // blocks: b reads nothing
	for c.mu.TryLock() {
		c.mu.Unlock() // until the write holds the lock
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err == nil {
		t.Error("the blocked write returned no error after Close")
	}
}
