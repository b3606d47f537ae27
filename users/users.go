package users

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
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
)

// File is a users file held in memory. It is safe for concurrent use.
type File struct {
	mu     sync.RWMutex
	path   string
	hashes map[string][]byte
	// dummy is checked against for unknown names, so that a wrong name costs as much time as a wrong password.
	dummy []byte
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
	return f, nil
}

// Parse parses the contents of a users file.
func Parse(raw []byte) (*File, error) {
	if len(raw) > maxFileSize {
		return nil, fmt.Errorf("users: file larger than %d bytes", maxFileSize)
	}
	f := &File{hashes: map[string][]byte{}}
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
	// htpasswd writes $2y$, which x/crypto reads as $2a$.
	if bytes.HasPrefix(hash, []byte("$2y$")) {
		hash = append([]byte("$2a$"), hash[4:]...)
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil {
		return ErrBadPassword
	}
	return nil
}

// Names lists the users in sorted order.
func (f *File) Names() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
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
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hashes == nil {
		f.hashes = map[string][]byte{}
	}
	f.hashes[name] = hash
	return nil
}

// Save writes the file atomically (temporary file, fsync, rename) with mode 0600.
func (f *File) Save(path string) error {
	var buf bytes.Buffer
	for _, n := range f.Names() {
		f.mu.RLock()
		fmt.Fprintf(&buf, "%s:%s\n", n, f.hashes[n])
		f.mu.RUnlock()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".users-*")
	if err != nil {
		return fmt.Errorf("users: save: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("users: save: %w", err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
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
	f.path = path
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
