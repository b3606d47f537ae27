package cimmodel

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// Resource URI prefixes (MS-WSMV §3.1.4.1.1; DSP0227 §6). WMIPrefix is
// followed by the namespace, '/' and the class; DMTFPrefix by the class
// alone, the namespace travelling in a __cimnamespace selector.
const (
	WMIPrefix  = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
	DMTFPrefix = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
)

// dmtfAllClasses is the DMTF resource URI that stands for every class
// (DSP0227 §7.1, used with filters).
const dmtfAllClasses = "http://schemas.dmtf.org/wbem/wscim/1/*"

// CIMNamespaceSelector is the selector that carries the CIM namespace of a
// DMTF-form resource URI (DSP0227 §7.3).
const CIMNamespaceSelector = "__cimnamespace"

// ErrInvalidEPR is wrapped by errors about malformed endpoint references
// and selector sets.
var ErrInvalidEPR = errors.New("cimmodel: invalid endpoint reference")

// ErrInvalidResourceURI is wrapped by errors about resource URIs that name
// no CIM class.
var ErrInvalidResourceURI = errors.New("cimmodel: invalid resource URI")

// KeyBinding is one key of an object path: a scalar string, number or
// boolean, or a reference (association keys).
type KeyBinding struct {
	Name  string
	Value Value
}

// ObjectPath names a CIM instance (or, without keys, a class): a namespace
// such as "root/cimv2/storage/iscsitarget" ('/' separated), a class name
// and key bindings.
type ObjectPath struct {
	Namespace string
	Class     string
	Keys      []KeyBinding
}

// Key returns the value of the key named name (case-insensitive).
func (p ObjectPath) Key(name string) (Value, bool) {
	for _, k := range p.Keys {
		if strings.EqualFold(k.Name, name) {
			return k.Value, true
		}
	}
	return Value{}, false
}

// String returns the canonical form of p, for logs and map keys: the
// namespace, class and key names case-folded, keys sorted by name, every
// scalar key value quoted as its text, nested references as their own
// canonical form in parentheses: `root/cimv2:cim_foo.id="1",name="x"`.
func (p ObjectPath) String() string {
	var b strings.Builder
	b.WriteString(strings.ToLower(p.Namespace))
	b.WriteByte(':')
	b.WriteString(strings.ToLower(p.Class))
	keys := make([]string, 0, len(p.Keys))
	for _, k := range p.Keys {
		if r, ok := k.Value.V.(ObjectPath); ok {
			keys = append(keys, strings.ToLower(k.Name)+"=("+r.String()+")")
			continue
		}
		keys = append(keys, strings.ToLower(k.Name)+"="+strconv.Quote(keyText(k.Value)))
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('.')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(k)
	}
	return b.String()
}

// keyText is the comparable text of a key value.
func keyText(v Value) string {
	if r, ok := v.V.(ObjectPath); ok {
		return r.String()
	}
	if v.V == nil || v.Array {
		return v.String()
	}
	s, err := formatScalar(v.Type, v.V)
	if err != nil {
		return v.String()
	}
	return s
}

// Equal reports whether p and q name the same instance: namespace, class and
// key names compare case-insensitively, key values exactly by their text
// (so a string "5" from a selector equals a uint32 5), references
// recursively.
func (p ObjectPath) Equal(q ObjectPath) bool {
	if !strings.EqualFold(p.Namespace, q.Namespace) || !strings.EqualFold(p.Class, q.Class) || len(p.Keys) != len(q.Keys) {
		return false
	}
	for _, k := range p.Keys {
		v, ok := q.Key(k.Name)
		if !ok {
			return false
		}
		r1, isRef1 := k.Value.V.(ObjectPath)
		r2, isRef2 := v.V.(ObjectPath)
		if isRef1 != isRef2 {
			return false
		}
		if isRef1 {
			if !r1.Equal(r2) {
				return false
			}
			continue
		}
		if keyText(k.Value) != keyText(v) {
			return false
		}
	}
	return true
}

// isDMTFClass reports whether class belongs to the DMTF schema and so gets
// a DMTF-form resource URI.
func isDMTFClass(class string) bool {
	return len(class) > 4 && strings.EqualFold(class[:4], "CIM_")
}

