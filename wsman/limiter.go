package wsman

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// The failed-logon limiter throttles password guesses per (source, user
// name) pair, so that guesses against one user from one address slow down
// that pair only: another user on the same address, and the same user
// from another address, are not locked out by them. It counts before it
// lets a logon be tried: an attempt first takes a ticket for its pair, and
// a pair holds at most MaxFailures minus its failures tickets at once, so a
// burst of guesses sent together cannot all be checked. A ticket that ends
// in a good logon is simply returned; one that fails becomes a failure.
//
// After MaxFailures failures a pair is in backoff: the next attempt is
// refused unchecked until backoffBase × 2^(failures−MaxFailures) after the
// last failure (capped at maxBackoff), then one attempt at a time is
// checked; attempts that waited for a ticket while the pair reached its
// budget are refused. A pair's failures are forgotten once it has been
// quiet for the window after its backoff ended; a good logon does not
// forget them (Basic logs on with every request, so forgetting would give
// a guesser sharing the address and the name a fresh budget each time).
// Every entry into backoff is reported (lockout), for the log.
//
// User names are keyed by the users file's spelling (NTLM names are
// case-insensitive), and every name that matches no user shares one key
// per source: a guesser cannot grow the limiter's memory by inventing
// names, and names that are no user have nothing to lock out.
//
// An NTLM NEGOTIATE leg, whose user name comes only with the AUTHENTICATE
// leg, takes a handshake ticket of its source (at most MaxFailures open per
// source; a handshake left unfinished gives its ticket back after
// ticketTTL); the AUTHENTICATE leg then takes its pair's ticket before the
// password is checked. Logons that prove themselves without a password (a
// Kerberos ticket, a client certificate) take no ticket and are never
// refused by the limiter.
//
// Sources are IPv4 addresses and IPv6 /64 prefixes (a host owns a whole
// /64, so per-address counting would give it 2^64 budgets). Beyond the
// per-pair budget, a total budget (MaxTotalFailures per window) limits
// guesses spread over many addresses: once it is used up, every pair that
// has failed in the window is refused, and so is every IPv4 loopback
// address other than 127.0.0.1 (a local attacker can pick any of 2^24 of
// them). A pair that has not failed, and any connection that has logged on
// already, is never refused by someone else's failures: the limiter is no
// lockout of others.

// errLimiterWait is returned when no ticket came free in time.
var errLimiterWait = errors.New("wsman: too many logons in progress from this address")

// backoffBase is the first backoff of a pair that used up its failures.
const backoffBase = 5 * time.Second

// lockout describes a pair entering backoff, or the total budget running
// out (user and source empty).
type lockout struct {
	source, user string
	failures     int
	until        time.Time
	total        bool
}

// limiter is the failed-logon limiter. Its zero value is not usable: see
// newLimiter.
type limiter struct {
	max, maxTotal int
	window        time.Duration
	maxBackoff    time.Duration
	ticketTTL     time.Duration
	now           func() time.Time
	// onLockout, when set, is called (without the lock) for every lockout.
	onLockout func(lockout)

	mu         sync.Mutex
	pairs      map[pairKey]*pairRecord
	handshakes map[string]map[*ticket]time.Time
	total      windowCount
	// changed is closed and replaced when a ticket is settled while takes
	// wait (waiters of them since the last close), to wake them.
	changed chan struct{}
	waiters int
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

// pairKey is a source and a user key (userKey).
type pairKey struct{ source, user string }

// pairRecord is one pair's failures and open tickets.
type pairRecord struct {
	failures    int
	lastFailure time.Time
	until       time.Time // end of the backoff; lastFailure below the budget
	tickets     map[*ticket]time.Time
}

// ticket is one logon attempt counted before it is tried, or an NTLM
// handshake in progress (pair.user == handshakeUser).
type ticket struct {
	l    *limiter
	pair pairKey
	done bool
}

// handshakeUser marks a handshake ticket, whose user is not known yet.
const handshakeUser = "\x00handshake"

// unknownUser is the key of every user name that matches no user.
const unknownUser = "<unknown>"

func newLimiter(max, maxTotal int, window, maxBackoff, ticketTTL time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, maxTotal: maxTotal, window: window, maxBackoff: maxBackoff, ticketTTL: ticketTTL, now: now,
		pairs: map[pairKey]*pairRecord{}, handshakes: map[string]map[*ticket]time.Time{}, changed: make(chan struct{})}
}

