package wsman

import (
	"errors"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Authentication outcomes other than success. They never reach the client:
// every one is answered with the same 401.
var (
	errNoCredentials    = errors.New("wsman: no credentials")
	errBadCredentials   = errors.New("wsman: wrong user name or password")
	errUnsupportedAuth  = errors.New("wsman: unsupported authentication scheme")
	errBasicUnencrypted = errors.New("wsman: Basic authentication over unencrypted HTTP is disabled (see --allow-unencrypted)")
)

// authenticate returns the user named by the request's credentials. Only
// Basic is offered for now; the password is never logged.
func (s *Server) authenticate(r *http.Request) (string, error) {
	if r.Header.Get("Authorization") == "" {
		return "", errNoCredentials
	}
	name, password, ok := r.BasicAuth()
	if !ok {
		return "", errUnsupportedAuth
	}
	if r.TLS == nil && !s.AllowUnencrypted {
		return name, errBasicUnencrypted
	}
	if s.users == nil || s.users.Verify(name, password) != nil {
		return name, errBadCredentials
	}
	return name, nil
}

// challenge answers 401 with the schemes we accept, as Windows does for any
// request that is not an authenticated one, and logs why without secrets.
func (s *Server) challenge(w http.ResponseWriter, r *http.Request, why error, start time.Time) {
	if r.TLS != nil || s.AllowUnencrypted {
		w.Header().Add("WWW-Authenticate", `Basic realm="WSMAN"`)
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	level := s.Logger.Info
	if errors.Is(why, errBadCredentials) || errors.Is(why, errBasicUnencrypted) {
		level = s.Logger.Warn
	}
	name, _, _ := r.BasicAuth()
	level("wsman authentication refused",
		zap.String("remote", host),
		zap.String("user", name),
		zap.Int("status", http.StatusUnauthorized),
		zap.Duration("duration", s.Now().Sub(start)),
		zap.String("reason", why.Error()))
}
