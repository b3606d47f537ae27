package cimmodel

import (
	"context"
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// DialectAssociation is the WS-Man filter dialect of association filters
// (DSP0227 §8.2).
const DialectAssociation = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"

// AssociationFilter is a DSP0227 §8.2 association filter. Object is the
// source instance; AssociationClassName, ResultClassName, Role and ResultRole
// narrow the result as in CIM Associators/References (DSP0004 §5.1.2.14;
// empty means any). Instances is true for AssociationInstances (the
// association instances themselves, CIM References) and false for
// AssociatedInstances (the instances at the other end, CIM Associators).
type AssociationFilter struct {
	Object                                                  ObjectPath
	AssociationClassName, ResultClassName, Role, ResultRole string
	Instances                                               bool
}

// ParseAssociationFilter reads a wsman:Filter element whose Dialect is
// [DialectAssociation] (or absent) and whose child is a b:AssociatedInstances
// or b:AssociationInstances element (b = the CIM binding namespace; any
// prefix is accepted) holding b:Object (an endpoint reference) and the
// optional b:AssociationClassName, b:ResultClassName, b:Role and
// b:ResultRole. Errors are *Error with StatusInvalidQuery.
func ParseAssociationFilter(e *etree.Element) (AssociationFilter, error) {
	var f AssociationFilter
	if e == nil {
		return f, Errorf(StatusInvalidQuery, "association filter: no Filter element")
	}
	if d := strings.TrimSpace(e.SelectAttrValue("Dialect", "")); d != "" && d != DialectAssociation {
		return f, Errorf(StatusInvalidQuery, "association filter: dialect %q", d)
	}
	var body *etree.Element
	for _, c := range e.ChildElements() {
		switch c.Tag {
		case "AssociatedInstances":
			body = c
		case "AssociationInstances":
			body, f.Instances = c, true
		default:
			return f, Errorf(StatusInvalidQuery, "association filter: unexpected element %s", c.Tag)
		}
	}
	if body == nil {
		return f, Errorf(StatusInvalidQuery, "association filter: no AssociatedInstances or AssociationInstances")
	}
	seen := map[string]bool{}
	for _, c := range body.ChildElements() {
		if seen[c.Tag] {
			return f, Errorf(StatusInvalidQuery, "association filter: %s repeated", c.Tag)
		}
		seen[c.Tag] = true
		text := strings.TrimSpace(c.Text())
		switch c.Tag {
		case "Object":
			p, err := ParseEPR(c)
			if err != nil {
				return f, Errorf(StatusInvalidQuery, "association filter: Object: %v", err)
			}
			f.Object = p
		case "AssociationClassName":
			f.AssociationClassName = text
		case "ResultClassName":
			f.ResultClassName = text
		case "Role":
			f.Role = text
		case "ResultRole":
			f.ResultRole = text
		default:
			return f, Errorf(StatusInvalidQuery, "association filter: unexpected element %s", c.Tag)
		}
		if c.Tag != "Object" && text != "" && !validClassName(text) {
			return f, Errorf(StatusInvalidQuery, "association filter: invalid %s %q", c.Tag, text)
		}
	}
	if !seen["Object"] {
		return f, Errorf(StatusInvalidQuery, "association filter: no Object")
	}
	return f, nil
}

// assocMatch is an association instance that refers to the filter's
// object through the property role.
type assocMatch struct {
	inst *Instance
	role string
}

// associations returns the association instances in the object's namespace
// that refer to f.Object, honouring AssociationClassName and Role.
func (r *Registry) associations(ctx context.Context, f AssociationFilter) ([]assocMatch, error) {
	src, err := r.lookup(f.Object.Namespace, f.Object.Class)
	if err != nil {
		return nil, err
	}
	obj, err := r.NormalizePath(src, f.Object)
	if err != nil {
		return nil, err
	}
	var out []assocMatch
	for _, c := range r.Classes(src.Namespace) {
		if !c.Association || c.Provider == nil {
			continue
		}
		if f.AssociationClassName != "" && !c.isA(f.AssociationClassName) {
			continue
		}
		insts, err := c.Provider.EnumerateInstances(ctx)
		if err != nil {
			return nil, err
		}
		for _, inst := range insts {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("association filter: %w", err)
			}
			if inst.Namespace == "" {
				inst.Namespace = c.Namespace
			}
			for _, p := range c.props() {
				if p.Type != TypeReference || p.Array {
					continue
				}
				if f.Role != "" && !strings.EqualFold(p.Name, f.Role) {
					continue
				}
				ref, ok := inst.Get(p.Name).AsRef()
				if !ok || !r.samePath(ref, obj, src.Namespace) {
					continue
				}
				out = append(out, assocMatch{inst: inst, role: p.Name})
			}
		}
	}
	return out, nil
}

