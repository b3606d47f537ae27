package wsman

import (
	"errors"
	"fmt"
	"net/http"
)

// Client certificate logons: WS-Management's https/mutual security profile,
// as Windows' WinRM and pywinrm's certificate transport use it. The client
// presents a certificate in the TLS handshake and sends the Authorization
// header certificateScheme (auth.go; no credentials in it). The HTTPS listener requests a
// certificate without verifying it (tls.RequestClientCert): which
// certificates log on depends on the users file's mappings, checked here
// per request (users.File.CertificateUser: validity period, the Client
// Authentication extended key usage, and a mapping by fingerprint, or by
// issuer signature plus UPN). The TLS handshake proves the client holds
// the certificate's key. A certificate logon guesses no password, so the
// failed-logon limiter does not count it.

// Refusals of certificate logons; like every refusal they reach the client
// as a 401 only.
var (
	errCertOverHTTP = errors.New("wsman: client certificate logon over plain HTTP")
	errNoClientCert = errors.New("wsman: client certificate logon without a client certificate in the TLS handshake")
)

// certificateLogon returns the user the request's TLS client certificate
// maps to.
func (s *Server) certificateLogon(r *http.Request) (string, error) {
	if r.TLS == nil {
		return "", errCertOverHTTP
	}
	if len(r.TLS.PeerCertificates) == 0 {
		return "", errNoClientCert
	}
	if s.users == nil {
		return "", errBadCredentials
	}
	leaf := r.TLS.PeerCertificates[0]
	user, err := s.users.CertificateUser(r.TLS.PeerCertificates, s.Now())
	if err != nil {
		return "", fmt.Errorf("%w: client certificate %q (issuer %q): %w", errBadCredentials,
			clip(leaf.Subject.String(), maxLoggedDomain), clip(leaf.Issuer.String(), maxLoggedDomain), err)
	}
	return user, nil
}
