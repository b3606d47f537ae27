package wsman

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"go.uber.org/zap"

	"github.com/replicad/replicad/ntlm"
	"github.com/replicad/replicad/soap"
	"github.com/replicad/replicad/spnego"
	"github.com/replicad/replicad/users"
)

// AuthConfig configures authentication. The zero value of a field means its
// default.
type AuthConfig struct {
	// NTLM names the server in NTLM challenges.
	NTLM ntlm.Config
	// Keytab holds the service keys for Kerberos; nil leaves Kerberos out.
	Keytab *keytab.Keytab
	// KerberosPrincipal is the keytab principal tickets must be for (e.g.
	// "HTTP/host.example.com"); "" accepts any principal of the keytab.
	KerberosPrincipal string
	// KerberosClockSkew is the allowed skew of Kerberos authenticators (default 5 minutes).
	KerberosClockSkew time.Duration
	// MaxFailures failed logons of one user name from one source (an IPv4
	// address or an IPv6 /64) put that pair in backoff: its next attempt is
	// refused unchecked for 5 s, doubling with every further failure up to
	// MaxBackoff, and its failures are forgotten after FailureWindow of
	// quiet after the backoff (defaults 10, 5 minutes and 1 minute).
	// Attempts are counted before they are tried; Kerberos and certificate
	// logons are never throttled (limiter.go).
	MaxFailures   int
	MaxBackoff    time.Duration
	FailureWindow time.Duration
	// MaxTotalFailures failed logons from all sources within FailureWindow
	// make further attempts refused for every (source, user) pair that has
	// failed in the window, and from IPv4 loopback addresses other than
	// 127.0.0.1 (default 10 × MaxFailures). Pairs without failures and
	// connections already logged on are never refused for others' failures.
	MaxTotalFailures int
	// SessionIdle and SessionLifetime end a connection's logon after that
	// long without a request, or that long after it began (defaults 15
	// minutes and 8 hours).
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// HandshakeTimeout bounds the time between the NTLM CHALLENGE and the
	// AUTHENTICATE message (default 1 minute).
	HandshakeTimeout time.Duration
	// MaxRequestsPerUser caps one user's requests in flight (default 16);
	// more are answered with a QuotaLimit fault.
	MaxRequestsPerUser int
	// ChannelBinding is how strictly NTLM and Kerberos logons over HTTPS
	// must be bound to the TLS channel (channelbinding.go); TLSCertificate
	// is the HTTPS listener's certificate, the channel they are bound to.
	ChannelBinding ChannelBindingLevel
	TLSCertificate *x509.Certificate
}

func (c *AuthConfig) setDefaults() {
	if c.KerberosClockSkew <= 0 {
		c.KerberosClockSkew = 5 * time.Minute
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = 10
	}
	if c.FailureWindow <= 0 {
		c.FailureWindow = time.Minute
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if c.MaxTotalFailures <= 0 {
		c.MaxTotalFailures = 10 * c.MaxFailures
	}
	if c.SessionIdle <= 0 {
		c.SessionIdle = 15 * time.Minute
	}
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = 8 * time.Hour
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = time.Minute
	}
	if c.MaxRequestsPerUser <= 0 {
		c.MaxRequestsPerUser = 16
	}
}

// authState is the server's mutable authentication state: the failed-logon
// limiter, the budget of logons being checked and requests in flight per
// user.
type authState struct {
	once     sync.Once
	limiter  *limiter
	checking chan struct{} // slots for unauthenticated work (Limits.MaxUnauthenticatedRequests)
	// handshakes maps a connection to its state while a handshake on it
	// holds a limiter ticket (negotiate.go, ConnState).
	handshakes sync.Map
	mu         sync.Mutex
	inflight   map[string]int
	// cb is the channel binding of Auth.TLSCertificate, computed once.
	cbOnce sync.Once
	cb     []byte
}

func (s *Server) authInit() {
	s.authState.once.Do(func() {
		s.Auth.setDefaults()
		if s.Auth.NTLM.Now == nil {
			s.Auth.NTLM.Now = s.Now
		}
		s.authState.limiter = newLimiter(s.Auth.MaxFailures, s.Auth.MaxTotalFailures, s.Auth.FailureWindow,
			s.Auth.MaxBackoff, s.Auth.HandshakeTimeout, func() time.Time { return s.Now() })
		s.authState.limiter.onLockout = s.logLockout
		s.authState.checking = make(chan struct{}, s.Limits.MaxUnauthenticatedRequests)
		s.authState.inflight = map[string]int{}
	})
}

