package users_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicad/replicad/users"
)

func TestNTHashAndRoles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	var f users.File
	for _, n := range []string{"admin", "viewer"} {
		if err := f.Set(n, "Password"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SetRole("viewer", users.RoleReader); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	g, err := users.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		wantRole users.Role
	}{
		{"admin", users.RoleAdmin},
		{"viewer", users.RoleReader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role, err := g.Role(tt.name)
			if err != nil || role != tt.wantRole {
				t.Errorf("Role(%s) = %q, %v, want %q", tt.name, role, err, tt.wantRole)
			}
			h, err := g.NTHash(tt.name)
			// MS-NLMP 4.2.1: the NT hash of "Password".
			if err != nil || hex.EncodeToString(h) != "a4f49c406510bdcab6824ee7c30fd852" {
				t.Errorf("NTHash(%s) = %x, %v, want a4f49c406510bdcab6824ee7c30fd852", tt.name, h, err)
			}
		})
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("a4f49c40")) || strings.Count(string(raw), ":") != 2 {
		t.Errorf("users file = %q, want plain htpasswd name:bcrypt lines", raw)
	}
	fi, err := os.Stat(users.MetaPath(path))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("companion file mode = %v, %v, want 0600", fi.Mode(), err)
	}
	if _, err := g.Role("nobody"); !errors.Is(err, users.ErrUnknownUser) {
		t.Errorf("Role(nobody) = %v, want ErrUnknownUser", err)
	}
}

func TestHtpasswdOnlyUser(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(path, []byte(htpasswdB), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := users.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if role, err := f.Role("alice"); err != nil || role != users.RoleAdmin {
		t.Errorf("Role(alice) = %q, %v, want admin", role, err)
	}
	if _, err := f.NTHash("alice"); !errors.Is(err, users.ErrNoNTHash) {
		t.Errorf("NTHash(alice) = %v, want ErrNoNTHash", err)
	}
}

func TestDeleteAndStaleMeta(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	var f users.File
	f.Set("a", "1")
	f.Set("b", "2")
	f.SetRole("b", users.RoleReader)
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	// Remove b from the users file only, as `htpasswd -D` would.
	raw, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(raw), "\n")
	if err := os.WriteFile(path, []byte(lines[0]), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := users.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.Has("b") {
		t.Errorf("Has(b) = true after htpasswd removed b, want false")
	}
	if err := g.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if err := g.Delete("a"); !errors.Is(err, users.ErrUnknownUser) {
		t.Errorf("second Delete(a) = %v, want ErrUnknownUser", err)
	}
	if got := g.Names(); len(got) != 0 {
		t.Errorf("Names() = %v, want none", got)
	}
}

func TestBadMeta(t *testing.T) {
	tests := []struct{ name, meta string }{
		{"two fields", "alice:admin\n"},
		{"bad role", "alice:root:\n"},
		{"short hash", "alice:admin:abcd\n"},
		{"not hex", "alice:admin:" + strings.Repeat("zz", 16) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users")
			os.WriteFile(path, []byte(htpasswdB), 0o600)
			os.WriteFile(users.MetaPath(path), []byte(tt.meta), 0o600)
			if _, err := users.Load(path); err == nil {
				t.Errorf("Load with companion %q succeeded, want an error", tt.meta)
			}
		})
	}
	if _, err := users.ParseRole("root"); !errors.Is(err, users.ErrInvalidRole) {
		t.Errorf("ParseRole(root) = %v, want ErrInvalidRole", err)
	}
}
