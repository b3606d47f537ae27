package wsman_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/replicad/replicad/wsman"
)

// AuthenticateBasic is the WS-Man logon for another front end: Basic only,
// the same users, and its failures count in the one failed-logon limiter,
// so the right password is then refused on /wsman too.
func TestAuthenticateBasicSharesTheLimiter(t *testing.T) {
	var s *wsman.Server
	srv, _, _ := newAuthServer(t, func(x *wsman.Server) {
		x.Auth.MaxFailures = 3
		s = x
	})
	basic := func(user, pw string) error {
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/cimom", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		if user != "" {
			r.SetBasicAuth(user, pw)
		}
		got, err := s.AuthenticateBasic(r)
		if err == nil && got != user {
			t.Errorf("AuthenticateBasic = %q, want %q", got, user)
		}
		return err
	}
	if err := basic("", ""); !errors.Is(err, wsman.ErrNotBasic) {
		t.Errorf("no credentials: %v, want ErrNotBasic", err)
	}
	if err := basic(testUser, testPass); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := basic(testUser, "wrong"); err == nil || wsman.LogonBusy(err) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	if status, _ := post(t, srv, testUser, testPass, enumerate("")); status != 401 {
		t.Errorf("right password on /wsman after three failures through AuthenticateBasic: %d, want 401", status)
	}
	if s.LogName("nobody") != "<unknown>" || s.LogName(testUser) != testUser {
		t.Errorf("LogName: %q, %q", s.LogName("nobody"), s.LogName(testUser))
	}
}
