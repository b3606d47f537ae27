package cimmodel_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/replicad/replicad/cimmodel"
)

// pagedSet serves instances of one class keyed by ID; as a pager it pages
// them in ID order, otherwise the registry pages them by path.
type pagedSet struct {
	class *cimmodel.Class
	mu    sync.Mutex
	ids   map[string]bool
	pages int // EnumeratePage calls
}

func (p *pagedSet) inst(id string) *cimmodel.Instance {
	return cimmodel.NewInstance(p.class).Set("ID", cimmodel.String(id))
}

func (p *pagedSet) sorted() []string {
	var out []string
	for id, ok := range p.ids {
		if ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (p *pagedSet) EnumerateInstances(context.Context) ([]*cimmodel.Instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*cimmodel.Instance
	for _, id := range p.sorted() {
		out = append(out, p.inst(id))
	}
	slices.Reverse(out) // not in key order: the registry sorts
	return out, nil
}

func (p *pagedSet) GetInstance(_ context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "no %s", path)
}

func (p *pagedSet) set(id string, live bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids[id] = live
}

// pager is a pagedSet that pages itself.
type pager struct{ *pagedSet }

func (p pager) EnumeratePage(_ context.Context, after string, limit int) (cimmodel.Page, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pages++
	if limit < 1 { // as volumes.ListAfter
		return cimmodel.Page{}, fmt.Errorf("page of %d instances asked for", limit)
	}
	var pg cimmodel.Page
	for _, id := range p.sorted() {
		if id <= after {
			continue
		}
		if len(pg.Instances) == limit {
			pg.More = true
			break
		}
		pg.Instances = append(pg.Instances, p.inst(id))
		pg.Keys = append(pg.Keys, id)
	}
	return pg, nil
}

// pagedFamily registers Test_Base (abstract) with two subclasses: Test_A,
// served by a provider the registry pages, and Test_B, by a pager.
func pagedFamily(t *testing.T, a, b []string) (*cimmodel.Registry, *pagedSet, *pagedSet) {
	t.Helper()
	reg := cimmodel.NewRegistry()
	base := &cimmodel.Class{Name: "Test_Base", Namespace: "root/test", Abstract: true,
		Properties: []cimmodel.Property{{Name: "ID", Type: cimmodel.TypeString, Key: true}}}
	sa := &pagedSet{ids: map[string]bool{}}
	sb := &pagedSet{ids: map[string]bool{}}
	sa.class = &cimmodel.Class{Name: "Test_A", Superclass: "Test_Base", Namespace: "root/test", Provider: sa}
	sb.class = &cimmodel.Class{Name: "Test_B", Superclass: "Test_Base", Namespace: "root/test", Provider: pager{sb}}
	for _, c := range []*cimmodel.Class{base, sa.class, sb.class} {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range a {
		sa.ids[id] = true
	}
	for _, id := range b {
		sb.ids[id] = true
	}
	return reg, sa, sb
}

// walk pages through Test_Base limit at a time from after, calling between
// after each page, and returns "Class:ID" of every instance and the
// number of pages that said more follow.
func walk(t *testing.T, reg *cimmodel.Registry, limit int, keep func(*cimmodel.Instance) bool, between func(page int)) []string {
	t.Helper()
	var got []string
	var at cimmodel.Cursor
	for page := 0; page < 100; page++ {
		insts, more, err := reg.EnumeratePage(context.Background(), "root/test", "Test_Base", at, limit, keep)
		if err != nil {
			t.Fatal(err)
		}
		if len(insts) > limit {
			t.Fatalf("page of %d instances, limit %d", len(insts), limit)
		}
		for _, p := range insts {
			id, _ := p.Instance.Get("ID").AsString()
			got = append(got, p.Instance.Class.Name+":"+id)
			at = p.Cursor
		}
		if !more {
			return got
		}
		if len(insts) == 0 {
			t.Fatalf("page %d: no instance, but more follow", page)
		}
		if between != nil {
			between(page)
		}
	}
	t.Fatal("more than 100 pages")
	return nil
}

// TestEnumeratePageWalksTheFamily pages through a class and its
// subclasses at every page size: each instance once, each class in key
// order, the pager's own pages used, and the last page says no more
// (exactly: also when it ends at a class boundary).
func TestEnumeratePageWalksTheFamily(t *testing.T) {
	want := "Test_A:a1 Test_A:a2 Test_A:a3 Test_B:b1 Test_B:b2"
	for limit := 1; limit <= 6; limit++ {
		reg, _, sb := pagedFamily(t, []string{"a3", "a1", "a2"}, []string{"b2", "b1"})
		if got := strings.Join(walk(t, reg, limit, nil, nil), " "); got != want {
			t.Errorf("limit %d: got %s, want %s", limit, got, want)
		}
		if sb.pages == 0 {
			t.Errorf("limit %d: the pager was not asked for pages", limit)
		}
	}
}

// TestEnumeratePageBetweenChanges: instances created ahead of the cursor
// are met, behind it not; deleted ones ahead are not met; none twice.
func TestEnumeratePageBetweenChanges(t *testing.T) {
	reg, sa, sb := pagedFamily(t, []string{"a1", "a3", "a5"}, []string{"b1", "b3"})
	got := walk(t, reg, 2, nil, func(page int) {
		if page == 0 { // the cursor is at Test_A a3
			sa.set("a2", true)  // behind
			sa.set("a4", true)  // ahead
			sa.set("a5", false) // ahead, deleted
			sa.set("a1", false) // behind, deleted
			sb.set("b0", true)  // ahead (in a later class)
			sb.set("b3", false) // ahead, deleted
		}
	})
	if want := "Test_A:a1 Test_A:a3 Test_A:a4 Test_B:b0 Test_B:b1"; strings.Join(got, " ") != want {
		t.Errorf("got %s, want %s", strings.Join(got, " "), want)
	}
}

// TestEnumeratePageFilter: only kept instances count toward the limit,
// and more is exact (false when no kept instance follows).
func TestEnumeratePageFilter(t *testing.T) {
	reg, _, _ := pagedFamily(t, []string{"a1", "x2", "a3", "x4"}, []string{"x1", "b2", "x3"})
	keep := func(inst *cimmodel.Instance) bool {
		id, _ := inst.Get("ID").AsString()
		return !strings.HasPrefix(id, "x")
	}
	for limit := 1; limit <= 4; limit++ {
		if got, want := strings.Join(walk(t, reg, limit, keep, nil), " "), "Test_A:a1 Test_A:a3 Test_B:b2"; got != want {
			t.Errorf("limit %d: got %s, want %s", limit, got, want)
		}
	}
	insts, more, err := reg.EnumeratePage(context.Background(), "root/test", "Test_Base", cimmodel.Cursor{}, 3, keep)
	if err != nil || len(insts) != 3 || more {
		t.Errorf("a page of exactly the 3 kept instances: %d instances, more %v, %v; want 3, false", len(insts), more, err)
	}
}
