package users

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"hash"
	"sync"
	"time"
)

// verifiedTTL is how long a successful password check is remembered, so that
// a client sending Basic credentials on every request does not pay a bcrypt
// comparison (tens of milliseconds of CPU) each time.
const verifiedTTL = 5 * time.Minute

// verifiedCache remembers recent successful checks as keyed MACs of the
// password, never the password itself. It is safe for concurrent use; the
// zero value is ready.
type verifiedCache struct {
	once    sync.Once
	key     [32]byte
	macs    sync.Pool // of *macState keyed with key
	mu      sync.Mutex
	entries map[string]verifiedEntry
	checks  map[string]*checkSlot // users whose password is being checked
}

// macState is an HMAC-SHA256 keyed with the cache's key, kept between
// checks (hmac's Reset restores the keyed state without hashing the key
// again), with the buffers of one computation.
type macState struct {
	h        hash.Hash
	msg, sum []byte
}

// checkSlot serialises the password checks of one user.
type checkSlot struct {
	mu    sync.Mutex
	users int // holders and waiters; the slot is dropped at 0
}

type verifiedEntry struct {
	mac   [32]byte
	until time.Time
}

// mac returns HMAC-SHA256(key, name NUL password) under the cache's random
// key.
func (c *verifiedCache) mac(name, password string) [32]byte {
	c.once.Do(func() {
		rand.Read(c.key[:])
		c.macs.New = func() any { return &macState{h: hmac.New(sha256.New, c.key[:])} }
	})
	m := c.macs.Get().(*macState)
	m.msg = append(append(append(m.msg[:0], name...), 0), password...)
	m.h.Write(m.msg)
	m.sum = m.h.Sum(m.sum[:0])
	var out [32]byte
	copy(out[:], m.sum)
	// Nothing of the password is left in the pool: the message buffer is
	// cleared, and Reset overwrites the hash's unprocessed input.
	clear(m.msg)
	m.h.Reset()
	c.macs.Put(m)
	return out
}

// hit reports whether name and password were verified within verifiedTTL.
func (c *verifiedCache) hit(name, password string, now time.Time) bool {
	mac := c.mac(name, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[name]
	return ok && now.Before(e.until) && hmac.Equal(e.mac[:], mac[:])
}

// remember records a successful check.
func (c *verifiedCache) remember(name, password string, now time.Time) {
	mac := c.mac(name, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]verifiedEntry{}
	}
	if len(c.entries) >= MaxUsers {
		c.entries = map[string]verifiedEntry{}
	}
	c.entries[name] = verifiedEntry{mac: mac, until: now.Add(verifiedTTL)}
}

// forget drops what is remembered of name, after its password changed.
func (c *verifiedCache) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, name)
}

// lock waits until no other check of name's password runs and returns the
// call that ends this one. When a user's remembered check expires, the
// requests that miss it at once then pay one bcrypt comparison, not one each:
// the first checks, the others find its result remembered (hit) after lock.
func (c *verifiedCache) lock(name string) (unlock func()) {
	c.mu.Lock()
	if c.checks == nil {
		c.checks = map[string]*checkSlot{}
	}
	slot := c.checks[name]
	if slot == nil {
		slot = &checkSlot{}
		c.checks[name] = slot
	}
	slot.users++
	c.mu.Unlock()
	slot.mu.Lock()
	return func() {
		slot.mu.Unlock()
		c.mu.Lock()
		if slot.users--; slot.users == 0 {
			delete(c.checks, name)
		}
		c.mu.Unlock()
	}
}
