package store_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/replicad/replicad/store"
)

func TestCommitsCountsCommittedUpdates(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "state.db"))
	before := db.Commits()
	for i := range 3 {
		if err := db.Update(func(tx *store.Tx) error { return tx.Put("b", "k", i) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Update(func(*store.Tx) error { return errors.New("roll back") }); err == nil {
		t.Fatal("a failing Update committed")
	}
	if err := db.View(func(*store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := db.Commits() - before; got != 3 {
		t.Fatalf("Commits grew by %d over 3 committed Updates, a rolled back one and a View; want 3", got)
	}
}
