package cimmodel

import (
	"context"

	"fmt"
	"sort"
	"strings"
	"sync"
)

// Registry holds classes by namespace (namespaces and class names compare
// case-insensitively) and resolves inheritance. Register classes at
// start-up; all methods are safe for concurrent use.
type Registry struct {
	mu         sync.RWMutex
	namespaces map[string]*namespace // by lower-case name
}

type namespace struct {
	name    string
	classes map[string]*Class // by lower-case name
	exact   map[string]*Class // by name as registered, so that a request naming it so needs no lower-casing
	order   []*Class          // registration order
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{namespaces: map[string]*namespace{}}
}

// Register adds c to the namespace c.Namespace. The superclass (if any) must
// already be registered in the same namespace; a class name registered
// twice, a class registered in another registry, a property or parameter
// without a valid type, or an override that changes a property's type is an
// error.
func (r *Registry) Register(c *Class) error {
	if c == nil || !validClassName(c.Name) || c.Name == "*" {
		return fmt.Errorf("cimmodel: register: invalid class name")
	}
	if c.Namespace == "" {
		return fmt.Errorf("cimmodel: register %s: no namespace", c.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.reg != nil {
		return fmt.Errorf("cimmodel: register %s: already registered", c.Name)
	}
	key := strings.ToLower(c.Namespace)
	ns := r.namespaces[key]
	if ns != nil {
		if _, dup := ns.classes[strings.ToLower(c.Name)]; dup {
			return fmt.Errorf("cimmodel: register %s: duplicate class in %s", c.Name, c.Namespace)
		}
	}
	var super *Class
	if c.Superclass != "" {
		if ns != nil {
			super = ns.classes[strings.ToLower(c.Superclass)]
		}
		if super == nil {
			return fmt.Errorf("cimmodel: register %s: superclass %s not registered in %s", c.Name, c.Superclass, c.Namespace)
		}
	}
	props, err := effectiveProperties(c, super)
	if err != nil {
		return err
	}
	meths, err := effectiveMethods(c, super)
	if err != nil {
		return err
	}
	if ns == nil {
		ns = &namespace{name: c.Namespace, classes: map[string]*Class{}, exact: map[string]*Class{}}
		r.namespaces[key] = ns
	}
	c.reg, c.super, c.effProps, c.effMeths = r, super, props, meths
	c.propIdx = make(map[string]int, len(props))
	for i, p := range props {
		c.propIdx[p.Name] = i
	}
	if super != nil {
		super.subs = append(super.subs, c)
	}
	// c's family, and that of every ancestor, which now holds c: new
	// slices, as readers may be ranging over the old ones.
	for x := c; x != nil; x = x.super {
		x.fam = walkFamily(x)
	}
	ns.classes[strings.ToLower(c.Name)] = c
	ns.exact[c.Name] = c
	ns.order = append(ns.order, c)
	return nil
}

func effectiveProperties(c *Class, super *Class) ([]Property, error) {
	var props []Property
	if super != nil {
		props = append(props, super.effProps...)
	}
	seen := map[string]bool{}
	for _, p := range c.Properties {
		lname := strings.ToLower(p.Name)
		if !validClassName(p.Name) || p.Name == "*" || seen[lname] {
			return nil, fmt.Errorf("cimmodel: register %s: invalid or repeated property name %q", c.Name, p.Name)
		}
		seen[lname] = true
		if !p.Type.valid() {
			return nil, fmt.Errorf("cimmodel: register %s: property %s has no valid type", c.Name, p.Name)
		}
		if p.Type == TypeReference && p.Array {
			// DSP0004 §5.2: reference properties cannot be arrays (parameters can).
			return nil, fmt.Errorf("cimmodel: register %s: property %s is an array of references", c.Name, p.Name)
		}
		replaced := false
		for i, q := range props {
			if strings.EqualFold(q.Name, p.Name) {
				if q.valueType() != p.valueType() || q.Array != p.Array {
					return nil, fmt.Errorf("cimmodel: register %s: property %s overrides %s%s with %s%s",
						c.Name, p.Name, q.valueType(), arraySuffix(q.Array), p.valueType(), arraySuffix(p.Array))
				}
				props[i], replaced = p, true
				break
			}
		}
		if !replaced {
			props = append(props, p)
		}
	}
	return props, nil
}

func effectiveMethods(c *Class, super *Class) ([]*Method, error) {
	var meths []*Method
	if super != nil {
		meths = append(meths, super.effMeths...)
	}
	seen := map[string]bool{}
	for _, m := range c.Methods {
		if m == nil || !validClassName(m.Name) || m.Name == "*" || seen[strings.ToLower(m.Name)] {
			return nil, fmt.Errorf("cimmodel: register %s: invalid or repeated method", c.Name)
		}
		seen[strings.ToLower(m.Name)] = true
		pseen := map[string]bool{}
		for _, p := range m.Params {
			if !validClassName(p.Name) || p.Name == "*" || pseen[strings.ToLower(p.Name)] || !p.Type.valid() {
				return nil, fmt.Errorf("cimmodel: register %s.%s: invalid or repeated parameter %q", c.Name, m.Name, p.Name)
			}
			if strings.EqualFold(p.Name, "ReturnValue") {
				return nil, fmt.Errorf("cimmodel: register %s.%s: parameter named ReturnValue", c.Name, m.Name)
			}
			pseen[strings.ToLower(p.Name)] = true
		}
		replaced := false
		for i, q := range meths {
			if strings.EqualFold(q.Name, m.Name) {
				meths[i], replaced = m, true
				break
			}
		}
		if !replaced {
			meths = append(meths, m)
		}
	}
	return meths, nil
}

// Class returns the class name in namespace.
func (r *Registry) Class(namespace, name string) (*Class, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.classLocked(r.namespaceLocked(namespace), name)
}

// namespaceLocked returns the namespace named namespace in any case, or
// nil; r.mu is held. A name already in lower case (as namespaces usually
// are) is found without lower-casing it again.
func (r *Registry) namespaceLocked(namespace string) *namespace {
	if ns := r.namespaces[namespace]; ns != nil {
		return ns // the keys are lower case: namespace is too
	}
	return r.namespaces[strings.ToLower(namespace)]
}

// classLocked returns the class of ns (nil: none) named name in any case;
// r.mu is held. A name spelt as registered is found without lower-casing
// it (no two classes of a namespace differ only in case).
func (r *Registry) classLocked(ns *namespace, name string) (*Class, bool) {
	if ns == nil {
		return nil, false
	}
	if c, ok := ns.exact[name]; ok {
		return c, true
	}
	c, ok := ns.classes[strings.ToLower(name)]
	return c, ok
}

// Classes returns the classes of namespace in registration order.
func (r *Registry) Classes(namespace string) []*Class {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ns := r.namespaces[strings.ToLower(namespace)]
	if ns == nil {
		return nil
	}
	return append([]*Class(nil), ns.order...)
}

// HasNamespace reports whether any class is registered in namespace.
func (r *Registry) HasNamespace(namespace string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.namespaceLocked(namespace) != nil
}

// Properties returns the effective properties of c: inherited ones first in
// the ancestors' order, overrides in place, then c's own. c must be
// registered.
func (r *Registry) Properties(c *Class) []Property {
	return append([]Property(nil), c.props()...)
}

// Method returns the effective method name of c (case-insensitive),
// inherited or overridden.
func (r *Registry) Method(c *Class, name string) (*Method, bool) {
	meths := c.effMeths
	if c.reg == nil {
		meths = c.Methods
	}
	for _, m := range meths {
		if strings.EqualFold(m.Name, name) {
			return m, true
		}
	}
	return nil, false
}

// Methods returns the effective methods of c.
func (r *Registry) Methods(c *Class) []*Method {
	return append([]*Method(nil), c.effMeths...)
}

// IsA reports whether c is the class named ancestor or one of its
// subclasses.
func (r *Registry) IsA(c *Class, ancestor string) bool {
	return c != nil && c.isA(ancestor)
}

// Namespaces returns the namespaces that hold classes, sorted.
func (r *Registry) Namespaces() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.namespaces))
	for _, ns := range r.namespaces {
		out = append(out, ns.name)
	}
	sort.Strings(out)
	return out
}

