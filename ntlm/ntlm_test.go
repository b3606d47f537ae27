package ntlm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
)

var testUsers = map[string]string{"alice": "correct horse", "bob": "battery staple"}

func TestNTHash(t *testing.T) {
	// MS-NLMP 4.2.1: NTOWFv1("Password").
	got := NTHash("Password")
	if want := "a4f49c406510bdcab6824ee7c30fd852"; hex.EncodeToString(got[:]) != want {
		t.Errorf("NTHash(Password) = %x, want %s", got, want)
	}
}

// TestGoNTLMSSP runs the handshake with github.com/Azure/go-ntlmssp, the
// client masterzen/winrm uses.
func TestGoNTLMSSP(t *testing.T) {
	tests := []struct {
		name, user, password string
		wantErr              error
	}{
		{"right password", "alice", "correct horse", nil},
		{"wrong password", "alice", "correct horsE", ErrBadResponse},
		{"other user's password", "bob", "correct horse", ErrBadResponse},
		{"unknown user", "mallory", "x", ErrUnknownUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			neg, err := ntlmssp.NewNegotiateMessage("", "")
			if err != nil {
				t.Fatal(err)
			}
			srv := NewServer(Config{})
			ch, err := srv.Challenge(neg)
			if err != nil {
				t.Fatalf("Challenge: %v", err)
			}
			auth, err := ntlmssp.ProcessChallenge(ch, tt.user, tt.password)
			if err != nil {
				t.Fatalf("go-ntlmssp ProcessChallenge: %v", err)
			}
			sess, err := srv.Authenticate(auth, lookupPasswords(testUsers))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && sess.User != tt.user {
				t.Errorf("session user = %q, want %q", sess.User, tt.user)
			}
		})
	}
}

func TestHandshakeWithMIC(t *testing.T) {
	now := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		client  testClient
		wantErr error
	}{
		{"key exchange and MIC", testClient{user: "alice", password: "correct horse", domain: "WORKGROUP"}, nil},
		{"no MIC", testClient{user: "bob", password: "battery staple", noMIC: true}, nil},
		{"bad MIC", testClient{user: "alice", password: "correct horse", badMIC: true}, ErrBadMIC},
		{"wrong password", testClient{user: "alice", password: "wrong"}, ErrBadResponse},
		{"stale timestamp", testClient{user: "alice", password: "correct horse", timestamp: now.Add(-2 * time.Hour)}, ErrStale},
		{"no extended session security", testClient{user: "alice", password: "correct horse", flags: FlagUnicode | FlagNTLM | FlagSign}, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			srv := fixedServer(now)
			ch, err := srv.Challenge(c.negotiateMessage())
			if err != nil {
				if errors.Is(err, tt.wantErr) {
					return
				}
				t.Fatalf("Challenge: %v", err)
			}
			auth, exported := c.authenticate(t, ch)
			sess, err := srv.Authenticate(auth, lookupPasswords(testUsers))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(sess.SessionKey(), exported) {
				t.Errorf("session key = %x, want %x", sess.SessionKey(), exported)
			}
		})
	}
}

func TestReplayAndOrder(t *testing.T) {
	c := testClient{user: "alice", password: "correct horse"}
	srv := NewServer(Config{})
	ch, err := srv.Challenge(c.negotiateMessage())
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := c.authenticate(t, ch)
	if _, err := srv.Authenticate(auth, lookupPasswords(testUsers)); err != nil {
		t.Fatalf("first Authenticate: %v", err)
	}
	if _, err := srv.Authenticate(auth, lookupPasswords(testUsers)); !errors.Is(err, ErrState) {
		t.Errorf("second Authenticate on one server: got %v, want ErrState", err)
	}
	// The same message against a fresh challenge: the proof no longer matches.
	srv2 := NewServer(Config{})
	if _, err := srv2.Challenge(c.negotiateMessage()); err != nil {
		t.Fatal(err)
	}
	if _, err := srv2.Authenticate(auth, lookupPasswords(testUsers)); !errors.Is(err, ErrBadResponse) && !errors.Is(err, ErrBadMIC) {
		t.Errorf("replayed AUTHENTICATE: got %v, want ErrBadResponse or ErrBadMIC", err)
	}
	srv3 := NewServer(Config{})
	if _, err := srv3.Authenticate(auth, lookupPasswords(testUsers)); !errors.Is(err, ErrState) {
		t.Errorf("AUTHENTICATE before NEGOTIATE: got %v, want ErrState", err)
	}
}

