package cimmodel

import (
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
	if depth > maxEPRDepth {
		return ObjectPath{}, fmt.Errorf("references nested too deep")
	}
	var nsPath, name *etree.Element
	switch {
	case vr.SelectElement("INSTANCEPATH") != nil:
		ip := vr.SelectElement("INSTANCEPATH")
		if np := ip.SelectElement("NAMESPACEPATH"); np != nil {
			nsPath = np.SelectElement("LOCALNAMESPACEPATH")
		}
		name = ip.SelectElement("INSTANCENAME")
	case vr.SelectElement("LOCALINSTANCEPATH") != nil:
		lp := vr.SelectElement("LOCALINSTANCEPATH")
		nsPath = lp.SelectElement("LOCALNAMESPACEPATH")
		name = lp.SelectElement("INSTANCENAME")
	default:
		name = vr.SelectElement("INSTANCENAME")
	}
	if name == nil {
		return ObjectPath{}, fmt.Errorf("VALUE.REFERENCE holds no instance name")
	}
	p := ObjectPath{Namespace: namespace, Class: name.SelectAttrValue("CLASSNAME", "")}
	if !validClassName(p.Class) || p.Class == "*" {
		return ObjectPath{}, fmt.Errorf("INSTANCENAME with invalid CLASSNAME %q", p.Class)
	}
	if nsPath != nil {
		var parts []string
		for _, n := range nsPath.SelectElements("NAMESPACE") {
			parts = append(parts, n.SelectAttrValue("NAME", ""))
		}
		p.Namespace = strings.Join(parts, "/")
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
		case "KEYVALUE":
			return ObjectPath{}, fmt.Errorf("unnamed KEYVALUE")
		}
	}
	return p, nil
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
