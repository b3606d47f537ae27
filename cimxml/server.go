package cimxml

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/users"
)

// Path is the HTTP path of the endpoint (DSP0200 §7.2 leaves it to the
// server; /cimom is what every client defaults to).
const Path = "/cimom"

// Authenticator checks a request's Basic credentials: wsman.Server, so
// that both endpoints serve the same users under the same rules and share
// one failed-logon limiter.
type Authenticator interface {
	// AuthenticateBasic returns the logged-on user or why not.
	AuthenticateBasic(r *http.Request) (string, error)
	// LogName is how a user name a client sent may appear in the log.
	LogName(name string) string
}

// Limits bound what one client can make the server hold. The zero value of
// a field means its default.
type Limits struct {
	// MaxBodyBytes caps an authenticated request body (default 4 MiB).
	// Nothing of a body is read before its logon has succeeded.
	MaxBodyBytes int64
	// PreAuthTimeout bounds reading a request before its logon has
	// succeeded (default 10 s); ReadTimeout an authenticated body (default
	// 2 minutes).
	PreAuthTimeout time.Duration
	ReadTimeout    time.Duration
	// MaxConcurrentRequests caps authenticated requests served at once
	// (default 64), MaxRequestsPerUser one user's (default 16, as
	// wsman.AuthConfig's); more get 503.
	MaxConcurrentRequests int
	MaxRequestsPerUser    int
	// OperationTimeout bounds one operation (default 60 s).
	OperationTimeout time.Duration
	// MaxEnumerationsPerUser and MaxEnumerations cap open pull enumeration
	// contexts per user and in all (defaults 64 and 1024); each expires
	// after EnumerationExpiry idle (default 10 minutes, or the client's
	// shorter OperationTimeout).
	MaxEnumerationsPerUser int
	MaxEnumerations        int
	EnumerationExpiry      time.Duration
	// MaxObjectCount caps the items of one pull answer (default 1000).
	MaxObjectCount int
}

func (l *Limits) setDefaults() {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = 4 << 20
	}
	if l.PreAuthTimeout <= 0 {
		l.PreAuthTimeout = 10 * time.Second
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = 2 * time.Minute
	}
	if l.MaxConcurrentRequests <= 0 {
		l.MaxConcurrentRequests = 64
	}
	if l.MaxRequestsPerUser <= 0 {
		l.MaxRequestsPerUser = 16
	}
	if l.OperationTimeout <= 0 {
		l.OperationTimeout = 60 * time.Second
	}
	if l.MaxEnumerationsPerUser <= 0 {
		l.MaxEnumerationsPerUser = 64
	}
	if l.MaxEnumerations <= 0 {
		l.MaxEnumerations = 1024
	}
	if l.EnumerationExpiry <= 0 {
		l.EnumerationExpiry = 10 * time.Minute
	}
	if l.MaxObjectCount <= 0 {
		l.MaxObjectCount = 1000
	}
}

// Server is the CIM-XML endpoint. Set its exported fields before Handler;
// it is then safe for concurrent use.
type Server struct {
	// Logger receives one access line per request and every error's detail.
	Logger *zap.Logger
	Limits Limits
	// LogonBusy reports an authentication error that means "not checked,
	// too many logons being checked" (wsman.LogonBusy): answered 503, not 401.
	LogonBusy func(error) bool
	// Host is the HOST of the instance paths in answers (default: the host name).
	Host string
	// Now returns the current time; tests may replace it.
	Now func() time.Time

	registry *cimmodel.Registry
	auth     Authenticator
	users    *users.File

	once  sync.Once
	slots chan struct{}
	enums *enumerations

	mu       sync.Mutex
	inflight map[string]int // requests in progress per user
}

// NewServer returns a server answering from registry, logging users on
// through auth and reading their roles from u (nil: everyone is admin).
func NewServer(registry *cimmodel.Registry, auth Authenticator, u *users.File) *Server {
	host, _ := os.Hostname()
	return &Server{Logger: zap.NewNop(), Host: host, Now: time.Now, registry: registry, auth: auth, users: u}
}

func (s *Server) init() {
	s.once.Do(func() {
		s.Limits.setDefaults()
		s.slots = make(chan struct{}, s.Limits.MaxConcurrentRequests)
		s.inflight = map[string]int{}
		s.enums = newEnumerations(s.Limits, func() time.Time { return s.Now() })
		if s.LogonBusy == nil {
			s.LogonBusy = func(error) bool { return false }
		}
	})
}

