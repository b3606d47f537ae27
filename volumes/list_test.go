package volumes_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/replicad/replicad/volumes"
)

// Paging with ListAfter meets every volume of every pool once, in ID
// order, whatever the page size, with more set on every page but the last;
// a volume deleted mid-way is not met and its file state is reported.
func TestListAfterPages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreatePool(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 7 {
		pool := volumes.DefaultPool
		if i%3 == 0 {
			pool = "fast"
		}
		want = append(want, string(e.create(pool, fmt.Sprintf("v%d", i), MiB).ID))
	}
	sort.Strings(want)
	for _, limit := range []int{1, 3, 7, 100} {
		var got []string
		after, pages := volumes.ID(""), 0
		for {
			page, more, err := e.svc.ListAfter(ctx, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(page) > limit || (more && len(page) != limit) {
				t.Fatalf("limit %d: page of %d with more=%v", limit, len(page), more)
			}
			for _, v := range page {
				if v.Missing || v.Path() == "" {
					t.Errorf("limit %d: %s reported missing or without a path", limit, v.Name)
				}
				got = append(got, string(v.ID))
			}
			if !more {
				break
			}
			after = page[len(page)-1].ID
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: got %q, want %q", limit, got, want)
		}
		if wantPages := (len(want) + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages for %d volumes", limit, pages, len(want))
		}
	}
	// Deleted after the first page: the rest is still in order without it.
	first, _, err := e.svc.ListAfter(ctx, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(ctx, volumes.ID(want[3])); err != nil {
		t.Fatal(err)
	}
	last, err := e.svc.Get(ctx, volumes.ID(want[len(want)-1]))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(last.Path()); err != nil {
		t.Fatal(err)
	}
	rest, more, err := e.svc.ListAfter(ctx, first[1].ID, 100)
	if err != nil || more {
		t.Fatalf("rest: %v, more %v", err, more)
	}
	var ids []string
	for _, v := range rest {
		ids = append(ids, string(v.ID))
		if v.ID == last.ID && !v.Missing {
			t.Errorf("%s's file is gone but it is not reported missing", v.Name)
		}
	}
	if w := slices.Delete(slices.Clone(want[2:]), 1, 2); !slices.Equal(ids, w) {
		t.Errorf("after deleting %s: got %q, want %q", want[3], ids, w)
	}
	if _, _, err := e.svc.ListAfter(ctx, "", 0); !errors.Is(err, volumes.ErrInvalidSize) {
		t.Errorf("limit 0: %v, want ErrInvalidSize", err)
	}
}
