package cimmodel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// maxCIMXMLSize bounds the text ParseCIMXMLInstance accepts, in bytes.
const maxCIMXMLSize = 1 << 20

// ParseCIMXMLInstance parses the DMTF DSP0201 (CIM-XML) text of one
// instance, as clients send embedded-instance string parameters:
// <INSTANCE CLASSNAME="…"> with PROPERTY (one VALUE), PROPERTY.ARRAY
// (VALUE.ARRAY of VALUEs) and PROPERTY.REFERENCE (VALUE.REFERENCE holding an
// INSTANCEPATH, LOCALINSTANCEPATH or INSTANCENAME) children. A missing VALUE
// means NULL; QUALIFIERs and system properties ("__PATH"…) are ignored;
// values parse as the declared property types (datetimes in the DSP0004
// string form). The class is looked up in namespace. Errors are *Error with
// StatusInvalidParameter (StatusInvalidClass for an unknown class).
func ParseCIMXMLInstance(r *Registry, namespace, s string) (*Instance, error) {
	return parseCIMXMLInstance(r, namespace, s, 0)
}

func parseCIMXMLInstance(r *Registry, namespace, s string, depth int) (*Instance, error) {
	if depth > maxEmbedDepth {
		return nil, Errorf(StatusInvalidParameter, "embedded instances nested too deep")
	}
	if len(s) > maxCIMXMLSize {
		return nil, Errorf(StatusInvalidParameter, "CIM-XML instance larger than %d bytes", maxCIMXMLSize)
	}
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromString(s); err != nil {
		return nil, Errorf(StatusInvalidParameter, "CIM-XML instance: %v", err)
	}
	root := doc.Root()
	if root == nil {
		return nil, Errorf(StatusInvalidParameter, "CIM-XML instance: no element")
	}
	if root.Tag != "INSTANCE" {
		if in := root.FindElement(".//INSTANCE"); in != nil && (root.Tag == "CIM" || root.Tag == "VALUE.NAMEDINSTANCE" || root.Tag == "VALUE.OBJECT" || root.Tag == "VALUE.NAMEDOBJECT") {
			root = in
		} else {
			return nil, Errorf(StatusInvalidParameter, "CIM-XML: root element %s is not INSTANCE", root.Tag)
		}
	}
	return cimxmlInstance(r, namespace, root, depth)
}

