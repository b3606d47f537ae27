package wsman

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	gspnego "github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

func TestKerberosServiceNames(t *testing.T) {
	kt := keytab.New()
	for _, p := range []string{"HTTP/web.example.com", "host/other.example.com"} {
		if err := kt.AddEntry(p, "EXAMPLE.COM", "pw", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		principal, ticket, realm, want string
	}{
		{"", "HTTP/web.example.com", "EXAMPLE.COM", "HTTP/web.example.com"},
		{"", "WSMAN/web.example.com", "EXAMPLE.COM", "HTTP/web.example.com"}, // same account key in a domain
		{"", "host/other.example.com", "EXAMPLE.COM", "host/other.example.com"},
		{"", "HTTP/elsewhere.example.com", "EXAMPLE.COM", ""},
		{"", "HTTP/web.example.com", "OTHER.REALM", ""},
		{"", "CIFS/web.example.com", "EXAMPLE.COM", ""},
		{"HTTP/web.example.com", "WSMAN/web.example.com", "EXAMPLE.COM", "HTTP/web.example.com"},
		{"HTTP/web.example.com@EXAMPLE.COM", "HTTP/web.example.com", "EXAMPLE.COM", "HTTP/web.example.com"},
		{"HTTP/web.example.com", "host/other.example.com", "EXAMPLE.COM", ""},
	}
	for _, c := range cases {
		s := &Server{Auth: AuthConfig{Keytab: kt, KerberosPrincipal: c.principal}}
		sname, _ := types.ParseSPNString(c.ticket)
		got, err := s.kerberosKeyName(sname, c.realm)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("principal %q, ticket %s@%s: %q, %v; want %q", c.principal, c.ticket, c.realm, got, err, c.want)
		}
		if c.want == "" && (!errors.Is(err, errWrongService) || !strings.Contains(err.Error(), c.ticket)) {
			t.Errorf("refusal %v does not name the ticket's service", err)
		}
	}
}

func TestKerberosAPRep(t *testing.T) {
	sessionKey := testKey(t, etypeID.AES256_CTS_HMAC_SHA1_96, 9)
	var apReq messages.APReq
	apReq.Ticket.DecryptedEncPart.Key = sessionKey
	apReq.Authenticator.CTime = time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	apReq.Authenticator.Cusec = 123456
	ac, err := newAcceptorContext(etypeID.AES128_CTS_HMAC_SHA1_96)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := apRepToken(&apReq, ac)
	if err != nil {
		t.Fatal(err)
	}
	var kt gspnego.KRB5Token
	if err := kt.Unmarshal(tok); err != nil || !kt.IsAPRep() {
		t.Fatalf("token is no GSS AP-REP: %v", err)
	}
	plain, err := crypto.DecryptEncPart(kt.APRep.EncPart, sessionKey, keyusage.AP_REP_ENCPART)
	if err != nil {
		t.Fatalf("AP-REP not encrypted with the session key: %v", err)
	}
	var enc messages.EncAPRepPart
	if err := enc.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	if !enc.CTime.Equal(apReq.Authenticator.CTime) || enc.Cusec != 123456 || enc.SequenceNumber != ac.seq || enc.SequenceNumber <= 0 ||
		enc.Subkey.KeyType != etypeID.AES128_CTS_HMAC_SHA1_96 || len(enc.Subkey.KeyValue) != 16 {
		t.Errorf("EncAPRepPart %+v, want ctime/cusec echoed, subkey AES128 and seq %d", enc, ac.seq)
	}
}

func TestKerberosMutualRequested(t *testing.T) {
	gssChecksum := func(flags uint32) types.Checksum {
		b := make([]byte, 24)
		b[0] = 16
		b[20] = byte(flags)
		return types.Checksum{CksumType: gssChecksumTypeKRB5, Checksum: b}
	}
	var none, option, gss, other messages.APReq
	none.APOptions, option.APOptions, gss.APOptions, other.APOptions = types.NewKrbFlags(), types.NewKrbFlags(), types.NewKrbFlags(), types.NewKrbFlags()
	none.Authenticator.Cksum = gssChecksum(0x20 | 0x10) // integrity and confidentiality only
	types.SetFlag(&option.APOptions, 2)                 // mutual-required
	gss.Authenticator.Cksum = gssChecksum(gssMutualFlag)
	other.Authenticator.Cksum = types.Checksum{CksumType: 16, Checksum: make([]byte, 24)}
	other.Authenticator.Cksum.Checksum[20] = gssMutualFlag
	for _, c := range []struct {
		name string
		req  *messages.APReq
		want bool
	}{{"no mutual", &none, false}, {"AP option", &option, true}, {"GSS flag", &gss, true}, {"not a GSS checksum", &other, false}} {
		if got := mutualRequested(c.req); got != c.want {
			t.Errorf("%s: mutualRequested = %v, want %v", c.name, got, c.want)
		}
	}
}
