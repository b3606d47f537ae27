package users

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA issues certificates for the tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial int64

// newCert makes a certificate from tmpl signed by ca (self-signed when ca
// is nil).
func newCert(t *testing.T, tmpl *x509.Certificate, ca *testCA) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

// upnSAN is a subjectAltName extension holding upn as a Microsoft UPN.
func upnSAN(t *testing.T, upn string) []pkixExtension {
	t.Helper()
	str, err := asn1.MarshalWithParams(upn, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	other, err := asn1.Marshal(struct {
		Type  asn1.ObjectIdentifier
		Value asn1.RawValue
	}{oidUPN, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: str}})
	if err != nil {
		t.Fatal(err)
	}
	other[0] = 0xa0 // [0] IMPLICIT otherName
	san, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: other})
	if err != nil {
		t.Fatal(err)
	}
	return []pkixExtension{{Id: oidSAN, Value: san}}
}

type pkixExtension = pkix.Extension

func clientTemplate(cn string, from, to time.Time, eku ...x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, NotBefore: from, NotAfter: to,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku}
}

func caTemplate(cn string, from, to time.Time) *x509.Certificate {
	return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, NotBefore: from, NotAfter: to, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
}

func TestCertificateUser(t *testing.T) {
	now := time.Now()
	from, to := now.Add(-time.Hour), now.Add(24*time.Hour)
	clientAuth := x509.ExtKeyUsageClientAuth

	self := newCert(t, clientTemplate("alice", from, to, clientAuth), nil)
	otherSelf := newCert(t, clientTemplate("alice", from, to, clientAuth), nil)
	serverOnly := newCert(t, clientTemplate("bob", from, to, x509.ExtKeyUsageServerAuth), nil)
	ca := newCert(t, caTemplate("Test CA", from, to), nil)
	otherCA := newCert(t, caTemplate("Test CA", from, to), nil)
	withUPN := func(upn string, issuer *testCA, from, to time.Time, eku ...x509.ExtKeyUsage) *testCA {
		tmpl := clientTemplate(upn, from, to, eku...)
		tmpl.ExtraExtensions = upnSAN(t, upn)
		return newCert(t, tmpl, issuer)
	}
	byUPN := withUPN("Carol@EXAMPLE.test", ca, from, to, clientAuth)
	wrongUPN := withUPN("mallory@example.test", ca, from, to, clientAuth)
	foreign := withUPN("carol@example.test", otherCA, from, to, clientAuth)
	expiredUPN := withUPN("carol@example.test", ca, now.Add(-48*time.Hour), now.Add(-24*time.Hour), clientAuth)
	noEKUUPN := withUPN("carol@example.test", ca, from, to)

	f := fastFile(t, "alice", "carol", "bob")
	if err := f.MapCertificate("alice", self.cert); err != nil {
		t.Fatal(err)
	}
	if err := f.MapIssuer("carol", ca.cert, "carol@example.test"); err != nil {
		t.Fatal(err)
	}
	if err := f.MapCertificate("bob", serverOnly.cert); !errors.Is(err, ErrCertNotClientAuth) {
		t.Errorf("mapping a server-only certificate: %v, want ErrCertNotClientAuth", err)
	}
	if err := f.MapIssuer("carol", self.cert, "carol@example.test"); !errors.Is(err, ErrNotCA) {
		t.Errorf("mapping a non-CA issuer: %v, want ErrNotCA", err)
	}
	if err := f.MapCertificate("nobody", self.cert); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("mapping for an unknown user: %v, want ErrUnknownUser", err)
	}

	check := func(t *testing.T, f *File) {
		tests := []struct {
			name     string
			chain    []*x509.Certificate
			at       time.Time
			wantUser string
			wantErr  error
		}{
			{"mapped certificate", []*x509.Certificate{self.cert}, now, "alice", nil},
			{"same subject, other key", []*x509.Certificate{otherSelf.cert}, now, "", ErrCertUnmapped},
			{"mapped certificate, expired by now", []*x509.Certificate{self.cert}, to.Add(time.Minute), "", ErrCertExpired},
			{"mapped certificate, not yet valid", []*x509.Certificate{self.cert}, from.Add(-time.Minute), "", ErrCertExpired},
			{"issuer and UPN (case differs)", []*x509.Certificate{byUPN.cert}, now, "carol", nil},
			{"issuer, other UPN", []*x509.Certificate{wrongUPN.cert}, now, "", ErrCertUnmapped},
			{"UPN, other issuer of the same name", []*x509.Certificate{foreign.cert}, now, "", ErrCertUnmapped},
			{"issuer and UPN, expired", []*x509.Certificate{expiredUPN.cert}, now, "", ErrCertExpired},
			{"issuer and UPN, no client auth", []*x509.Certificate{noEKUUPN.cert}, now, "", ErrCertNotClientAuth},
			{"server-only certificate", []*x509.Certificate{serverOnly.cert}, now, "", ErrCertNotClientAuth},
			{"no certificate", nil, now, "", ErrCertUnmapped},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				user, err := f.CertificateUser(tt.chain, tt.at)
				if user != tt.wantUser || !errors.Is(err, tt.wantErr) {
					t.Errorf("CertificateUser = %q, %v; want %q, %v", user, err, tt.wantUser, tt.wantErr)
				}
			})
		}
	}
	t.Run("in memory", func(t *testing.T) { check(t, f) })

	path := filepath.Join(t.TempDir(), "users")
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("saved and loaded", func(t *testing.T) { check(t, loaded) })
	if got := loaded.Certificates("carol"); len(got) != 1 || !strings.Contains(got[0], "carol@example.test") {
		t.Errorf("Certificates(carol) = %q", got)
	}
	if r, _ := loaded.Role("carol"); r != RoleAdmin {
		t.Errorf("role after load = %s", r)
	}

	n, err := loaded.RemoveCertificates("alice")
	if err != nil || n != 1 {
		t.Fatalf("RemoveCertificates = %d, %v", n, err)
	}
	if err := loaded.Save(path); err != nil {
		t.Fatal(err)
	}
	again, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.CertificateUser([]*x509.Certificate{self.cert}, now); !errors.Is(err, ErrCertUnmapped) {
		t.Errorf("removed mapping still logs on: %v", err)
	}
	if u, err := again.CertificateUser([]*x509.Certificate{byUPN.cert}, now); u != "carol" || err != nil {
		t.Errorf("other user's mapping after a removal: %q, %v", u, err)
	}
}