func cimxmlInstance(r *Registry, namespace string, e *etree.Element, depth int) (*Instance, error) {
	className := e.SelectAttrValue("CLASSNAME", "")
	if className == "" {
		return nil, Errorf(StatusInvalidParameter, "CIM-XML INSTANCE without CLASSNAME")
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
	for _, pe := range e.ChildElements() {
		switch pe.Tag {
		case "PROPERTY", "PROPERTY.ARRAY", "PROPERTY.REFERENCE":
		default:
			continue
		}
		name := pe.SelectAttrValue("NAME", "")
		if strings.HasPrefix(name, "__") {
			continue
		}
		p, ok := c.property(name)
		if !ok {
			return nil, Errorf(StatusNoSuchProperty, "class %s has no property %q", c.Name, name)
		}
		if _, dup := inst.Values[p.Name]; dup {
			return nil, Errorf(StatusInvalidParameter, "property %s.%s repeated", c.Name, p.Name)
		}
		v, err := cimxmlValue(r, inst.namespace(), pe, p, depth)
		if err != nil {
			return nil, Errorf(StatusInvalidParameter, "property %s.%s: %v", c.Name, p.Name, err)
		}
		inst.Values[p.Name] = v
	}
	return inst, nil
}

func cimxmlValue(r *Registry, namespace string, pe *etree.Element, p Property, depth int) (Value, error) {
	t := p.valueType()
	switch pe.Tag {
	case "PROPERTY.REFERENCE":
		if t != TypeReference || p.Array {
			return Value{}, fmt.Errorf("PROPERTY.REFERENCE for a %s%s property", t, arraySuffix(p.Array))
		}
		vr := pe.SelectElement("VALUE.REFERENCE")
		if vr == nil {
			return Null(TypeReference), nil
		}
		path, err := cimxmlReference(vr, namespace)
		if err != nil {
			return Value{}, err
		}
		if p.RefClass != "" {
			if err := r.checkRefClass(path, p.RefClass); err != nil {
				return Value{}, err
			}
		}
		return Ref(path), nil
	case "PROPERTY.ARRAY":
		if !p.Array {
			return Value{}, fmt.Errorf("PROPERTY.ARRAY for a scalar property")
		}
		va := pe.SelectElement("VALUE.ARRAY")
		if va == nil {
			return NullArray(t), nil
		}
		xs := []any{}
		for _, ve := range va.ChildElements() {
			if ve.Tag != "VALUE" {
				return Value{}, fmt.Errorf("%s in VALUE.ARRAY", ve.Tag)
			}
			x, err := cimxmlScalar(r, namespace, ve.Text(), p, depth)
			if err != nil {
				return Value{}, err
			}
			xs = append(xs, x)
		}
		return arrayOf(t, xs), nil
	}
	if p.Array || t == TypeReference {
		return Value{}, fmt.Errorf("PROPERTY for a %s%s property", t, arraySuffix(p.Array))
	}
	ve := pe.SelectElement("VALUE")
	if ve == nil {
		return Null(t), nil
	}
	x, err := cimxmlScalar(r, namespace, ve.Text(), p, depth)
	if err != nil {
		return Value{}, err
	}
	return Value{Type: t, V: x}, nil
}

func cimxmlScalar(r *Registry, namespace, text string, p Property, depth int) (any, error) {
	if p.valueType() == TypeInstance {
		inst, err := parseCIMXMLInstance(r, namespace, strings.TrimSpace(text), depth+1)
		if err != nil {
			return nil, err
		}
		if p.EmbeddedClass != "" && !inst.Class.isA(p.EmbeddedClass) {
			return nil, fmt.Errorf("embedded instance of %s is not a %s", inst.Class.Name, p.EmbeddedClass)
		}
		return inst, nil
	}
	return parseScalar(p.Type, text)
}

// cimxmlReference reads the object path inside a VALUE.REFERENCE (or a
// KEYBINDING's VALUE.REFERENCE).
func cimxmlReference(vr *etree.Element, namespace string) (ObjectPath, error) {
	return cimxmlReferenceDepth(vr, namespace, 0)
}

func cimxmlReferenceDepth(vr *etree.Element, namespace string, depth int) (ObjectPath, error) {
	for _, tag := range []string{"INSTANCEPATH", "LOCALINSTANCEPATH", "INSTANCENAME"} {
		if e := vr.SelectElement(tag); e != nil {
			return cimxmlPath(e, namespace, depth)
		}
	}
	return ObjectPath{}, fmt.Errorf("VALUE.REFERENCE holds no instance name")
}

// ParseCIMXMLPath reads a DSP0201 object path element: INSTANCENAME,
// LOCALINSTANCEPATH or INSTANCEPATH (an instance, with its keys as
// strings or nested references, converted later by
// [Registry.NormalizePath]), CLASSNAME, LOCALCLASSPATH or CLASSPATH (a
// class: no keys), or a VALUE.REFERENCE holding one of them. namespace is
// the path's namespace when the element names none. A HOST is ignored:
// every path is local to this server.
func ParseCIMXMLPath(e *etree.Element, namespace string) (ObjectPath, error) {
	if e != nil && e.Tag == "VALUE.REFERENCE" {
		for _, c := range e.ChildElements() {
			return cimxmlPath(c, namespace, 0)
		}
		return ObjectPath{}, fmt.Errorf("empty VALUE.REFERENCE")
	}
	return cimxmlPath(e, namespace, 0)
}

func cimxmlPath(e *etree.Element, namespace string, depth int) (ObjectPath, error) {
	if e == nil {
		return ObjectPath{}, fmt.Errorf("no object path")
	}
	if depth > maxEPRDepth {
		return ObjectPath{}, fmt.Errorf("references nested too deep")
	}
	var nsPath, name *etree.Element
	switch e.Tag {
	case "INSTANCEPATH", "CLASSPATH":
		if np := e.SelectElement("NAMESPACEPATH"); np != nil {
			nsPath = np.SelectElement("LOCALNAMESPACEPATH")
		}
		name = firstOf(e, "INSTANCENAME", "CLASSNAME")
	case "LOCALINSTANCEPATH", "LOCALCLASSPATH":
		nsPath = e.SelectElement("LOCALNAMESPACEPATH")
		name = firstOf(e, "INSTANCENAME", "CLASSNAME")
	case "INSTANCENAME", "CLASSNAME":
		name = e
	default:
		return ObjectPath{}, fmt.Errorf("%s is not an object path", e.Tag)
	}
	if name == nil {
		return ObjectPath{}, fmt.Errorf("%s holds no instance or class name", e.Tag)
	}
	attr := "CLASSNAME"
	if name.Tag == "CLASSNAME" {
		attr = "NAME"
	}
	p := ObjectPath{Namespace: namespace, Class: name.SelectAttrValue(attr, "")}
	if !validClassName(p.Class) || p.Class == "*" {
		return ObjectPath{}, fmt.Errorf("%s with invalid class name %q", name.Tag, p.Class)
	}
	if nsPath != nil {
		p.Namespace = CIMXMLNamespace(nsPath)
	}
	if name.Tag == "CLASSNAME" {
		return p, nil
	}
	for _, kb := range name.ChildElements() {
		switch kb.Tag {
		case "KEYBINDING":
			kn := kb.SelectAttrValue("NAME", "")
			if kn == "" {
				return ObjectPath{}, fmt.Errorf("KEYBINDING without NAME")
			}
			if kv := kb.SelectElement("KEYVALUE"); kv != nil {
				p.Keys = append(p.Keys, KeyBinding{Name: kn, Value: String(kv.Text())})
			} else if ref := kb.SelectElement("VALUE.REFERENCE"); ref != nil {
				sub, err := cimxmlReferenceDepth(ref, p.Namespace, depth+1)
				if err != nil {
					return ObjectPath{}, err
				}
				p.Keys = append(p.Keys, KeyBinding{Name: kn, Value: Ref(sub)})
			} else {
				return ObjectPath{}, fmt.Errorf("KEYBINDING %s without a value", kn)
			}
		case "KEYVALUE", "VALUE.REFERENCE":
			// DSP0201 allows one unnamed key; no class of ours has a
			// single key that needs no name, so it is refused.
			return ObjectPath{}, fmt.Errorf("unnamed %s", kb.Tag)
		}
	}
	return p, nil
}

func firstOf(e *etree.Element, tags ...string) *etree.Element {
	for _, t := range tags {
		if c := e.SelectElement(t); c != nil {
			return c
		}
	}
	return nil
}

// CIMXMLNamespace returns the namespace a LOCALNAMESPACEPATH names: its
// NAMESPACE elements' NAME attributes joined with "/".
func CIMXMLNamespace(nsPath *etree.Element) string {
	var parts []string
	for _, n := range nsPath.SelectElements("NAMESPACE") {
		parts = append(parts, n.SelectAttrValue("NAME", ""))
	}
	return strings.Join(parts, "/")
}

// EncodeCIMXMLInstance writes inst as DSP0201 CIM-XML text: <INSTANCE
// CLASSNAME="…"> with one PROPERTY, PROPERTY.ARRAY or PROPERTY.REFERENCE per
// effective property in declared order (NULL ones without a VALUE),
// datetimes in the DSP0004 string form, embedded instances as escaped
// CIM-XML text with EmbeddedObject="instance".
func EncodeCIMXMLInstance(inst *Instance) string {
	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalText = true // keeps "\r" as &#xD;
	doc.SetRoot(cimxmlInstanceElement(inst))
	s, _ := doc.WriteToString()
	return s
}

func cimxmlInstanceElement(inst *Instance) *etree.Element {
	e := etree.NewElement("INSTANCE")
	e.CreateAttr("CLASSNAME", inst.className())
	if inst.Class == nil {
		return e
	}
	for _, p := range inst.Class.props() {
		v := inst.Get(p.Name)
		t := p.valueType()
		switch {
		case t == TypeReference && !p.Array:
			pe := e.CreateElement("PROPERTY.REFERENCE")
			pe.CreateAttr("NAME", p.Name)
			if p.RefClass != "" {
				pe.CreateAttr("REFERENCECLASS", p.RefClass)
			}
			if ref, ok := v.AsRef(); ok {
				writeCIMXMLReference(pe.CreateElement("VALUE.REFERENCE"), ref, 0)
			}
		case p.Array:
			pe := e.CreateElement("PROPERTY.ARRAY")
			pe.CreateAttr("NAME", p.Name)
			cimxmlTypeAttrs(pe, p)
			if !v.IsNull() {
				va := pe.CreateElement("VALUE.ARRAY")
				for _, el := range v.Elems() {
					va.CreateElement("VALUE").SetText(cimxmlText(t, el.V))
				}
			}
		default:
			pe := e.CreateElement("PROPERTY")
			pe.CreateAttr("NAME", p.Name)
			cimxmlTypeAttrs(pe, p)
			if !v.IsNull() {
				pe.CreateElement("VALUE").SetText(cimxmlText(t, v.V))
			}
		}
	}
	return e
}

func cimxmlTypeAttrs(pe *etree.Element, p Property) {
	if p.valueType() == TypeInstance {
		pe.CreateAttr("TYPE", "string")
		pe.CreateAttr("EmbeddedObject", "instance")
		return
	}
	pe.CreateAttr("TYPE", p.Type.String())
}

// cimxmlText is the CIM-XML text of a scalar.
func cimxmlText(t Type, x any) string {
	switch x := x.(type) {
	case Datetime:
		return formatCIMDatetime(x)
	case *Instance:
		if x == nil {
			return ""
		}
		return EncodeCIMXMLInstance(x)
	case ObjectPath:
		return x.String()
	}
	s, _ := formatScalar(t, x)
	return s
}

func writeCIMXMLReference(vr *etree.Element, p ObjectPath, depth int) {
	ip := vr.CreateElement("LOCALINSTANCEPATH")
	np := ip.CreateElement("LOCALNAMESPACEPATH")
	for _, part := range strings.Split(p.Namespace, "/") {
		if part != "" {
			np.CreateElement("NAMESPACE").CreateAttr("NAME", part)
		}
	}
	in := ip.CreateElement("INSTANCENAME")
	in.CreateAttr("CLASSNAME", p.Class)
	for _, k := range p.Keys {
		kb := in.CreateElement("KEYBINDING")
		kb.CreateAttr("NAME", k.Name)
		if ref, ok := k.Value.V.(ObjectPath); ok && depth < maxEPRDepth {
			writeCIMXMLReference(kb.CreateElement("VALUE.REFERENCE"), ref, depth+1)
			continue
		}
		kv := kb.CreateElement("KEYVALUE")
		switch {
		case k.Value.Type == TypeBoolean:
			kv.CreateAttr("VALUETYPE", "boolean")
		case k.Value.Type.isInteger() || k.Value.Type == TypeReal32 || k.Value.Type == TypeReal64:
			kv.CreateAttr("VALUETYPE", "numeric")
		default:
			kv.CreateAttr("VALUETYPE", "string")
		}
		// DSP0201 2.4 requires the CIM type of a key value too.
		if t := k.Value.Type; t.valid() && t != TypeReference && t != TypeInstance {
			kv.CreateAttr("TYPE", t.String())
		}
		kv.SetText(keyText(k.Value))
	}
}

// formatCIMDatetime writes the DSP0004 §5.2.4 string form:
// "yyyymmddhhmmss.mmmmmmsutc" or, for intervals, "ddddddddhhmmss.mmmmmm:000".
func formatCIMDatetime(d Datetime) string {
	if d.IsInterval {
		iv := d.Interval
		if iv < 0 {
			iv = 0
		}
		days := int64(iv / (24 * time.Hour))
		iv %= 24 * time.Hour
		return fmt.Sprintf("%08d%02d%02d%02d.%06d:000", days, int(iv/time.Hour), int(iv%time.Hour/time.Minute),
			int(iv%time.Minute/time.Second), int(iv%time.Second/time.Microsecond))
	}
	t := d.Time
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%04d%02d%02d%02d%02d%02d.%06d%c%03d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(),
		t.Second(), t.Nanosecond()/1000, sign, off/60)
}

