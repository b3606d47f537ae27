package users

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Client certificate logons (WS-Management's https/mutual security
// profile). A certificate maps to a user in one of the two ways Windows'
// WinRM offers:
//
//   - by the certificate itself: its SHA-256 fingerprint, like a pinned key;
//     a self-signed certificate is fine;
//   - by issuer and UPN: any certificate that the mapped issuer (a CA
//     certificate) signed, directly or through intermediates the client
//     sends, whose subjectAltName holds the mapped user principal name
//     (otherName 1.3.6.1.4.1.311.20.2.3), as Windows' ClientCertificate
//     mapping with -Issuer and -Subject does.
//
// Either way the certificate must be within its validity period and carry
// the Client Authentication extended key usage (1.3.6.1.5.5.7.3.2). The
// mappings live in the companion file (MetaPath) as lines
// `name:cert-sha256:HEX` and `name:cert-issuer:BASE64-DER:UPN`.

// Errors of certificate logons and mappings.
var (
	ErrCertExpired       = errors.New("users: client certificate outside its validity period")
	ErrCertNotClientAuth = errors.New("users: client certificate without the Client Authentication extended key usage")
	ErrCertUnmapped      = errors.New("users: client certificate mapped to no user")
	ErrCertNoUPN         = errors.New("users: certificate without a user principal name in its subjectAltName")
	ErrInvalidUPN        = errors.New("users: invalid user principal name")
	ErrNotCA             = errors.New("users: issuer certificate is not a CA certificate")
)

// oidUPN is the otherName type of a Microsoft user principal name.
var oidUPN = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}

// oidSAN is the subjectAltName extension.
var oidSAN = asn1.ObjectIdentifier{2, 5, 29, 17}

// certMapping is one certificate mapping of a user: by fingerprint when
// issuer is nil, else by issuer and UPN.
type certMapping struct {
	fingerprint [32]byte
	issuer      *x509.Certificate
	upn         string
}

func (m certMapping) String() string {
	if m.issuer == nil {
		return "sha256:" + hex.EncodeToString(m.fingerprint[:])
	}
	return fmt.Sprintf("issuer %q (sha256:%x) upn %s", m.issuer.Subject.String(), sha256.Sum256(m.issuer.Raw), m.upn)
}

// metaLine is the mapping's line in the companion file, without the name.
func (m certMapping) metaLine() string {
	if m.issuer == nil {
		return "cert-sha256:" + hex.EncodeToString(m.fingerprint[:])
	}
	return "cert-issuer:" + base64.StdEncoding.EncodeToString(m.issuer.Raw) + ":" + m.upn
}

// parseCertMapping reads the fields of a mapping line after the name.
func parseCertMapping(fields []string) (certMapping, error) {
	var m certMapping
	switch {
	case fields[0] == "cert-sha256" && len(fields) == 2:
		h, err := hex.DecodeString(fields[1])
		if err != nil || len(h) != 32 {
			return m, errors.New("certificate fingerprint must be 64 hexadecimal digits")
		}
		copy(m.fingerprint[:], h)
	case fields[0] == "cert-issuer" && len(fields) == 3:
		der, err := base64.StdEncoding.DecodeString(fields[1])
		if err != nil {
			return m, fmt.Errorf("issuer certificate: %w", err)
		}
		if m.issuer, err = x509.ParseCertificate(der); err != nil {
			return m, fmt.Errorf("issuer certificate: %w", err)
		}
		if err := validateUPN(fields[2]); err != nil {
			return m, err
		}
		m.upn = fields[2]
	default:
		return m, errors.New("want name:cert-sha256:HEX or name:cert-issuer:BASE64:UPN")
	}
	return m, nil
}

// validateUPN accepts user@realm without ':' or whitespace.
func validateUPN(upn string) error {
	at := strings.IndexByte(upn, '@')
	if at <= 0 || at == len(upn)-1 || len(upn) > MaxNameLen {
		return fmt.Errorf("%w: %q", ErrInvalidUPN, upn)
	}
	for _, r := range upn {
		if r == ':' || r <= ' ' || r == 0x7f {
			return fmt.Errorf("%w: %q", ErrInvalidUPN, upn)
		}
	}
	return nil
}