// lookup finds a class for an operation: StatusInvalidNamespace when the
// namespace is unknown, StatusInvalidClass when the class is. An empty
// namespace searches every namespace and succeeds when exactly one holds
// the class (DMTF resource URIs without __cimnamespace).
func (r *Registry) lookup(namespace, class string) (*Class, error) {
	if namespace == "" {
		var found *Class
		for _, ns := range r.Namespaces() {
			if c, ok := r.Class(ns, class); ok {
				if found != nil {
					return nil, Errorf(StatusInvalidNamespace, "class %s exists in several namespaces; name one", class)
				}
				found = c
			}
		}
		if found == nil {
			return nil, Errorf(StatusInvalidClass, "no class %s", class)
		}
		return found, nil
	}
	r.mu.RLock()
	ns := r.namespaceLocked(namespace)
	c, ok := r.classLocked(ns, class)
	r.mu.RUnlock()
	if ns == nil {
		return nil, Errorf(StatusInvalidNamespace, "no namespace %s", namespace)
	}
	if !ok {
		return nil, Errorf(StatusInvalidClass, "no class %s in %s", class, namespace)
	}
	return c, nil
}

// family returns c and all its subclasses, depth first in registration
// order, as kept by Register: the slice is shared, read it only.
func (r *Registry) family(c *Class) []*Class {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if c.fam == nil { // not registered here
		return walkFamily(c)
	}
	return c.fam
}