// ---- the pieces of CIM-XML operations (DSP0200) that are model-level ----

// CIMXMLInstanceElement returns the <INSTANCE> element of inst, as
// [EncodeCIMXMLInstance] writes it; when properties is not nil only the
// properties it names (case-insensitively) are written (a DSP0200
// PropertyList).
func CIMXMLInstanceElement(inst *Instance, properties []string) *etree.Element {
	if properties == nil {
		return cimxmlInstanceElement(inst)
	}
	keep := &Instance{Class: inst.Class, Namespace: inst.Namespace, Values: map[string]Value{}}
	for _, name := range properties {
		if v, ok := inst.lookup(name); ok {
			keep.Set(name, v)
		}
	}
	e := cimxmlInstanceElement(keep)
	for _, pe := range e.ChildElements() {
		name := pe.SelectAttrValue("NAME", "")
		listed := false
		for _, want := range properties {
			listed = listed || strings.EqualFold(want, name)
		}
		if !listed {
			e.RemoveChild(pe)
		}
	}
	return e
}

// WriteCIMXMLLocalNamespacePath appends <LOCALNAMESPACEPATH> with one
// <NAMESPACE NAME> per segment of ns ("root/interop") to parent.
func WriteCIMXMLLocalNamespacePath(parent *etree.Element, ns string) *etree.Element {
	np := parent.CreateElement("LOCALNAMESPACEPATH")
	for _, part := range strings.Split(ns, "/") {
		if part != "" {
			np.CreateElement("NAMESPACE").CreateAttr("NAME", part)
		}
	}
	return np
}