// Handler returns the endpoint's http.Handler; call it once the fields are set.
func (s *Server) Handler() http.Handler {
	s.init()
	return s
}

// maxDiscardBytes is how much of an unread body is drained to keep the
// connection; beyond it the connection is closed after the answer.
const maxDiscardBytes = 64 << 10

func discardBody(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.ContentLength == 0 {
		return
	}
	n, err := io.CopyN(io.Discard, r.Body, maxDiscardBytes+1)
	if n > maxDiscardBytes || (err != nil && !errors.Is(err, io.EOF)) {
		w.Header().Set("Connection", "close")
	}
}

// ServeHTTP answers one CIM operation request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.init()
	start := s.Now()
	if len(r.TransferEncoding) > 0 {
		w.Header().Set("Connection", "close")
	}
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost && r.Method != "M-POST" {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.Limits.PreAuthTimeout))
	user, err := s.auth.AuthenticateBasic(r)
	if err != nil {
		s.refuse(w, r, err, start)
		return
	}
	_ = rc.SetReadDeadline(time.Now().Add(s.Limits.ReadTimeout))
	if op := headerValue(r, "CIMOperation"); !strings.EqualFold(op, "MethodCall") {
		discardBody(w, r)
		s.writeRequestError(w, r, user, start, badRequest("unsupported-operation", nil, "CIMOperation header %q", op))
		return
	}
	release, ok := s.admit(user)
	if !ok {
		discardBody(w, r)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many requests in progress", http.StatusServiceUnavailable)
		s.Logger.Warn("cimxml request refused: too many in progress", zap.String("user", user), zap.String("remote", r.RemoteAddr))
		return
	}
	defer release()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.Limits.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			w.Header().Set("Connection", "close")
			s.writeRequestError(w, r, user, start, badRequest("request-not-valid", err, "the body is larger than %d bytes", s.Limits.MaxBodyBytes))
			return
		}
		s.Logger.Info("cimxml request body unreadable", zap.String("remote", r.RemoteAddr), zap.Error(err))
		return
	}
	req, err := ParseRequest(body)
	if err != nil {
		var re *RequestError
		if !errors.As(err, &re) {
			re = badRequest("request-not-valid", err, "unreadable request")
		}
		s.writeRequestError(w, r, user, start, re)
		return
	}
	if m := headerValue(r, "CIMMethod"); m != "" && !strings.EqualFold(m, req.Method) {
		s.writeRequestError(w, r, user, start, badRequest("header-mismatch", nil, "CIMMethod %q names another method than %q", m, req.Method))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Limits.OperationTimeout)
	defer cancel()
	call := &call{ctx: ctx, user: user, req: req, remote: r.RemoteAddr}
	out, err := s.serve(call)
	s.writeResponse(w, r, call, out, err, start)
}

