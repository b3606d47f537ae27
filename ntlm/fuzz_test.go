package ntlm

import (
	"testing"
)

// FuzzNTLMMessage feeds arbitrary bytes to the parsers and to a server in
// both legs: nothing may panic, and no AUTHENTICATE from the fuzzer logs on.
func FuzzNTLMMessage(f *testing.F) {
	c := testClient{user: "alice", password: "correct horse"}
	f.Add(c.negotiateMessage())
	f.Add([]byte("NTLMSSP\x00\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseNegotiate(b)
		ParseAuthenticate(b)
		srv := NewServer(Config{})
		srv.Challenge(b)
		srv2 := NewServer(Config{})
		if _, err := srv2.Challenge(c.negotiateMessage()); err != nil {
			t.Fatal(err)
		}
		if sess, err := srv2.Authenticate(b, lookupPasswords(testUsers)); err == nil {
			t.Fatalf("fuzzed AUTHENTICATE logged on as %q", sess.User)
		}
	})
}