// WriteCIMXMLInstanceName appends the <INSTANCENAME> of p to parent.
func WriteCIMXMLInstanceName(parent *etree.Element, p ObjectPath) *etree.Element {
	tmp := etree.NewElement("tmp")
	writeCIMXMLReference(tmp, p, 0)
	in := tmp.FindElement("LOCALINSTANCEPATH/INSTANCENAME")
	parent.AddChild(in)
	return in
}

// WriteCIMXMLInstancePath appends <INSTANCEPATH> (NAMESPACEPATH with HOST
// host, then INSTANCENAME) of p to parent, the form DSP0200 answers
// AssociatorNames, ReferenceNames and the pull operations with.
func WriteCIMXMLInstancePath(parent *etree.Element, p ObjectPath, host string) *etree.Element {
	ip := parent.CreateElement("INSTANCEPATH")
	np := ip.CreateElement("NAMESPACEPATH")
	np.CreateElement("HOST").SetText(host)
	WriteCIMXMLLocalNamespacePath(np, p.Namespace)
	WriteCIMXMLInstanceName(ip, p)
	return ip
}

// WriteCIMXMLValue appends the CIM-XML value of v to parent: VALUE,
// VALUE.ARRAY, VALUE.REFERENCE (a LOCALINSTANCEPATH) or VALUE.REFARRAY;
// nothing for NULL. Embedded instances are escaped CIM-XML text in a
// VALUE, as DSP0201 2.3 writes them.
func WriteCIMXMLValue(parent *etree.Element, v Value) {
	if v.IsNull() {
		return
	}
	switch {
	case v.Type == TypeReference && v.Array:
		ra := parent.CreateElement("VALUE.REFARRAY")
		for _, e := range v.Elems() {
			if ref, ok := e.AsRef(); ok {
				writeCIMXMLReference(ra.CreateElement("VALUE.REFERENCE"), ref, 0)
			}
		}
	case v.Type == TypeReference:
		if ref, ok := v.AsRef(); ok {
			writeCIMXMLReference(parent.CreateElement("VALUE.REFERENCE"), ref, 0)
		}
	case v.Array:
		va := parent.CreateElement("VALUE.ARRAY")
		for _, e := range v.Elems() {
			va.CreateElement("VALUE").SetText(cimxmlText(v.Type, e.V))
		}
	default:
		parent.CreateElement("VALUE").SetText(cimxmlText(v.Type, v.V))
	}
}

