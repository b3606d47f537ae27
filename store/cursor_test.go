package store_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/replicad/replicad/store"
)

// keysOf collects the keys a walk visits, stopping after limit (0: all).
func keysOf(t *testing.T, db *store.DB, walk func(tx *store.Tx, fn func(string, []byte) error) error, limit int) []string {
	t.Helper()
	var got []string
	err := db.View(func(tx *store.Tx) error {
		return walk(tx, func(k string, raw []byte) error {
			var r record
			if err := store.Decode(raw, &r); err != nil || r.Name != k {
				return errors.New("record does not match its key")
			}
			got = append(got, k)
			if limit > 0 && len(got) == limit {
				return store.ErrStop
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestForEachAfterAndPrefix(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "state.db"))
	defer db.Close()
	keys := []string{"a/1", "a/2", "a/3", "ab", "b/1", "c"}
	if err := db.Update(func(tx *store.Tx) error {
		for _, k := range keys {
			if err := tx.Put("things", k, record{Version: 1, Name: k}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	after := func(from string) func(*store.Tx, func(string, []byte) error) error {
		return func(tx *store.Tx, fn func(string, []byte) error) error { return tx.ForEachAfter("things", from, fn) }
	}
	prefix := func(p string) func(*store.Tx, func(string, []byte) error) error {
		return func(tx *store.Tx, fn func(string, []byte) error) error { return tx.ForEachPrefix("things", p, fn) }
	}
	for _, c := range []struct {
		name  string
		walk  func(*store.Tx, func(string, []byte) error) error
		limit int
		want  []string
	}{
		{"after empty is all", after(""), 0, keys},
		{"after a present key excludes it", after("a/2"), 0, []string{"a/3", "ab", "b/1", "c"}},
		{"after an absent key", after("a/25"), 0, []string{"a/3", "ab", "b/1", "c"}},
		{"after the last key", after("c"), 0, nil},
		{"stop after two", after("a/1"), 2, []string{"a/2", "a/3"}},
		{"prefix", prefix("a/"), 0, []string{"a/1", "a/2", "a/3"}},
		{"prefix stops", prefix("a/"), 1, []string{"a/1"}},
		{"absent prefix", prefix("bb"), 0, nil},
	} {
		if got := keysOf(t, db, c.walk, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	// A missing bucket walks nothing; another error is returned.
	if got := keysOf(t, db, func(tx *store.Tx, fn func(string, []byte) error) error {
		return tx.ForEachAfter("none", "", fn)
	}, 0); got != nil {
		t.Errorf("missing bucket: got %q", got)
	}
	boom := errors.New("boom")
	if err := db.View(func(tx *store.Tx) error {
		return tx.ForEachPrefix("things", "a", func(string, []byte) error { return boom })
	}); !errors.Is(err, boom) {
		t.Errorf("error from fn: got %v, want boom", err)
	}
}
