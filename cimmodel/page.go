package cimmodel

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// InstancePager is implemented by providers that can list their instances
// a page at a time in an order of their own, given by a key they choose
// (the volumes' ID, say): an enumeration then holds a cursor, not the
// instances or their paths. A provider that is no pager is paged by the
// registry in the order of its instances' canonical paths, enumerating
// them all on each page.
type InstancePager interface {
	// EnumeratePage returns at most limit instances (limit ≥ 1) whose keys
	// are greater than after ("" is before the first), in increasing key
	// order, and whether more follow the last one. The instances are only
	// read by the caller, so a provider may give the same one to several
	// pages (and requests) while it is unchanged.
	EnumeratePage(ctx context.Context, after string, limit int) (Page, error)
}

// Page is a run of a class's instances in its provider's key order.
type Page struct {
	// Instances are the instances of the page.
	Instances []*Instance
	// Keys holds the key of each instance: a page after Keys[i] starts
	// behind Instances[i]. Keys are never "".
	Keys []string
	// More reports whether instances follow the last one.
	More bool
}

// Cursor is a position in the enumeration of a class and its subclasses:
// the family's classes in the order [Registry.Enumerate] visits them,
// each class's instances in its provider's key order. The zero Cursor is
// before the first instance. An instance created behind a cursor is not
// met by the rest of the enumeration, one created ahead of it is; an
// instance is met at most once, since keys only increase.
type Cursor struct {
	// Class names the class of the instance returned last ("": none yet).
	Class string
	// Key is that instance's key in its provider's order.
	Key string
}

// PagedInstance is an instance of an enumeration page with the cursor just
// past it.
type PagedInstance struct {
	Instance *Instance
	Cursor   Cursor
}

// EnumeratePage returns at most limit (≥ 1) instances of class in namespace
// and its subclasses that follow after, each with its cursor, and whether
// more follow. When keep is not nil only the instances it keeps count
// (those it skips are passed over, and more then means that a kept one
// follows). The request's ctx ends the walk with its error. Errors as
// [Registry.Enumerate]; a cursor naming a class outside the family is
// StatusInvalidParameter. The instances are the providers' (see
// [InstancePager]): read them, do not change them.
func (r *Registry) EnumeratePage(ctx context.Context, namespace, class string, after Cursor, limit int, keep func(*Instance) bool) ([]PagedInstance, bool, error) {
	c, err := r.lookup(namespace, class)
	if err != nil {
		return nil, false, err
	}
	fam := r.family(c)
	start := 0
	if after.Class != "" {
		start = -1
		for i, x := range fam {
			if strings.EqualFold(x.Name, after.Class) {
				start = i
				break
			}
		}
		if start < 0 {
			return nil, false, Errorf(StatusInvalidParameter, "cursor in %s, not a class of %s", after.Class, c.Name)
		}
	}
	limit = max(limit, 1)
	// Without a filter a page takes limit instances and the providers say
	// whether more follow; with one, it looks for one more kept instance
	// to know.
	want := limit
	if keep != nil {
		want = limit + 1
	}
	out := make([]PagedInstance, 0, min(want, maxPagePrealloc))
	for i := start; i < len(fam); i++ {
		key := ""
		if i == start {
			key = after.Key
		}
		if len(out) == want { // full: does a later class have an instance?
			var peek []PagedInstance
			if _, err := r.pageClass(ctx, fam[i], "", 1, nil, &peek); err != nil {
				return nil, false, err
			}
			if len(peek) > 0 {
				return out, true, nil
			}
			continue
		}
		more, err := r.pageClass(ctx, fam[i], key, want, keep, &out)
		if err != nil {
			return nil, false, err
		}
		if more || len(out) > limit {
			return out[:min(limit, len(out))], true, nil
		}
	}
	return out, false, nil
}

// maxPagePrealloc is the most instances EnumeratePage makes room for at
// once (a page asked for more grows as it fills).
const maxPagePrealloc = 128

// pageClass appends to out the instances of x after key that keep keeps,
// until out holds want of them or x has no more, and reports whether x
// has more.
func (r *Registry) pageClass(ctx context.Context, x *Class, key string, want int, keep func(*Instance) bool, out *[]PagedInstance) (bool, error) {
	if x.Provider == nil {
		return false, nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("enumerate %s: %w", x.Name, err)
		}
		pg, err := classPage(ctx, x, key, want-len(*out))
		if err != nil {
			return false, fmt.Errorf("enumerate %s: %w", x.Name, err)
		}
		for j, inst := range pg.Instances {
			if err := ctx.Err(); err != nil {
				return false, fmt.Errorf("enumerate %s: %w", x.Name, err)
			}
			if inst.Namespace == "" {
				inst.Namespace = x.Namespace
			}
			key = pg.Keys[j]
			if keep != nil && !keep(inst) {
				continue
			}
			*out = append(*out, PagedInstance{Instance: inst, Cursor: Cursor{Class: x.Name, Key: key}})
			if len(*out) >= want {
				return j+1 < len(pg.Instances) || pg.More, nil
			}
		}
		if !pg.More || len(pg.Instances) == 0 {
			return false, nil
		}
	}
}

// classPage asks x's provider for the page of at most limit instances
// after key: its own when it is an InstancePager, otherwise every instance
// after key in the order of their canonical paths (ObjectPath.String).
func classPage(ctx context.Context, x *Class, key string, limit int) (Page, error) {
	if p, ok := x.Provider.(InstancePager); ok {
		pg, err := p.EnumeratePage(ctx, key, limit)
		if err == nil && len(pg.Keys) != len(pg.Instances) {
			err = fmt.Errorf("provider answered %d keys for %d instances", len(pg.Keys), len(pg.Instances))
		}
		return pg, err
	}
	insts, err := x.Provider.EnumerateInstances(ctx)
	if err != nil {
		return Page{}, err
	}
	type keyed struct {
		key  string
		inst *Instance
	}
	all := make([]keyed, 0, len(insts))
	for _, inst := range insts {
		if inst.Namespace == "" {
			inst.Namespace = x.Namespace
		}
		if k := inst.Path().String(); k > key {
			all = append(all, keyed{k, inst})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].key < all[j].key })
	// Every instance after key: a second page would enumerate them all again.
	pg := Page{Instances: make([]*Instance, len(all)), Keys: make([]string, len(all))}
	for i, k := range all {
		pg.Instances[i], pg.Keys[i] = k.inst, k.key
	}
	return pg, nil
}

// CheckQuery checks q against its class in namespace, as [Registry.Select]
// does before it enumerates: StatusInvalidNamespace, StatusInvalidClass,
// or the query's own error (a property the class does not have). An
// enumeration that walks q's class a page at a time checks it first.
func (r *Registry) CheckQuery(namespace string, q *Query) error {
	c, err := r.lookup(namespace, q.Class)
	if err != nil {
		return err
	}
	return q.Validate(c)
}

// Pageable reports whether every class of class's family (in namespace)
// that has a provider pages itself ([InstancePager]), so that an
// enumeration can hold a cursor and meet the instances in the providers'
// key order; false for an unknown class. A family with another provider
// keeps its provider's order only in a snapshot of paths.
func (r *Registry) Pageable(namespace, class string) bool {
	c, err := r.lookup(namespace, class)
	if err != nil {
		return false
	}
	for _, x := range r.family(c) {
		if x.Provider == nil {
			continue
		}
		if _, ok := x.Provider.(InstancePager); !ok {
			return false
		}
	}
	return true
}
