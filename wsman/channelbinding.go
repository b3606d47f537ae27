package wsman

import (
	"bytes"
	"crypto"
	"crypto/md5"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
)

// Channel binding (Extended Protection for Authentication). Over HTTPS a
// client that logs on with NTLM or Kerberos binds its logon to the TLS
// channel: it hashes the server certificate it saw (RFC 5929
// tls-server-end-point) into a gss_channel_bindings_struct and sends the
// MD5 of that inside the authenticated part of its token (NTLM's
// MsvAvChannelBindings, the Bnd field of Kerberos' authenticator checksum,
// RFC 4121 4.1.1.2). A logon relayed through someone else's TLS endpoint
// carries that endpoint's certificate and so fails. Over plain HTTP there
// is no channel to bind to; NTLM and Kerberos sealing protect the messages.

// ChannelBindingLevel is how strictly channel bindings are checked, with
// the meanings of Windows' CbtHardeningLevel.
type ChannelBindingLevel int

// The levels. The zero value is ChannelBindingRelaxed, Windows' default.
const (
	// ChannelBindingRelaxed checks a binding when the client sends one and
	// accepts clients that send none (CbtHardeningLevel "Relaxed").
	ChannelBindingRelaxed ChannelBindingLevel = iota
	// ChannelBindingNone checks nothing.
	ChannelBindingNone
	// ChannelBindingStrict refuses an HTTPS logon without a correct binding.
	ChannelBindingStrict
)

// String returns the level's flag spelling.
func (l ChannelBindingLevel) String() string {
	switch l {
	case ChannelBindingNone:
		return "none"
	case ChannelBindingStrict:
		return "strict"
	}
	return "relaxed"
}

// ParseChannelBindingLevel reads none, relaxed or strict.
func ParseChannelBindingLevel(s string) (ChannelBindingLevel, error) {
	switch s {
	case "none":
		return ChannelBindingNone, nil
	case "relaxed", "":
		return ChannelBindingRelaxed, nil
	case "strict":
		return ChannelBindingStrict, nil
	}
	return 0, fmt.Errorf("channel binding level %q: want none, relaxed or strict", s)
}

// MarshalText is String, for flag.TextVar.
func (l ChannelBindingLevel) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText is ParseChannelBindingLevel, for flag.TextVar.
func (l *ChannelBindingLevel) UnmarshalText(b []byte) error {
	v, err := ParseChannelBindingLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Outcomes of comparing a client's binding with ours.
var (
	errBindingAbsent   = errors.New("wsman: the client sent no channel binding")
	errBindingMismatch = errors.New("wsman: the channel binding is not that of this TLS channel (relayed logon, or a TLS proxy between)")
	errBindingUnknown  = errors.New("wsman: channel binding required but the server certificate is not known (AuthConfig.TLSCertificate)")
)

// tlsServerEndPoint returns the RFC 5929 tls-server-end-point channel
// binding data of cert: its DER hashed with the hash of its signature
// algorithm, SHA-256 when that is MD5 or SHA-1 (or has no hash of its own,
// as Ed25519).
func tlsServerEndPoint(cert *x509.Certificate) []byte {
	h := crypto.SHA256
	switch cert.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		h = crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		h = crypto.SHA512
	}
	d := h.New()
	d.Write(cert.Raw)
	return d.Sum(nil)
}

// channelBindingHash returns the MD5 of the gss_channel_bindings_struct
// (RFC 2744 3.11, in the little-endian layout SSPI and MIT use) with no
// addresses and application data "tls-server-end-point:" followed by the
// certificate hash: what NTLM's MsvAvChannelBindings and Kerberos' Bnd hold.
func channelBindingHash(cert *x509.Certificate) []byte {
	app := append([]byte("tls-server-end-point:"), tlsServerEndPoint(cert)...)
	// initiator_addrtype, initiator_address length, acceptor_addrtype,
	// acceptor_address length: all zero; then the application data.
	b := make([]byte, 16, 20+len(app))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(app)))
	b = append(b, app...)
	sum := md5.Sum(b)
	return sum[:]
}

