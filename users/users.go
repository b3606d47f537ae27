package users

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/md4"
)

// Limits on the users file, so that a corrupt or hostile file cannot exhaust memory.
const (
	MaxUsers    = 10000
	MaxNameLen  = 256
	maxFileSize = 4 << 20
)

// ErrUnknownUser and ErrBadPassword are returned by Verify. Callers must answer
// both the same way, so as not to reveal which names exist.
var (
	ErrUnknownUser  = errors.New("users: unknown user")
	ErrBadPassword  = errors.New("users: wrong password")
	ErrInvalidName  = errors.New("users: invalid user name")
	ErrUnsupported  = errors.New("users: unsupported password hash (only bcrypt, as htpasswd -B writes it)")
	ErrUserExists   = errors.New("users: user exists")
	ErrMissingUsers = errors.New("users: no users in file")
	ErrNoNTHash     = errors.New("users: no NT hash for this user (set the password again with `replicad user passwd`)")
	ErrInvalidRole  = errors.New("users: invalid role (want admin or reader)")
)

// Role is what a user may do.
type Role string

// The roles: an admin may do everything, a reader may Get, Enumerate and
// Identify but change nothing.
const (
	RoleAdmin  Role = "admin"
	RoleReader Role = "reader"
)

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleReader:
		return r, nil
	}
	return "", fmt.Errorf("%w: %q", ErrInvalidRole, s)
}

// attrs are what the companion file holds for a user.
type attrs struct {
	role   Role
	ntHash []byte        // nil when unknown
	certs  []certMapping // client certificate mappings (certs.go)
}

// File is a users file held in memory. It is safe for concurrent use.
type File struct {
	mu     sync.RWMutex
	path   string
	hashes map[string][]byte
	attrs  map[string]attrs
	// dummy is checked against for unknown names, so that a wrong name costs as much time as a wrong password.
	dummy []byte
	// verified remembers recent successful checks (verified.go).
	verified verifiedCache
}

// Load reads and parses the users file at path.
func Load(path string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("users: read %s: %w", path, err)
	}
	f, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("users: %s: %w", path, err)
	}
	f.path = path
	meta, err := os.ReadFile(MetaPath(path))
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("users: read %s: %w", MetaPath(path), err)
	}
	if err := f.parseMeta(meta); err != nil {
		return nil, fmt.Errorf("users: %s: %w", MetaPath(path), err)
	}
	return f, nil
}

// MetaPath returns the companion file of the users file at path: PATH.meta,
// one line `name:role:nthash` per user, where nthash is the hexadecimal MD4
// of the UTF-16LE password, or empty, and a line per client certificate
// mapping (certs.go).
func MetaPath(path string) string { return path + ".meta" }

// parseMeta reads the companion file; lines for names absent from the
// users file are ignored, so that `htpasswd -D` removes a user entirely.
func (f *File) parseMeta(raw []byte) error {
	if len(raw) > maxFileSize {
		return fmt.Errorf("file larger than %d bytes", maxFileSize)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) >= 2 && strings.HasPrefix(parts[1], "cert-") {
			m, err := parseCertMapping(parts[1:])
			if err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			if _, ok := f.hashes[parts[0]]; ok {
				a := f.attrs[parts[0]]
				a.certs = append(a.certs, m)
				f.attrs[parts[0]] = a
			}
			continue
		}
		if len(parts) != 3 {
			return fmt.Errorf("line %d: want name:role:nthash", n)
		}
		role, err := ParseRole(parts[1])
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		a := attrs{role: role, certs: f.attrs[parts[0]].certs}
		if parts[2] != "" {
			h, err := hex.DecodeString(parts[2])
			if err != nil || len(h) != 16 {
				return fmt.Errorf("line %d: NT hash must be 32 hexadecimal digits", n)
			}
			a.ntHash = h
		}
		if _, ok := f.hashes[parts[0]]; ok {
			f.attrs[parts[0]] = a
		}
	}
	return sc.Err()
}

// Parse parses the contents of a users file.
func Parse(raw []byte) (*File, error) {
	if len(raw) > maxFileSize {
		return nil, fmt.Errorf("users: file larger than %d bytes", maxFileSize)
	}
	f := &File{hashes: map[string][]byte{}, attrs: map[string]attrs{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 4096), maxFileSize)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: want name:hash", n)
		}
		if err := ValidateName(name); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if !isBcrypt(hash) {
			return nil, fmt.Errorf("line %d (%s): %w", n, name, ErrUnsupported)
		}
		if len(f.hashes) >= MaxUsers {
			return nil, fmt.Errorf("more than %d users", MaxUsers)
		}
		f.hashes[name] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return f, nil
}

func isBcrypt(hash string) bool {
	if len(hash) != 60 {
		return false
	}
	for _, p := range []string{"$2y$", "$2a$", "$2b$"} {
		if strings.HasPrefix(hash, p) {
			return true
		}
	}
	return false
}

// ValidateName reports whether name can be a user name: 1 to MaxNameLen
// printable characters, without ':' or whitespace.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return ErrInvalidName
	}
	for _, r := range name {
		if r == ':' || r <= ' ' || r == 0x7f {
			return ErrInvalidName
		}
	}
	return nil
}

