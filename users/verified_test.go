package users

import (
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