// sourceKey maps a remote address (host, no port) to its limiter source:
// the IPv4 address, or the /64 of an IPv6 address.
func sourceKey(host string) string {
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Is4() {
		return host // an IPv4 address ParseAddr takes is in its canonical form
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

// backoff is how long a pair with failures (at least l.max) waits after
// its last failure.
func (l *limiter) backoff(failures int) time.Duration {
	d := backoffBase
	for i := l.max; i < failures && d < l.maxBackoff; i++ {
		d *= 2
	}
	return min(d, l.maxBackoff)
}

// takeWithin returns a ticket for the pair (source, user), where user is a
// user key (the users file's spelling, or unknownUser). It waits while the
// pair's open tickets fill its remaining budget, and returns
// errRateLimited when the pair is in backoff (or the total is spent and
// the pair has failed), errLimiterWait when w ends first.
func (l *limiter) takeWithin(w *preAuthWaits, source, user string) (*ticket, error) {
	key := pairKey{source: source, user: user}
	waited := false
	for {
		l.mu.Lock()
		now := l.now()
		rec := l.pair(key, now)
		total := l.total.current(now, l.window)
		switch {
		case total >= l.maxTotal && (rec.failures > 0 || suspect(source)):
			l.mu.Unlock()
			return nil, errRateLimited
		case rec.failures >= l.max && (waited || now.Before(rec.until)):
			l.mu.Unlock()
			return nil, errRateLimited
		case rec.failures+len(rec.tickets) < l.max,
			rec.failures >= l.max && len(rec.tickets) == 0:
			t := &ticket{l: l, pair: key}
			rec.tickets[t] = now
			l.mu.Unlock()
			return t, nil
		}
		waited = true
		if err := l.wait(w); err != nil {
			return nil, err
		}
	}
}

// takeHandshakeWithin returns a ticket for an NTLM handshake from source
// whose user is not known yet, waiting while source has l.max open (until
// w ends).
func (l *limiter) takeHandshakeWithin(w *preAuthWaits, source string) (*ticket, error) {
	for {
		l.mu.Lock()
		now := l.now()
		open := l.openHandshakes(source, now)
		if len(open) < l.max {
			t := &ticket{l: l, pair: pairKey{source: source, user: handshakeUser}}
			open[t] = now
			l.mu.Unlock()
			return t, nil
		}
		if err := l.wait(w); err != nil {
			return nil, err
		}
	}
}

// wait releases l.mu and waits for a ticket to be settled, for a second
// (tickets also end by expiry), or for w to end.
func (l *limiter) wait(w *preAuthWaits) error {
	wake := l.changed
	l.waiters++
	l.mu.Unlock()
	select {
	case <-wake:
		return nil
	case <-time.After(time.Second):
		return nil
	case <-w.ctx().Done():
		return errLimiterWait
	}
}

// preAuthWaits bounds the waits of one logon before its check (for a
// limiter ticket, for a slot of the checking budget): they end at deadline,
// or with parent. Its context is made on the first wait: most logons wait
// for nothing, and a context with a deadline costs a timer.
type preAuthWaits struct {
	parent   context.Context
	deadline time.Time
	c        context.Context // made by ctx, or given
	cancel   context.CancelFunc
}

// ctx returns the context that ends the waits.
func (w *preAuthWaits) ctx() context.Context {
	if w.c == nil {
		w.c, w.cancel = context.WithDeadline(w.parent, w.deadline)
	}
	return w.c
}

// stop releases the context's timer, if one was made.
func (w *preAuthWaits) stop() {
	if w.cancel != nil {
		w.cancel()
	}
}

// pair returns key's record, creating it, after dropping its expired
// tickets and forgetting failures that are old enough. Called with l.mu
// held.
func (l *limiter) pair(key pairKey, now time.Time) *pairRecord {
	if len(l.pairs) > 10000 {
		l.pruneLocked(now)
	}
	rec := l.pairs[key]
	if rec == nil {
		rec = &pairRecord{tickets: map[*ticket]time.Time{}}
		l.pairs[key] = rec
	}
	expire(rec.tickets, now, l.ticketTTL)
	if rec.failures > 0 && now.Sub(rec.until) > l.window {
		rec.failures = 0
	}
	return rec
}

// openHandshakes returns source's open handshake tickets, expired ones
// dropped. Called with l.mu held.
func (l *limiter) openHandshakes(source string, now time.Time) map[*ticket]time.Time {
	open := l.handshakes[source]
	if open == nil {
		open = map[*ticket]time.Time{}
		l.handshakes[source] = open
	}
	expire(open, now, l.ticketTTL)
	return open
}

func expire(tickets map[*ticket]time.Time, now time.Time, ttl time.Duration) {
	for t, at := range tickets {
		if now.Sub(at) > ttl {
			delete(tickets, t)
			t.done = true
		}
	}
}

func (l *limiter) pruneLocked(now time.Time) {
	for k, rec := range l.pairs {
		expire(rec.tickets, now, l.ticketTTL)
		if len(rec.tickets) == 0 && (rec.failures == 0 || now.Sub(rec.until) > l.window) {
			delete(l.pairs, k)
		}
	}
	for src, open := range l.handshakes {
		expire(open, now, l.ticketTTL)
		if len(open) == 0 {
			delete(l.handshakes, src)
		}
	}
}

// settle ends the attempt: a failure counts against its pair and the
// total, a success costs nothing. Settling twice does nothing. A pair
// entering backoff, and the total running out, are reported to onLockout.
func (t *ticket) settle(failed bool) {
	if t == nil {
		return
	}
	l := t.l
	l.mu.Lock()
	if t.done {
		l.mu.Unlock()
		return
	}
	t.done = true
	now := l.now()
	var events []lockout
	if t.pair.user == handshakeUser {
		delete(l.handshakes[t.pair.source], t)
	} else if rec := l.pairs[t.pair]; rec != nil {
		delete(rec.tickets, t)
		if failed {
			rec.failures++
			rec.lastFailure, rec.until = now, now
			if rec.failures >= l.max {
				rec.until = now.Add(l.backoff(rec.failures))
				events = append(events, lockout{source: t.pair.source, user: t.pair.user, failures: rec.failures, until: rec.until})
			}
		}
	}
	if failed && t.pair.user != handshakeUser {
		l.total.add(now, l.window)
		if l.total.n == l.maxTotal {
			events = append(events, lockout{failures: l.total.n, until: l.total.since.Add(l.window), total: true})
		}
	}
	if l.waiters > 0 {
		close(l.changed)
		l.changed = make(chan struct{})
		l.waiters = 0
	}
	report := l.onLockout
	l.mu.Unlock()
	if report != nil {
		for _, e := range events {
			report(e)
		}
	}
}

// userKey returns the limiter's key for a user name a client sent: the
// users file's spelling when canonical (from logName) names a user,
// unknownUser otherwise.
func userKey(canonical string) string {
	if canonical == "" || canonical == unknownUser || strings.ContainsRune(canonical, 0) {
		return unknownUser
	}
	return canonical
}
