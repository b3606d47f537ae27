package wsman

import (
	"errors"
	"net/http"
	"strings"
)

// Logons for other front ends. The CIM-XML endpoint (package cimxml) serves
// the same users with the same rules as /wsman, through the one
// authenticator below rather than a copy of it: Basic only (the scheme
// every CIM-XML client sends), over TLS or, when AllowUnencrypted, plain
// HTTP; the same users file and the same failed-logon limiter, so a guess
// made on one endpoint counts against the same (source, user name) pair as
// one made on the other; and the same budget of logons being checked
// (Limits.MaxUnauthenticatedRequests).

// ErrNotBasic is returned by [Server.AuthenticateBasic] for a request
// whose Authorization header is absent or names another scheme.
var ErrNotBasic = errors.New("wsman: Basic credentials required")

// AuthenticateBasic checks the Basic credentials of r as a logon to /wsman
// would be checked and returns the user name. Every failure is one to
// answer with 401 and a Basic challenge, except [LogonBusy] ones (the
// budget of logons being checked is spent: answer 503). The errors never
// carry the password.
func (s *Server) AuthenticateBasic(r *http.Request) (string, error) {
	s.init()
	scheme, _, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "basic") {
		return "", ErrNotBasic
	}
	return s.authenticate(r)
}

// LogonBusy reports whether err from [Server.AuthenticateBasic] means the
// logon was not checked because too many are being checked at once.
func LogonBusy(err error) bool { return errors.Is(err, errCheckingBusy) }

// LogName is how a user name a client sent may appear in a log line: the
// users file's spelling when it names a user, "<unknown>" otherwise (a
// password typed into the user field must not reach the log).
func (s *Server) LogName(name string) string { return s.logName(name) }
