package cimmodel

import (
	"slices"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// ClassXMLOptions choose what [EncodeCIMXMLClass] writes. They are the
// options PowerShell's MI client sends with a class retrieval
// (IncludeInheritanceHierarchy, IncludeInheritedElements,
// IncludeQualifiers, IncludeClassOrigin), as OMI's WS-Management server
// reads them (Unix/wsman/wsmanparser.c).
type ClassXMLOptions struct {
	// Qualifiers writes QUALIFIER elements (Key, Read, Write, In, Out,
	// EmbeddedInstance, ValueMap/Values, Description, …).
	Qualifiers bool
	// Inherited writes the inherited properties and methods too, with
	// PROPAGATED="true"; otherwise only those the class declares itself
	// (own and overridden ones).
	Inherited bool
	// Hierarchy writes the DERIVATION attribute (the superclasses, nearest
	// first, comma-separated): a Microsoft extension of DSP0201 that the MI
	// client reads; it is not in DSP0201's DTD.
	Hierarchy bool
	// ClassOrigin writes CLASSORIGIN on properties and methods.
	ClassOrigin bool
}

// EncodeCIMXMLClass appends to parent the DSP0201 (CIM-XML) declaration of
// the registered class c: <CLASS NAME SUPERCLASS> with its QUALIFIERs,
// PROPERTY/PROPERTY.ARRAY/PROPERTY.REFERENCE and METHOD elements with their
// PARAMETER/PARAMETER.ARRAY/PARAMETER.REFERENCE/PARAMETER.REFARRAY
// elements, all derived from the declaration in the registry. The element
// order follows DSP0201's DTD.
func EncodeCIMXMLClass(parent *etree.Element, c *Class, o ClassXMLOptions) *etree.Element {
	e := parent.CreateElement("CLASS")
	e.CreateAttr("NAME", c.Name)
	if c.Superclass != "" {
		e.CreateAttr("SUPERCLASS", c.Superclass)
	}
	if o.Hierarchy {
		var chain []string
		for x := c.super; x != nil; x = x.super {
			chain = append(chain, x.Name)
		}
		e.CreateAttr("DERIVATION", strings.Join(chain, ","))
	}
	if o.Qualifiers {
		writeClassQualifiers(e, c)
	}
	for _, p := range c.props() {
		origin := c.propertyOrigin(p.Name)
		if origin != c && !o.Inherited {
			continue
		}
		writeCIMXMLPropertyDecl(e, p, origin, c, o)
	}
	meths := c.effMeths
	if c.reg == nil {
		meths = c.Methods
	}
	for _, m := range meths {
		origin := c.methodOrigin(m.Name)
		if origin != c && !o.Inherited {
			continue
		}
		writeCIMXMLMethodDecl(e, m, origin, c, o)
	}
	return e
}

// propertyOrigin is the class, c or an ancestor, whose own declaration of
// the property name is the effective one (CLASSORIGIN, DSP0201 §3.2.4.14).
func (c *Class) propertyOrigin(name string) *Class {
	return c.originOf(func(x *Class) bool {
		return slices.ContainsFunc(x.Properties, func(p Property) bool { return strings.EqualFold(p.Name, name) })
	})
}

// methodOrigin is the class whose own declaration of method name is the
// effective one.
func (c *Class) methodOrigin(name string) *Class {
	return c.originOf(func(x *Class) bool {
		return slices.ContainsFunc(x.Methods, func(m *Method) bool { return strings.EqualFold(m.Name, name) })
	})
}

// originOf is the nearest class, c or an ancestor, that declares what
// declares looks for; c when none does.
func (c *Class) originOf(declares func(*Class) bool) *Class {
	for x := c; x != nil; x = x.super {
		if declares(x) {
			return x
		}
	}
	return c
}

func writeClassQualifiers(e *etree.Element, c *Class) {
	if c.Abstract {
		writeBoolQualifier(e, "abstract")
	}
	if c.Association {
		writeBoolQualifier(e, "association")
	}
	if c.Description != "" {
		writeStringQualifier(e, "Description", c.Description, true)
	}
	writeQualifierList(e, c.Qualifiers)
}

// originAttrs writes CLASSORIGIN and PROPAGATED as the options ask.
func originAttrs(pe *etree.Element, origin, c *Class, o ClassXMLOptions) {
	if o.ClassOrigin {
		pe.CreateAttr("CLASSORIGIN", origin.Name)
	}
	if origin != c {
		pe.CreateAttr("PROPAGATED", "true")
	}
}

// writeCIMXMLPropertyDecl writes one property declaration. An embedded
// instance is declared TYPE="string" with the EmbeddedInstance qualifier
// (or EmbeddedObject when no class is named), as OMI's server writes it.
func writeCIMXMLPropertyDecl(e *etree.Element, p Property, origin, c *Class, o ClassXMLOptions) {
	var pe *etree.Element
	switch {
	case p.Type == TypeReference:
		pe = e.CreateElement("PROPERTY.REFERENCE")
		pe.CreateAttr("NAME", p.Name)
		if p.RefClass != "" {
			pe.CreateAttr("REFERENCECLASS", p.RefClass)
		}
	case p.Array:
		pe = e.CreateElement("PROPERTY.ARRAY")
		pe.CreateAttr("NAME", p.Name)
		pe.CreateAttr("TYPE", declTypeName(p.Type, p.embedded()))
	default:
		pe = e.CreateElement("PROPERTY")
		pe.CreateAttr("NAME", p.Name)
		pe.CreateAttr("TYPE", declTypeName(p.Type, p.embedded()))
	}
	originAttrs(pe, origin, c, o)
	if !o.Qualifiers {
		return
	}
	if p.Key {
		writeBoolQualifier(pe, "key")
	}
	writeBoolQualifier(pe, "read")
	if p.Write {
		writeBoolQualifier(pe, "write")
	}
	if p.Required && !p.Key {
		writeBoolQualifier(pe, "required")
	}
	writeEmbeddedQualifier(pe, p.Type, p.EmbeddedClass)
	if p.MaxLen > 0 {
		writeQualifier(pe, "MaxLen", "uint32", false, strconv.Itoa(p.MaxLen))
	}
	writeValueMap(pe, p.ValueMap, p.Values)
	if p.Description != "" {
		writeStringQualifier(pe, "Description", p.Description, true)
	}
	writeQualifierList(pe, p.Qualifiers)
}

func writeCIMXMLMethodDecl(e *etree.Element, m *Method, origin, c *Class, o ClassXMLOptions) {
	me := e.CreateElement("METHOD")
	me.CreateAttr("NAME", m.Name)
	me.CreateAttr("TYPE", declTypeName(m.returnType(), false))
	originAttrs(me, origin, c, o)
	if o.Qualifiers {
		writeValueMap(me, m.ReturnValueMap, m.ReturnValues)
		if m.Description != "" {
			writeStringQualifier(me, "Description", m.Description, true)
		}
		writeQualifierList(me, m.Qualifiers)
	}
	for _, p := range m.Params {
		writeCIMXMLParameterDecl(me, p, o)
	}
}

func writeCIMXMLParameterDecl(me *etree.Element, p Parameter, o ClassXMLOptions) {
	var pe *etree.Element
	switch {
	case p.Type == TypeReference && p.Array:
		pe = me.CreateElement("PARAMETER.REFARRAY")
		pe.CreateAttr("NAME", p.Name)
		if p.RefClass != "" {
			pe.CreateAttr("REFERENCECLASS", p.RefClass)
		}
	case p.Type == TypeReference:
		pe = me.CreateElement("PARAMETER.REFERENCE")
		pe.CreateAttr("NAME", p.Name)
		if p.RefClass != "" {
			pe.CreateAttr("REFERENCECLASS", p.RefClass)
		}
	case p.Array:
		pe = me.CreateElement("PARAMETER.ARRAY")
		pe.CreateAttr("NAME", p.Name)
		pe.CreateAttr("TYPE", declTypeName(p.Type, p.embedded()))
	default:
		pe = me.CreateElement("PARAMETER")
		pe.CreateAttr("NAME", p.Name)
		pe.CreateAttr("TYPE", declTypeName(p.Type, p.embedded()))
	}
	if !o.Qualifiers {
		return
	}
	// EmbeddedInstance/EmbeddedObject before in and out, as OMI writes them.
	writeEmbeddedQualifier(pe, p.Type, p.EmbeddedClass)
	if p.In {
		writeBoolQualifier(pe, "in")
	}
	if p.Out {
		writeBoolQualifier(pe, "out")
	}
	if p.Required {
		writeBoolQualifier(pe, "required")
	}
	if p.Min != nil {
		writeQualifier(pe, "MinValue", "sint64", false, strconv.FormatInt(*p.Min, 10))
	}
	if p.Max != nil {
		writeQualifier(pe, "MaxValue", "sint64", false, strconv.FormatInt(*p.Max, 10))
	}
	writeValueMap(pe, p.ValueMap, p.Values)
	if p.Description != "" {
		writeStringQualifier(pe, "Description", p.Description, true)
	}
}

// declTypeName is the TYPE of a declaration: embedded instances are strings.
func declTypeName(t Type, embedded bool) string {
	if embedded || t == TypeInstance {
		return "string"
	}
	return t.String()
}

func writeEmbeddedQualifier(pe *etree.Element, t Type, class string) {
	switch {
	case class != "":
		writeStringQualifier(pe, "EmbeddedInstance", class, false)
	case t == TypeInstance:
		writeBoolQualifier(pe, "EmbeddedObject")
	}
}

func writeValueMap(pe *etree.Element, valueMap, values []string) {
	if len(valueMap) > 0 {
		writeQualifierArray(pe, "ValueMap", valueMap, false)
	}
	if len(values) > 0 {
		writeQualifierArray(pe, "Values", values, true)
	}
}

func writeBoolQualifier(pe *etree.Element, name string) {
	writeQualifier(pe, name, "boolean", false, "true")
}

func writeStringQualifier(pe *etree.Element, name, value string, translatable bool) {
	writeQualifier(pe, name, "string", translatable, value)
}

func writeQualifier(pe *etree.Element, name, typ string, translatable bool, value string) {
	q := qualifierElement(pe, name, typ, translatable)
	q.CreateElement("VALUE").SetText(value)
}

func writeQualifierArray(pe *etree.Element, name string, values []string, translatable bool) {
	q := qualifierElement(pe, name, "string", translatable)
	va := q.CreateElement("VALUE.ARRAY")
	for _, v := range values {
		va.CreateElement("VALUE").SetText(v)
	}
}

func qualifierElement(pe *etree.Element, name, typ string, translatable bool) *etree.Element {
	q := pe.CreateElement("QUALIFIER")
	q.CreateAttr("NAME", name)
	q.CreateAttr("TYPE", typ)
	if translatable {
		q.CreateAttr("TRANSLATABLE", "true")
	}
	return q
}

// writeQualifierList writes the uninterpreted qualifiers of a declaration;
// one whose value is NULL, a reference or an embedded instance has no
// CIM-XML qualifier form and is left out.
func writeQualifierList(pe *etree.Element, qs []Qualifier) {
	for _, q := range qs {
		t := q.Value.Type
		if q.Value.IsNull() || !t.valid() || t == TypeReference || t == TypeInstance {
			continue
		}
		qe := qualifierElement(pe, q.Name, t.String(), false)
		if q.Value.Array {
			va := qe.CreateElement("VALUE.ARRAY")
			for _, el := range q.Value.Elems() {
				va.CreateElement("VALUE").SetText(cimxmlText(t, el.V))
			}
			continue
		}
		qe.CreateElement("VALUE").SetText(cimxmlText(t, q.Value.V))
	}
}