func TestTruncatedAuthenticate(t *testing.T) {
	c := testClient{user: "alice", password: "correct horse"}
	srv := NewServer(Config{})
	ch, err := srv.Challenge(c.negotiateMessage())
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := c.authenticate(t, ch)
	for n := 0; n < len(auth); n++ {
		s := NewServer(Config{})
		if _, err := s.Challenge(c.negotiate); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(auth[:n], lookupPasswords(testUsers)); err == nil {
			t.Fatalf("Authenticate of the first %d of %d bytes succeeded, want an error", n, len(auth))
		}
	}
}

// Vectors computed with python3-ntlm-auth 1.4.0 (Debian bookworm), the NTLM
// code pywinrm uses: SessionSecurity(0xe2898235, bytes(range(16)), source).wrap(msg).
func TestSessionMatchesNTLMAuth(t *testing.T) {
	key := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	const flags = 0xe2898235
	fromClient := []struct{ msg, sealed, sig string }{
		{"hello client to server", "1c67f73f1e613e6e7fae795ac0084fd5d3c5c6c461c3", "0100000089f9c7c290ef888300000000"},
		{"second message", "2432e566f3148b77adb55efe5633", "01000000218d37f50644201d01000000"},
	}
	sess := newSession("alice", "", "", flags, key)
	for _, v := range fromClient {
		t.Run("unwrap "+v.msg, func(t *testing.T) {
			sealed, _ := hex.DecodeString(v.sealed)
			sig, _ := hex.DecodeString(v.sig)
			got, err := sess.Unwrap(sealed, sig)
			if err != nil {
				t.Fatalf("Unwrap: %v", err)
			}
			if string(got) != v.msg {
				t.Errorf("Unwrap = %q, want %q", got, v.msg)
			}
		})
	}
	t.Run("wrap", func(t *testing.T) {
		sealed, sig, err := sess.Wrap([]byte("hello server to client"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := hex.EncodeToString(sealed), "390ab3e1def66a8057ae458ea303b254d976d4f81c82"; got != want {
			t.Errorf("sealed = %s, want %s", got, want)
		}
		if got, want := hex.EncodeToString(sig), "0100000040363fa270868cea00000000"; got != want {
			t.Errorf("signature = %s, want %s", got, want)
		}
	})
}

func TestUnwrapRefusesTampering(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	tests := []struct {
		name   string
		tamper func(sealed, sig []byte) ([]byte, []byte)
	}{
		{"flipped body bit", func(s, g []byte) ([]byte, []byte) { s[3] ^= 0x10; return s, g }},
		{"flipped checksum", func(s, g []byte) ([]byte, []byte) { g[5] ^= 1; return s, g }},
		{"wrong sequence number", func(s, g []byte) ([]byte, []byte) { g[12] = 9; return s, g }},
		{"short signature", func(s, g []byte) ([]byte, []byte) { return s, g[:15] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newSession("c", "", "", 0xe2898235, key)
			server := newSession("c", "", "", 0xe2898235, key)
			// The client's outgoing direction is the server's incoming one.
			client.outSign, client.outSealKey = client.inSign, client.inSealKey
			client.ResetCipher(true)
			sealed, sig, err := client.Wrap([]byte("a message for the server"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := server.Unwrap(tt.tamper(sealed, sig)); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Unwrap of tampered message: got %v, want ErrBadSignature", err)
			}
			sealed, sig, _ = client.Wrap([]byte("next"))
			if _, err := server.Unwrap(sealed, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Unwrap after a failure: got %v, want ErrBadSignature", err)
			}
		})
	}
}
