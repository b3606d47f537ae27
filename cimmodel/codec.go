package cimmodel

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// maxEmbedDepth bounds the nesting of embedded instances the codec accepts.
const maxEmbedDepth = 8

// EncodeInstance appends inst to parent (parent may be nil) and returns the
// instance element: the tree of what [AppendInstance] writes, references in
// the EPRNative form (see [EncodeInstanceAs]). Carriage returns in strings
// stay in the tree; a writer that wants them to survive XML end-of-line
// normalisation must serialise with etree's WriteSettings.CanonicalText.
// Replies use AppendInstance; this is for callers that build a tree.
func EncodeInstance(parent *etree.Element, inst *Instance) *etree.Element {
	return EncodeInstanceAs(parent, inst, EPRNative)
}

// EncodeInstanceAs is [EncodeInstance] with references (in properties and
// embedded instances) written in the given form (see [AppendEPR]).
func EncodeInstanceAs(parent *etree.Element, inst *Instance, form EPRForm) *etree.Element {
	w := xmlWriter{form: form, crRef: true}
	w.instance(inst)
	return adopt(parent, w.b)
}

// EncodeOutput appends the output message of method m to parent (which may
// be nil) and returns it: the tree of what [AppendOutput] writes.
func EncodeOutput(parent *etree.Element, m *Method, resourceURI string, res Result) *etree.Element {
	w := xmlWriter{form: EPRFormOf(resourceURI), crRef: true}
	w.output(m, resourceURI, res)
	return adopt(parent, w.b)
}

// adopt parses the element the encoder wrote into text and appends it to
// parent (which may be nil).
func adopt(parent *etree.Element, text []byte) *etree.Element {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(text); err != nil {
		// The encoder writes well-formed XML: this is a bug.
		panic(fmt.Sprintf("cimmodel: encoder wrote malformed XML: %v\n%s", err, text))
	}
	e := doc.Root()
	if parent != nil {
		parent.AddChild(e)
	}
	return e
}

// DecodeInstance is the inverse of [EncodeInstance]: it reads an instance
// element whose class is given by its xsi:type ("p:Class_Type") or else its
// local name, looked up in the namespace of its WMI resource URI or else
// namespace. Child elements are matched to the effective properties by local
// name (case-insensitive); an unknown property, a value that does not parse
// as its declared type, or a repeated element for a scalar is an error
// (*Error with StatusInvalidParameter, or StatusInvalidClass for an unknown
// class).
func DecodeInstance(r *Registry, namespace string, e *etree.Element) (*Instance, error) {
	return decodeInstanceElement(r, namespace, e, "", 0)
}

// decodeInstanceElement decodes e as an instance; hint is the class to use
// when e carries no xsi:type (the EmbeddedInstance class, for properties).
func decodeInstanceElement(r *Registry, namespace string, e *etree.Element, hint string, depth int) (*Instance, error) {
	if depth > maxEmbedDepth {
		return nil, Errorf(StatusInvalidParameter, "embedded instances nested too deep")
	}
	className := hint
	if depth == 0 {
		className = e.Tag
	} else if c, ok := r.Class(namespace, e.Tag); ok && (hint == "" || c.isA(hint)) {
		className = c.Name // a class-named wrapper element
	}
	if t := xsiAttr(e, "type"); t != "" {
		if i := strings.IndexByte(t, ':'); i >= 0 {
			t = t[i+1:]
		}
		className = strings.TrimSuffix(t, "_Type")
	}
	if uri := e.NamespaceURI(); uri != "" && depth == 0 {
		if ns, _, dmtf, err := ParseResourceURI(uri); err == nil && !dmtf {
			namespace = ns
		}
	}
	if className == "" {
		return nil, Errorf(StatusInvalidParameter, "instance element %s names no class", e.Tag)
	}
	c, err := r.lookup(namespace, className)
	if err != nil {
		if ns := r.classNamespace(className); ns != "" {
			c, err = r.lookup(ns, className)
		}
		if err != nil {
			return nil, err
		}
	}
	inst := NewInstance(c)
	if namespace != "" {
		inst.Namespace = namespace
	}
	if inst.Namespace == "" {
		inst.Namespace = c.Namespace
	}
	groups, order, err := groupChildren(e)
	if err != nil {
		return nil, err
	}
	for _, name := range order {
		p, ok := c.property(name)
		if !ok {
			return nil, Errorf(StatusNoSuchProperty, "class %s has no property %q", c.Name, name)
		}
		v, err := decodeElements(r, inst.Namespace, groups[strings.ToLower(name)], p.valueType(), p.Array, p.EmbeddedClass, p.RefClass, depth)
		if err != nil {
			return nil, Errorf(StatusInvalidParameter, "property %s.%s: %v", c.Name, p.Name, err)
		}
		inst.Values[p.Name] = v
	}
	return inst, nil
}

// classNamespace returns the namespace of the only namespace holding class,
// or "".
func (r *Registry) classNamespace(class string) string {
	found := ""
	for _, ns := range r.Namespaces() {
		if _, ok := r.Class(ns, class); ok {
			if found != "" {
				return ""
			}
			found = ns
		}
	}
	return found
}

