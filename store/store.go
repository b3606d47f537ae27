package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
)

// ErrTimeout is returned by Open when another process holds the database lock
// for longer than Options.LockTimeout.
var ErrTimeout = errors.New("store: database is locked by another process")

// schemaVersion is the version of the bucket layout this code writes.
const schemaVersion = 1

const metaBucket = "meta"

// Options tune Open. The zero value is usable.
type Options struct {
	// LockTimeout bounds the wait for the file lock; 0 means 5 seconds.
	LockTimeout time.Duration
	// ReadOnly opens the database without write access.
	ReadOnly bool
}

// DB is an open state database. Its methods are safe for concurrent use.
type DB struct {
	bolt    *bbolt.DB
	commits atomic.Uint64
	// writing holds Updates one at a time (bbolt runs them so anyway)
	// so that gen counts each: odd while one runs (Generation).
	writing sync.Mutex
	gen     atomic.Uint64
}

// Open opens or creates the database at path with mode 0600, takes its file
// lock and migrates it to the current schema. It returns ErrTimeout when the
// lock cannot be taken in time.
func Open(path string, opts Options) (*DB, error) {
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{bolt: b}
	if !opts.ReadOnly {
		if err := db.migrate(); err != nil {
			b.Close()
			return nil, err
		}
	}
	return db, nil
}

func (db *DB) migrate() error {
	return db.Update(func(tx *Tx) error {
		var v int
		if _, err := tx.Get(metaBucket, "schema", &v); err != nil {
			return err
		}
		if v > schemaVersion {
			return fmt.Errorf("store: database schema %d is newer than this replicad (%d)", v, schemaVersion)
		}
		return tx.Put(metaBucket, "schema", schemaVersion)
	})
}

// Close releases the lock and closes the file.
func (db *DB) Close() error { return db.bolt.Close() }

// Path is the database file's path.
func (db *DB) Path() string { return db.bolt.Path() }

// Update runs fn in a read-write transaction, committed when fn returns nil and
// rolled back otherwise. One change of state is one Update.
func (db *DB) Update(fn func(tx *Tx) error) error {
	db.writing.Lock()
	defer db.writing.Unlock()
	db.gen.Add(1)       // odd: a write may be under way
	defer db.gen.Add(1) // even again, and not what it was
	err := db.bolt.Update(func(t *bbolt.Tx) error { return fn(&Tx{tx: t}) })
	if err == nil {
		db.commits.Add(1)
	}
	return err
}

// Commits is the number of Updates committed since Open: each is a write
// of the file and its fdatasyncs, so callers that batch their bookkeeping
// can count what it costs.
func (db *DB) Commits() uint64 { return db.commits.Load() }

// Generation is a number that is odd while an Update runs and grows with
// each Update (committed or not). When it is even and the same before and
// after a View, no Update ran during the View: what the View read is what
// the database holds for as long as Generation still returns that number,
// so a reader may keep it and use it again while it does (not while the
// number is odd, nor once it has changed).
func (db *DB) Generation() uint64 { return db.gen.Load() }

// View runs fn in a read-only transaction.
func (db *DB) View(fn func(tx *Tx) error) error {
	return db.bolt.View(func(t *bbolt.Tx) error { return fn(&Tx{tx: t}) })
}

// Backup writes a consistent copy of the whole database to w.
func (db *DB) Backup(w io.Writer) error {
	return db.View(func(tx *Tx) error {
		_, err := tx.tx.WriteTo(w)
		return err
	})
}

// Tx is a transaction. It is valid only inside the Update or View call that
// handed it out.
type Tx struct {
	tx *bbolt.Tx
}

// Writable reports whether the transaction may change state.
func (t *Tx) Writable() bool { return t.tx.Writable() }

// bucket returns the named bucket, creating it in a writable transaction. It
// returns nil for a missing bucket in a read-only transaction.
func (t *Tx) bucket(name string) (*bbolt.Bucket, error) {
	if b := t.tx.Bucket([]byte(name)); b != nil {
		return b, nil
	}
	if !t.tx.Writable() {
		return nil, nil
	}
	b, err := t.tx.CreateBucket([]byte(name))
	if err != nil {
		return nil, fmt.Errorf("store: create bucket %s: %w", name, err)
	}
	return b, nil
}

// Get decodes the record at bucket/key into v. It reports false, with v
// untouched, when there is no such record.
func (t *Tx) Get(bucket, key string, v any) (bool, error) {
	raw, err := t.GetRaw(bucket, key)
	if err != nil || raw == nil {
		return false, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("store: decode %s/%s: %w", bucket, key, err)
	}
	return true, nil
}

// GetRaw returns the stored bytes of bucket/key, nil when there is no such
// record. They are valid only until the transaction ends.
func (t *Tx) GetRaw(bucket, key string) ([]byte, error) {
	b, err := t.bucket(bucket)
	if err != nil || b == nil {
		return nil, err
	}
	return b.Get([]byte(key)), nil
}

// Put stores v, encoded as JSON, at bucket/key.
func (t *Tx) Put(bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s/%s: %w", bucket, key, err)
	}
	b, err := t.bucket(bucket)
	if err != nil {
		return err
	}
	if b == nil {
		return fmt.Errorf("store: put %s/%s: read-only transaction", bucket, key)
	}
	return b.Put([]byte(key), raw)
}

// Delete removes bucket/key; a missing record is not an error.
func (t *Tx) Delete(bucket, key string) error {
	b, err := t.bucket(bucket)
	if err != nil || b == nil {
		return err
	}
	return b.Delete([]byte(key))
}

// ForEach calls fn for every record of bucket in key order, stopping at the
// first error. Decode a record with Decode.
func (t *Tx) ForEach(bucket string, fn func(key string, raw []byte) error) error {
	b, err := t.bucket(bucket)
	if err != nil || b == nil {
		return err
	}
	return b.ForEach(func(k, v []byte) error { return fn(string(k), v) })
}

// NextSequence returns the next value of bucket's monotonic counter, starting at 1.
func (t *Tx) NextSequence(bucket string) (uint64, error) {
	b, err := t.bucket(bucket)
	if err != nil {
		return 0, err
	}
	if b == nil {
		return 0, fmt.Errorf("store: sequence %s: read-only transaction", bucket)
	}
	return b.NextSequence()
}

// Decode decodes a raw record handed out by ForEach into v.
func Decode(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("store: decode: %w", err)
	}
	return nil
}