// cimxmlParamType is the PARAMTYPE attribute of a value of type t.
func cimxmlParamType(t Type) string {
	if t == TypeInstance {
		return "string"
	}
	return t.String()
}

// EncodeCIMXMLOutput appends what a METHODRESPONSE carries for res to
// parent: <RETURNVALUE PARAMTYPE> with the return value, then one
// <PARAMVALUE NAME PARAMTYPE> per non-NULL out-parameter in declared order
// (embedded instances marked EmbeddedObject="instance").
func EncodeCIMXMLOutput(parent *etree.Element, m *Method, res Result) {
	ret := parent.CreateElement("RETURNVALUE")
	ret.CreateAttr("PARAMTYPE", m.returnType().String())
	ret.CreateElement("VALUE").SetText(string(m.appendReturnValue(nil, res.ReturnValue)))
	for p, v := range m.outputs(res) {
		pv := parent.CreateElement("PARAMVALUE")
		pv.CreateAttr("NAME", p.Name)
		pv.CreateAttr("PARAMTYPE", cimxmlParamType(p.valueType()))
		if p.valueType() == TypeInstance {
			pv.CreateAttr("EmbeddedObject", "instance")
		}
		WriteCIMXMLValue(pv, v)
	}
}

// InvokeCIMXML is [Registry.Invoke] for a CIM-XML METHODCALL: params are
// its PARAMVALUE elements, decoded by [Registry.DecodeCIMXMLArgs]; every
// check and answer after decoding is Invoke's.
func (r *Registry) InvokeCIMXML(ctx context.Context, target ObjectPath, method string, params []*etree.Element) (Result, *Method, error) {
	return r.invoke(ctx, target, method, func(ns string, m *Method) (Args, error) {
		return r.DecodeCIMXMLArgs(ns, m, params)
	})
}

