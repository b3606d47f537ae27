package client

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/replicad/replicad/cimmodel"
)

// Instance is a CIM instance as read from the wire, without its class
// declaration: properties in document order.
type Instance struct {
	// Class is the instance's class name (from xsi:type or the element).
	Class string
	// ResourceURI is the namespace URI of the instance element.
	ResourceURI string
	// Properties are in document order; an array property appears once with
	// all its values.
	Properties []Property
	// Path is the instance's object path when the server sent it (Enumerate
	// with EPRs) or when it was fetched by path (Get); nil otherwise.
	Path *cimmodel.ObjectPath
}

// Property is one property (or out-parameter) of an Instance. Exactly one of
// Values, Refs and Instances is filled for a non-NULL property.
type Property struct {
	Name string
	// Null is true for xsi:nil="true".
	Null bool
	// Values holds the text of scalar and array values (datetimes in their
	// xs:dateTime or xs:duration form).
	Values []string
	// Refs holds reference values.
	Refs []cimmodel.ObjectPath
	// Instances holds embedded instances.
	Instances []*Instance
}

// Prop returns the property named name (case-insensitive).
func (i *Instance) Prop(name string) (Property, bool) {
	for _, p := range i.Properties {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Property{}, false
}

// Get returns the first text value of the property name, "" when it is
// absent, NULL or not text.
func (i *Instance) Get(name string) string {
	p, ok := i.Prop(name)
	if !ok || len(p.Values) == 0 {
		return ""
	}
	return p.Values[0]
}

// Uint returns the first value of the property name as an unsigned integer.
func (i *Instance) Uint(name string) (uint64, bool) {
	n, err := strconv.ParseUint(strings.TrimSpace(i.Get(name)), 10, 64)
	return n, err == nil
}

// Ref returns the first reference value of the property name.
func (i *Instance) Ref(name string) (cimmodel.ObjectPath, bool) {
	p, ok := i.Prop(name)
	if !ok || len(p.Refs) == 0 {
		return cimmodel.ObjectPath{}, false
	}
	return p.Refs[0], true
}

// Text returns the property's values as one line: texts and paths joined
// by commas, embedded instances by class name, "" for NULL.
func (p Property) Text() string {
	var parts []string
	parts = append(parts, p.Values...)
	for _, r := range p.Refs {
		parts = append(parts, FormatPath(r))
	}
	for _, e := range p.Instances {
		parts = append(parts, "instance of "+e.Class)
	}
	return strings.Join(parts, ",")
}

// propertyIndex returns the index of the property named name in props, or
// -1. It looks from the end: the values of an array are adjacent, and an
// instance has a few dozen properties at most, fewer than a map would need
// to pay off.
func propertyIndex(props []Property, name string) int {
	for i := len(props) - 1; i >= 0; i-- {
		if props[i].Name == name {
			return i
		}
	}
	return -1
}

// FormatPath writes p as CIM object-path text the way WMI shows __RELPATH:
// Class.Key="value",Key2="value", references nested in parentheses as
// Key=(Class.Key="value"). The namespace is left out.
func FormatPath(p cimmodel.ObjectPath) string {
	var b strings.Builder
	b.WriteString(p.Class)
	for i, k := range p.Keys {
		if i == 0 {
			b.WriteByte('.')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(k.Name)
		b.WriteByte('=')
		if r, ok := k.Value.AsRef(); ok {
			b.WriteByte('(')
			b.WriteString(FormatPath(r))
			b.WriteByte(')')
			continue
		}
		b.WriteString(strconv.Quote(keyString(k.Value)))
	}
	return b.String()
}

func keyString(v cimmodel.Value) string {
	if s, ok := v.AsString(); ok {
		return s
	}
	return v.String()
}

// ParsePath reads the text FormatPath writes (string keys only, values in
// double quotes with Go escapes, or bare words), in namespace ns. A
// namespace prefix "ns:" before the class overrides ns.
func ParsePath(s, ns string) (cimmodel.ObjectPath, error) {
	p := cimmodel.ObjectPath{Namespace: ns}
	s = strings.TrimSpace(s)
	dot := strings.IndexByte(s, '.')
	head := s
	if dot >= 0 {
		head = s[:dot]
	}
	if i := strings.LastIndexByte(head, ':'); i >= 0 {
		p.Namespace = strings.Trim(strings.ReplaceAll(head[:i], "\\", "/"), "/")
		head = head[i+1:]
	}
	if head == "" || strings.ContainsAny(head, " =\"") {
		return p, fmt.Errorf("client: object path %q: no class name", s)
	}
	p.Class = head
	if dot < 0 {
		return p, nil
	}
	rest := s[dot+1:]
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return p, fmt.Errorf("client: object path %q: want Key=\"value\"", s)
		}
		name := strings.TrimSpace(rest[:eq])
		rest = rest[eq+1:]
		var val string
		if strings.HasPrefix(rest, "\"") {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return p, fmt.Errorf("client: object path %q: key %s: unterminated quote", s, name)
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val = rest[:end]
			rest = rest[end:]
		}
		p.Keys = append(p.Keys, cimmodel.KeyBinding{Name: name, Value: cimmodel.String(val)})
		if rest != "" {
			if rest[0] != ',' {
				return p, fmt.Errorf("client: object path %q: want ',' after key %s", s, name)
			}
			rest = rest[1:]
		}
	}
	return p, nil
}
