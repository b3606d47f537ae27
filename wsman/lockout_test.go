package wsman_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/spnego"
	"github.com/replicad/replicad/wsman"
)

// TestLockoutIsPerUser: wrong passwords for one user from an address hold
// back that user from that address only; another user logs on from the
// same address, with Basic and with NTLM (whose names are
// case-insensitive: the guesses at "VIEWER" count against viewer), and
// every lockout is logged, naming the user only when it is one of ours.
func TestLockoutIsPerUser(t *testing.T) {
	logTo, logs := observed()
	srv, _, _ := newAuthServer(t, func(s *wsman.Server) {
		logTo(s)
		s.Auth.MaxFailures = 3
	})
	for i := 0; i < 3; i++ {
		if status, _ := post(t, srv, testUser, "wrong", enumerate("")); status != 401 {
			t.Fatalf("guess %d: %d, want 401", i, status)
		}
	}
	if status, _ := post(t, srv, testUser, testPass, enumerate("")); status != 401 {
		t.Errorf("the guessed user with the right password during its backoff: %d, want 401", status)
	}
	if status, _ := post(t, srv, readerUser, readerPass, enumerate("")); status != 200 {
		t.Errorf("another user from the guessing address (Basic): %d, want 200", status)
	}
	if status := newConn(t, srv).ntlmLogon("Negotiate", readerUser, readerPass, enumerate("")); status != 200 {
		t.Errorf("another user from the guessing address (NTLM): %d, want 200", status)
	}
	for i := 0; i < 3; i++ {
		newConn(t, srv).ntlmLogon("Negotiate", strings.ToUpper(readerUser), "wrong", enumerate(""))
	}
	if status := newConn(t, srv).ntlmLogon("Negotiate", readerUser, readerPass, enumerate("")); status != 401 {
		t.Errorf("viewer over NTLM after three NTLM guesses at VIEWER: %d, want 401", status)
	}
	for i := 0; i < 3; i++ {
		post(t, srv, "hunter2-typed-as-a-name", "x", enumerate(""))
	}
	var named []string
	for _, e := range logs.FilterMessage("wsman logons throttled").All() {
		named = append(named, e.ContextMap()["user"].(string))
	}
	if strings.Join(named, ",") != testUser+","+readerUser+",<unknown>" {
		t.Errorf("lockouts logged for %q, want %s, %s and <unknown>", named, testUser, readerUser)
	}
}

// TestKerberosLogonNotThrottled: with the pairs of every name a Kerberos
// logon could be keyed under in backoff, Kerberos tokens (the Kerberos
// scheme, and Negotiate with SPNEGO's Kerberos mechanism) are still
// checked, not refused by the limiter: a ticket proves itself.
func TestKerberosLogonNotThrottled(t *testing.T) {
	logTo, logs := observed()
	srv, _, _ := newAuthServer(t, func(s *wsman.Server) {
		logTo(s)
		s.Auth.MaxFailures = 2
		s.Auth.Keytab = keytab.New()
	})
	for _, name := range []string{testUser, "", "nobody"} {
		for i := 0; i < 2; i++ {
			post(t, srv, name, "wrong", enumerate(""))
		}
	}
	apReq := []byte{0x60, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	for _, auth := range []string{
		"Kerberos " + b64(apReq),
		"Negotiate " + b64(spnego.MarshalInit([]asn1.ObjectIdentifier{spnego.OIDKerberos}, apReq)),
	} {
		logs.TakeAll()
		if status, _, _ := newConn(t, srv).post(auth, enumerate("")); status != 401 {
			t.Errorf("%.20s with a bad token: %d, want 401", auth, status)
		}
		for _, e := range logs.FilterMessage("wsman authentication refused").All() {
			if reason, _ := e.ContextMap()["reason"].(string); strings.Contains(reason, "not checked") || strings.Contains(reason, "in progress") {
				t.Errorf("%.20s refused by the limiter: %s", auth, reason)
			}
		}
	}
}

// TestCertificateLogonNotThrottled: with viewer's pair in backoff from
// wrong passwords, the pair of names that are no user in backoff too, and
// the total budget spent, viewer still logs on from the same address with
// a mapped client certificate: a certificate proves itself.
func TestCertificateLogonNotThrottled(t *testing.T) {
	now := time.Now()
	cert := clientCert(t, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageClientAuth)
	_, w, _ := newTestServerWith(t, 3)
	reg := cimmodel.NewRegistry()
	class := cimmodel.Class{Name: w.class.Name, Namespace: w.class.Namespace,
		Properties: w.class.Properties, Methods: w.class.Methods, Provider: w.class.Provider}
	if err := reg.Register(&class); err != nil {
		t.Fatal(err)
	}
	u := fastUsers(t, map[string]string{testUser: testPass, readerUser: readerPass}, map[string]string{readerUser: "reader"})
	if err := u.MapCertificate(readerUser, cert.Leaf); err != nil {
		t.Fatal(err)
	}
	logTo, logs := observed()
	s := wsman.NewServer(reg, u)
	logTo(s)
	s.Auth.MaxFailures, s.Auth.MaxTotalFailures = 2, 4
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config.ConnContext = s.ConnContext
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	post := func(auth string, withCert bool) int {
		t.Helper()
		cfg := &tls.Config{InsecureSkipVerify: true}
		if withCert {
			cfg.Certificates = []tls.Certificate{cert}
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/wsman", bytes.NewReader(enumerate("")))
		req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
		req.Header.Set("Authorization", auth)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	basic := func(name, pw string) string {
		return "Basic " + b64([]byte(name+":"+pw))
	}
	for _, name := range []string{readerUser, "nobody"} {
		for i := 0; i < 2; i++ {
			post(basic(name, "wrong"), false)
		}
	}
	if status := post(basic(readerUser, readerPass), false); status != 401 {
		t.Fatalf("viewer's right password with its pair in backoff: %d, want 401", status)
	}
	if n := len(logs.FilterMessage("wsman logons throttled: total failed-logon budget spent").All()); n != 1 {
		t.Errorf("%d total-budget lockouts logged, want 1", n)
	}
	if status := post("http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual", true); status != 200 {
		t.Errorf("viewer's certificate logon from the same address: %d, want 200", status)
	}
}

// TestKerberosSchemeNameProvesNothing: an NTLM handshake sent under the
// Kerberos scheme is a password logon like any other: with the user's
// pair in backoff, the right password is refused unchecked.
func TestKerberosSchemeNameProvesNothing(t *testing.T) {
	srv, _, _ := newAuthServer(t, func(s *wsman.Server) { s.Auth.MaxFailures = 2 })
	for i := 0; i < 2; i++ {
		post(t, srv, testUser, "wrong", enumerate(""))
	}
	if status := newConn(t, srv).ntlmLogon("Kerberos", testUser, testPass, enumerate("")); status != 401 {
		t.Errorf("NTLM under the Kerberos scheme with the pair in backoff: %d, want 401", status)
	}
}