// samePath compares a reference held by an association with the
// normalised object path, filling an empty namespace with ns and resolving
// class names through the registry (a reference may name a superclass).
func (r *Registry) samePath(ref, obj ObjectPath, ns string) bool {
	if ref.Namespace == "" {
		ref.Namespace = ns
	}
	if ref.Equal(obj) {
		return true
	}
	if !strings.EqualFold(ref.Namespace, obj.Namespace) {
		return false
	}
	rc, err := r.lookup(ref.Namespace, ref.Class)
	if err != nil {
		return false
	}
	oc, err := r.lookup(obj.Namespace, obj.Class)
	if err != nil || !(oc.isA(rc.Name) || rc.isA(oc.Name)) {
		return false
	}
	ref.Class = obj.Class
	return ref.Equal(obj)
}

// References returns the association instances that refer to f.Object
// (WS-Man AssociationInstances; CIM References): instances of association
// classes in the object's namespace with a reference property equal to the
// object, narrowed by Role (that property's name), ResultClassName and
// AssociationClassName (the association's class or an ancestor). Each
// instance appears once. Errors: those of the class lookup and of the key
// check (StatusInvalidParameter), or a provider's error.
func (r *Registry) References(ctx context.Context, f AssociationFilter) ([]*Instance, error) {
	ms, err := r.associations(ctx, f)
	if err != nil {
		return nil, err
	}
	seen := map[*Instance]bool{}
	var out []*Instance
	for _, m := range ms {
		if seen[m.inst] {
			continue
		}
		if f.ResultClassName != "" && !m.inst.Class.isA(f.ResultClassName) {
			continue
		}
		seen[m.inst] = true
		out = append(out, m.inst)
	}
	return out, nil
}

// Associators returns the instances associated with f.Object (WS-Man
// AssociatedInstances; CIM Associators): for each association that refers
// to the object (narrowed by AssociationClassName and Role), the instances
// its other reference properties point at (narrowed by ResultRole, the
// property's name, and ResultClassName, the result's class or an ancestor),
// fetched with [Registry.Get]. References to instances that no longer exist
// are skipped; each result appears once.
func (r *Registry) Associators(ctx context.Context, f AssociationFilter) ([]*Instance, error) {
	ms, err := r.associations(ctx, f)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []*Instance
	for _, m := range ms {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("association filter: %w", err)
		}
		for _, p := range m.inst.Class.props() {
			if p.Type != TypeReference || p.Array || strings.EqualFold(p.Name, m.role) {
				continue
			}
			if f.ResultRole != "" && !strings.EqualFold(p.Name, f.ResultRole) {
				continue
			}
			ref, ok := m.inst.Get(p.Name).AsRef()
			if !ok {
				continue
			}
			if ref.Namespace == "" {
				ref.Namespace = m.inst.namespace()
			}
			inst, err := r.Get(ctx, ref)
			if err != nil {
				if s := StatusOf(err); s == StatusNotFound || s == StatusInvalidClass || s == StatusInvalidNamespace {
					continue
				}
				return nil, err
			}
			if f.ResultClassName != "" && !inst.Class.isA(f.ResultClassName) {
				continue
			}
			key := inst.Path().String()
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, inst)
		}
	}
	return out, nil
}