// walkFamily returns c and all its subclasses, depth first in
// registration order; r.mu is held.
func walkFamily(c *Class) []*Class {
	var out []*Class
	var walk func(*Class)
	walk = func(x *Class) {
		out = append(out, x)
		for _, s := range x.subs {
			walk(s)
		}
	}
	walk(c)
	return out
}

// Enumerate returns the instances of class in namespace and of all its
// subclasses, each from its own provider (as WMI does: enumerating
// CIM_StorageVolume returns MSISCSITARGET_StorageVolume instances). Errors:
// StatusInvalidNamespace, StatusInvalidClass, or the first provider error.
func (r *Registry) Enumerate(ctx context.Context, namespace, class string) ([]*Instance, error) {
	c, err := r.lookup(namespace, class)
	if err != nil {
		return nil, err
	}
	var out []*Instance
	for _, x := range r.family(c) {
		if x.Provider == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("enumerate %s: %w", x.Name, err)
		}
		insts, err := x.Provider.EnumerateInstances(ctx)
		if err != nil {
			return nil, fmt.Errorf("enumerate %s: %w", x.Name, err)
		}
		for _, i := range insts {
			if i.Namespace == "" {
				i.Namespace = x.Namespace
			}
		}
		out = append(out, insts...)
	}
	return out, nil
}

