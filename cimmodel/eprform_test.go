package cimmodel_test

import (
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
)

// selectorsOf returns the ResourceURI and selectors of the first
// ReferenceParameters under e.
func selectorsOf(t *testing.T, e *etree.Element) map[string]string {
	t.Helper()
	rp := e.FindElement(".//ReferenceParameters")
	if rp == nil {
		t.Fatalf("no ReferenceParameters in %s", e.Tag)
	}
	m := map[string]string{"ResourceURI": strings.TrimSpace(rp.FindElement("ResourceURI").Text())}
	for _, s := range rp.FindElements("SelectorSet/Selector") {
		m[s.SelectAttrValue("Name", "")] = s.Text()
	}
	return m
}

// TestReferencesInDMTFForm: references in an instance's properties and in a
// method's out-parameters answer a DMTF-form request (EPRDMTF, and
// EncodeOutput given a DMTF resource URI) with the DMTF URI and
// __cimnamespace, the form of DSP0227 §7.3 that OMI writes; the native form
// keeps the WMI URI, which holds the namespace itself.
func TestReferencesInDMTFForm(t *testing.T) {
	reg := cimmodel.NewRegistry()
	target := &cimmodel.Class{Name: "TEST_Target", Namespace: "root/test",
		Properties: []cimmodel.Property{{Name: "ID", Type: cimmodel.TypeString, Key: true}}}
	holder := &cimmodel.Class{Name: "TEST_Holder", Namespace: "root/test",
		Properties: []cimmodel.Property{
			{Name: "Name", Type: cimmodel.TypeString, Key: true},
			{Name: "Target", Type: cimmodel.TypeReference, RefClass: "TEST_Target"},
		},
		Methods: []*cimmodel.Method{{Name: "Make", ReturnType: cimmodel.TypeUint32,
			Params: []cimmodel.Parameter{{Name: "Made", Type: cimmodel.TypeReference, RefClass: "TEST_Target", Out: true}}}}}
	for _, c := range []*cimmodel.Class{target, holder} {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	ref := cimmodel.ObjectPath{Namespace: "root/test", Class: "TEST_Target",
		Keys: []cimmodel.KeyBinding{{Name: "ID", Value: cimmodel.String("t1")}}}
	inst := cimmodel.NewInstance(holder).Set("Name", cimmodel.String("h")).Set("Target", cimmodel.Ref(ref))

	dmtf := selectorsOf(t, cimmodel.EncodeInstanceAs(nil, inst, cimmodel.EPRDMTF))
	if dmtf["ResourceURI"] != cimmodel.DMTFPrefix+"TEST_Target" || dmtf["__cimnamespace"] != "root/test" || dmtf["ID"] != "t1" {
		t.Errorf("DMTF form reference property: %v", dmtf)
	}
	native := selectorsOf(t, cimmodel.EncodeInstance(nil, inst))
	if native["ResourceURI"] != cimmodel.WMIPrefix+"root/test/TEST_Target" || native["__cimnamespace"] != "" {
		t.Errorf("native form reference property: %v", native)
	}

	m, _ := reg.Method(holder, "Make")
	res := cimmodel.Result{Out: map[string]cimmodel.Value{"Made": cimmodel.Ref(ref)}}
	out := selectorsOf(t, cimmodel.EncodeOutput(nil, m, cimmodel.DMTFPrefix+"TEST_Holder", res))
	if out["ResourceURI"] != cimmodel.DMTFPrefix+"TEST_Target" || out["__cimnamespace"] != "root/test" {
		t.Errorf("out-parameter for a DMTF request: %v", out)
	}
	out = selectorsOf(t, cimmodel.EncodeOutput(nil, m, cimmodel.WMIPrefix+"root/test/TEST_Holder", res))
	if out["ResourceURI"] != cimmodel.WMIPrefix+"root/test/TEST_Target" || out["__cimnamespace"] != "" {
		t.Errorf("out-parameter for a WMI request: %v", out)
	}
}
