package wsman

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/replicad/replicad/soap"
)

// Work before authentication. A client without a logon may make the
// server hold little: its headers (http.Server.ReadHeaderTimeout and
// MaxHeaderBytes), at most Limits.MaxAnonymousBodyBytes of body, read
// within Limits.PreAuthTimeout, and a slot of the unauthenticated budget
// (Limits.MaxUnauthenticatedRequests) while its logon is checked or its
// Identify parsed. Authenticated requests have their own slots
// (Limits.MaxConcurrentRequests), so a flood of anonymous connections
// cannot keep an administrator from logging on. An NTLM NEGOTIATE leg
// needs no body: whatever it carries is discarded unread, and an
// AUTHENTICATE leg's body is read only once the token has been verified.

// maxDiscardBytes is how much of an unread body is drained to keep the
// connection for the next request (a Negotiate logon is bound to it):
// go-ntlmssp sends the whole request again on every leg. It is streamed
// through a small buffer, never held; larger bodies close the connection
// after the answer, as net/http does past the same size.
const maxDiscardBytes = 256 << 10

// discardBody drains up to maxDiscardBytes of the request body within the
// read deadline; when more is left, the connection is closed after the
// answer.
func discardBody(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.ContentLength == 0 {
		return
	}
	n, err := io.CopyN(io.Discard, r.Body, maxDiscardBytes+1)
	if n > maxDiscardBytes || (err != nil && !errors.Is(err, io.EOF)) {
		w.Header().Set("Connection", "close")
	}
}

// unauthenticated answers a request whose logon did not succeed (yet): a
// handshake leg with its token, an Identify sent without credentials and
// with the WSMANIDENTIFY: unauthenticated header with the answer, and
// everything else with a 401 challenge. Only such an Identify's body is
// read, up to Limits.MaxAnonymousBodyBytes.
func (s *Server) unauthenticated(w http.ResponseWriter, r *http.Request, authErr error, start time.Time) {
	var cont *continueAuth
	switch {
	case errors.As(authErr, &cont), errors.Is(authErr, errRateLimited):
		discardBody(w, r)
		s.challenge(w, r, authErr, start)
		return
	case errors.Is(authErr, errCheckingBusy):
		discardBody(w, r)
		s.writeFault(w, nil, &protocolError{kind: faultQuotaLimit,
			message: "The service is checking too many logons; retry later.", err: authErr}, start, "", r)
		return
	}
	// Windows answers an Identify without credentials only when the client
	// asks for it with "WSMANIDENTIFY: unauthenticated" ([MS-WSMV]
	// 3.1.4.1.23); any other request without a logon gets the 401 challenge,
	// its body unread.
	if !errors.Is(authErr, errNoCredentials) || !unauthenticatedIdentify(r) {
		discardBody(w, r)
		s.challenge(w, r, authErr, start)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.Limits.MaxAnonymousBodyBytes))
	if err != nil || len(body) == 0 {
		s.challenge(w, r, authErr, start)
		return
	}
	// Parsing is work too: it takes a slot of the unauthenticated budget.
	select {
	case s.authState.checking <- struct{}{}:
		defer func() { <-s.authState.checking }()
	case <-time.After(s.Limits.PreAuthTimeout):
		s.writeFault(w, nil, &protocolError{kind: faultQuotaLimit,
			message: "The service is busy; retry later.", err: errCheckingBusy}, start, "", r)
		return
	case <-r.Context().Done():
		return
	}
	// Only Identify may go unauthenticated (DSP0226 §11, MS-WSMV 3.1.4.16).
	env, parseErr := soap.Parse(body)
	if parseErr != nil || !isIdentify(env) {
		s.challenge(w, r, authErr, start)
		return
	}
	s.serveEnvelope(w, r, env, "", start)
}

// identifyHeader is the HTTP header with which a client asks for an
// Identify without authentication ([MS-WSMV] 3.1.4.1.23).
const identifyHeader = "WSMANIDENTIFY"

// unauthenticatedIdentify reports whether r carries "WSMANIDENTIFY:
// unauthenticated" (compared case-insensitively, as HTTP tokens are).
func unauthenticatedIdentify(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get(identifyHeader)), "unauthenticated")
}
