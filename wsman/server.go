package wsman

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
	"github.com/replicad/replicad/users"
)

// Limits bound what one client can make the server hold. The zero value of a
// field means its default.
type Limits struct {
	// MaxBodyBytes caps an authenticated request body (default 4 MiB).
	MaxBodyBytes int64
	// MaxAnonymousBodyBytes caps a request body before authentication, which
	// can only be an Identify (default 16 KiB). Nothing larger is read
	// before a logon has succeeded: the body of a Negotiate handshake leg
	// that continues is discarded unread (preauth.go).
	MaxAnonymousBodyBytes int64
	// MaxEnvelopeSize caps every reply in bytes, whatever the client asks
	// (default 512000, Windows' MaxEnvelopeSizekb of 500).
	MaxEnvelopeSize int
	// MaxEnumerationsPerUser caps open enumeration contexts per user (default 64).
	MaxEnumerationsPerUser int
	// EnumerationExpiry is how long an idle enumeration context lives (default 10 minutes).
	EnumerationExpiry time.Duration
	// EnumerationLimits cap the open enumeration contexts of all users together (enumerate.go).
	EnumerationLimits
	// MaxElements caps the items of one Enumerate or Pull reply (default 1000).
	MaxElements int
	// MaxConcurrentRequests caps authenticated requests served at once
	// (default 64); more are answered with a QuotaLimit fault.
	MaxConcurrentRequests int
	// MaxUnauthenticatedRequests caps the unauthenticated work done at
	// once, a budget apart from MaxConcurrentRequests: logons being checked
	// and anonymous Identify requests being parsed (default 16). A request
	// waits up to PreAuthTimeout for a slot, then gets QuotaLimit.
	MaxUnauthenticatedRequests int
	// PreAuthTimeout bounds reading a request body before its logon has
	// succeeded, and waiting for a slot of the unauthenticated budget or a
	// ticket of the failed-logon limiter (default 10 s).
	PreAuthTimeout time.Duration
	// ReadTimeout bounds reading an authenticated request's body (default
	// 2 minutes).
	ReadTimeout time.Duration
	// DefaultOperationTimeout applies when a request has no
	// wsman:OperationTimeout (default 60 s, as Windows).
	DefaultOperationTimeout time.Duration
}

func (l *Limits) setDefaults() {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxBodyBytes, 4<<20)
	def(&l.MaxAnonymousBodyBytes, 16<<10)
	defInt(&l.MaxEnvelopeSize, 512000)
	defInt(&l.MaxEnumerationsPerUser, 64)
	defInt(&l.MaxElements, 1000)
	defInt(&l.MaxConcurrentRequests, 64)
	defInt(&l.MaxUnauthenticatedRequests, 16)
	if l.PreAuthTimeout <= 0 {
		l.PreAuthTimeout = 10 * time.Second
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = 2 * time.Minute
	}
	if l.EnumerationExpiry <= 0 {
		l.EnumerationExpiry = 10 * time.Minute
	}
	if l.DefaultOperationTimeout <= 0 {
		l.DefaultOperationTimeout = 60 * time.Second
	}
}

// Server is the WS-Management endpoint. Set its exported fields before the
// first request; it is then safe for concurrent use.
type Server struct {
	// Logger receives one access line per request and the details of every
	// fault. Default: no logging.
	Logger *zap.Logger
	// Limits bound request sizes and per-user state.
	Limits Limits
	// AllowUnencrypted permits Basic authentication over plain HTTP. Without
	// it Basic is accepted only over TLS, as Windows' AllowUnencrypted=false.
	AllowUnencrypted bool
	// ProductVersion is answered by Identify.
	ProductVersion string
	// Now returns the current time; tests may replace it.
	Now func() time.Time
	// Machine names this host in WSManFault details (default: the host name).
	Machine string

	// Auth configures Negotiate/NTLM/Kerberos logons and their limits (auth.go).
	Auth AuthConfig
	// authState is auth.go's mutable state.
	authState authState

	registry *cimmodel.Registry
	users    *users.File
	enums    *enumerations
	slots    chan struct{}
}