// DecodeCIMXMLArgs decodes the PARAMVALUE elements of a METHODCALL against
// m's declaration: VALUE (a scalar in its declared type, or the escaped
// CIM-XML text of an embedded instance), VALUE.ARRAY, VALUE.REFERENCE,
// VALUE.REFARRAY, an INSTANCE element for an embedded instance, or no
// value (NULL). An unknown or output-only parameter, a parameter sent
// twice, a value of the wrong shape or one that does not parse is *Error
// with StatusInvalidParameter; an embedded instance with a property its
// class lacks is an *InvalidParameterError, as for WS-Man.
func (r *Registry) DecodeCIMXMLArgs(namespace string, m *Method, params []*etree.Element) (Args, error) {
	args := Args{}
	for _, pv := range params {
		name := pv.SelectAttrValue("NAME", "")
		p, ok := m.Param(name)
		if !ok {
			return nil, Errorf(StatusInvalidParameter, "method %s has no parameter %q", m.Name, name)
		}
		if !p.In {
			return nil, Errorf(StatusInvalidParameter, "parameter %s of %s is output-only", p.Name, m.Name)
		}
		if _, dup := args[p.Name]; dup {
			return nil, Errorf(StatusInvalidParameter, "parameter %s of %s sent twice", p.Name, m.Name)
		}
		v, err := r.cimxmlParamValue(namespace, pv, p)
		if ce := (*Error)(nil); errors.As(err, &ce) && ce.Status == StatusNoSuchProperty {
			return nil, &InvalidParameterError{Param: p.Name, Reason: ce.Message}
		}
		if err != nil {
			return nil, Errorf(StatusInvalidParameter, "parameter %s of %s: %v", p.Name, m.Name, err)
		}
		args[p.Name] = v
	}
	return args, nil
}

