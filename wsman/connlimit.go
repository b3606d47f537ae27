package wsman

import (
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
)

// ConnLimits caps the connections a listener keeps open. The zero value of
// a field means its default.
type ConnLimits struct {
	// PerSource caps the open connections of one source, an IPv4 address or
	// an IPv6 /64 (default 512).
	PerSource int
	// Total caps all open connections (default 4096).
	Total int
}

func (c *ConnLimits) setDefaults() {
	if c.PerSource <= 0 {
		c.PerSource = 512
	}
	if c.Total <= 0 {
		c.Total = 4096
	}
}

// LimitListener returns a listener that accepts at most limits.PerSource
// connections from one source and limits.Total in all: a connection beyond
// either is closed as soon as it is accepted, before anything is read from
// it, and a warning is logged (at most once a second). Wrap the TCP
// listener, under TLS, so that handshakes count too.
func LimitListener(ln net.Listener, limits ConnLimits, logger *zap.Logger) net.Listener {
	limits.setDefaults()
	if logger == nil {
		logger = zap.NewNop()
	}
	return &limitListener{Listener: ln, limits: limits, logger: logger, open: map[string]int{}}
}

type limitListener struct {
	net.Listener
	limits ConnLimits
	logger *zap.Logger

	mu         sync.Mutex
	open       map[string]int
	total      int
	refused    int
	lastLogged time.Time
}

// Accept returns the next connection within the limits.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		source := sourceKey(hostOf(c.RemoteAddr()))
		if l.admit(source) {
			return &limitedConn{Conn: c, l: l, source: source}, nil
		}
		c.Close()
	}
}

func hostOf(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// admit counts a new connection from source, or reports that it is over a
// limit.
func (l *limitListener) admit(source string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total < l.limits.Total && l.open[source] < l.limits.PerSource {
		l.total++
		l.open[source]++
		return true
	}
	l.refused++
	if now := time.Now(); now.Sub(l.lastLogged) >= time.Second {
		l.logger.Warn("connection refused: too many open connections",
			zap.String("source", source), zap.Int("fromSource", l.open[source]), zap.Int("open", l.total),
			zap.Int("perSourceLimit", l.limits.PerSource), zap.Int("totalLimit", l.limits.Total),
			zap.Int("refusedSinceLastLine", l.refused))
		l.lastLogged, l.refused = now, 0
	}
	return false
}

func (l *limitListener) release(source string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.open[source]--; l.open[source] <= 0 {
		delete(l.open, source)
	}
}

// limitedConn gives its place back when closed. It also sends a reply's
// bytes in one write when the handler says how long the reply is (gather).
type limitedConn struct {
	net.Conn
	l      *limitListener
	source string
	once   sync.Once

	mu   sync.Mutex
	want int     // bytes of the reply being gathered still to come, at least
	held *[]byte // the reply's bytes written so far and not yet sent, or nil
}

// Replies gathered into one write: longer than net/http's 4 KiB
// connection buffer can hold with the header (gatherAbove), and short
// enough that copying them costs less than the write saved (gatherMax).
const (
	gatherAbove = 2 << 10
	gatherMax   = 64 << 10
)

// heldBufs holds the buffers of gathered replies between replies.
var heldBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// gather holds the next writes on c until at least n bytes have been
// written, and then sends them in one write. A reply of n bytes after its
// HTTP header, longer than net/http's 4 KiB connection buffer, otherwise
// goes out in two writes (the buffer, holding the header and the reply's
// start, then the rest), each a round of the kernel's TCP path and a
// wakeup of the client. Whatever is held is sent before c is next read or
// closed, so a reply that falls short is only sent later, never lost.
func (c *limitedConn) gather(n int) {
	c.mu.Lock()
	c.want = n
	c.mu.Unlock()
}

// Write sends p, unless a reply is being gathered and p does not complete
// it: then p is kept, to go out with the rest.
func (c *limitedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.want <= 0 && c.held == nil {
		c.mu.Unlock()
		return c.Conn.Write(p)
	}
	if c.held == nil {
		c.held = heldBufs.Get().(*[]byte)
	}
	*c.held = append(*c.held, p...)
	if c.want > len(p) {
		c.want -= len(p)
		c.mu.Unlock()
		return len(p), nil
	}
	err := c.sendHeldLocked()
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Read sends what is held first: the reply is over when the server reads
// the next request.
func (c *limitedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	err := c.sendHeldLocked()
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// sendHeldLocked sends what is held, in one write, and ends the gathering.
func (c *limitedConn) sendHeldLocked() error {
	c.want = 0
	if c.held == nil {
		return nil
	}
	b := c.held
	c.held = nil
	_, err := c.Conn.Write(*b)
	if cap(*b) <= gatherMax+gatherMax/2 {
		*b = (*b)[:0]
		heldBufs.Put(b)
	}
	return err
}

// Close sends what is held, closes the connection and releases its place,
// once. A write in progress (a client that does not read) is not waited
// for: closing is what ends it.
func (c *limitedConn) Close() error {
	if c.mu.TryLock() {
		_ = c.sendHeldLocked()
		c.mu.Unlock()
	}
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.source) })
	return err
}
