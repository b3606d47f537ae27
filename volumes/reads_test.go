package volumes_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// TestLookupsSeeStoreUpdates checks that Get and ListAfter, which keep
// their reads while the store is unchanged, see a change written to the
// store by another path (here a raw Update of the record, as any other
// package's write would be) in their next call, and a deletion likewise.
func TestLookupsSeeStoreUpdates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "vol", MiB)
	w := e.create(volumes.DefaultPool, "other", MiB)
	bucket := volumes.StoreBuckets[0]
	rewrite := func(id volumes.ID, change func(map[string]any)) {
		t.Helper()
		if err := e.db.Update(func(tx *store.Tx) error {
			raw, err := tx.GetRaw(bucket, string(id))
			if err != nil || raw == nil {
				return errors.Join(err, errors.New("no record"))
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			change(m)
			return tx.Put(bucket, string(id), m)
		}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, want uint64) {
		t.Helper()
		for range 3 { // the first read of a generation, then the kept ones
			got, err := e.svc.Get(ctx, v.ID)
			if err != nil || got.SizeBytes != want {
				t.Fatalf("Get %s: %+v, %v; want size %d", what, got, err, want)
			}
			page, _, err := e.svc.ListAfter(ctx, "", 10)
			if err != nil || len(page) != 2 {
				t.Fatalf("ListAfter %s: %d volumes, %v", what, len(page), err)
			}
			for _, p := range page {
				if p.ID == v.ID && p.SizeBytes != want {
					t.Fatalf("ListAfter %s: size %d, want %d", what, p.SizeBytes, want)
				}
			}
		}
	}
	check("at first", MiB)
	rewrite(v.ID, func(m map[string]any) { m["size_bytes"] = 3 * MiB })
	check("after a raw Update", 3*MiB)
	rewrite(w.ID, func(m map[string]any) { m["labels"] = map[string]string{"x": "y"} })
	check("after an Update of another record", 3*MiB)
	rewrite(v.ID, func(m map[string]any) { m["size_bytes"] = 4 * MiB })
	check("after a second raw Update", 4*MiB)
	if err := e.db.Update(func(tx *store.Tx) error { return tx.Delete(bucket, string(v.ID)) }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(ctx, v.ID); !errors.Is(err, volumes.ErrNotFound) {
		t.Fatalf("Get after the record's deletion: %v, want ErrNotFound", err)
	}
	if page, _, err := e.svc.ListAfter(ctx, "", 10); err != nil || len(page) != 1 || page[0].ID != w.ID {
		t.Fatalf("ListAfter after the record's deletion: %d volumes, %v", len(page), err)
	}
}

// TestLookupsDuringUpdates runs Gets and ListAfters while records change
// (for the race detector), then checks that both see the last change.
func TestLookupsDuringUpdates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "vol", MiB)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, err := e.svc.Get(ctx, v.ID); err != nil {
					t.Error(err)
				}
				if _, _, err := e.svc.ListAfter(ctx, "", 5); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			if _, err := e.svc.SetLabels(ctx, v.ID, map[string]string{"n": string(rune('a' + i))}); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	got, err := e.svc.Get(ctx, v.ID)
	if err != nil || got.Labels["n"] != "t" {
		t.Fatalf("Get after the changes: %+v, %v; want label n=t", got, err)
	}
	page, _, err := e.svc.ListAfter(ctx, "", 5)
	if err != nil || len(page) != 1 || page[0].Labels["n"] != "t" {
		t.Fatalf("ListAfter after the changes: %+v, %v; want label n=t", page, err)
	}
}
