package users_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/replicad/replicad/users"
)

// htpasswdB is the line `htpasswd -nbB alice secret` (apache2-utils 2.4.67) printed.
const htpasswdB = "alice:$2y$05$8snVySpjz.DR/44Sbz0WMuE1RxFJCAK1uDZINXeD2y9dZx08StvQC\n"

func TestVerify(t *testing.T) {
	f := users.File{}
	if err := f.Set("admin", "s3cret"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, pass string
		want             error
	}{
		{"right", "admin", "s3cret", nil},
		{"wrong password", "admin", "nope", users.ErrBadPassword},
		{"unknown user", "bob", "s3cret", users.ErrUnknownUser},
		{"empty password", "admin", "", users.ErrBadPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.Verify(tt.user, tt.pass); !errors.Is(got, tt.want) {
				t.Errorf("Verify(%q) = %v, want %v", tt.user, got, tt.want)
			}
		})
	}
}

func TestVerifyHtpasswdLine(t *testing.T) {
	f, err := users.Parse([]byte(htpasswdB))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Verify("alice", "secret"); err != nil {
		t.Errorf("Verify(alice, secret) = %v, want nil", err)
	}
	if err := f.Verify("alice", "Secret"); !errors.Is(err, users.ErrBadPassword) {
		t.Errorf("Verify(alice, Secret) = %v, want ErrBadPassword", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	var f users.File
	if err := f.Set("admin", "pw1"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("reader", "pw2"); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
	g, err := users.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Verify("reader", "pw2"); err != nil {
		t.Errorf("Verify after reload: %v", err)
	}
	if got := g.Names(); len(got) != 2 || got[0] != "admin" || got[1] != "reader" {
		t.Errorf("Names() = %v, want [admin reader]", got)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, file string
		wantErr    bool
	}{
		{"htpasswd -B line", htpasswdB, false},
		{"comments and blanks", "# users\n\n" + htpasswdB, false},
		{"md5 apr1 refused", "bob:$apr1$abc$defghijklmnopqrstuvwx.\n", true},
		{"plain text refused", "bob:secret\n", true},
		{"no colon", "bob\n", true},
		{"name with space", "b ob:$2y$05$WkyHsE0mY1iSp4FVY9RdEu1iN7Z1U0r0mG6kSDaCn4Bq6ruRiRQ8m\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := users.Parse([]byte(tt.file))
			if (err != nil) != tt.wantErr {
				t.Errorf("Parse error = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(htpasswdB))
	f.Add([]byte("a:b\n#c\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		file, err := users.Parse(raw)
		if err != nil {
			return
		}
		for _, n := range file.Names() {
			if users.ValidateName(n) != nil {
				t.Fatalf("accepted invalid name %q", n)
			}
		}
	})
}

// TestVerifyRemembersOnlyTheRightPassword checks the cache of successful
// checks: a remembered password still verifies, another one never does, and
// changing the password forgets the old one.
func TestVerifyRemembersOnlyTheRightPassword(t *testing.T) {
	var f users.File
	if err := f.Set("admin", "first"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the second round is answered from the cache
		if err := f.Verify("admin", "first"); err != nil {
			t.Fatalf("round %d: Verify(first) = %v", i, err)
		}
		if err := f.Verify("admin", "firs"); !errors.Is(err, users.ErrBadPassword) {
			t.Fatalf("round %d: Verify(firs) = %v, want ErrBadPassword", i, err)
		}
	}
	if err := f.Set("admin", "second"); err != nil {
		t.Fatal(err)
	}
	if err := f.Verify("admin", "first"); !errors.Is(err, users.ErrBadPassword) {
		t.Errorf("old password after a change: %v, want ErrBadPassword", err)
	}
	if err := f.Verify("admin", "second"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if err := f.Delete("admin"); err != nil {
		t.Fatal(err)
	}
	if err := f.Verify("admin", "second"); err == nil {
		t.Errorf("deleted user still verifies")
	}
}
