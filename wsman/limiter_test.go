package wsman

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// take is takeWithin, its waits bounded by ctx.
func (l *limiter) take(ctx context.Context, source, user string) (*ticket, error) {
	return l.takeWithin(&preAuthWaits{c: ctx}, source, user)
}

// takeHandshake is takeHandshakeWithin, its waits bounded by ctx.
func (l *limiter) takeHandshake(ctx context.Context, source string) (*ticket, error) {
	return l.takeHandshakeWithin(&preAuthWaits{c: ctx}, source)
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestSourceKey(t *testing.T) {
	for host, want := range map[string]string{
		"192.0.2.7":               "192.0.2.7",
		"127.0.0.1":               "127.0.0.1",
		"0.0.0.0":                 "0.0.0.0",
		"255.255.255.255":         "255.255.255.255",
		"::ffff:192.0.2.7":        "192.0.2.7",
		"2001:db8:1:2:aaaa::1":    "2001:db8:1:2::/64",
		"2001:db8:1:2:bbbb::9999": "2001:db8:1:2::/64",
		"::1":                     "::/64",
	} {
		if got := sourceKey(host); got != want {
			t.Errorf("sourceKey(%s) = %s, want %s", host, got, want)
		}
		if a, err := netip.ParseAddr(host); err == nil && a.Unmap().String() != sourceKey(host) && !a.Unmap().Is6() {
			t.Errorf("sourceKey(%s) = %s, not the address's canonical form %s", host, sourceKey(host), a.Unmap())
		}
	}
	// ParseAddr refuses the IPv4 forms that are not canonical (leading
	// zeros, short forms): they stay keys of their own, as before.
	for _, host := range []string{"192.0.2.07", "127.1", "0x7f.0.0.1"} {
		if _, err := netip.ParseAddr(host); err == nil {
			t.Errorf("ParseAddr took %s", host)
		}
		if got := sourceKey(host); got != host {
			t.Errorf("sourceKey(%s) = %s, want it unchanged", host, got)
		}
	}
}

// TestLimiterTotalSparesCleanPairs: once the total budget is spent,
// pairs that failed and loopback addresses other than 127.0.0.1 are
// refused; a pair without failures (another user on a failed address, or
// another address), and 127.0.0.1, still get a ticket.
func TestLimiterTotalSparesCleanPairs(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newLimiter(3, 4, time.Minute, time.Minute, time.Minute, clk.now)
	ctx := context.Background()
	fail := func(source, user string) {
		tk, err := l.take(ctx, source, user)
		if err != nil {
			t.Fatalf("take %s %s: %v", source, user, err)
		}
		tk.settle(true)
	}
	fail("192.0.2.1", "admin")
	fail("192.0.2.1", "admin")
	fail("192.0.2.2", "admin")
	fail("192.0.2.2", "admin") // total 4: spent
	for _, src := range []string{"192.0.2.1", "192.0.2.2", "127.0.0.2", "127.1.2.3"} {
		if _, err := l.take(ctx, src, "admin"); !errors.Is(err, errRateLimited) {
			t.Errorf("take %s admin with the total spent: %v, want errRateLimited", src, err)
		}
	}
	for _, p := range []pairKey{{"192.0.2.3", "admin"}, {"127.0.0.1", "admin"}, {"192.0.2.1", "bob"}} {
		tk, err := l.take(ctx, p.source, p.user)
		if err != nil {
			t.Errorf("take %s %s (no failures) with the total spent: %v, want a ticket", p.source, p.user, err)
		}
		tk.settle(false)
	}
	clk.t = clk.t.Add(61 * time.Second)
	if _, err := l.take(ctx, "192.0.2.1", "admin"); err != nil {
		t.Errorf("after the window: %v, want a ticket", err)
	}
}

// TestLimiterPairBackoff: MaxFailures failures of one pair put it in
// backoff (5 s, doubling per failure, capped) and are reported; the same
// user from another address and another user from the same address are
// not held back; after the backoff one attempt is checked; a quiet window
// after the backoff forgets the failures.
func TestLimiterPairBackoff(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newLimiter(3, 1000, time.Minute, 12*time.Second, time.Minute, clk.now)
	var locks []lockout
	l.onLockout = func(e lockout) { locks = append(locks, e) }
	ctx := context.Background()
	try := func(source, user string, failed bool) error {
		tk, err := l.take(ctx, source, user)
		if err == nil {
			tk.settle(failed)
		}
		return err
	}
	for i := 0; i < 3; i++ {
		if err := try("192.0.2.1", "admin", true); err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if len(locks) != 1 || locks[0].user != "admin" || locks[0].source != "192.0.2.1" || locks[0].until != clk.t.Add(5*time.Second) {
		t.Fatalf("lockouts after 3 failures: %+v, want one of admin from 192.0.2.1 until +5s", locks)
	}
	if err := try("192.0.2.1", "admin", false); !errors.Is(err, errRateLimited) {
		t.Errorf("the guessed pair in backoff: %v, want errRateLimited", err)
	}
	if err := try("192.0.2.1", "bob", false); err != nil {
		t.Errorf("another user from the guessing address: %v, want a ticket", err)
	}
	if err := try("192.0.2.9", "admin", false); err != nil {
		t.Errorf("admin from another address: %v, want a ticket", err)
	}
	want := []time.Duration{10 * time.Second, 12 * time.Second, 12 * time.Second} // doubling, capped
	for i, d := range want {
		clk.t = locks[len(locks)-1].until
		if err := try("192.0.2.1", "admin", true); err != nil {
			t.Fatalf("attempt %d after the backoff: %v, want a ticket", i, err)
		}
		if got := locks[len(locks)-1].until.Sub(clk.t); len(locks) != i+2 || got != d {
			t.Errorf("backoff after failure %d: %v (%d lockouts), want %v", 4+i, got, len(locks), d)
		}
	}
	if n := l.failures("192.0.2.1", "admin"); n != 6 {
		t.Errorf("failures = %d, want 6", n)
	}
	clk.t = locks[len(locks)-1].until.Add(61 * time.Second)
	if n := l.failures("192.0.2.1", "admin"); n != 0 {
		t.Errorf("failures after a quiet window = %d, want 0", n)
	}
}

// TestLimiterWaitersRefusedAtBudget: attempts that waited for the pair's
// tickets are refused once the open ones fail the budget away, even when
// the backoff would be over by the time they wake.
func TestLimiterWaitersRefusedAtBudget(t *testing.T) {
	// A backoff of 1 ns on the real clock is over when the waiter wakes.
	// The clock tells when the waiter has looked at it: take holds the
	// limiter's lock from that look until it waits for a change, so the
	// settles below (which take the lock) come after it waits.
	var armed atomic.Bool
	looked := make(chan struct{})
	var once sync.Once
	clock := func() time.Time {
		if armed.Load() {
			once.Do(func() { close(looked) })
		}
		return time.Now()
	}
	l := newLimiter(2, 1000, time.Minute, time.Nanosecond, time.Minute, clock)
	a, _ := l.take(context.Background(), "192.0.2.1", "admin")
	b, _ := l.take(context.Background(), "192.0.2.1", "admin")
	got := make(chan error, 1)
	armed.Store(true)
	go func() {
		_, err := l.take(context.Background(), "192.0.2.1", "admin")
		got <- err
	}()
	<-looked
	a.settle(true)
	b.settle(true)
	if err := <-got; !errors.Is(err, errRateLimited) {
		t.Errorf("waiting attempt after the open ones failed: %v, want errRateLimited", err)
	}
}

// TestLimiterTicketsWaitAndExpire: a pair's open tickets fill its budget;
// the next attempt waits, gets a ticket when one succeeds, and an
// abandoned handshake's ticket expires.
func TestLimiterTicketsWaitAndExpire(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newLimiter(2, 100, time.Minute, time.Minute, time.Minute, clk.now)
	a, _ := l.take(context.Background(), "192.0.2.1", "admin")
	b, _ := l.take(context.Background(), "192.0.2.1", "admin")
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.take(short, "192.0.2.1", "admin"); !errors.Is(err, errLimiterWait) {
		t.Fatalf("third attempt with two open: %v, want errLimiterWait", err)
	}
	got := make(chan error, 1)
	go func() {
		tk, err := l.take(context.Background(), "192.0.2.1", "admin")
		tk.settle(false)
		got <- err
	}()
	a.settle(false)
	if err := <-got; err != nil {
		t.Errorf("attempt after a success: %v, want a ticket", err)
	}
	clk.t = clk.t.Add(2 * time.Minute) // b is abandoned
	c, err := l.take(context.Background(), "192.0.2.1", "admin")
	d, err2 := l.take(context.Background(), "192.0.2.1", "admin")
	if err != nil || err2 != nil {
		t.Errorf("after the abandoned ticket expired: %v, %v, want two tickets", err, err2)
	}
	b.settle(true) // too late: expired tickets count nothing
	c.settle(false)
	d.settle(false)
	if n := l.failures("192.0.2.1", "admin"); n != 0 {
		t.Errorf("failures = %d, want 0", n)
	}
	h1, _ := l.takeHandshake(context.Background(), "192.0.2.1")
	l.takeHandshake(context.Background(), "192.0.2.1")
	if _, err := l.takeHandshake(short, "192.0.2.1"); !errors.Is(err, errLimiterWait) {
		t.Errorf("third handshake with two open: %v, want errLimiterWait", err)
	}
	h1.settle(true)
	if _, err := l.takeHandshake(context.Background(), "192.0.2.1"); err != nil {
		t.Errorf("handshake after one ended: %v, want a ticket", err)
	}
	if n := l.failures("192.0.2.1", "admin"); n != 0 {
		t.Errorf("a handshake ticket's failure counted against admin: %d", n)
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

// failures returns the failures of the pair (source, user) that still
// count.
func (l *limiter) failures(source, user string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := pairKey{source: source, user: user}
	if l.pairs[key] == nil {
		return 0
	}
	return l.pair(key, l.now()).failures
}

// TestLimiterWakesOnlyWhenWaited checks that settling a ticket wakes the
// takes waiting for one (their channel is closed), and that with none
// waiting it leaves the channel alone (Basic settles a ticket on every
// request: a channel made each time would be garbage).
func TestLimiterWakesOnlyWhenWaited(t *testing.T) {
	l := newLimiter(2, 100, time.Minute, time.Minute, time.Minute, time.Now)
	a, _ := l.take(context.Background(), "192.0.2.1", "admin")
	b, _ := l.take(context.Background(), "192.0.2.1", "admin")
	unwaited := l.changed
	a.settle(false)
	if l.changed != unwaited {
		t.Errorf("a settle with no take waiting replaced the wake channel")
	}
	a, _ = l.take(context.Background(), "192.0.2.1", "admin")
	got := make(chan error, 1)
	go func() {
		tk, err := l.take(context.Background(), "192.0.2.1", "admin")
		tk.settle(false)
		got <- err
	}()
	for waiting := false; !waiting; {
		runtime.Gosched()
		l.mu.Lock()
		waiting = l.waiters == 1
		l.mu.Unlock()
	}
	wake := l.changed
	a.settle(false)
	select {
	case <-wake:
	default:
		t.Errorf("a settle with a take waiting did not wake it")
	}
	if err := <-got; err != nil {
		t.Errorf("waiting take: %v, want a ticket", err)
	}
	b.settle(false)
}

// TestPreAuthWaitsLazy checks that a logon that waits for nothing makes
// no context (no timer), and that one that waits is bounded by the
// deadline it was given.
func TestPreAuthWaitsLazy(t *testing.T) {
	l := newLimiter(1, 100, time.Minute, time.Minute, time.Minute, time.Now)
	free := preAuthWaits{parent: context.Background(), deadline: time.Now().Add(time.Minute)}
	tk, err := l.takeWithin(&free, "192.0.2.1", "admin")
	if err != nil || free.c != nil {
		t.Fatalf("take with a free ticket: %v, context made: %v; want a ticket and no context", err, free.c != nil)
	}
	past := preAuthWaits{parent: context.Background(), deadline: time.Now().Add(-time.Second)}
	defer past.stop()
	if _, err := l.takeWithin(&past, "192.0.2.1", "admin"); !errors.Is(err, errLimiterWait) {
		t.Errorf("take past its deadline with the budget full: %v, want errLimiterWait", err)
	}
	tk.settle(false)
}