// NormalizePath checks path's keys against the effective key properties of
// c and converts string key values (from selectors) to the declared types;
// the result names c, in path's namespace (c's when path has none), with
// the keys in declared order, and references without a namespace get it.
// A missing or unknown key is StatusInvalidParameter wrapping a
// *KeyError, an unparsable one StatusInvalidParameter. It is the one check
// of a path's keys against its class: wsman turns a *KeyError into its
// selector faults.
func (r *Registry) NormalizePath(c *Class, path ObjectPath) (ObjectPath, error) {
	out := ObjectPath{Namespace: c.Namespace, Class: c.Name}
	if path.Namespace != "" {
		out.Namespace = path.Namespace
	}
	for _, k := range path.Keys {
		p, ok := c.property(k.Name)
		if !ok || !p.Key {
			return ObjectPath{}, Errorf(StatusInvalidParameter, "%w", &KeyError{Class: c.Name, Key: k.Name, Kind: KeyUnknown})
		}
	}
	if len(path.Keys) > 0 { // every key named is one of c's: room for them all
		out.Keys = make([]KeyBinding, 0, len(path.Keys))
	}
	for _, p := range c.props() {
		if !p.Key {
			continue
		}
		v, ok := path.Key(p.Name)
		if !ok || v.IsNull() {
			return ObjectPath{}, Errorf(StatusInvalidParameter, "%w", &KeyError{Class: c.Name, Key: p.Name, Kind: KeyMissing})
		}
		nv, err := convertKey(p, v)
		if err != nil {
			return ObjectPath{}, Errorf(StatusInvalidParameter, "key %s of %s: %v", p.Name, c.Name, err)
		}
		if r, ok := nv.V.(ObjectPath); ok && r.Namespace == "" {
			r.Namespace = out.Namespace
			nv = Ref(r)
		}
		out.Keys = append(out.Keys, KeyBinding{Name: p.Name, Value: nv})
	}
	return out, nil
}

// KeyErrorKind says what is wrong with a path's key.
type KeyErrorKind int

// The kinds of KeyError.
const (
	KeyUnknown KeyErrorKind = iota // the class has no key of that name
	KeyMissing                     // the path does not name a key of the class
)

// KeyError is a path's key that its class does not have, or that the path
// lacks.
type KeyError struct {
	Class string
	Key   string
	Kind  KeyErrorKind
}

// Error says which key of which class, as NormalizePath always has.
func (e *KeyError) Error() string {
	switch e.Kind {
	case KeyMissing:
		return fmt.Sprintf("key %s of %s missing", e.Key, e.Class)
	}
	return fmt.Sprintf("%s has no key %q", e.Class, e.Key)
}

// convertKey converts a key value to the declared type of p.
func convertKey(p Property, v Value) (Value, error) {
	if v.Array {
		return Value{}, fmt.Errorf("array value")
	}
	if p.Type == TypeReference {
		if _, ok := v.V.(ObjectPath); !ok {
			return Value{}, fmt.Errorf("want a reference")
		}
		return v, nil
	}
	if v.Type == p.Type && v.Valid() {
		return v, nil
	}
	s, ok := v.V.(string)
	if !ok {
		var err error
		if s, err = formatScalar(v.Type, v.V); err != nil {
			return Value{}, err
		}
	}
	x, err := parseScalar(p.Type, s)
	if err != nil {
		return Value{}, err
	}
	return Value{Type: p.Type, V: x}, nil
}

// Get returns the instance at path, asking the provider of path's class and
// then those of its subclasses. Errors: StatusInvalidNamespace,
// StatusInvalidClass, StatusInvalidParameter (missing, unknown or mistyped
// keys), StatusNotFound, or a provider's error. The instance is only to be
// read: the provider may give it to other requests too.
func (r *Registry) Get(ctx context.Context, path ObjectPath) (*Instance, error) {
	inst, _, err := r.get(ctx, path)
	return inst, err
}

// get also returns the class whose provider holds the instance.
func (r *Registry) get(ctx context.Context, path ObjectPath) (*Instance, *Class, error) {
	c, err := r.lookup(path.Namespace, path.Class)
	if err != nil {
		return nil, nil, err
	}
	norm, err := r.NormalizePath(c, path)
	if err != nil {
		return nil, nil, err
	}
	for _, x := range r.family(c) {
		if x.Provider == nil {
			continue
		}
		p := norm
		p.Class = x.Name
		inst, err := x.Provider.GetInstance(ctx, p)
		if StatusOf(err) == StatusNotFound {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("get %s: %w", p, err)
		}
		if inst == nil {
			continue
		}
		if inst.Namespace == "" {
			inst.Namespace = x.Namespace
		}
		return inst, x, nil
	}
	return nil, nil, Errorf(StatusNotFound, "no instance %s", norm)
}