// ResourceURI returns the resource URI a client should use for class in
// namespace: the DMTF form for "CIM_" classes, the WMI form otherwise, and
// the WMI wildcard "<WMIPrefix><namespace>/*" for class "*".
func ResourceURI(namespace, class string) string {
	if isDMTFClass(class) {
		return DMTFPrefix + class
	}
	return WMIPrefix + strings.Trim(strings.ReplaceAll(namespace, "\\", "/"), "/") + "/" + class
}

// ParseResourceURI splits a resource URI into namespace and class. For the
// DMTF form dmtf is true and namespace is "" (it comes from the
// __cimnamespace selector); the wildcard forms give class "*". Other URIs
// give an error wrapping ErrInvalidResourceURI.
func ParseResourceURI(uri string) (namespace, class string, dmtf bool, err error) {
	u := strings.TrimSpace(uri)
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	switch {
	case hasPrefixFold(u, WMIPrefix):
		rest := u[len(WMIPrefix):]
		i := strings.LastIndexByte(rest, '/')
		if i <= 0 || i == len(rest)-1 {
			return "", "", false, fmt.Errorf("%w: %q has no namespace and class", ErrInvalidResourceURI, uri)
		}
		namespace, class = strings.Trim(rest[:i], "/"), rest[i+1:]
		if namespace == "" || strings.Contains(namespace, "//") || !validClassName(class) {
			return "", "", false, fmt.Errorf("%w: %q", ErrInvalidResourceURI, uri)
		}
		return namespace, class, false, nil
	case hasPrefixFold(u, DMTFPrefix):
		class = u[len(DMTFPrefix):]
		if !validClassName(class) {
			return "", "", false, fmt.Errorf("%w: %q", ErrInvalidResourceURI, uri)
		}
		return "", class, true, nil
	case strings.EqualFold(u, dmtfAllClasses):
		return "", "*", true, nil
	}
	return "", "", false, fmt.Errorf("%w: %q is neither a WMI nor a DMTF CIM resource URI", ErrInvalidResourceURI, uri)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validClassName reports whether s is "*" or a CIM identifier.
func validClassName(s string) bool {
	if s == "*" {
		return true
	}
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= 0x80:
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// EPRForm chooses how [ObjectPath.WriteEPRAs] writes the resource URI of an
// endpoint reference.
type EPRForm int

const (
	// EPRNative writes the URI [ResourceURI] gives: the DMTF form with a
	// __cimnamespace selector for CIM_ classes, the WMI form (which holds the
	// namespace) for the others.
	EPRNative EPRForm = iota
	// EPRDMTF writes the DMTF form for every class, with a __cimnamespace
	// selector, as Windows 7 and later answer a request addressed with a
	// DMTF resource URI and __cimnamespace (MS-WSMV 3.1.4.1.1): a client
	// that reuses the selectors on the URI it used stays in the namespace.
	EPRDMTF
	// eprForms is the number of forms.
	eprForms
)

// EPRFormOf returns the form of endpoint references that answer a request
// addressed with resourceURI: EPRDMTF for a DMTF-form URI, else EPRNative.
func EPRFormOf(resourceURI string) EPRForm {
	if _, _, dmtf, err := ParseResourceURI(resourceURI); err == nil && dmtf {
		return EPRDMTF
	}
	return EPRNative
}

// WriteEPR appends p as an endpoint reference to parent in the EPRNative
// form (see [ObjectPath.WriteEPRAs]).
func (p ObjectPath) WriteEPR(parent *etree.Element, address string) {
	p.WriteEPRAs(parent, address, EPRNative)
}

// WriteEPRAs appends p as an endpoint reference to parent: the elements
// [AppendEPR] writes (a:Address, a:ReferenceParameters), as a tree.
// Namespace declarations for the a and w prefixes are added to parent when
// they are not in scope. Replies use AppendEPR; this is for callers that
// build a tree (the client's requests).
func (p ObjectPath) WriteEPRAs(parent *etree.Element, address string, form EPRForm) {
	ensureNS(parent, "a", nsAddressing)
	ensureNS(parent, "w", nsWSMan)
	w := xmlWriter{b: append(make([]byte, 0, 512), "<x>"...), form: form, crRef: true}
	w.epr(p, address)
	w.b = append(w.b, "</x>"...)
	for _, c := range adopt(nil, w.b).ChildElements() {
		parent.AddChild(c)
	}
}

// ParseEPR reads an object path from an element holding an endpoint
// reference: Address and ReferenceParameters children (any prefixes), or
// ResourceURI and SelectorSet as direct children. Selector values that are
// endpoint references become reference keys; the __cimnamespace selector
// sets the namespace. Errors wrap ErrInvalidEPR.
func ParseEPR(e *etree.Element) (ObjectPath, error) {
	return parseEPR(e, 0)
}

// maxEPRDepth bounds the nesting of references inside selectors.
const maxEPRDepth = 16

func parseEPR(e *etree.Element, depth int) (ObjectPath, error) {
	if e == nil {
		return ObjectPath{}, fmt.Errorf("%w: no element", ErrInvalidEPR)
	}
	if depth > maxEPRDepth {
		return ObjectPath{}, fmt.Errorf("%w: references nested too deep", ErrInvalidEPR)
	}
	holder := e
	if rp := childLocal(e, "ReferenceParameters"); rp != nil {
		holder = rp
	} else if epr := childLocal(e, "EndpointReference"); epr != nil && childLocal(e, "ResourceURI") == nil {
		return parseEPR(epr, depth+1)
	}
	uriElem := childLocal(holder, "ResourceURI")
	if uriElem == nil {
		return ObjectPath{}, fmt.Errorf("%w: no ResourceURI", ErrInvalidEPR)
	}
	ns, class, _, err := ParseResourceURI(uriElem.Text())
	if err != nil {
		return ObjectPath{}, fmt.Errorf("%w: %w", ErrInvalidEPR, err)
	}
	if class == "*" {
		return ObjectPath{}, fmt.Errorf("%w: resource URI %q names no class", ErrInvalidEPR, uriElem.Text())
	}
	p := ObjectPath{Namespace: ns, Class: class}
	ss := childLocal(holder, "SelectorSet")
	if ss == nil {
		return p, nil
	}
	for _, sel := range ss.ChildElements() {
		if sel.Tag != "Selector" {
			continue
		}
		name := sel.SelectAttrValue("Name", "")
		if name == "" {
			return ObjectPath{}, fmt.Errorf("%w: selector without a Name", ErrInvalidEPR)
		}
		if _, dup := p.Key(name); dup {
			return ObjectPath{}, fmt.Errorf("%w: selector %q repeated", ErrInvalidEPR, name)
		}
		if strings.EqualFold(name, CIMNamespaceSelector) {
			p.Namespace = strings.Trim(strings.ReplaceAll(strings.TrimSpace(sel.Text()), "\\", "/"), "/")
			continue
		}
		if nested := childLocal(sel, "EndpointReference"); nested != nil {
			r, err := parseEPR(nested, depth+1)
			if err != nil {
				return ObjectPath{}, fmt.Errorf("selector %q: %w", name, err)
			}
			p.Keys = append(p.Keys, KeyBinding{Name: name, Value: Ref(r)})
			continue
		}
		if len(sel.ChildElements()) > 0 {
			return ObjectPath{}, fmt.Errorf("%w: selector %q holds an element that is not an EndpointReference", ErrInvalidEPR, name)
		}
		p.Keys = append(p.Keys, KeyBinding{Name: name, Value: String(sel.Text())})
	}
	return p, nil
}

// childLocal returns the first child element of e with local name local,
// whatever its prefix.
func childLocal(e *etree.Element, local string) *etree.Element {
	for _, c := range e.ChildElements() {
		if c.Tag == local {
			return c
		}
	}
	return nil
}

// ensureNS declares xmlns:prefix=uri on e unless prefix is already bound to
// uri on e or one of its ancestors.
func ensureNS(e *etree.Element, prefix, uri string) {
	for x := e; x != nil; x = x.Parent() {
		for _, a := range x.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				if a.Value == uri {
					return
				}
				if x != e {
					e.CreateAttr("xmlns:"+prefix, uri)
				}
				return
			}
		}
	}
	e.CreateAttr("xmlns:"+prefix, uri)
}
