package cimmodel_test

import (
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
)

// declaredClasses registers an abstract association parent and a subclass
// that overrides one of its properties, with a reference array parameter,
// bounds, and uninterpreted qualifiers.
func declaredClasses(t *testing.T) (*cimmodel.Class, *cimmodel.Class) {
	t.Helper()
	min, max := int64(1), int64(9)
	parent := &cimmodel.Class{Name: "T_Link", Namespace: "root/t", Abstract: true, Association: true,
		Description: "A link.",
		Properties: []cimmodel.Property{
			{Name: "From", Type: cimmodel.TypeReference, Key: true, RefClass: "T_Thing"},
			{Name: "Weight", Type: cimmodel.TypeUint16, Description: "old"},
		}}
	child := &cimmodel.Class{Name: "T_StrongLink", Superclass: "T_Link", Namespace: "root/t",
		Qualifiers: []cimmodel.Qualifier{{Name: "Version", Value: cimmodel.String("2.1")}},
		Properties: []cimmodel.Property{
			{Name: "Weight", Type: cimmodel.TypeUint16, Write: true, ValueMap: []string{"1", "2"}, Values: []string{"Low", "High"}},
			{Name: "Label", Type: cimmodel.TypeString, MaxLen: 64, Required: true,
				Qualifiers: []cimmodel.Qualifier{{Name: "Codes", Value: cimmodel.Uint16s([]uint16{3, 4})}}},
		},
		Methods: []*cimmodel.Method{{Name: "Tie", ReturnType: cimmodel.TypeUint32, Params: []cimmodel.Parameter{
			{Name: "Things", Type: cimmodel.TypeReference, Array: true, In: true, Required: true, RefClass: "T_Thing"},
			{Name: "Count", Type: cimmodel.TypeUint8, In: true, Min: &min, Max: &max},
		}}}}
	r := cimmodel.NewRegistry()
	for _, c := range []*cimmodel.Class{parent, child} {
		if err := r.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	return parent, child
}

func qualifierText(e *etree.Element, name string) string {
	for _, q := range e.SelectElements("QUALIFIER") {
		if q.SelectAttrValue("NAME", "") == name {
			var vs []string
			for _, v := range q.FindElements(".//VALUE") {
				vs = append(vs, v.Text())
			}
			return q.SelectAttrValue("TYPE", "") + ":" + strings.Join(vs, ",")
		}
	}
	return ""
}

// TestEncodeCIMXMLClass checks the DSP0201 structure of a declaration:
// an overridden property has the subclass as CLASSORIGIN and is not
// PROPAGATED, an inherited reference is a PROPAGATED PROPERTY.REFERENCE,
// a reference array parameter is PARAMETER.REFARRAY, and qualifiers carry
// their CIM type and values.
func TestEncodeCIMXMLClass(t *testing.T) {
	parent, child := declaredClasses(t)
	root := etree.NewElement("Body")
	c := cimmodel.EncodeCIMXMLClass(root, child, cimmodel.ClassXMLOptions{Qualifiers: true, Inherited: true, Hierarchy: true, ClassOrigin: true})
	if c.SelectAttrValue("SUPERCLASS", "") != "T_Link" || c.SelectAttrValue("DERIVATION", "") != "T_Link" {
		t.Errorf("SUPERCLASS %q DERIVATION %q, want T_Link", c.SelectAttrValue("SUPERCLASS", ""), c.SelectAttrValue("DERIVATION", ""))
	}
	if got := qualifierText(c, "Version"); got != "string:2.1" {
		t.Errorf("class qualifier Version: %q", got)
	}
	from := c.FindElement("PROPERTY.REFERENCE[@NAME='From']")
	if from == nil || from.SelectAttrValue("REFERENCECLASS", "") != "T_Thing" || from.SelectAttrValue("CLASSORIGIN", "") != "T_Link" ||
		from.SelectAttrValue("PROPAGATED", "") != "true" || qualifierText(from, "key") != "boolean:true" {
		t.Error("From: want PROPERTY.REFERENCE REFERENCECLASS=T_Thing, CLASSORIGIN=T_Link, PROPAGATED, key")
	}
	w := c.FindElement("PROPERTY[@NAME='Weight']")
	if w == nil || w.SelectAttrValue("CLASSORIGIN", "") != "T_StrongLink" || w.SelectAttrValue("PROPAGATED", "") != "" ||
		qualifierText(w, "write") != "boolean:true" || qualifierText(w, "Values") != "string:Low,High" || qualifierText(w, "Description") != "" {
		t.Error("Weight: want the override (CLASSORIGIN T_StrongLink, not PROPAGATED, write, its own ValueMap/Values, not the parent's Description)")
	}
	l := c.FindElement("PROPERTY[@NAME='Label']")
	if l == nil || qualifierText(l, "MaxLen") != "uint32:64" || qualifierText(l, "required") != "boolean:true" ||
		qualifierText(l, "Codes") != "uint16:3,4" || qualifierText(l, "write") != "" {
		t.Error("Label: want MaxLen uint32 64, required, Codes uint16 [3 4], no write")
	}
	things := c.FindElement("METHOD[@NAME='Tie']/PARAMETER.REFARRAY[@NAME='Things']")
	if things == nil || things.SelectAttrValue("REFERENCECLASS", "") != "T_Thing" || qualifierText(things, "in") != "boolean:true" {
		t.Error("Things: want PARAMETER.REFARRAY REFERENCECLASS=T_Thing with in")
	}
	count := c.FindElement("METHOD[@NAME='Tie']/PARAMETER[@NAME='Count']")
	if count == nil || count.SelectAttrValue("TYPE", "") != "uint8" || qualifierText(count, "MinValue") != "sint64:1" || qualifierText(count, "MaxValue") != "sint64:9" {
		t.Error("Count: want PARAMETER TYPE=uint8 with MinValue 1 and MaxValue 9")
	}

	own := cimmodel.EncodeCIMXMLClass(etree.NewElement("Body"), child, cimmodel.ClassXMLOptions{})
	var names []string
	for _, e := range own.ChildElements() {
		names = append(names, e.Tag+":"+e.SelectAttrValue("NAME", ""))
		if len(e.SelectElements("QUALIFIER")) > 0 || e.SelectAttrValue("CLASSORIGIN", "") != "" {
			t.Errorf("%s %s: qualifiers or CLASSORIGIN without the options", e.Tag, e.SelectAttrValue("NAME", ""))
		}
	}
	if got := strings.Join(names, " "); got != "PROPERTY:Weight PROPERTY:Label METHOD:Tie" {
		t.Errorf("without IncludeInheritedElements: %s, want the class's own (and overriding) elements", got)
	}

	p := cimmodel.EncodeCIMXMLClass(etree.NewElement("Body"), parent, cimmodel.ClassXMLOptions{Qualifiers: true})
	if qualifierText(p, "abstract") != "boolean:true" || qualifierText(p, "association") != "boolean:true" ||
		qualifierText(p, "Description") != "string:A link." || p.SelectAttrValue("SUPERCLASS", "") != "" {
		t.Error("T_Link: want abstract, association and Description qualifiers and no SUPERCLASS")
	}
}
