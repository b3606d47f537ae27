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

// limitedConn gives its place back when closed.
type limitedConn struct {
	net.Conn
	l      *limitListener
	source string
	once   sync.Once
}

// Close closes the connection and releases its place, once.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.source) })
	return err
}