// groupChildren groups the child elements of e by lower-cased local name,
// keeping first-appearance order of the names.
func groupChildren(e *etree.Element) (map[string][]*etree.Element, []string, error) {
	groups := map[string][]*etree.Element{}
	var order []string
	for _, c := range e.ChildElements() {
		k := strings.ToLower(c.Tag)
		if _, ok := groups[k]; !ok {
			order = append(order, c.Tag)
		}
		groups[k] = append(groups[k], c)
	}
	return groups, order, nil
}

// xsiAttr returns the value of the xsi:<key> attribute of e, or "".
func xsiAttr(e *etree.Element, key string) string {
	for i := range e.Attr {
		a := &e.Attr[i]
		if a.Key == key && a.Space != "" && (a.NamespaceURI() == nsXSI || a.Space == "xsi") {
			return a.Value
		}
	}
	return ""
}

func isNil(e *etree.Element) bool {
	v := strings.TrimSpace(xsiAttr(e, "nil"))
	return v == "true" || v == "1"
}

// decodeElements decodes the elements carrying one property or parameter.
// t is the value type (TypeInstance for embedded instances).
func decodeElements(r *Registry, namespace string, elems []*etree.Element, t Type, array bool, embClass, refClass string, depth int) (Value, error) {
	if !array && len(elems) > 1 {
		return Value{}, fmt.Errorf("%d elements for a scalar", len(elems))
	}
	if len(elems) == 1 && isNil(elems[0]) {
		return Value{Type: t, Array: array}, nil
	}
	var xs []any
	for _, e := range elems {
		if isNil(e) {
			return Value{}, fmt.Errorf("NULL element inside an array")
		}
		x, err := decodeScalar(r, namespace, e, t, embClass, refClass, depth)
		if err != nil {
			return Value{}, err
		}
		xs = append(xs, x)
	}
	if !array {
		if len(xs) == 0 {
			return Value{Type: t}, nil
		}
		return Value{Type: t, V: xs[0]}, nil
	}
	return arrayOf(t, xs), nil
}

// decodeScalar decodes one element as a non-NULL value of type t.
func decodeScalar(r *Registry, namespace string, e *etree.Element, t Type, embClass, refClass string, depth int) (any, error) {
	switch t {
	case TypeReference:
		p, err := ParseEPR(e)
		if err != nil {
			return nil, err
		}
		if p.Namespace == "" {
			p.Namespace = namespace
		}
		if refClass != "" && r != nil {
			if err := r.checkRefClass(p, refClass); err != nil {
				return nil, err
			}
		}
		return p, nil
	case TypeInstance:
		var inst *Instance
		var err error
		if kids := e.ChildElements(); len(kids) > 0 {
			holder := e
			if w := r.classWrapper(namespace, e, embClass); w != nil {
				holder = w
			}
			inst, err = decodeInstanceElement(r, namespace, holder, embClass, depth+1)
		} else {
			text := strings.TrimSpace(e.Text())
			if text == "" {
				return nil, fmt.Errorf("empty embedded instance")
			}
			inst, err = parseCIMXMLInstance(r, namespace, text, depth+1)
		}
		if err != nil {
			return nil, err
		}
		if embClass != "" && !inst.Class.isA(embClass) {
			return nil, fmt.Errorf("embedded instance of %s is not a %s", inst.Class.Name, embClass)
		}
		return inst, nil
	case TypeDatetime:
		for _, c := range e.ChildElements() {
			switch c.Tag {
			case "Datetime", "Interval", "Date", "Time", "CIM_DateTime":
				d, err := parseDatetimeText(c.Text())
				if err != nil {
					return nil, err
				}
				if c.Tag == "Interval" && !d.IsInterval || c.Tag == "Datetime" && d.IsInterval {
					return nil, fmt.Errorf("%q in cim:%s", c.Text(), c.Tag)
				}
				return d, nil
			}
			return nil, fmt.Errorf("unexpected element %s in a datetime", c.Tag)
		}
		return parseScalar(t, e.Text())
	}
	if len(e.ChildElements()) > 0 {
		return nil, fmt.Errorf("element %s holds elements, want %s text", e.Tag, t)
	}
	return parseScalar(t, e.Text())
}

// classWrapper returns the only child of e when it wraps the embedded
// instance in an element named after its class (<p:Param><q:Class>…), the
// form some WS-Man clients write instead of xsi:type on e; otherwise nil.
func (r *Registry) classWrapper(namespace string, e *etree.Element, embClass string) *etree.Element {
	kids := e.ChildElements()
	if len(kids) != 1 || xsiAttr(e, "type") != "" {
		return nil
	}
	k := kids[0]
	if embClass != "" {
		if c, err := r.lookup(namespace, embClass); err == nil {
			if _, isProp := c.property(k.Tag); isProp {
				return nil
			}
		}
	}
	c, err := r.lookup(namespace, k.Tag)
	if err != nil || (embClass != "" && !c.isA(embClass)) {
		return nil
	}
	return k
}

// checkRefClass checks that the class p refers to is registered and is
// refClass or a subclass of it.
func (r *Registry) checkRefClass(p ObjectPath, refClass string) error {
	c, err := r.lookup(p.Namespace, p.Class)
	if err != nil {
		return fmt.Errorf("reference to %s: %w", p.Class, err)
	}
	if !c.isA(refClass) {
		return fmt.Errorf("reference to %s, want a %s", c.Name, refClass)
	}
	return nil
}