// compareBinding reports whether sent, a client's 16-byte binding, is cb:
// errBindingAbsent when the client sent none (nil or all zero, as clients
// without a TLS channel send), errBindingMismatch when it differs.
func compareBinding(sent, cb []byte) error {
	if len(sent) == 0 || bytes.Equal(sent, make([]byte, len(sent))) {
		return errBindingAbsent
	}
	if !bytes.Equal(sent, cb) {
		return errBindingMismatch
	}
	return nil
}

// gssChecksumType is the checksum type of the Kerberos GSS authenticator
// checksum (RFC 4121 4.1.1).
const gssChecksumType = 0x8003

// checkKerberosBinding compares the Bnd field of a Kerberos authenticator
// checksum (RFC 4121 4.1.1: Lgth, 4 bytes little-endian, then Bnd, 16
// bytes, then Flags; authenticatorChecksum is the checksum's value, of type
// 0x8003) with cb, the expected binding (channelBindingHash). It returns
// nil when they match, errBindingAbsent when Bnd is all zero or the
// checksum too short to hold it, errBindingMismatch otherwise. It applies
// no policy: see Server.checkKerberosChannelBinding.
func checkKerberosBinding(authenticatorChecksum []byte, cb []byte) error {
	if len(authenticatorChecksum) < 20 {
		return errBindingAbsent
	}
	if n := binary.LittleEndian.Uint32(authenticatorChecksum); n < 16 {
		return errBindingAbsent
	}
	return compareBinding(authenticatorChecksum[4:20], cb)
}

// expectedBinding returns the binding of the request's TLS channel, nil
// over plain HTTP; ok is false over TLS when the certificate is unknown.
func (s *Server) expectedBinding(r *http.Request) (cb []byte, ok bool) {
	if r.TLS == nil {
		return nil, true
	}
	s.authState.cbOnce.Do(func() {
		if s.Auth.TLSCertificate != nil {
			s.authState.cb = channelBindingHash(s.Auth.TLSCertificate)
		}
	})
	return s.authState.cb, s.authState.cb != nil
}

// enforceBinding applies the configured level to the comparison of a
// client's binding with the channel's: compare gets the expected binding
// and returns compareBinding's outcome. Over plain HTTP nothing is checked.
func (s *Server) enforceBinding(r *http.Request, compare func(cb []byte) error) error {
	level := s.Auth.ChannelBinding
	if level == ChannelBindingNone || r.TLS == nil {
		return nil
	}
	cb, ok := s.expectedBinding(r)
	if !ok {
		if level == ChannelBindingStrict {
			return errBindingUnknown
		}
		return nil
	}
	err := compare(cb)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errBindingAbsent) && level == ChannelBindingRelaxed:
		return nil
	}
	return fmt.Errorf("channel binding (%s): %w", level, err)
}

// checkNTLMBinding checks the MsvAvChannelBindings of an NTLM logon (nil
// when the client sent none) against the request's TLS channel.
func (s *Server) checkNTLMBinding(r *http.Request, sent []byte) error {
	return s.enforceBinding(r, func(cb []byte) error { return compareBinding(sent, cb) })
}

// checkKerberosChannelBinding checks the authenticator checksum of a
// Kerberos logon (the Checksum bytes of the decrypted authenticator's
// Cksum, type 0x8003) against the request's TLS channel, under the
// configured level. A checksum of another type carries no binding.
func (s *Server) checkKerberosChannelBinding(r *http.Request, cksumType int32, authenticatorChecksum []byte) error {
	return s.enforceBinding(r, func(cb []byte) error {
		if cksumType != gssChecksumType {
			return errBindingAbsent
		}
		return checkKerberosBinding(authenticatorChecksum, cb)
	})
}