func (r *Registry) cimxmlParamValue(namespace string, pv *etree.Element, p Parameter) (Value, error) {
	t := p.valueType()
	kids := pv.ChildElements()
	if len(kids) == 0 {
		if p.Array {
			return NullArray(t), nil
		}
		return Null(t), nil
	}
	if len(kids) > 1 {
		return Value{}, fmt.Errorf("%d values", len(kids))
	}
	e := kids[0]
	switch e.Tag {
	case "VALUE.REFERENCE":
		if t != TypeReference || p.Array {
			return Value{}, fmt.Errorf("a reference for a %s%s parameter", t, arraySuffix(p.Array))
		}
		ref, err := r.cimxmlParamRef(namespace, e, p)
		if err != nil {
			return Value{}, err
		}
		return Ref(ref), nil
	case "VALUE.REFARRAY":
		if t != TypeReference || !p.Array {
			return Value{}, fmt.Errorf("a reference array for a %s%s parameter", t, arraySuffix(p.Array))
		}
		refs := []ObjectPath{}
		for _, vr := range e.ChildElements() {
			if vr.Tag != "VALUE.REFERENCE" {
				return Value{}, fmt.Errorf("%s in VALUE.REFARRAY", vr.Tag)
			}
			ref, err := r.cimxmlParamRef(namespace, vr, p)
			if err != nil {
				return Value{}, err
			}
			refs = append(refs, ref)
		}
		return Refs(refs), nil
	case "VALUE.ARRAY":
		if !p.Array || t == TypeReference {
			return Value{}, fmt.Errorf("an array for a %s%s parameter", t, arraySuffix(p.Array))
		}
		xs := []any{}
		for _, ve := range e.ChildElements() {
			if ve.Tag != "VALUE" {
				return Value{}, fmt.Errorf("%s in VALUE.ARRAY", ve.Tag)
			}
			x, err := r.cimxmlParamScalar(namespace, ve.Text(), p)
			if err != nil {
				return Value{}, err
			}
			xs = append(xs, x)
		}
		return arrayOf(t, xs), nil
	case "VALUE":
		if p.Array || t == TypeReference {
			return Value{}, fmt.Errorf("a scalar for a %s%s parameter", t, arraySuffix(p.Array))
		}
		x, err := r.cimxmlParamScalar(namespace, e.Text(), p)
		if err != nil {
			return Value{}, err
		}
		return Value{Type: t, V: x}, nil
	case "INSTANCE":
		if p.Array || t != TypeInstance {
			return Value{}, fmt.Errorf("an instance for a %s%s parameter", t, arraySuffix(p.Array))
		}
		inst, err := cimxmlInstance(r, namespace, e, 1)
		if err != nil {
			return Value{}, err
		}
		if p.EmbeddedClass != "" && !inst.Class.isA(p.EmbeddedClass) {
			return Value{}, fmt.Errorf("embedded instance of %s is not a %s", inst.Class.Name, p.EmbeddedClass)
		}
		return Embedded(inst), nil
	}
	return Value{}, fmt.Errorf("unexpected %s", e.Tag)
}

func (r *Registry) cimxmlParamRef(namespace string, vr *etree.Element, p Parameter) (ObjectPath, error) {
	ref, err := cimxmlReference(vr, namespace)
	if err != nil {
		return ObjectPath{}, err
	}
	if p.RefClass != "" {
		if err := r.checkRefClass(ref, p.RefClass); err != nil {
			return ObjectPath{}, err
		}
	}
	return ref, nil
}

func (r *Registry) cimxmlParamScalar(namespace, text string, p Parameter) (any, error) {
	if p.valueType() == TypeInstance {
		inst, err := parseCIMXMLInstance(r, namespace, strings.TrimSpace(text), 1)
		if err != nil {
			return nil, err
		}
		if p.EmbeddedClass != "" && !inst.Class.isA(p.EmbeddedClass) {
			return nil, fmt.Errorf("embedded instance of %s is not a %s", inst.Class.Name, p.EmbeddedClass)
		}
		return inst, nil
	}
	return parseScalar(p.Type, text)
}

// ParseCIMXMLInstanceElement reads an <INSTANCE> element (a
// ModifyInstance's ModifiedInstance, an embedded instance sent as an
// element) as [ParseCIMXMLInstance] reads its text.
func ParseCIMXMLInstanceElement(r *Registry, namespace string, e *etree.Element) (*Instance, error) {
	if e == nil || e.Tag != "INSTANCE" {
		return nil, Errorf(StatusInvalidParameter, "CIM-XML: no INSTANCE element")
	}
	return cimxmlInstance(r, namespace, e, 0)
}
