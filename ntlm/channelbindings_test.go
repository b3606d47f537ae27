package ntlm

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// TestChannelBindingsReported checks that the session carries the client's
// MsvAvChannelBindings, which the caller compares with its TLS channel, and
// that a malformed one fails the logon.
func TestChannelBindingsReported(t *testing.T) {
	now := time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)
	cb := bytes.Repeat([]byte{0xcb}, 16)
	tests := []struct {
		name    string
		sent    []byte
		want    []byte
		wantErr error
	}{
		{"binding sent", cb, cb, nil},
		{"none sent", nil, nil, nil},
		{"all zero, as clients without a channel send", make([]byte, 16), make([]byte, 16), nil},
		{"wrong length", cb[:8], nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClient{user: "alice", password: "correct horse", channelBindings: tt.sent}
			srv := fixedServer(now)
			ch, err := srv.Challenge(c.negotiateMessage())
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := c.authenticate(t, ch)
			sess, err := srv.Authenticate(msg, lookupPasswords(map[string]string{"alice": "correct horse"}))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate: %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(sess.ChannelBindings, tt.want) || (tt.want == nil) != (sess.ChannelBindings == nil) {
				t.Errorf("ChannelBindings = %x, want %x", sess.ChannelBindings, tt.want)
			}
		})
	}
}