// admit takes a slot of the server's and of user's requests in progress,
// or reports that either is full.
func (s *Server) admit(user string) (release func(), ok bool) {
	select {
	case s.slots <- struct{}{}:
	default:
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight[user] >= s.Limits.MaxRequestsPerUser {
		<-s.slots
		return nil, false
	}
	s.inflight[user]++
	return func() {
		s.mu.Lock()
		if s.inflight[user]--; s.inflight[user] <= 0 {
			delete(s.inflight, user)
		}
		s.mu.Unlock()
		<-s.slots
	}, true
}

// headerValue returns an HTTP header's value, URL-decoded as DSP0200 §7.4
// writes CIMObject and CIMMethod; an M-POST's "NN-" prefixed form too.
func headerValue(r *http.Request, name string) string {
	v := r.Header.Get(name)
	if v == "" {
		for k, vs := range r.Header {
			if len(k) > 3 && k[2] == '-' && strings.EqualFold(k[3:], name) && len(vs) > 0 {
				v = vs[0]
			}
		}
	}
	if d, err := url.PathUnescape(v); err == nil {
		v = d
	}
	return strings.TrimSpace(v)
}

// refuse answers a request whose logon failed: 401 with a Basic challenge,
// or 503 when the logon was not checked for lack of capacity. The body is
// not read.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error, start time.Time) {
	discardBody(w, r)
	status := http.StatusUnauthorized
	if s.LogonBusy(err) {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	} else {
		w.Header().Set("WWW-Authenticate", `Basic realm="CIMOM"`)
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
	name, _, _ := r.BasicAuth()
	s.Logger.Info("cimxml authentication refused",
		zap.String("remote", r.RemoteAddr),
		zap.String("user", s.auth.LogName(name)),
		zap.Int("status", status),
		zap.Duration("duration", s.Now().Sub(start)),
		zap.String("reason", err.Error()))
}

// writeRequestError answers a request that is no readable CIM operation
// with HTTP 400 (501 for an unsupported protocol version or multiple
// requests) and the CIMError header (DSP0200 §7.3).
func (s *Server) writeRequestError(w http.ResponseWriter, r *http.Request, user string, start time.Time, re *RequestError) {
	status := http.StatusBadRequest
	switch re.CIMError {
	case "unsupported-protocol-version", "multiple-requests-unsupported", "unsupported-operation":
		status = http.StatusNotImplemented
	}
	w.Header().Set("CIMError", re.CIMError)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
	s.Logger.Info("cimxml request refused",
		zap.String("user", user), zap.String("remote", r.RemoteAddr),
		zap.Int("status", status), zap.String("cimError", re.CIMError),
		zap.Duration("duration", s.Now().Sub(start)), zap.Error(re))
}

// call is one parsed, authenticated operation on its way through serve.
type call struct {
	ctx    context.Context
	user   string
	req    *Request
	remote string
}

// writeResponse writes the answer to req: its result, or err as an
// <ERROR CODE DESCRIPTION>; both with HTTP 200, as DSP0200 §7.3 requires
// for an operation that was processed.
func (s *Server) writeResponse(w http.ResponseWriter, r *http.Request, c *call, result *etree.Element, err error, start time.Time) {
	req := c.req
	doc, rsp := newResponse(req)
	status := cimmodel.Status(0)
	if err != nil {
		var desc string
		var internal bool
		status, desc, internal = statusOf(err)
		e := rsp.CreateElement("ERROR")
		e.CreateAttr("CODE", itoa(int(status)))
		e.CreateAttr("DESCRIPTION", desc)
		fields := []zap.Field{zap.String("method", req.Method), zap.String("namespace", req.Namespace),
			zap.String("user", c.user), zap.String("remote", c.remote), zap.Int("cimStatus", int(status)), zap.Error(err)}
		if internal {
			s.Logger.Error("cimxml error", fields...)
		} else {
			s.Logger.Info("cimxml error", fields...)
		}
	} else if result != nil {
		for _, child := range result.ChildElements() {
			rsp.AddChild(child)
		}
	}
	// Empty elements are written with an end tag: sblim wbemcli's parser
	// does not read <PROPERTY …/>.
	doc.WriteSettings.CanonicalText = true
	doc.WriteSettings.CanonicalEndTags = true
	out, encErr := doc.WriteToBytes()
	if encErr != nil {
		s.Logger.Error("cimxml encode", zap.Error(encErr))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", `application/xml; charset="utf-8"`)
	w.Header().Set("CIMOperation", "MethodResponse")
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	s.Logger.Info("cimxml",
		zap.String("method", req.Method),
		zap.String("namespace", req.Namespace),
		zap.String("user", c.user),
		zap.String("remote", r.RemoteAddr),
		zap.Int("cimStatus", int(status)),
		zap.Duration("duration", s.Now().Sub(start)),
		zap.String("messageID", req.MessageID))
}

// newResponse returns the answer document for req and its
// IMETHODRESPONSE or METHODRESPONSE element.
func newResponse(req *Request) (*etree.Document, *etree.Element) {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="utf-8"`)
	cim := doc.CreateElement("CIM")
	cim.CreateAttr("CIMVERSION", "2.0")
	cim.CreateAttr("DTDVERSION", "2.0")
	msg := cim.CreateElement("MESSAGE")
	msg.CreateAttr("ID", req.MessageID)
	msg.CreateAttr("PROTOCOLVERSION", "1.0")
	tag := "METHODRESPONSE"
	if req.Intrinsic {
		tag = "IMETHODRESPONSE"
	}
	rsp := msg.CreateElement("SIMPLERSP").CreateElement(tag)
	rsp.CreateAttr("NAME", req.Method)
	return doc, rsp
}