// NewServer returns a server that answers from registry and authenticates
// against the users file u.
func NewServer(registry *cimmodel.Registry, u *users.File) *Server {
	host, _ := os.Hostname()
	return &Server{
		Logger:         zap.NewNop(),
		ProductVersion: "replicad 0.1",
		Now:            time.Now,
		registry:       registry,
		users:          u,
		Machine:        host,
	}
}

// init finishes construction on first use, after the caller set the fields.
func (s *Server) init() {
	if s.enums != nil {
		return
	}
	s.Limits.setDefaults()
	s.enums = newEnumerations(s.Limits, func() time.Time { return s.Now() })
	s.slots = make(chan struct{}, s.Limits.MaxConcurrentRequests)
}

// Handler returns an http.Handler for the endpoint; call it once after the
// fields are set and before serving.
func (s *Server) Handler() http.Handler {
	s.init()
	return s
}

// request is one call on its way through serve.
type request struct {
	ctx         context.Context
	user        string
	env         *soap.Envelope
	maxEnvelope int
	remote      string
	// encoded is the encoding of encodedMsg that sized an enumeration
	// reply (enumerate.go's fill): the reply itself, not encoded again,
	// in a pooled buffer that serveEnvelope releases once it is sent.
	encoded    soap.Text
	encodedMsg *soap.Message
}

func (r *request) header() *soap.Header { return &r.env.Header }

// ServeHTTP answers one HTTP request on /wsman. It is the only place that
// writes a fault.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.init()
	start := s.Now()
	if len(r.TransferEncoding) > 0 {
		// Go's server drops the Content-Length of a chunked request before
		// the handler sees it, so a request that had both (a smuggling
		// attempt through a proxy that reads the other one) cannot be told
		// apart: no WinRM client sends chunked requests, so every one is
		// answered and then its connection closed.
		w.Header().Set("Connection", "close")
	}
	if r.URL.Path != "/wsman" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Before the logon has succeeded the request may take only a short
	// time to send (preauth.go); the deadline is lifted once it has.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.Limits.PreAuthTimeout))
	user, authErr := s.authenticate(r)
	if authErr != nil {
		s.unauthenticated(w, r, authErr, start)
		return
	}
	_ = rc.SetReadDeadline(time.Now().Add(s.Limits.ReadTimeout))
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		discardBody(w, r)
		s.writeFault(w, nil, &protocolError{kind: faultQuotaLimit}, start, user, r)
		return
	}
	body, err := readBody(w, r, s.Limits.MaxBodyBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeFault(w, nil, &protocolError{kind: faultEncodingLimit,
				message: "The request body is larger than the service accepts.", err: err}, start, user, r)
			return
		}
		s.Logger.Info("request body unreadable", zap.String("remote", r.RemoteAddr), zap.Error(err))
		return
	}

	// Session encryption and per-user limits (auth.go, encryption.go):
	// unseal the body; the reply is sealed when finish runs.
	w, body, finish := s.openTransport(w, r, body, user, start)
	if finish == nil {
		return
	}
	defer finish()

	env, parseErr := soap.Parse(body)
	if parseErr != nil {
		// Windows relates even a fault about the envelope to the request
		// when its MessageID could be read.
		var req *soap.Envelope
		if id := soap.RequestMessageID(parseErr); id != "" {
			req = &soap.Envelope{Header: soap.Header{MessageID: id}, Encoding: soap.UTF8}
		}
		s.writeFault(w, req, parseErr, start, user, r)
		return
	}
	if env.Header.MessageID == "" && !isIdentify(env) {
		// [MS-WSMV] 3.1.4.1.5; Identify alone goes without addressing headers.
		s.writeFault(w, env, protoErr(faultInvalidHeader,
			"The WS-Management service cannot process the request. The request has no wsa:MessageID."), start, user, r)
		return
	}
	s.serveEnvelope(w, r, env, user, start)
}