func TestCertificateUPN(t *testing.T) {
	now := time.Now()
	tmpl := clientTemplate("x", now, now.Add(time.Hour), x509.ExtKeyUsageClientAuth)
	tmpl.ExtraExtensions = upnSAN(t, "dave@example.test")
	c := newCert(t, tmpl, nil)
	if upn, err := CertificateUPN(c.cert); upn != "dave@example.test" || err != nil {
		t.Errorf("CertificateUPN = %q, %v", upn, err)
	}
	plain := newCert(t, clientTemplate("x", now, now.Add(time.Hour)), nil)
	if _, err := CertificateUPN(plain.cert); !errors.Is(err, ErrCertNoUPN) {
		t.Errorf("CertificateUPN without SAN: %v", err)
	}
}

// TestMetaWithoutCertificatesUnchanged checks that a companion file of
// before certificate mappings reads as before.
func TestMetaWithoutCertificatesUnchanged(t *testing.T) {
	f := fastFile(t, "alice")
	if err := f.parseMeta([]byte("alice:reader:\n")); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.Role("alice"); r != RoleReader || len(f.Certificates("alice")) != 0 {
		t.Errorf("role %s, certificates %v", r, f.Certificates("alice"))
	}
	if err := f.parseMeta([]byte("alice:cert-sha256:zz\n")); err == nil {
		t.Errorf("a malformed mapping line parsed")
	}
}

// fastFile is a users file with the given names, each with a cheap bcrypt
// hash (cost 5) of "secret".
func fastFile(t *testing.T, names ...string) *File {
	t.Helper()
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n + ":$2y$05$8snVySpjz.DR/44Sbz0WMuE1RxFJCAK1uDZINXeD2y9dZx08StvQC\n")
	}
	f, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
