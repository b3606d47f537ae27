package users

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestVerifyOneBcryptPerUser checks that requests that miss the remembered
// check at once pay one bcrypt comparison between them, not one each.
func TestVerifyOneBcryptPerUser(t *testing.T) {
	f, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Set("alice", "s3cret-pass"); err != nil {
		t.Fatal(err)
	}
	f.verified.forget("alice")
	var calls atomic.Int32
	orig := compareHash
	compareHash = func(hash, password []byte) error {
		calls.Add(1)
		return orig(hash, password)
	}
	defer func() { compareHash = orig }()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			<-start
			if err := f.Verify("alice", "s3cret-pass"); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("%d bcrypt comparisons for 8 concurrent checks of one password, want 1", n)
	}
	if len(f.verified.checks) != 0 {
		t.Errorf("%d check slots left after the checks, want 0", len(f.verified.checks))
	}
	// A wrong password is still refused, and checked.
	if err := f.Verify("alice", "wrong"); err != ErrBadPassword {
		t.Errorf("Verify(wrong) = %v, want ErrBadPassword", err)
	}
}

// TestVerifiedMACIsHMAC checks that the cache's MAC, computed with a
// keyed state kept between calls, is HMAC-SHA256 of name NUL password
// under its key, call after call (a state not reset between them would
// carry one message into the next).
func TestVerifiedMACIsHMAC(t *testing.T) {
	var c verifiedCache
	creds := [][2]string{{"admin", "secret"}, {"admin", "secret"}, {"operator", ""}, {"", "x"},
		{"a-long-user-name", strings.Repeat("long password ", 20)}, {"admin", "secret"}}
	for i, cr := range creds {
		got := c.mac(cr[0], cr[1])
		h := hmac.New(sha256.New, c.key[:])
		h.Write([]byte(cr[0] + "\x00" + cr[1]))
		if want := h.Sum(nil); !bytes.Equal(got[:], want) {
			t.Errorf("call %d (%q): MAC %x, want HMAC-SHA256 %x", i, cr[0], got, want)
		}
	}
}