// Authentication outcomes other than success. They never reach the client:
// every one is answered with the same 401.
var (
	errNoCredentials    = errors.New("wsman: no credentials")
	errBadCredentials   = errors.New("wsman: wrong user name or password")
	errUnsupportedAuth  = errors.New("wsman: unsupported authentication scheme")
	errBasicUnencrypted = errors.New("wsman: Basic authentication over unencrypted HTTP is disabled (see --allow-unencrypted)")
	errRateLimited      = errors.New("wsman: too many failed logons from this address; not checked")
	errUnencrypted      = errors.New("wsman: unencrypted message over HTTP refused (see --allow-unencrypted)")
	errCheckingBusy     = errors.New("wsman: too many logons being checked; not checked")
)

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate returns the user named by the request's credentials or by
// the logon already bound to its connection. Basic is checked per request;
// Negotiate, NTLM and Kerberos bind a logon to the connection (negotiate.go).
// A connection's logon is never subject to the failed-logon limiter; every
// new attempt takes a limiter ticket before it is checked (limiter.go) and
// a slot of the unauthenticated budget while it is checked. Secrets are
// never logged, nor user names that match no user (logName).
func (s *Server) authenticate(r *http.Request) (string, error) {
	s.authInit()
	cs := connFrom(r)
	h := r.Header.Get("Authorization")
	if h == "" {
		if cs == nil {
			return "", errNoCredentials
		}
		return cs.current(s.Now(), s.Auth.SessionIdle, s.Auth.SessionLifetime)
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(h), " ")
	scheme, ok := canonicalScheme(scheme)
	if !ok {
		return "", errUnsupportedAuth
	}
	token = strings.TrimSpace(token)
	// Basic's credentials are decoded once, for the limiter and the check.
	var basic basicCredentials
	if scheme == "basic" {
		basic.name, basic.password, basic.ok = r.BasicAuth()
	}
	waits := preAuthWaits{parent: r.Context(), deadline: time.Now().Add(s.Limits.PreAuthTimeout)}
	defer waits.stop()
	t, err := s.limiterTicket(&waits, r, cs, scheme, token, basic.name)
	if err != nil {
		return "", err
	}
	select {
	case s.authState.checking <- struct{}{}:
	default:
		select {
		case s.authState.checking <- struct{}{}:
		case <-waits.ctx().Done():
			t.settle(false)
			return "", errCheckingBusy
		}
	}
	defer func() { <-s.authState.checking }()
	var user string
	switch scheme {
	case "basic":
		user, err = s.basic(r, basic)
	case "negotiate":
		user, err = s.negotiate(r, cs, "Negotiate", token)
	case "ntlm":
		user, err = s.negotiate(r, cs, "NTLM", token)
	case "kerberos":
		user, err = s.negotiate(r, cs, "Kerberos", token)
	case certificateScheme:
		user, err = s.certificateLogon(r)
	}
	var cont *continueAuth
	switch {
	case err == nil:
		t.settle(false)
	case errors.As(err, &cont):
		s.keepTicket(cs, t)
	case errors.Is(err, errBasicUnencrypted), errors.Is(err, errNoConnState):
		t.settle(false)
	default:
		t.settle(true)
		if user != "" {
			err = fmt.Errorf("user %s: %w", s.logName(user), err)
		}
	}
	return user, err
}

// authSchemes are the Authorization schemes authenticate accepts, in lower
// case (the certificate scheme is a URI, already lower case).
var authSchemes = [...]string{"basic", "negotiate", "ntlm", "kerberos", certificateScheme}

// canonicalScheme returns the accepted scheme that scheme names, compared
// without regard to case (RFC 9110 §11.1), in its lower-case form.
func canonicalScheme(scheme string) (string, bool) {
	for _, s := range authSchemes {
		if strings.EqualFold(scheme, s) {
			return s, true
		}
	}
	return "", false
}

// basicCredentials are the user name and password of a Basic
// Authorization header; ok is false when it could not be decoded.
type basicCredentials struct {
	name, password string
	ok             bool
}

// limiterTicket counts a logon attempt before it is tried (limiter.go):
// an NTLM NEGOTIATE leg takes a handshake ticket of its source, which the
// AUTHENTICATE leg gives back for a ticket of its (source, user) pair;
// Basic takes its pair's ticket at once. A logon proved by a Kerberos
// ticket or a client certificate takes none (nil) and is never refused.
func (s *Server) limiterTicket(waits *preAuthWaits, r *http.Request, cs *connState, scheme, token, basicUser string) (*ticket, error) {
	source := sourceKey(remoteHost(r))
	user, handshake, proved := claimedUser(scheme, token, basicUser)
	if proved {
		return nil, nil
	}
	// The NEGOTIATE leg's ticket ends with the next leg.
	if t := cs.takeTicket(); t != nil {
		if cs.conn != nil {
			s.authState.handshakes.Delete(cs.conn)
		}
		t.settle(false)
	}
	if handshake {
		return s.authState.limiter.takeHandshakeWithin(waits, source)
	}
	return s.authState.limiter.takeWithin(waits, source, userKey(s.logName(user)))
}

