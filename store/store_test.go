package store_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/replicad/replicad/store"
)

type record struct {
	Version int    `json:"v"`
	Name    string `json:"name"`
}

func open(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path, store.Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestRecordsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := open(t, path)
	err := db.Update(func(tx *store.Tx) error {
		for _, n := range []string{"b", "a", "c"} {
			if err := tx.Put("things", n, record{Version: 1, Name: n}); err != nil {
				return err
			}
		}
		return tx.Delete("things", "c")
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(t, path)
	defer db.Close()
	var keys []string
	err = db.View(func(tx *store.Tx) error {
		var r record
		ok, err := tx.Get("things", "a", &r)
		if err != nil || !ok || r.Name != "a" {
			t.Errorf("Get(a) = %+v, %v, %v; want record a", r, ok, err)
		}
		if ok, _ := tx.Get("things", "c", &r); ok {
			t.Errorf("deleted record c is still there")
		}
		if ok, err := tx.Get("nothing", "x", &r); ok || err != nil {
			t.Errorf("Get from a missing bucket = %v, %v; want false, nil", ok, err)
		}
		return tx.ForEach("things", func(k string, raw []byte) error {
			var r record
			if err := store.Decode(raw, &r); err != nil {
				return err
			}
			keys = append(keys, k+"="+r.Name)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmtKeys(keys); got != "a=a b=b" {
		t.Errorf("ForEach saw %q, want %q", got, "a=a b=b")
	}
}

func fmtKeys(k []string) string {
	var b bytes.Buffer
	for i, s := range k {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

func TestFailedUpdateChangesNothing(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "state.db"))
	defer db.Close()
	boom := errors.New("boom")
	err := db.Update(func(tx *store.Tx) error {
		if err := tx.Put("things", "x", record{Name: "x"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want boom", err)
	}
	db.View(func(tx *store.Tx) error {
		var r record
		if ok, _ := tx.Get("things", "x", &r); ok {
			t.Errorf("record of a rolled-back transaction is visible")
		}
		return nil
	})
}

func TestReadOnlyTransactionRefusesWrites(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "state.db"))
	defer db.Close()
	err := db.View(func(tx *store.Tx) error {
		if tx.Writable() {
			t.Errorf("View transaction is writable")
		}
		if err := tx.Put("things", "x", record{}); err == nil {
			t.Errorf("Put in a read-only transaction succeeded")
		}
		if _, err := tx.NextSequence("things"); err == nil {
			t.Errorf("NextSequence in a read-only transaction succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSequencesIncrease(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "state.db"))
	defer db.Close()
	var got []uint64
	for i := 0; i < 3; i++ {
		db.Update(func(tx *store.Tx) error {
			n, err := tx.NextSequence("jobs")
			got = append(got, n)
			return err
		})
	}
	if got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Errorf("sequence = %v, want [1 2 3]", got)
	}
}

func TestSecondOpenTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := open(t, path)
	defer db.Close()
	_, err := store.Open(path, store.Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, store.ErrTimeout) {
		t.Errorf("second Open = %v, want ErrTimeout", err)
	}
}

func TestBackupIsAnOpenableCopy(t *testing.T) {
	dir := t.TempDir()
	db := open(t, filepath.Join(dir, "state.db"))
	db.Update(func(tx *store.Tx) error { return tx.Put("things", "k", record{Name: "kept"}) })
	var buf bytes.Buffer
	if err := db.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	db.Close()
	copyPath := filepath.Join(dir, "backup.db")
	if err := writeFile(copyPath, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	b := open(t, copyPath)
	defer b.Close()
	b.View(func(tx *store.Tx) error {
		var r record
		if ok, _ := tx.Get("things", "k", &r); !ok || r.Name != "kept" {
			t.Errorf("backup lacks the record: %+v", r)
		}
		return nil
	})
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := open(t, path)
	db.Update(func(tx *store.Tx) error { return tx.Put("meta", "schema", 99) })
	db.Close()
	if db, err := store.Open(path, store.Options{}); err == nil {
		db.Close()
		t.Fatalf("Open of a schema-99 database succeeded, want an error")
	}
}

// TestGenerationCountsUpdates checks Generation: even between Updates,
// odd during one (committed or failed) and different after each, the same
// across Views.
func TestGenerationCountsUpdates(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "state.db"))
	g := db.Generation()
	if g%2 != 0 {
		t.Fatalf("Generation %d between Updates: odd", g)
	}
	if err := db.View(func(*store.Tx) error { return nil }); err != nil || db.Generation() != g {
		t.Fatalf("Generation after a View: %d, want %d (%v)", db.Generation(), g, err)
	}
	for _, fail := range []bool{false, true} {
		var during uint64
		err := db.Update(func(tx *store.Tx) error {
			during = db.Generation()
			if fail {
				return errors.New("rolled back")
			}
			return tx.Put("meta", "k", 1)
		})
		if (err != nil) != fail {
			t.Fatalf("Update: %v", err)
		}
		after := db.Generation()
		if during%2 != 1 || after%2 != 0 || after == g || during == g {
			t.Errorf("failed %v: Generation %d before, %d during, %d after: want even, odd, another even", fail, g, during, after)
		}
		g = after
	}
}
