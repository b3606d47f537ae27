package cimmodel

import (
	"context"
	"fmt"
	"strings"
)

// fetchEnumerateAt is the number of paths of one class from which
// [Registry.Instances] enumerates the class once instead of asking for each
// instance: some providers answer GetInstance by listing every instance.
const fetchEnumerateAt = 8

// Instances returns the instances at paths, in the same order, with nil for
// a path that names no instance any more (deleted since it was listed, or
// its class gone). It serves the Pull of an enumeration context, which
// keeps paths rather than instances: for a class with many paths it
// enumerates that class's provider once and picks the instances by path,
// otherwise it asks for each with [Registry.Get]. It stops with ctx's error
// (wrapped) when ctx ends; other errors are the providers'.
func (r *Registry) Instances(ctx context.Context, paths []ObjectPath) ([]*Instance, error) {
	out := make([]*Instance, len(paths))
	var order []string
	byClass := map[string][]int{}
	for i, p := range paths {
		k := strings.ToLower(p.Namespace) + ":" + strings.ToLower(p.Class)
		if _, ok := byClass[k]; !ok {
			order = append(order, k)
		}
		byClass[k] = append(byClass[k], i)
	}
	for _, k := range order {
		idx := byClass[k]
		if err := r.fetchClass(ctx, paths, idx, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fetchClass fills out[i] for every i in idx, all paths of one class.
func (r *Registry) fetchClass(ctx context.Context, paths []ObjectPath, idx []int, out []*Instance) error {
	first := paths[idx[0]]
	c, err := r.lookup(first.Namespace, first.Class)
	if err != nil {
		if gone(err) {
			return nil
		}
		return err
	}
	if len(idx) >= fetchEnumerateAt && c.Provider != nil {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("fetch %s: %w", c.Name, err)
		}
		insts, err := c.Provider.EnumerateInstances(ctx)
		if err != nil {
			return fmt.Errorf("enumerate %s: %w", c.Name, err)
		}
		index := make(map[string]*Instance, len(insts))
		for _, inst := range insts {
			if inst.Namespace == "" {
				inst.Namespace = c.Namespace
			}
			index[inst.Path().String()] = inst
		}
		for _, i := range idx {
			out[i] = index[paths[i].String()]
		}
		return nil
	}
	for _, i := range idx {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("fetch %s: %w", paths[i], err)
		}
		inst, err := r.Get(ctx, paths[i])
		if err != nil {
			if gone(err) {
				continue
			}
			return err
		}
		out[i] = inst
	}
	return nil
}

// gone reports whether err says an instance or its class no longer exists.
func gone(err error) bool {
	switch StatusOf(err) {
	case StatusNotFound, StatusInvalidClass, StatusInvalidNamespace:
		return true
	}
	return false
}