// Verify checks name and password. It returns ErrUnknownUser or ErrBadPassword
// on failure and takes about the same time for both.
func (f *File) Verify(name, password string) error {
	f.mu.RLock()
	hash, ok := f.hashes[name]
	f.mu.RUnlock()
	if !ok {
		f.mu.Lock()
		if f.dummy == nil {
			f.dummy, _ = bcrypt.GenerateFromPassword([]byte("replicad-dummy"), bcrypt.DefaultCost)
		}
		dummy := f.dummy
		f.mu.Unlock()
		_ = bcrypt.CompareHashAndPassword(dummy, []byte(password))
		return ErrUnknownUser
	}
	if f.verified.hit(name, password, time.Now()) {
		return nil
	}
	// One bcrypt per user at a time: a request that waited here finds the
	// check it waited for remembered.
	unlock := f.verified.lock(name)
	defer unlock()
	now := time.Now()
	if f.verified.hit(name, password, now) {
		return nil
	}
	// htpasswd writes $2y$, which x/crypto reads as $2a$.
	if bytes.HasPrefix(hash, []byte("$2y$")) {
		hash = append([]byte("$2a$"), hash[4:]...)
	}
	if err := compareHash(hash, []byte(password)); err != nil {
		return ErrBadPassword
	}
	f.verified.remember(name, password, now)
	return nil
}

// compareHash is bcrypt's check; a test counts its calls.
var compareHash = bcrypt.CompareHashAndPassword

// Names lists the users in sorted order.
func (f *File) Names() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.namesLocked()
}

func (f *File) namesLocked() []string {
	names := make([]string, 0, len(f.hashes))
	for n := range f.hashes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Set adds or replaces name's password (hashed with bcrypt) in memory; call
// Save to write the file.
func (f *File) Set(name, password string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("users: hash password: %w", err)
	}
	f.verified.forget(name)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.initLocked()
	f.hashes[name] = hash
	a, ok := f.attrs[name]
	if !ok {
		a.role = RoleAdmin
	}
	a.ntHash = ntHash(password)
	f.attrs[name] = a
	return nil
}

func (f *File) initLocked() {
	if f.hashes == nil {
		f.hashes = map[string][]byte{}
	}
	if f.attrs == nil {
		f.attrs = map[string]attrs{}
	}
}

// ntHash returns MD4 of the UTF-16LE encoding of password, the NT hash NTLM
// authenticates with.
func ntHash(password string) []byte {
	u := utf16.Encode([]rune(password))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	h := md4.New()
	h.Write(b)
	return h.Sum(nil)
}

// NTHash returns name's NT hash for NTLM. It is password-equivalent: whoever
// holds it can log on as name with NTLM. A user whose password was set by
// another tool (htpasswd) has none until `replicad user passwd`.
func (f *File) NTHash(name string) ([]byte, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if _, ok := f.hashes[name]; !ok {
		return nil, ErrUnknownUser
	}
	a := f.attrs[name]
	if a.ntHash == nil {
		return nil, ErrNoNTHash
	}
	return bytes.Clone(a.ntHash), nil
}

// Role returns name's role. Users without an entry in the companion file,
// such as users added with htpasswd, are admins.
func (f *File) Role(name string) (Role, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if _, ok := f.hashes[name]; !ok {
		return "", ErrUnknownUser
	}
	if a, ok := f.attrs[name]; ok && a.role != "" {
		return a.role, nil
	}
	return RoleAdmin, nil
}

// SetRole changes name's role in memory; call Save to write it.
func (f *File) SetRole(name string, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.hashes[name]; !ok {
		return ErrUnknownUser
	}
	a := f.attrs[name]
	a.role = role
	f.attrs[name] = a
	return nil
}

// Has reports whether name is a user.
func (f *File) Has(name string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, ok := f.hashes[name]
	return ok
}

// Delete removes name in memory; call Save to write the file.
func (f *File) Delete(name string) error {
	f.verified.forget(name)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.hashes[name]; !ok {
		return ErrUnknownUser
	}
	delete(f.hashes, name)
	delete(f.attrs, name)
	return nil
}

// Save writes the users file and its companion PATH.meta atomically
// (temporary file, fsync, rename), both with mode 0600. The companion is
// written first, so that a crash between the two leaves no user without
// its role.
func (f *File) Save(path string) error {
	var buf, meta bytes.Buffer
	meta.WriteString("# replicad users: name:role:nthash, name:cert-sha256:HEX, name:cert-issuer:BASE64:UPN. The NT hash is password-equivalent for NTLM: keep this file secret.\n")
	f.mu.RLock()
	for _, n := range f.namesLocked() {
		fmt.Fprintf(&buf, "%s:%s\n", n, f.hashes[n])
		a := f.attrs[n]
		if a.role == "" {
			a.role = RoleAdmin
		}
		fmt.Fprintf(&meta, "%s:%s:%x\n", n, a.role, a.ntHash)
		for _, m := range a.certs {
			fmt.Fprintf(&meta, "%s:%s\n", n, m.metaLine())
		}
	}
	f.mu.RUnlock()
	if err := writeAtomic(MetaPath(path), meta.Bytes()); err != nil {
		return err
	}
	if err := writeAtomic(path, buf.Bytes()); err != nil {
		return err
	}
	f.mu.Lock()
	f.path = path
	f.mu.Unlock()
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".users-*")
	if err != nil {
		return fmt.Errorf("users: save: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("users: save: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("users: save: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("users: save: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("users: save: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("users: save: %w", err)
	}
	return nil
}

// RandomPassword returns a password of 24 URL-safe characters from crypto/rand.
func RandomPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("users: random password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
