package wsman

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"
)

// selfSigned returns a self-signed ECDSA certificate signed with alg.
func selfSigned(t *testing.T, curve elliptic.Curve, alg x509.SignatureAlgorithm) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "replicad.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), SignatureAlgorithm: alg}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestTLSServerEndPoint checks RFC 5929's choice of hash: the signature's
// own hash, SHA-256 for weaker ones.
func TestTLSServerEndPoint(t *testing.T) {
	c256 := selfSigned(t, elliptic.P256(), x509.ECDSAWithSHA256)
	c384 := selfSigned(t, elliptic.P384(), x509.ECDSAWithSHA384)
	c512 := selfSigned(t, elliptic.P521(), x509.ECDSAWithSHA512)
	s256 := sha256.Sum256(c256.Raw)
	s384 := sha512.Sum384(c384.Raw)
	s512 := sha512.Sum512(c512.Raw)
	for _, tt := range []struct {
		name string
		cert *x509.Certificate
		want []byte
	}{
		{"ECDSA-SHA256", c256, s256[:]},
		{"ECDSA-SHA384", c384, s384[:]},
		{"ECDSA-SHA512", c512, s512[:]},
	} {
		if got := tlsServerEndPoint(tt.cert); !bytes.Equal(got, tt.want) {
			t.Errorf("%s: tls-server-end-point = %x, want %x", tt.name, got, tt.want)
		}
	}
	// RFC 5929 4.1: MD5 and SHA-1 signatures hash with SHA-256; so does
	// Ed25519, which has no hash of its own.
	raw := []byte("certificate DER")
	rawSHA256, rawSHA384 := sha256.Sum256(raw), sha512.Sum384(raw)
	for _, tt := range []struct {
		alg  x509.SignatureAlgorithm
		want []byte
	}{
		{x509.SHA1WithRSA, rawSHA256[:]},
		{x509.MD5WithRSA, rawSHA256[:]},
		{x509.ECDSAWithSHA1, rawSHA256[:]},
		{x509.PureEd25519, rawSHA256[:]},
		{x509.SHA384WithRSA, rawSHA384[:]},
		{x509.SHA384WithRSAPSS, rawSHA384[:]},
	} {
		if got := tlsServerEndPoint(&x509.Certificate{Raw: raw, SignatureAlgorithm: tt.alg}); !bytes.Equal(got, tt.want) {
			t.Errorf("%s: tls-server-end-point = %x, want %x", tt.alg, got, tt.want)
		}
	}
	// The gss_channel_bindings_struct: four zero words (no addresses),
	// the length of the application data, then the data (RFC 2744 3.11,
	// as SSPI, MIT and ntlm-auth lay it out).
	app := append([]byte("tls-server-end-point:"), s256[:]...)
	st := append(make([]byte, 16), binary.LittleEndian.AppendUint32(nil, uint32(len(app)))...)
	want := md5.Sum(append(st, app...))
	if got := channelBindingHash(c256); !bytes.Equal(got, want[:]) {
		t.Errorf("channelBindingHash = %x, want %x", got, want)
	}
}

// TestCheckKerberosBinding reads the Bnd field of RFC 4121's checksum.
func TestCheckKerberosBinding(t *testing.T) {
	cb := bytes.Repeat([]byte{7}, 16)
	cksum := func(bnd []byte) []byte {
		b := binary.LittleEndian.AppendUint32(nil, 16)
		b = append(b, bnd...)
		return binary.LittleEndian.AppendUint32(b, 0x3e) // flags
	}
	other := bytes.Repeat([]byte{8}, 16)
	for _, tt := range []struct {
		name  string
		cksum []byte
		want  error
	}{
		{"matching", cksum(cb), nil},
		{"other channel", cksum(other), errBindingMismatch},
		{"zero (no binding)", cksum(make([]byte, 16)), errBindingAbsent},
		{"too short", cksum(cb)[:12], errBindingAbsent},
	} {
		if err := checkKerberosBinding(tt.cksum, cb); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestChannelBindingPolicy checks CbtHardeningLevel's meanings: none
// checks nothing, relaxed refuses only a wrong binding, strict also a
// missing one; plain HTTP has nothing to bind to.
func TestChannelBindingPolicy(t *testing.T) {
	cert := selfSigned(t, elliptic.P256(), x509.ECDSAWithSHA256)
	right := channelBindingHash(cert)
	wrong := bytes.Repeat([]byte{1}, 16)
	zero := make([]byte, 16)
	overTLS := httptest.NewRequest("POST", "https://replicad.test/wsman", nil)
	overTLS.TLS = &tls.ConnectionState{}
	overHTTP := httptest.NewRequest("POST", "http://replicad.test/wsman", nil)
	type row struct {
		level     ChannelBindingLevel
		sent      []byte
		tlsOK     bool // accepted over HTTPS
		httpValid bool // accepted over HTTP
	}
	for _, tt := range []row{
		{ChannelBindingNone, wrong, true, true},
		{ChannelBindingNone, nil, true, true},
		{ChannelBindingRelaxed, right, true, true},
		{ChannelBindingRelaxed, nil, true, true},
		{ChannelBindingRelaxed, zero, true, true},
		{ChannelBindingRelaxed, wrong, false, true},
		{ChannelBindingStrict, right, true, true},
		{ChannelBindingStrict, nil, false, true},
		{ChannelBindingStrict, zero, false, true},
		{ChannelBindingStrict, wrong, false, true},
	} {
		s := &Server{Auth: AuthConfig{ChannelBinding: tt.level, TLSCertificate: cert}}
		if err := s.checkNTLMBinding(overTLS, tt.sent); (err == nil) != tt.tlsOK {
			t.Errorf("%s, binding %x, over HTTPS: %v, want accepted=%v", tt.level, tt.sent, err, tt.tlsOK)
		}
		if err := s.checkNTLMBinding(overHTTP, tt.sent); (err == nil) != tt.httpValid {
			t.Errorf("%s, binding %x, over HTTP: %v, want accepted=%v", tt.level, tt.sent, err, tt.httpValid)
		}
		krb := binary.LittleEndian.AppendUint32(nil, 16)
		krb = append(krb, append(bytes.Clone(tt.sent), make([]byte, 16-len(tt.sent))...)...)
		krb = binary.LittleEndian.AppendUint32(krb, 0)
		if err := s.checkKerberosChannelBinding(overTLS, gssChecksumType, krb); (err == nil) != tt.tlsOK {
			t.Errorf("Kerberos, %s, binding %x, over HTTPS: %v, want accepted=%v", tt.level, tt.sent, err, tt.tlsOK)
		}
	}
	// Strict without a known certificate fails closed.
	s := &Server{Auth: AuthConfig{ChannelBinding: ChannelBindingStrict}}
	if err := s.checkNTLMBinding(overTLS, right); !errors.Is(err, errBindingUnknown) {
		t.Errorf("strict without the certificate: %v, want errBindingUnknown", err)
	}
}

func TestParseChannelBindingLevel(t *testing.T) {
	for _, s := range []string{"none", "relaxed", "strict"} {
		l, err := ParseChannelBindingLevel(s)
		if err != nil || l.String() != s {
			t.Errorf("ParseChannelBindingLevel(%q) = %v, %v", s, l, err)
		}
	}
	var zero ChannelBindingLevel
	if zero != ChannelBindingRelaxed {
		t.Errorf("the zero level is %s, want relaxed (Windows' default)", zero)
	}
	if _, err := ParseChannelBindingLevel("full"); err == nil {
		t.Errorf("ParseChannelBindingLevel(full) succeeded")
	}
}
