package volumes_test

import (
	"context"
	"errors"
	"testing"

	"github.com/replicad/replicad/volumes"
)

// TestLookupsSeeEveryChange: Get, Lookup and ListAfter reuse decoded records, yet
// each sees every change of the volume at once (labels, size, deletion),
// a caller changing the Labels of a Volume it got changes nothing else, and
// the beginning of an ID finds no volume.
func TestLookupsSeeEveryChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := e.create(volumes.DefaultPool, "vol", MiB)
	check := func(what string, want func(*volumes.Volume) bool) {
		t.Helper()
		got, err := e.svc.Get(ctx, v.ID)
		if err != nil || !want(got) {
			t.Fatalf("Get %s: %+v, %v", what, got, err)
		}
		byName, err := e.svc.Lookup(ctx, v.Pool, v.Name)
		if err != nil || !want(byName) {
			t.Fatalf("Lookup %s: %+v, %v", what, byName, err)
		}
		page, _, err := e.svc.ListAfter(ctx, "", 10)
		if err != nil || len(page) != 1 || !want(page[0]) {
			t.Fatalf("ListAfter %s: %d volumes, %v", what, len(page), err)
		}
	}
	check("at first", func(g *volumes.Volume) bool { return g.SizeBytes == MiB && g.Labels == nil })
	if _, err := e.svc.Get(ctx, volumes.ID(v.ID[:8])); !errors.Is(err, volumes.ErrNotFound) {
		t.Fatalf("Get of a prefix of an ID: %v, want ErrNotFound", err)
	}
	if _, err := e.svc.SetLabels(ctx, v.ID, map[string]string{"origin": "a"}); err != nil {
		t.Fatal(err)
	}
	check("after SetLabels", func(g *volumes.Volume) bool { return g.Labels["origin"] == "a" })
	got, _ := e.svc.Get(ctx, v.ID)
	got.Labels["origin"] = "changed by a caller"
	check("after a caller changed its copy", func(g *volumes.Volume) bool { return g.Labels["origin"] == "a" })
	if _, err := e.svc.Grow(ctx, v.ID, 2*MiB); err != nil {
		t.Fatal(err)
	}
	check("after Grow", func(g *volumes.Volume) bool { return g.SizeBytes == 2*MiB && g.Labels["origin"] == "a" })
	if err := e.svc.Delete(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(ctx, v.ID); !errors.Is(err, volumes.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if _, err := e.svc.Lookup(ctx, v.Pool, v.Name); !errors.Is(err, volumes.ErrNotFound) {
		t.Fatalf("Lookup after Delete: %v, want ErrNotFound", err)
	}
	if page, _, err := e.svc.ListAfter(ctx, "", 10); err != nil || len(page) != 0 {
		t.Fatalf("ListAfter after Delete: %d volumes, %v", len(page), err)
	}
}