// bodyPrealloc is the largest announced body read into a buffer of its
// length at once; a larger one grows as it arrives, so that a client cannot
// make the server hold more than it has sent.
const bodyPrealloc = 64 << 10

// readBody reads r's body, at most max bytes (beyond: an error matching
// *http.MaxBytesError); a small body of announced length goes into a buffer
// of that length instead of a growing one.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, max)
	if n := r.ContentLength; n > 0 && n <= min(max, bodyPrealloc) {
		buf := make([]byte, n)
		if _, err := io.ReadFull(body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(body)
}

// serveEnvelope runs a parsed request and writes its reply or fault.
func (s *Server) serveEnvelope(w http.ResponseWriter, r *http.Request, env *soap.Envelope, user string, start time.Time) {
	req := &request{user: user, env: env, remote: r.RemoteAddr, maxEnvelope: s.Limits.MaxEnvelopeSize}
	if m := env.Header.MaxEnvelopeSize; m > 0 && m < req.maxEnvelope {
		req.maxEnvelope = m
	}
	timeout := env.Header.OperationTimeout
	if timeout <= 0 {
		timeout = s.Limits.DefaultOperationTimeout
	}
	ctx := newOpContext(r.Context(), timeout)
	defer ctx.end()
	req.ctx = ctx

	reply, err := s.serve(req)
	if err != nil {
		s.writeFault(w, env, err, start, user, r)
		return
	}
	out := req.encoded
	req.encoded = soap.Text{}
	// The reply is written from the buffer it was rendered in, which is
	// reused once the write has returned (a writer keeps no slice it was
	// given).
	defer func() { out.Release() }()
	if out.Bytes() == nil || req.encodedMsg != reply {
		out.Release()
		out, _, err = reply.Render(env.Encoding, math.MaxInt)
	}
	if err == nil && len(out.Bytes()) > req.maxEnvelope {
		err = &protocolError{kind: faultEncodingLimit,
			message: "The reply is larger than the MaxEnvelopeSize of the request."}
	}
	if err != nil {
		s.writeFault(w, env, err, start, user, r)
		return
	}
	w.Header().Set("Content-Type", env.Encoding.ContentType())
	// With its length the reply goes out in one write, not chunked (Go
	// chunks a body larger than 2 KiB whose length it does not know).
	w.Header().Set("Content-Length", strconv.Itoa(len(out.Bytes())))
	if n := len(out.Bytes()); n > gatherAbove && n <= gatherMax && r.TLS == nil {
		// One write of header and reply, not two (connlimit.go's gather).
		// Only the plain reply of a plain connection: a sealed one is
		// written by openTransport's writer, in another length.
		if cs := connFrom(r); cs != nil && !sealed(w) {
			if lc, ok := cs.conn.(*limitedConn); ok {
				lc.gather(n)
			}
		}
	}
	w.WriteHeader(http.StatusOK)
	w.Write(out.Bytes())
	// Check first: the fields are built only for a line that is written
	// (the daemon's production logger samples this line).
	if ce := s.Logger.Check(zap.InfoLevel, "wsman"); ce != nil {
		ce.Write(
			zap.String("action", env.Header.Action),
			zap.String("resourceURI", env.Header.ResourceURI),
			zap.String("user", user),
			zap.String("remote", r.RemoteAddr),
			zap.Int("status", http.StatusOK),
			zap.Duration("duration", s.Now().Sub(start)),
			zap.String("messageID", env.Header.MessageID),
			zap.String("replyID", reply.MessageID()))
	}
}

// sealed reports whether w seals what is written to it (openTransport).
func sealed(w http.ResponseWriter) bool {
	_, ok := w.(*sealingWriter)
	return ok
}

// writeFault sends err as a SOAP fault with HTTP 500 and logs it once:
// Receiver faults at error level with the full chain, Sender faults at info.
func (s *Server) writeFault(w http.ResponseWriter, env *soap.Envelope, err error, start time.Time, user string, r *http.Request) {
	fault, kind := s.buildFault(err)
	var hdr soap.Header
	enc := soap.UTF8
	if env != nil {
		hdr = env.Header
		enc = env.Encoding
	}
	msg := fault.Message(&hdr)
	out, encErr := msg.Bytes(enc)
	if encErr != nil {
		s.Logger.Error("encode fault", zap.Error(encErr))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	fields := []zap.Field{
		zap.String("action", hdr.Action),
		zap.String("resourceURI", hdr.ResourceURI),
		zap.String("user", user),
		zap.String("remote", r.RemoteAddr),
		zap.Int("status", http.StatusInternalServerError),
		zap.String("fault", fault.Subcode.Local),
		zap.String("faultCode", fault.Code),
		zap.Duration("duration", s.Now().Sub(start)),
		zap.String("messageID", hdr.MessageID),
		zap.String("replyID", msg.MessageID()),
		zap.Error(err),
	}
	if (kind == faultInternal || fault.Code == soap.CodeReceiver) && kind != faultRefused {
		s.Logger.Error("wsman fault", fields...)
	} else {
		s.Logger.Info("wsman fault", fields...)
	}
	w.Header().Set("Content-Type", enc.ContentType())
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(out)
}

// serve runs one parsed, authenticated request and returns its reply.
func (s *Server) serve(req *request) (*soap.Message, error) {
	h := req.header()
	if err := s.authorize(req); err != nil { // roles (auth.go)
		return nil, err
	}
	if isIdentify(req.env) {
		return s.identify(req)
	}
	switch h.Action {
	case soap.ActionGet:
		if isClassResource(h.ResourceURI) {
			return s.getClass(req) // class.go
		}
		return s.get(req)
	case soap.ActionPut:
		return s.put(req)
	case soap.ActionDelete:
		return s.delete(req)
	case soap.ActionEnumerate:
		if isClassResource(h.ResourceURI) {
			return s.enumerateClasses(req) // class.go
		}
		return s.enumerate(req)
	case soap.ActionPull:
		return s.pull(req)
	case soap.ActionRelease:
		return s.release(req)
	case "":
		return nil, protoErr(faultActionNotSupported, "The request has no wsa:Action header.")
	}
	if method, ok := invokedMethod(h); ok {
		if classInvocation(h) {
			return s.invokeOnClass(req, method) // class.go: Invoke-CimMethod -ClassName
		}
		return s.invoke(req, method)
	}
	return nil, protoErr(faultActionNotSupported, "The action %q is not supported by the service.", h.Action)
}

// invokedMethod reports the method named by an Invoke action, which is the
// resource URI followed by "/" and the method name (DSP0227 §9).
func invokedMethod(h *soap.Header) (string, bool) {
	uri := strings.TrimSuffix(h.ResourceURI, "/")
	if uri == "" || len(h.Action) <= len(uri)+1 {
		return "", false
	}
	if !strings.EqualFold(h.Action[:len(uri)], uri) || h.Action[len(uri)] != '/' {
		return "", false
	}
	method := h.Action[len(uri)+1:]
	if method == "" || strings.ContainsAny(method, "/?#") {
		return "", false
	}
	return method, true
}

// isIdentify reports whether env is a wsmid:Identify request.
func isIdentify(env *soap.Envelope) bool {
	return env != nil && env.Body != nil && env.Body.Tag == "Identify" && env.Body.NamespaceURI() == soap.NSIdentity
}

// child returns the first child element of e with the given namespace and
// local name, or nil.
func child(e *etree.Element, ns, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for c := range e.ChildElementsSeq() { // no slice made per call
		if c.Tag == local && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}