// CheckClientCertificate reports whether cert may log on at now: within
// its validity period and with the Client Authentication extended key usage.
func CheckClientCertificate(cert *x509.Certificate, now time.Time) error {
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("%w (%s to %s)", ErrCertExpired, cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	for _, u := range cert.ExtKeyUsage {
		if u == x509.ExtKeyUsageClientAuth {
			return nil
		}
	}
	return ErrCertNotClientAuth
}

// CertificateUPN returns the user principal name of cert's subjectAltName
// (otherName 1.3.6.1.4.1.311.20.2.3, a UTF8String).
func CertificateUPN(cert *x509.Certificate) (string, error) {
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSAN) {
			continue
		}
		var names []asn1.RawValue
		if _, err := asn1.Unmarshal(ext.Value, &names); err != nil {
			return "", fmt.Errorf("users: subjectAltName: %w", err)
		}
		for _, n := range names {
			if n.Class != asn1.ClassContextSpecific || n.Tag != 0 { // otherName
				continue
			}
			var other struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue // [0] EXPLICIT, holding the UTF8String
			}
			if _, err := asn1.UnmarshalWithParams(n.FullBytes, &other, "tag:0"); err != nil {
				continue
			}
			if !other.Type.Equal(oidUPN) || other.Value.Class != asn1.ClassContextSpecific || other.Value.Tag != 0 {
				continue
			}
			var upn string
			if _, err := asn1.Unmarshal(other.Value.Bytes, &upn); err != nil {
				return "", fmt.Errorf("users: UPN in subjectAltName: %w", err)
			}
			return upn, nil
		}
	}
	return "", ErrCertNoUPN
}

// MapCertificate maps the client certificate cert itself (by its SHA-256
// fingerprint) to name, in memory; call Save to write it. The certificate
// must be one that could log on now.
func (f *File) MapCertificate(name string, cert *x509.Certificate) error {
	if err := CheckClientCertificate(cert, time.Now()); err != nil {
		return err
	}
	return f.addMapping(name, certMapping{fingerprint: sha256.Sum256(cert.Raw)})
}

// MapIssuer maps every client certificate that issuer (a CA certificate)
// signed and whose subjectAltName holds upn to name, in memory; call Save
// to write it.
func (f *File) MapIssuer(name string, issuer *x509.Certificate, upn string) error {
	if !issuer.IsCA || (issuer.KeyUsage != 0 && issuer.KeyUsage&x509.KeyUsageCertSign == 0) {
		return ErrNotCA
	}
	if err := validateUPN(upn); err != nil {
		return err
	}
	return f.addMapping(name, certMapping{issuer: issuer, upn: upn})
}

func (f *File) addMapping(name string, m certMapping) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.hashes[name]; !ok {
		return ErrUnknownUser
	}
	a := f.attrs[name]
	for _, old := range a.certs {
		if old.metaLine() == m.metaLine() {
			return nil
		}
	}
	a.certs = append(a.certs, m)
	if a.role == "" {
		a.role = RoleAdmin
	}
	f.attrs[name] = a
	return nil
}

// RemoveCertificates removes every certificate mapping of name in memory
// and returns how many there were; call Save to write it.
func (f *File) RemoveCertificates(name string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.hashes[name]; !ok {
		return 0, ErrUnknownUser
	}
	a := f.attrs[name]
	n := len(a.certs)
	a.certs = nil
	f.attrs[name] = a
	return n, nil
}

// Certificates describes name's certificate mappings, one string each.
func (f *File) Certificates(name string) []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []string
	for _, m := range f.attrs[name].certs {
		out = append(out, m.String())
	}
	return out
}

// CertificateUser returns the user a client certificate logs on as. chain
// is what the client sent in TLS: its certificate first, then any
// intermediates. The certificate must be valid now, be for client
// authentication, and match a mapping: its fingerprint, or an issuer whose
// signature verifies (through the intermediates) together with the UPN of
// its subjectAltName (compared without regard to case, as Windows does).
func (f *File) CertificateUser(chain []*x509.Certificate, now time.Time) (string, error) {
	if len(chain) == 0 {
		return "", ErrCertUnmapped
	}
	leaf := chain[0]
	if err := CheckClientCertificate(leaf, now); err != nil {
		return "", err
	}
	fp := sha256.Sum256(leaf.Raw)
	upn, _ := CertificateUPN(leaf)
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, name := range f.namesLocked() {
		for _, m := range f.attrs[name].certs {
			if m.issuer == nil && m.fingerprint == fp {
				return name, nil
			}
		}
	}
	if upn == "" {
		return "", ErrCertUnmapped
	}
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	for _, name := range f.namesLocked() {
		for _, m := range f.attrs[name].certs {
			if m.issuer == nil || !strings.EqualFold(m.upn, upn) {
				continue
			}
			roots := x509.NewCertPool()
			roots.AddCert(m.issuer)
			_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates,
				CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			if err == nil {
				return name, nil
			}
		}
	}
	return "", ErrCertUnmapped
}