// claimedUser returns the user name a password logon claims (Basic's,
// basicUser, or the NTLM AUTHENTICATE message's), or handshake when the leg names no user
// yet (an NTLM NEGOTIATE), or proved when the logon proves itself without
// a password (Kerberos, a client certificate). The token decides, not the
// scheme's name: the handshake code answers NTLM under any of Negotiate,
// NTLM and Kerberos. A token it cannot read claims no user: the handshake
// code refuses it.
func claimedUser(scheme, token, basicUser string) (user string, handshake, proved bool) {
	switch scheme {
	case "basic":
		return basicUser, false, false
	case certificateScheme:
		return "", false, true
	}
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return "", false, false
	}
	msg := raw
	switch {
	case spnego.IsInit(raw):
		init, err := spnego.ParseInit(raw)
		if err != nil || !bytes.HasPrefix(init.MechToken, []byte("NTLMSSP\x00")) {
			// Kerberos, raw or inside SPNEGO: no password to guess.
			return "", false, err == nil || raw[0] == 0x60
		}
		msg = init.MechToken
	case spnego.IsResp(raw):
		resp, err := spnego.ParseResp(raw)
		if err != nil {
			return "", false, false
		}
		msg = resp.ResponseToken
	}
	if typ, err := ntlm.MessageType(msg); err == nil && typ == ntlm.TypeNegotiate {
		return "", true, false
	}
	if m, err := ntlm.ParseAuthenticate(msg); err == nil {
		return m.User, false, false
	}
	return "", false, false
}

// certificateScheme is the Authorization value of a client certificate
// logon over HTTPS ([MS-WSMV] 2.2.9.1; pywinrm's certificate transport).
const certificateScheme = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"

// logLockout logs a (source, user) pair entering backoff, or the total
// budget of failed logons running out. The user is named only when it is
// one of ours.
func (s *Server) logLockout(e lockout) {
	if e.total {
		s.Logger.Warn("wsman logons throttled: total failed-logon budget spent",
			zap.Int("failures", e.failures), zap.Time("until", e.until))
		return
	}
	user := e.user
	if user == unknownUser {
		user = "<unknown>"
	}
	s.Logger.Warn("wsman logons throttled",
		zap.String("remote", e.source),
		zap.String("user", user),
		zap.Int("failures", e.failures),
		zap.Time("until", e.until),
		zap.Duration("backoff", e.until.Sub(s.Now())))
}

// maxLoggedDomain bounds the client-chosen NTLM domain name in a log line.
const maxLoggedDomain = 64

// clip returns s cut to at most n bytes, marked with "…" when cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// logName is how a user name the client sent appears in the log: the
// users file's spelling when it names a user (NTLM names are
// case-insensitive), "<unknown>" otherwise, since a password typed into
// the user field must not end up in the log.
func (s *Server) logName(name string) string {
	if name == "" {
		return ""
	}
	if s.users != nil {
		if s.users.Has(name) {
			return name
		}
		for _, n := range s.users.Names() {
			if strings.EqualFold(n, name) {
				return n
			}
		}
	}
	return "<unknown>"
}

// basic checks the credentials c of a Basic logon.
func (s *Server) basic(r *http.Request, c basicCredentials) (string, error) {
	if !c.ok {
		return "", errBadCredentials
	}
	if r.TLS == nil && !s.AllowUnencrypted {
		return c.name, errBasicUnencrypted
	}
	if s.users == nil || s.users.Verify(c.name, c.password) != nil {
		return c.name, errBadCredentials
	}
	return c.name, nil
}

// challenge answers 401 with the schemes we accept, as Windows does for any
// request that is not an authenticated one, and logs why without secrets. A
// handshake leg that continues is answered with its token only.
func (s *Server) challenge(w http.ResponseWriter, r *http.Request, why error, start time.Time) {
	var cont *continueAuth
	if errors.As(why, &cont) {
		w.Header().Set("WWW-Authenticate", cont.header)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusUnauthorized)
		s.Logger.Debug("wsman authentication continues", zap.String("remote", remoteHost(r)))
		return
	}
	if !errors.Is(why, errRateLimited) {
		if r.TLS != nil || s.AllowUnencrypted {
			w.Header().Add("WWW-Authenticate", `Basic realm="WSMAN"`)
		}
		w.Header().Add("WWW-Authenticate", "Negotiate")
		if s.Auth.Keytab != nil {
			w.Header().Add("WWW-Authenticate", "Kerberos")
		}
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
	level := s.Logger.Info
	if !errors.Is(why, errNoCredentials) {
		level = s.Logger.Warn
	}
	name, _, _ := r.BasicAuth()
	domain := ""
	var logon *ntlm.LogonError
	if errors.As(why, &logon) {
		name, domain = logon.User, clip(logon.Domain, maxLoggedDomain)
	}
	level("wsman authentication refused",
		zap.String("remote", remoteHost(r)),
		zap.String("user", s.logName(name)),
		zap.String("domain", domain),
		zap.Int("status", http.StatusUnauthorized),
		zap.Duration("duration", s.Now().Sub(start)),
		zap.String("reason", why.Error()))
}

