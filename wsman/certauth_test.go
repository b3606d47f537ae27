package wsman_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/wsman"
)

// clientCert makes a self-signed certificate with the given extended key
// usages, valid from..to.
func clientCert(t *testing.T, from, to time.Time, eku ...x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "cert-user"},
		NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TestCertificateLogon logs on over HTTPS with a client certificate and
// the https/mutual Authorization header, as pywinrm's certificate
// transport does; an unmapped, expired or server-only certificate, a
// missing certificate and plain HTTP are refused.
func TestCertificateLogon(t *testing.T) {
	now := time.Now()
	mapped := clientCert(t, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageClientAuth)
	unmapped := clientCert(t, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageClientAuth)
	expired := clientCert(t, now.Add(-2*time.Hour), now.Add(-time.Hour), x509.ExtKeyUsageClientAuth)
	serverOnly := clientCert(t, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageServerAuth)

	_, w, _ := newTestServerWith(t, 3)
	reg := cimmodel.NewRegistry()
	class := cimmodel.Class{Name: w.class.Name, Namespace: w.class.Namespace,
		Properties: w.class.Properties, Methods: w.class.Methods, Provider: w.class.Provider}
	if err := reg.Register(&class); err != nil {
		t.Fatal(err)
	}
	u := fastUsers(t, map[string]string{testUser: testPass, readerUser: readerPass}, map[string]string{readerUser: "reader"})
	if err := u.MapCertificate(readerUser, mapped.Leaf); err != nil {
		t.Fatal(err)
	}
	// Mapping refuses expired and server-only certificates, so they are
	// mapped by hand, as a file written before they expired holds them:
	// the logon must still refuse them.
	path := filepath.Join(t.TempDir(), "users")
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	meta, err := os.OpenFile(users.MetaPath(path), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []tls.Certificate{expired, serverOnly} {
		fmt.Fprintf(meta, "%s:cert-sha256:%x\n", readerUser, sha256.Sum256(c.Leaf.Raw))
	}
	meta.Close()
	if u, err = users.Load(path); err != nil {
		t.Fatal(err)
	}
	if n := len(u.Certificates(readerUser)); n != 3 {
		t.Fatalf("%d mappings, want 3", n)
	}
	s := wsman.NewServer(reg, u)
	s.Logger = zaptest.NewLogger(t)
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config.ConnContext = s.ConnContext
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	plain := httptest.NewServer(s.Handler())
	t.Cleanup(plain.Close)

	const mutual = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"
	post := func(url string, cert *tls.Certificate) (int, string) {
		t.Helper()
		cfg := &tls.Config{InsecureSkipVerify: true}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodPost, url+"/wsman", bytes.NewReader(enumerate("")))
		req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
		req.Header.Set("Authorization", mutual)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, body := post(srv.URL, &mapped); status != 200 || !bytes.Contains([]byte(body), []byte("EnumerateResponse")) {
		t.Errorf("mapped certificate: %d\n%.300s", status, body)
	}
	for _, tt := range []struct {
		name string
		url  string
		cert *tls.Certificate
	}{
		{"unmapped certificate", srv.URL, &unmapped},
		{"expired certificate", srv.URL, &expired},
		{"certificate not for client authentication", srv.URL, &serverOnly},
		{"no certificate", srv.URL, nil},
		{"plain HTTP", plain.URL, nil},
	} {
		if status, _ := post(tt.url, tt.cert); status != 401 {
			t.Errorf("%s: status %d, want 401", tt.name, status)
		}
	}
}
