package ntlm

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
)

// TestRefuses40BitSessions is issue 14 item 11. go-ntlmssp, a real client,
// sends no MIC, so nothing protects the flags of its AUTHENTICATE: dropping
// NTLMSSP_NEGOTIATE_128 there (as a client, or as someone in between) used
// to give a session sealed with a 40-bit key. Such sessions are refused, in
// either message, while the unmodified handshake still logs on.
func TestRefuses40BitSessions(t *testing.T) {
	handshake := func(t *testing.T, negMask, authMask uint32) (*Session, error) {
		t.Helper()
		neg, err := ntlmssp.NewNegotiateMessage("", "")
		if err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint32(neg[12:], binary.LittleEndian.Uint32(neg[12:])&^negMask)
		srv := NewServer(Config{})
		ch, err := srv.Challenge(neg)
		if err != nil {
			return nil, err
		}
		if binary.LittleEndian.Uint32(ch[20:])&Flag128 == 0 {
			t.Errorf("CHALLENGE flags %#x do not select NTLMSSP_NEGOTIATE_128", binary.LittleEndian.Uint32(ch[20:]))
		}
		auth, err := ntlmssp.ProcessChallenge(ch, "alice", "correct horse")
		if err != nil {
			t.Fatalf("go-ntlmssp ProcessChallenge: %v", err)
		}
		binary.LittleEndian.PutUint32(auth[60:], binary.LittleEndian.Uint32(auth[60:])&^authMask)
		return srv.Authenticate(auth, lookupPasswords(testUsers))
	}
	t.Run("unmodified", func(t *testing.T) {
		sess, err := handshake(t, 0, 0)
		if err != nil {
			t.Fatalf("go-ntlmssp logon: %v", err)
		}
		if sess.Flags&Flag128 == 0 {
			t.Errorf("session flags %#x lack NTLMSSP_NEGOTIATE_128", sess.Flags)
		}
	})
	for _, tt := range []struct {
		name              string
		negMask, authMask uint32
	}{
		{"128 dropped from AUTHENTICATE", 0, Flag128},
		{"128 and 56 dropped from AUTHENTICATE", 0, Flag128 | Flag56},
		{"128 not offered in NEGOTIATE", Flag128, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sess, err := handshake(t, tt.negMask, tt.authMask)
			if !errors.Is(err, ErrWeakKey) || !errors.Is(err, ErrUnsupported) {
				t.Fatalf("got %v (session %v), want ErrWeakKey", err, sess != nil)
			}
		})
	}
}

// TestRefuses40BitSealingWithoutMIC runs the attack against a client that
// seals (as pywinrm and PowerShell do over HTTP) but sends no MIC: its
// AUTHENTICATE with NTLMSSP_NEGOTIATE_128 cleared is refused.
func TestRefuses40BitSealingWithoutMIC(t *testing.T) {
	now := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	c := testClient{user: "alice", password: "correct horse", noMIC: true}
	srv := fixedServer(now)
	ch, err := srv.Challenge(c.negotiateMessage())
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := c.authenticate(t, ch)
	flags := binary.LittleEndian.Uint32(auth[60:])
	if flags&FlagSeal == 0 {
		t.Fatalf("the test client does not seal: flags %#x", flags)
	}
	binary.LittleEndian.PutUint32(auth[60:], flags&^(Flag128|Flag56))
	if sess, err := srv.Authenticate(auth, lookupPasswords(testUsers)); !errors.Is(err, ErrWeakKey) {
		t.Fatalf("got %v (session %v), want ErrWeakKey", err, sess != nil)
	}
}

// TestLogonErrorCarriesNames checks that a failed logon reports the user,
// domain and workstation the client sent (for the logon log), and that a
// session holds the domain too.
func TestLogonErrorCarriesNames(t *testing.T) {
	now := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		client  testClient
		wantErr error
	}{
		{"wrong password", testClient{user: "alice", password: "wrong", domain: "EVILCORP"}, ErrBadResponse},
		{"right password", testClient{user: "alice", password: "correct horse", domain: "EVILCORP"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			srv := fixedServer(now)
			ch, err := srv.Challenge(c.negotiateMessage())
			if err != nil {
				t.Fatal(err)
			}
			auth, _ := c.authenticate(t, ch)
			sess, err := srv.Authenticate(auth, lookupPasswords(testUsers))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				if sess.Domain != "EVILCORP" {
					t.Errorf("session domain %q, want EVILCORP", sess.Domain)
				}
				return
			}
			var le *LogonError
			if !errors.As(err, &le) {
				t.Fatalf("%v is not a *LogonError", err)
			}
			if le.User != "alice" || le.Domain != "EVILCORP" || le.Workstation != "WS" {
				t.Errorf("LogonError names %q %q %q, want alice EVILCORP WS", le.User, le.Domain, le.Workstation)
			}
			if le.Error() != ErrBadResponse.Error() {
				t.Errorf("Error() = %q, want the reason alone", le.Error())
			}
		})
	}
}
