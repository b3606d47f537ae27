package wsman

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// The failed-logon limiter counts before it lets a logon be tried: an
// attempt first takes a ticket for its source, and a source holds at most
// MaxFailures minus its failures in the window tickets at once, so a
// burst of guesses sent together cannot all be checked. A ticket that ends
// in a good logon is simply returned; one that fails becomes a failure.
// An NTLM NEGOTIATE leg takes the ticket its AUTHENTICATE leg settles, so
// the CHALLENGE legs count too; a handshake left unfinished gives its
// ticket back after ticketTTL. Attempts over budget wait (bounded by the
// request's context) for a ticket of their own source rather than being
// refused outright, so a client with many legitimate requests in flight
// is slowed, not refused, while one whose attempts fail is refused.
//
// Sources are IPv4 addresses and IPv6 /64 prefixes (a host owns a whole
// /64, so per-address counting would give it 2^64 budgets). Beyond the
// per-source budget, a total budget (MaxTotalFailures per window) limits
// guesses spread over many addresses: once it is used up, every source
// that has failed in the window is refused, and so is every IPv4 loopback
// address other than 127.0.0.1 (a local attacker can pick any of 2^24 of
// them). A source that has not failed, and any connection that has logged
// on already, is never refused by someone else's failures: the limiter is
// no lockout of others.

// errLimiterWait is returned when no ticket came free in time.
var errLimiterWait = errors.New("wsman: too many logons in progress from this address")

// limiter is the failed-logon limiter. Its zero value is not usable: see
// newLimiter.
type limiter struct {
	max, maxTotal int
	window        time.Duration
	ticketTTL     time.Duration
	now           func() time.Time

	mu      sync.Mutex
	sources map[string]*sourceRecord
	total   windowCount
	// changed is closed and replaced whenever a ticket is settled, to wake
	// waiters.
	changed chan struct{}
}

// windowCount counts failures in a fixed window that starts at the first.
type windowCount struct {
	since time.Time
	n     int
}

func (w *windowCount) current(now time.Time, window time.Duration) int {
	if w.n > 0 && now.Sub(w.since) > window {
		w.n = 0
	}
	return w.n
}

func (w *windowCount) add(now time.Time, window time.Duration) {
	if w.current(now, window) == 0 {
		w.since = now
	}
	w.n++
}

// sourceRecord is one source's failures and open tickets.
type sourceRecord struct {
	failures windowCount
	tickets  map[*ticket]time.Time
}

// ticket is one logon attempt counted before it is tried.
type ticket struct {
	l      *limiter
	source string
	done   bool
}

func newLimiter(max, maxTotal int, window, ticketTTL time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, maxTotal: maxTotal, window: window, ticketTTL: ticketTTL, now: now,
		sources: map[string]*sourceRecord{}, changed: make(chan struct{})}
}

// sourceKey maps a remote address (host, no port) to its limiter source:
// the IPv4 address, or the /64 of an IPv6 address.
func sourceKey(host string) string {
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// suspect reports whether source is refused once the total budget is
// spent even without failures of its own: IPv4 loopback addresses other
// than 127.0.0.1.
func suspect(source string) bool {
	ip := net.ParseIP(source)
	return ip != nil && ip.To4() != nil && ip.IsLoopback() && !ip.Equal(net.IPv4(127, 0, 0, 1))
}

// take returns a ticket for source, waiting while the source's open
// tickets fill its remaining budget. It returns errRateLimited when the
// source (or the total) has used up its failures, and errLimiterWait when
// ctx ends first.
func (l *limiter) take(ctx context.Context, source string) (*ticket, error) {
	for {
		l.mu.Lock()
		now := l.now()
		rec := l.record(source, now)
		failures := rec.failures.current(now, l.window)
		total := l.total.current(now, l.window)
		switch {
		case failures >= l.max:
			l.mu.Unlock()
			return nil, errRateLimited
		case total >= l.maxTotal && (failures > 0 || suspect(source)):
			l.mu.Unlock()
			return nil, errRateLimited
		case failures+len(rec.tickets) < l.max:
			t := &ticket{l: l, source: source}
			rec.tickets[t] = now
			l.mu.Unlock()
			return t, nil
		}
		wake := l.changed
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, errLimiterWait
		case <-time.After(time.Second): // tickets also end by expiry
		}
	}
}

// record returns source's record, creating it, after dropping its expired
// tickets. Called with l.mu held.
func (l *limiter) record(source string, now time.Time) *sourceRecord {
	if len(l.sources) > 10000 {
		l.pruneLocked(now)
	}
	rec := l.sources[source]
	if rec == nil {
		rec = &sourceRecord{tickets: map[*ticket]time.Time{}}
		l.sources[source] = rec
	}
	for t, at := range rec.tickets {
		if now.Sub(at) > l.ticketTTL {
			delete(rec.tickets, t)
			t.done = true
		}
	}
	return rec
}

func (l *limiter) pruneLocked(now time.Time) {
	for k, rec := range l.sources {
		if len(rec.tickets) == 0 && rec.failures.current(now, l.window) == 0 {
			delete(l.sources, k)
		}
	}
}

// settle ends the attempt: a failure counts against its source and the
// total, a success costs nothing. Settling twice does nothing.
func (t *ticket) settle(failed bool) {
	if t == nil {
		return
	}
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.done {
		return
	}
	t.done = true
	now := l.now()
	if rec := l.sources[t.source]; rec != nil {
		delete(rec.tickets, t)
		if failed {
			rec.failures.add(now, l.window)
		}
	}
	if failed {
		l.total.add(now, l.window)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// failures returns source's failures in the current window (for tests and
// logs).
func (l *limiter) failures(source string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	rec := l.sources[source]
	if rec == nil {
		return 0
	}
	return rec.failures.current(l.now(), l.window)
}
