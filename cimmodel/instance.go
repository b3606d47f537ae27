package cimmodel

import (
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// Instance is an instance of a class: its property values by declared name.
// Namespace is where the instance lives ("" means Class.Namespace). Unset
// properties are NULL.
type Instance struct {
	Class     *Class
	Namespace string
	Values    map[string]Value
	// text keeps the encodings of a frozen instance (Freeze).
	text *instanceText
}

// Freeze declares that i, its Values and the values in them will not
// change any more, and returns i: its encodings by [AppendInstance] and
// [AppendInstanceEPR] are then made once and kept with it (a few KB). Use
// it for an instance several requests read; Copy gives one that may
// change.
func (i *Instance) Freeze() *Instance {
	if i.text == nil {
		i.text = new(instanceText)
	}
	return i
}

// instanceText holds a frozen instance's encodings, by EPRForm, each
// written by the first request that needs it (the same bytes, whoever
// writes first).
type instanceText struct {
	inst, epr [eprForms]atomic.Pointer[[]byte]
}

// NewInstance returns an empty instance of c in c's namespace.
func NewInstance(c *Class) *Instance {
	return &Instance{Class: c, Namespace: c.Namespace, Values: make(map[string]Value, atomic.LoadInt32(&c.valuesHint))}
}

// Set sets the property name to v and returns i, for chaining. A name that
// matches a declared (or inherited) property case-insensitively is stored
// under the declared spelling; [Instance.Check] reports undeclared names and
// mistyped values.
func (i *Instance) Set(name string, v Value) *Instance {
	if i.Values == nil {
		i.Values = map[string]Value{}
	}
	if i.Class != nil {
		name = i.Class.propertyName(name)
	}
	i.Values[name] = v
	if c := i.Class; c != nil && c.reg != nil {
		if n := int32(len(i.Values)); n > atomic.LoadInt32(&c.valuesHint) && int(n) <= len(c.effProps) {
			atomic.StoreInt32(&c.valuesHint, n)
		}
	}
	return i
}

// Get returns the value of the property name (case-insensitive), or NULL
// (of the declared type, when known) when it is unset.
func (i *Instance) Get(name string) Value {
	if v, ok := i.lookup(name); ok {
		return v
	}
	if i.Class != nil {
		if p, ok := i.Class.property(name); ok {
			return Value{Type: p.valueType(), Array: p.Array}
		}
	}
	return Value{}
}

func (i *Instance) lookup(name string) (Value, bool) {
	if v, ok := i.Values[name]; ok {
		return v, true
	}
	for k, v := range i.Values {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return Value{}, false
}

// namespace returns the instance's namespace.
func (i *Instance) namespace() string {
	if i.Namespace != "" || i.Class == nil {
		return i.Namespace
	}
	return i.Class.Namespace
}

func (i *Instance) className() string {
	if i == nil || i.Class == nil {
		return ""
	}
	return i.Class.Name
}

// Path returns the instance's object path: its namespace and class and the
// values of its key properties (declared or inherited), in declared order.
func (i *Instance) Path() ObjectPath {
	p := ObjectPath{Namespace: i.namespace(), Class: i.className()}
	if i.Class == nil {
		return p
	}
	props := i.Class.props()
	keys := 0
	for j := range props {
		if props[j].Key {
			keys++
		}
	}
	if keys == 0 {
		return p
	}
	p.Keys = make([]KeyBinding, 0, keys)
	for j := range props {
		if prop := &props[j]; prop.Key { // a Property is large: not copied
			p.Keys = append(p.Keys, KeyBinding{Name: prop.Name, Value: i.Get(prop.Name)})
		}
	}
	return p
}

// Check reports the first property of i that is not declared by its class
// (or an ancestor) (StatusNoSuchProperty), whose value does not have the
// declared type and shape or whose Go value does not match its Type
// (StatusTypeMismatch), or whose value breaks the property's MaxLen or
// ValueMap (StatusInvalidParameter). Providers' tests call it.
func (i *Instance) Check() error {
	if i.Class == nil {
		return fmt.Errorf("cimmodel: instance has no class")
	}
	for name, v := range i.Values {
		p, ok := i.Class.property(name)
		if !ok {
			return Errorf(StatusNoSuchProperty, "class %s has no property %q", i.Class.Name, name)
		}
		if p.Name != name {
			return Errorf(StatusNoSuchProperty, "property %q is declared as %q", name, p.Name)
		}
		if v.Type != p.valueType() || v.Array != p.Array || !v.Valid() {
			return Errorf(StatusTypeMismatch, "property %s.%s: value %s%s (%T) does not match declared %s%s",
				i.Class.Name, name, v.Type, arraySuffix(v.Array), v.V, p.valueType(), arraySuffix(p.Array))
		}
		if reason := checkPropertyValue(p, v); reason != "" {
			return Errorf(StatusInvalidParameter, "property %s.%s: %s", i.Class.Name, name, reason)
		}
		for _, e := range v.Elems() {
			if sub, ok := e.V.(*Instance); ok && sub != nil {
				if err := sub.Check(); err != nil {
					return fmt.Errorf("property %s.%s: %w", i.Class.Name, name, err)
				}
			}
		}
	}
	return nil
}

func arraySuffix(array bool) string {
	if array {
		return "[]"
	}
	return ""
}

// Equal reports whether i and j are of the same class (case-insensitive)
// and have equal non-NULL property values.
func (i *Instance) Equal(j *Instance) bool {
	if i == nil || j == nil {
		return i == j
	}
	if !strings.EqualFold(i.className(), j.className()) {
		return false
	}
	count := func(x *Instance) int {
		n := 0
		for _, v := range x.Values {
			if !v.IsNull() {
				n++
			}
		}
		return n
	}
	if count(i) != count(j) {
		return false
	}
	for name, v := range i.Values {
		if v.IsNull() {
			continue
		}
		w, ok := j.lookup(name)
		if !ok || !v.Equal(w) {
			return false
		}
	}
	return true
}

// Copy returns a copy of i whose Values map is its own (the values
// themselves are shared).
func (i *Instance) Copy() *Instance {
	values := maps.Clone(i.Values)
	if values == nil {
		values = map[string]Value{}
	}
	return &Instance{Class: i.Class, Namespace: i.Namespace, Values: values}
}

// checkPropertyValue returns why v breaks p's MaxLen (in characters) or
// ValueMap, or "".
func checkPropertyValue(p Property, v Value) string {
	for _, e := range v.Elems() {
		if s, ok := e.AsString(); ok && p.MaxLen > 0 && utf8.RuneCountInString(s) > p.MaxLen {
			return fmt.Sprintf("%d characters, more than MaxLen %d", utf8.RuneCountInString(s), p.MaxLen)
		}
		if reason := checkScalar(Parameter{ValueMap: p.ValueMap, Values: p.Values}, e); reason != "" {
			return reason
		}
	}
	return ""
}
