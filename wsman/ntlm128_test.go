package wsman_test

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"

	ntlmssp "github.com/Azure/go-ntlmssp"

	"github.com/replicad/replicad/ntlm"
)

// TestNTLMWithout128BitRefused is issue 14 item 11 through the endpoint: a
// go-ntlmssp logon (no MIC) whose AUTHENTICATE drops NTLMSSP_NEGOTIATE_128
// is answered 401 and binds nothing to the connection; the unmodified
// handshake on the same connection then logs on.
func TestNTLMWithout128BitRefused(t *testing.T) {
	srv, _, _ := newAuthServer(t, nil)
	c := newConn(t, srv)
	body := enumerate(`<w:OptimizeEnumeration/>`)
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	status, hdr, _ := c.post("NTLM "+b64(neg), body)
	if status != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "NTLM ") {
		t.Fatalf("NEGOTIATE: %d %q, want 401 with a challenge", status, hdr.Get("WWW-Authenticate"))
	}
	ch, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(hdr.Get("WWW-Authenticate"), "NTLM "))
	auth, err := ntlmssp.ProcessChallenge(ch, testUser, testPass)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(auth[60:], binary.LittleEndian.Uint32(auth[60:])&^(ntlm.Flag128|ntlm.Flag56))
	if status, _, _ := c.post("NTLM "+b64(auth), body); status != 401 {
		t.Fatalf("AUTHENTICATE without NTLMSSP_NEGOTIATE_128: %d, want 401", status)
	}
	if status, _, _ := c.post("", body); status != 401 {
		t.Errorf("request on the connection after the refused logon: %d, want 401", status)
	}
	if status := c.ntlmLogon("NTLM", testUser, testPass, body); status != 200 {
		t.Errorf("unmodified logon afterwards: %d, want 200", status)
	}
	if !t.Failed() {
		t.Logf("RELIABILITY ntlm_40bit status=401 session_bound=false")
	}
}
