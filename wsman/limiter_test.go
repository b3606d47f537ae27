package wsman

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestSourceKey(t *testing.T) {
	for host, want := range map[string]string{
		"192.0.2.7":               "192.0.2.7",
		"::ffff:192.0.2.7":        "192.0.2.7",
		"2001:db8:1:2:aaaa::1":    "2001:db8:1:2::/64",
		"2001:db8:1:2:bbbb::9999": "2001:db8:1:2::/64",
		"::1":                     "::/64",
	} {
		if got := sourceKey(host); got != want {
			t.Errorf("sourceKey(%s) = %s, want %s", host, got, want)
		}
	}
}

// TestLimiterTotalSparesCleanSources: once the total budget is spent,
// sources that failed and loopback addresses other than 127.0.0.1 are
// refused; a source without failures, and 127.0.0.1, still get a ticket.
func TestLimiterTotalSparesCleanSources(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newLimiter(3, 4, time.Minute, time.Minute, clk.now)
	ctx := context.Background()
	fail := func(source string) {
		tk, err := l.take(ctx, source)
		if err != nil {
			t.Fatalf("take %s: %v", source, err)
		}
		tk.settle(true)
	}
	fail("192.0.2.1")
	fail("192.0.2.1")
	fail("192.0.2.2")
	fail("192.0.2.2") // total 4: spent
	for _, src := range []string{"192.0.2.1", "192.0.2.2", "127.0.0.2", "127.1.2.3"} {
		if _, err := l.take(ctx, src); !errors.Is(err, errRateLimited) {
			t.Errorf("take %s with the total spent: %v, want errRateLimited", src, err)
		}
	}
	for _, src := range []string{"192.0.2.3", "127.0.0.1"} {
		tk, err := l.take(ctx, src)
		if err != nil {
			t.Errorf("take %s (no failures) with the total spent: %v, want a ticket", src, err)
		}
		tk.settle(false)
	}
	clk.t = clk.t.Add(61 * time.Second)
	if _, err := l.take(ctx, "192.0.2.1"); err != nil {
		t.Errorf("after the window: %v, want a ticket", err)
	}
}

// TestLimiterTicketsWaitAndExpire: a source's open tickets fill its budget;
// the next attempt waits, gets a ticket when one succeeds, and an
// abandoned handshake's ticket expires.
func TestLimiterTicketsWaitAndExpire(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newLimiter(2, 100, time.Minute, time.Minute, clk.now)
	a, _ := l.take(context.Background(), "192.0.2.1")
	b, _ := l.take(context.Background(), "192.0.2.1")
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.take(short, "192.0.2.1"); !errors.Is(err, errLimiterWait) {
		t.Fatalf("third attempt with two open: %v, want errLimiterWait", err)
	}
	got := make(chan error, 1)
	go func() {
		tk, err := l.take(context.Background(), "192.0.2.1")
		tk.settle(false)
		got <- err
	}()
	a.settle(false)
	if err := <-got; err != nil {
		t.Errorf("attempt after a success: %v, want a ticket", err)
	}
	clk.t = clk.t.Add(2 * time.Minute) // b is abandoned
	c, err := l.take(context.Background(), "192.0.2.1")
	d, err2 := l.take(context.Background(), "192.0.2.1")
	if err != nil || err2 != nil {
		t.Errorf("after the abandoned ticket expired: %v, %v, want two tickets", err, err2)
	}
	b.settle(true) // too late: expired tickets count nothing
	c.settle(false)
	d.settle(false)
	if n := l.failures("192.0.2.1"); n != 0 {
		t.Errorf("failures = %d, want 0", n)
	}
}

func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(inner, ConnLimits{PerSource: 2, Total: 3}, nil)
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func(src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closed reports whether the server closed c at once.
	closed := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
	a1, a2, a3 := dial("127.0.0.1"), dial("127.0.0.1"), dial("127.0.0.1")
	if closed(a1) || closed(a2) || !closed(a3) {
		t.Errorf("three connections from one source with PerSource 2: want the third closed")
	}
	b1, b2 := dial("127.0.0.2"), dial("127.0.0.2")
	if closed(b1) || !closed(b2) {
		t.Errorf("connections from a second source with Total 3: want the first kept, the second closed")
	}
	(<-accepted).Close() // a server-side close gives the place back
	if b3 := dial("127.0.0.2"); closed(b3) {
		t.Errorf("connection after one closed: closed, want kept")
	}
}
