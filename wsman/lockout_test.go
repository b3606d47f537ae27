package wsman_test

import (
	"encoding/asn1"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/keytab"

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