// Modify changes the instance at path (WS-Transfer Put). Only Write
// properties may change: a non-Write property of changes whose value
// differs from the current one is StatusInvalidParameter, as is a value
// that breaks MaxLen or the ValueMap; an undeclared property is
// StatusNoSuchProperty, a value of the wrong type StatusTypeMismatch. The
// provider receives only the Write properties present in changes;
// StatusNotSupported when it cannot modify.
func (r *Registry) Modify(ctx context.Context, path ObjectPath, changes *Instance) (*Instance, error) {
	cur, owner, err := r.get(ctx, path)
	if err != nil {
		return nil, err
	}
	mod, ok := owner.Provider.(InstanceModifier)
	if !ok {
		return nil, Errorf(StatusNotSupported, "instances of %s cannot be modified", owner.Name)
	}
	filtered := NewInstance(owner)
	filtered.Namespace = cur.Namespace
	for name, v := range changes.Values {
		p, ok := owner.property(name)
		if !ok {
			return nil, Errorf(StatusNoSuchProperty, "%s has no property %q", owner.Name, name)
		}
		if v.Type != p.valueType() || v.Array != p.Array || !v.Valid() {
			return nil, Errorf(StatusTypeMismatch, "property %s is %s%s, not %s%s", p.Name, p.valueType(), arraySuffix(p.Array), v.Type, arraySuffix(v.Array))
		}
		if reason := checkPropertyValue(p, v); reason != "" && p.Write {
			return nil, Errorf(StatusInvalidParameter, "property %s of %s: %s", p.Name, owner.Name, reason)
		}
		if !p.Write {
			if old := cur.Get(p.Name); !old.Equal(v) {
				return nil, Errorf(StatusInvalidParameter, "property %s of %s is read-only", p.Name, owner.Name)
			}
			continue
		}
		filtered.Values[p.Name] = v
	}
	out, err := mod.ModifyInstance(ctx, cur.Path(), filtered)
	if err != nil {
		return nil, fmt.Errorf("modify %s: %w", cur.Path(), err)
	}
	return out, nil
}

// Delete deletes the instance at path; StatusNotSupported when its provider
// cannot delete.
func (r *Registry) Delete(ctx context.Context, path ObjectPath) error {
	cur, owner, err := r.get(ctx, path)
	if err != nil {
		return err
	}
	del, ok := owner.Provider.(InstanceDeleter)
	if !ok {
		return Errorf(StatusNotSupported, "instances of %s cannot be deleted", owner.Name)
	}
	if err := del.DeleteInstance(ctx, cur.Path()); err != nil {
		return fmt.Errorf("delete %s: %w", cur.Path(), err)
	}
	return nil
}

// Create creates inst through its class's provider and returns the new
// path. inst must pass [Instance.Check] and have every key and Required
// property set (StatusInvalidParameter); StatusNotSupported when the
// provider cannot create or the class is abstract, StatusInvalidClass for an
// unregistered class.
func (r *Registry) Create(ctx context.Context, inst *Instance) (ObjectPath, error) {
	if inst == nil || inst.Class == nil || inst.Class.reg != r {
		return ObjectPath{}, Errorf(StatusInvalidClass, "instance of an unregistered class")
	}
	if err := inst.Check(); err != nil {
		return ObjectPath{}, err
	}
	for _, p := range inst.Class.props() {
		if (p.Key || p.Required) && inst.Get(p.Name).IsNull() {
			return ObjectPath{}, Errorf(StatusInvalidParameter, "%s property %s of %s is NULL", keyOrRequired(p), p.Name, inst.Class.Name)
		}
	}
	cr, ok := inst.Class.Provider.(InstanceCreator)
	if !ok || inst.Class.Abstract {
		return ObjectPath{}, Errorf(StatusNotSupported, "instances of %s cannot be created", inst.Class.Name)
	}
	p, err := cr.CreateInstance(ctx, inst)
	if err != nil {
		return ObjectPath{}, fmt.Errorf("create %s: %w", inst.Class.Name, err)
	}
	return p, nil
}

func keyOrRequired(p Property) string {
	if p.Key {
		return "key"
	}
	return "required"
}