// openTransport runs between authentication and parsing, for authenticated
// requests: it caps the user's requests in flight, unseals an encrypted
// body (and arranges for the reply to be sealed), answers the empty POST
// that sets up an encrypted session, and sends a pending final Negotiate
// token. It returns the writer and body to go on with and a function to
// call when the reply is written, or a nil function when it has answered.
func (s *Server) openTransport(w http.ResponseWriter, r *http.Request, body []byte, user string, start time.Time) (http.ResponseWriter, []byte, func()) {
	a := &s.authState
	a.mu.Lock()
	if a.inflight[user] >= s.Auth.MaxRequestsPerUser {
		a.mu.Unlock()
		s.writeFault(w, nil, &protocolError{kind: faultQuotaLimit,
			message: "The user has too many requests in progress."}, start, user, r)
		return w, body, nil
	}
	a.inflight[user]++
	a.mu.Unlock()
	release := func() {
		a.mu.Lock()
		if a.inflight[user]--; a.inflight[user] <= 0 {
			delete(a.inflight, user)
		}
		a.mu.Unlock()
	}
	cs := connFrom(r)
	if cs != nil {
		if v := cs.takeReply(); v != "" {
			w.Header().Set("WWW-Authenticate", v)
		}
	}
	// bound: the user comes from the connection's Negotiate or Kerberos
	// logon rather than from this request's Basic credentials.
	var sess sealer
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	bound := cs != nil && !strings.EqualFold(scheme, "basic")
	if bound {
		sess = cs.sealer()
	}
	if ct := r.Header.Get("Content-Type"); mayBeMultipart(ct) && isEncrypted(ct) {
		if sess == nil {
			release()
			s.challenge(w, r, fmt.Errorf("%w: no sealing session on this connection", errEncryption), start)
			return w, body, nil
		}
		plain, _, err := decodeEncrypted(ct, body, sess)
		if err != nil {
			// A forged or damaged message on a logged-on connection ends
			// that logon; it is no guess at a password, so the limiter,
			// which would also refuse other logons from the address, does
			// not count it.
			cs.drop()
			release()
			s.challenge(w, r, fmt.Errorf("user %q: %w", user, err), start)
			return w, body, nil
		}
		sw := newSealingWriter(w, sess)
		return sw, plain, func() {
			if err := sw.flush(); err != nil {
				s.Logger.Warn("sealed reply not sent", zap.String("remote", remoteHost(r)), zap.Error(err))
			}
			release()
		}
	}
	if len(body) == 0 && bound {
		// pywinrm and PowerShell set up a Negotiate session with an empty
		// POST; with Basic an empty body is just a malformed request.
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		release()
		return w, body, nil
	}
	if bound && r.TLS == nil && !s.AllowUnencrypted {
		release()
		s.challenge(w, r, fmt.Errorf("user %q: %w", user, errUnencrypted), start)
		return w, body, nil
	}
	return w, body, release
}

// mayBeMultipart reports whether contentType may name a multipart type, the
// only kind isEncrypted accepts: it spares the plain SOAP request the
// parse of its media type.
func mayBeMultipart(contentType string) bool {
	const prefix = "multipart/"
	ct := strings.TrimLeftFunc(contentType, unicode.IsSpace) // as mime.ParseMediaType trims
	return len(ct) >= len(prefix) && strings.EqualFold(ct[:len(prefix)], prefix)
}

// authorize refuses what the user's role does not allow: a reader may
// Identify, Get and Enumerate (with Pull and Release), nothing else.
func (s *Server) authorize(req *request) error {
	if isIdentify(req.env) {
		return nil
	}
	role := users.RoleAdmin
	if s.users != nil {
		r, err := s.users.Role(req.user)
		if err != nil {
			return &protocolError{kind: faultAccessDenied, message: "Access is denied.", err: err}
		}
		role = r
	}
	if role == users.RoleAdmin {
		return nil
	}
	switch req.header().Action {
	case soap.ActionGet, soap.ActionEnumerate, soap.ActionPull, soap.ActionRelease:
		return nil
	}
	return &protocolError{kind: faultAccessDenied,
		message: fmt.Sprintf("Access is denied: the user %s has the role %s, which may not run %s.", req.user, role, req.header().Action)}
}
