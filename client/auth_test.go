package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/client"
	"github.com/replicad/replicad/ntlm"
	"github.com/replicad/replicad/provider/providertest"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/wsman"
)

// seen records the Content-Types of the requests a server received and of
// the answers it sent.
type seen struct {
	mu                 sync.Mutex
	requests, answers  []string
	authorizationHeads []string
	statuses           []int
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (s *seen) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		s.mu.Lock()
		s.statuses = append(s.statuses, sw.code)
		defer s.mu.Unlock()
		s.requests = append(s.requests, r.Header.Get("Content-Type"))
		s.answers = append(s.answers, w.Header().Get("Content-Type"))
		s.authorizationHeads = append(s.authorizationHeads, r.Header.Get("Authorization"))
	})
}

// newLogonServer runs the real endpoint (ConnContext wired as the daemon
// does, Basic over plain HTTP refused, unsealed Negotiate messages over
// plain HTTP refused) with the user admin, whose NT hash is known, and
// records what travels.
func newLogonServer(t *testing.T, tlsOn bool) (*httptest.Server, *seen) {
	t.Helper()
	return newLogonServerWith(t, tlsOn, nil)
}

// newLogonServerWith is newLogonServer with configure called on the
// server and the started test server before the first request.
func newLogonServerWith(t *testing.T, tlsOn bool, configure func(*wsman.Server, *httptest.Server)) (*httptest.Server, *seen) {
	t.Helper()
	dir := t.TempDir()
	reg := cimmodel.NewRegistry()
	p := providertest.New(t, dir)
	if err := p.Register(reg); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "users")
	nt := ntlm.NTHash(password)
	if err := os.WriteFile(path, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(users.MetaPath(path), []byte(fmt.Sprintf("%s:admin:%x\n", user, nt)), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := users.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := wsman.NewServer(reg, f)
	rec := &seen{}
	srv := httptest.NewUnstartedServer(rec.wrap(s.Handler()))
	srv.Config.ConnContext = s.ConnContext
	srv.Config.ConnState = s.ConnState
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	if configure != nil {
		configure(s, srv)
	}
	return srv, rec
}

// TestNegotiateChannelBindingStrict: under --channel-binding strict an
// NTLM logon over HTTPS must carry the tls-server-end-point binding of the
// server's certificate (MsvAvChannelBindings); replicactl's does.
func TestNegotiateChannelBindingStrict(t *testing.T) {
	srv, _ := newLogonServerWith(t, true, func(s *wsman.Server, srv *httptest.Server) {
		s.Auth.ChannelBinding = wsman.ChannelBindingStrict
		s.Auth.TLSCertificate = srv.Certificate()
	})
	c := client.New(srv.URL+"/wsman", user, password, client.Options{Auth: client.AuthNegotiate, Insecure: true})
	if _, err := c.Enumerate(context.Background(), ns, "MSISCSITARGET_ReplicationService", client.EnumerateOptions{}); err != nil {
		t.Errorf("NTLM over HTTPS under strict channel binding: %v", err)
	}
}

// TestNegotiateSealsOverHTTP: with --auth negotiate over plain HTTP the
// client logs on with NTLM and every request after the logon reaches the
// server as multipart/encrypted (the server refuses unsealed ones), the
// answers come back sealed and are read; when the connection is lost the
// client logs on again; a wrong password is ErrUnauthorized.
func TestNegotiateSealsOverHTTP(t *testing.T) {
	srv, rec := newLogonServer(t, false)
	c := client.New(srv.URL+"/wsman", user, password, client.Options{Auth: client.AuthNegotiate, Timeout: 20 * time.Second})
	ctx := context.Background()
	services, err := c.Enumerate(ctx, ns, "MSISCSITARGET_ReplicationService", client.EnumerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(services) != 1 || services[0].Get("SystemName") != "testhost" {
		t.Fatalf("enumerated %+v, want the one replication service", services)
	}
	srv.CloseClientConnections()
	if _, err := c.Identify(ctx); err != nil {
		t.Fatalf("Identify after the connection was lost: %v", err)
	}
	rec.mu.Lock()
	sealed, sealedAnswers := 0, 0
	for i, ct := range rec.requests {
		if strings.HasPrefix(ct, "multipart/encrypted") {
			sealed++
			switch {
			case strings.HasPrefix(rec.answers[i], "multipart/encrypted"):
				sealedAnswers++
			case rec.statuses[i] == http.StatusUnauthorized:
				sealed-- // the first on the new connection, before the client logged on again
			default:
				t.Errorf("request %d: sealed, answered %d %q, want a sealed answer", i, rec.statuses[i], rec.answers[i])
			}
		} else if rec.authorizationHeads[i] == "" {
			t.Errorf("request %d sent %q without a logon leg, want multipart/encrypted", i, ct)
		}
	}
	rec.mu.Unlock()
	if sealed < 2 || sealedAnswers != sealed {
		t.Errorf("%d sealed requests with %d sealed answers, want at least 2 (Enumerate, Identify) all answered sealed", sealed, sealedAnswers)
	}
	bad := client.New(srv.URL+"/wsman", user, "wrong-password", client.Options{Auth: client.AuthNegotiate})
	if _, err := bad.Identify(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("wrong password: %v, want ErrUnauthorized", err)
	}
}

// TestBasicOverTLSWithCAFile: over HTTPS the server's certificate is
// verified against --ca-file; without it the error is ErrCertificate (and
// replicactl names --insecure); with Insecure it is not checked.
func TestBasicOverTLSWithCAFile(t *testing.T) {
	srv, _ := newLogonServer(t, true)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, auth := range []client.Auth{client.AuthBasic, client.AuthNegotiate} {
		c, err := client.Open(srv.URL+"/wsman", user, password, client.Options{Auth: auth, CAFile: ca})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Enumerate(ctx, ns, "MSISCSITARGET_ReplicationService", client.EnumerateOptions{}); err != nil {
			t.Errorf("%s over HTTPS with the CA file: %v", auth, err)
		}
	}
	if _, err := client.New(srv.URL+"/wsman", user, password, client.Options{}).Identify(ctx); !errors.Is(err, client.ErrCertificate) {
		t.Errorf("without the CA file: %v, want ErrCertificate", err)
	}
	if _, err := client.New(srv.URL+"/wsman", user, password, client.Options{Insecure: true}).Identify(ctx); err != nil {
		t.Errorf("with Insecure: %v", err)
	}
	if _, err := client.Open(srv.URL+"/wsman", user, password, client.Options{CAFile: filepath.Join(t.TempDir(), "none.pem")}); err == nil {
		t.Errorf("a missing CA file: no error")
	}
}

// TestCertificateLogonSendsCertificate: a certificate logon presents the
// client certificate in the TLS handshake and sends the Authorization
// header of [MS-WSMV]'s https/mutual profile, and no password.
func TestCertificateLogonSendsCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeClientCert(t, dir)
	var mu sync.Mutex
	var gotAuth, gotCN string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		gotAuth = r.Header.Get("Authorization")
		if len(r.TLS.PeerCertificates) > 0 {
			gotCN = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c, err := client.Open(srv.URL+"/wsman", "", "", client.Options{Auth: client.AuthCertificate, CertFile: certFile, KeyFile: keyFile, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Identify(context.Background()); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("Identify: %v, want the server's 401", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if gotAuth != "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual" || gotCN != "replicactl-test" {
		t.Errorf("server saw Authorization %q and certificate %q, want the https/mutual profile and replicactl-test", gotAuth, gotCN)
	}
	if _, err := client.Open("http://127.0.0.1:1/wsman", "", "", client.Options{Auth: client.AuthCertificate, CertFile: certFile, KeyFile: keyFile}); err == nil {
		t.Errorf("certificate logon over plain HTTP: no error")
	}
}

// writeClientCert writes a self-signed client certificate and its key.
func writeClientCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "replicactl-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
