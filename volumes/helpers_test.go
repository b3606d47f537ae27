package volumes_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

const MiB = 1 << 20

// env is a data directory with a real store and an open Service.
type env struct {
	t   *testing.T
	dir string
	db  *store.DB
	svc *volumes.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	db, err := store.Open(filepath.Join(e.dir, "state.db"), store.Options{})
	if err != nil {
		e.t.Fatalf("store.Open: %v", err)
	}
	svc, err := volumes.Open(db, e.dir, volumes.Options{Logger: zaptest.NewLogger(e.t)})
	if err != nil {
		db.Close()
		e.t.Fatalf("volumes.Open: %v", err)
	}
	e.db, e.svc = db, svc
}

func (e *env) close() {
	if e.svc != nil {
		e.svc.Close()
		e.svc = nil
	}
	if e.db != nil {
		e.db.Close()
		e.db = nil
	}
}

func (e *env) reopen() {
	e.t.Helper()
	e.close()
	e.open()
}

func (e *env) poolDir(pool string) string { return filepath.Join(e.dir, "pools", pool) }

func (e *env) create(pool, name string, size uint64) *volumes.Volume {
	e.t.Helper()
	v, err := e.svc.Create(context.Background(), pool, name, size)
	if err != nil {
		e.t.Fatalf("Create(%s, %s, %d): %v", pool, name, size, err)
	}
	return v
}

// snapshot describes every file under the data directory (except the
// database file) and every record of the package's buckets.
func (e *env) snapshot() string {
	e.t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(e.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(e.dir, path)
		if rel == "state.db" {
			return nil
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		size := fi.Size()
		if fi.IsDir() {
			size = 0
		}
		fmt.Fprintf(&b, "file %s %v %d\n", rel, fi.Mode(), size)
		return nil
	})
	if err != nil {
		e.t.Fatalf("walk: %v", err)
	}
	var recs []string
	err = e.db.View(func(tx *store.Tx) error {
		for _, bucket := range volumes.StoreBuckets {
			if err := tx.ForEach(bucket, func(k string, raw []byte) error {
				recs = append(recs, fmt.Sprintf("record %s/%s %s", bucket, k, raw))
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("dump store: %v", err)
	}
	sort.Strings(recs)
	b.WriteString(strings.Join(recs, "\n"))
	return b.String()
}

// writeSparse makes a sparse file of size bytes at path.
func writeSparse(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return fi.Size()
}
