package cimmodel_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
)

func cimxmlElement(t *testing.T, text string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(text); err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}

const v1Name = `<INSTANCENAME CLASSNAME="TEST_StorageVolume"><KEYBINDING NAME="SystemName"><KEYVALUE>host</KEYVALUE></KEYBINDING>` +
	`<KEYBINDING NAME="DeviceID"><KEYVALUE>v1</KEYVALUE></KEYBINDING></INSTANCENAME>`

// Every DSP0201 path form reads as the same path; class forms have no keys.
func TestParseCIMXMLPath(t *testing.T) {
	ns := `<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="test"/></LOCALNAMESPACEPATH>`
	forms := []string{
		v1Name,
		`<LOCALINSTANCEPATH>` + ns + v1Name + `</LOCALINSTANCEPATH>`,
		`<INSTANCEPATH><NAMESPACEPATH><HOST>h</HOST>` + ns + `</NAMESPACEPATH>` + v1Name + `</INSTANCEPATH>`,
		`<VALUE.REFERENCE><LOCALINSTANCEPATH>` + ns + v1Name + `</LOCALINSTANCEPATH></VALUE.REFERENCE>`,
	}
	w := newWorld(t)
	want := w.vols.insts[0].Path()
	for _, f := range forms {
		p, err := cimmodel.ParseCIMXMLPath(cimxmlElement(t, f), testNS)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		inst, err := w.reg.Get(context.Background(), p)
		if err != nil || !inst.Path().Equal(want) {
			t.Errorf("%s: path %v → %v, %v", f, p, inst, err)
		}
	}
	c, err := cimmodel.ParseCIMXMLPath(cimxmlElement(t, `<LOCALCLASSPATH>`+ns+`<CLASSNAME NAME="TEST_Service"/></LOCALCLASSPATH>`), "x")
	if err != nil || c.Class != "TEST_Service" || c.Namespace != testNS || len(c.Keys) != 0 {
		t.Errorf("class path: %+v, %v", c, err)
	}
	for _, bad := range []string{`<INSTANCENAME CLASSNAME="a b"/>`, `<INSTANCENAME CLASSNAME="X"><KEYVALUE>1</KEYVALUE></INSTANCENAME>`, `<VALUE>1</VALUE>`} {
		if _, err := cimmodel.ParseCIMXMLPath(cimxmlElement(t, bad), testNS); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// A METHODCALL's PARAMVALUEs go through the same router as WS-Man's
// input: typed, checked against the declaration, ValueMap violations
// answered with ReturnValue 5.
func TestInvokeCIMXML(t *testing.T) {
	w := newWorld(t)
	params := func(xml string) []*etree.Element {
		return cimxmlElement(t, "<M>"+xml+"</M>").ChildElements()
	}
	rsd := `&lt;INSTANCE CLASSNAME="TEST_ReplicationSettingData"&gt;&lt;PROPERTY NAME="ConsistentPointInTime" TYPE="boolean"&gt;` +
		`&lt;VALUE&gt;TRUE&lt;/VALUE&gt;&lt;/PROPERTY&gt;&lt;/INSTANCE&gt;`
	target := cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Service"}
	res, m, err := w.reg.InvokeCIMXML(context.Background(), target, "CreateReplica", params(
		`<PARAMVALUE NAME="SyncType" PARAMTYPE="uint16"><VALUE>8</VALUE></PARAMVALUE>`+
			`<PARAMVALUE NAME="SourceElement" PARAMTYPE="reference"><VALUE.REFERENCE>`+v1Name+`</VALUE.REFERENCE></PARAMVALUE>`+
			`<PARAMVALUE NAME="Tags" PARAMTYPE="string"><VALUE.ARRAY><VALUE>a</VALUE><VALUE>b</VALUE></VALUE.ARRAY></PARAMVALUE>`+
			`<PARAMVALUE NAME="Deadline" PARAMTYPE="datetime"><VALUE>20261203120000.000000+060</VALUE></PARAMVALUE>`+
			`<PARAMVALUE NAME="Force" PARAMTYPE="boolean"><VALUE>TRUE</VALUE></PARAMVALUE>`+
			`<PARAMVALUE NAME="ReplicationSettingData" PARAMTYPE="string" EmbeddedObject="instance"><VALUE>`+rsd+`</VALUE></PARAMVALUE>`))
	if err != nil || res.ReturnValue != 0 || m == nil {
		t.Fatalf("InvokeCIMXML: %v, %+v", err, res)
	}
	args := w.calls[len(w.calls)-1].args
	if v, _ := args.Get("SourceElement"); v.Type != cimmodel.TypeReference || v.IsNull() {
		t.Errorf("SourceElement = %v", v)
	}
	if v, _ := args.Get("Tags"); v.Len() != 2 {
		t.Errorf("Tags = %v", v)
	}
	if v, _ := args.Get("Deadline"); v.IsNull() {
		t.Errorf("Deadline = %v", v)
	}
	if v, _ := args.Get("ReplicationSettingData"); v.Type != cimmodel.TypeInstance || v.IsNull() {
		t.Errorf("ReplicationSettingData = %v", v)
	}
	res, _, err = w.reg.InvokeCIMXML(context.Background(), target, "CreateReplica", params(
		`<PARAMVALUE NAME="SyncType"><VALUE>5</VALUE></PARAMVALUE>`))
	var ipe *cimmodel.InvalidParameterError
	if !errors.As(err, &ipe) || res.ReturnValue != 5 {
		t.Errorf("SyncType 5: %v, %+v, want ReturnValue 5 and an InvalidParameterError", err, res)
	}
	for name, bad := range map[string]string{
		"unknown":       `<PARAMVALUE NAME="Nope"><VALUE>1</VALUE></PARAMVALUE>`,
		"output only":   `<PARAMVALUE NAME="Job"><VALUE.REFERENCE>` + v1Name + `</VALUE.REFERENCE></PARAMVALUE>`,
		"twice":         `<PARAMVALUE NAME="SyncType"><VALUE>8</VALUE></PARAMVALUE><PARAMVALUE NAME="SyncType"><VALUE>8</VALUE></PARAMVALUE>`,
		"array, scalar": `<PARAMVALUE NAME="Tags"><VALUE>a</VALUE></PARAMVALUE>`,
		"wrong class":   `<PARAMVALUE NAME="TargetPool"><VALUE.REFERENCE>` + v1Name + `</VALUE.REFERENCE></PARAMVALUE>`,
		"not a number":  `<PARAMVALUE NAME="SyncType"><VALUE>eight</VALUE></PARAMVALUE>`,
	} {
		_, _, err := w.reg.InvokeCIMXML(context.Background(), target, "CreateReplica", params(bad))
		if cimmodel.StatusOf(err) != cimmodel.StatusInvalidParameter {
			t.Errorf("%s: %v, want CIM_ERR_INVALID_PARAMETER", name, err)
		}
	}
}

// The METHODRESPONSE content: RETURNVALUE first, then the non-NULL
// out-parameters in declared order, embedded instances marked.
func TestEncodeCIMXMLOutput(t *testing.T) {
	w := newWorld(t)
	m, _ := w.reg.Method(w.service, "CreateReplica")
	rsd := cimmodel.NewInstance(w.rsd).Set("InstanceID", cimmodel.String("s"))
	out := etree.NewElement("METHODRESPONSE")
	cimmodel.EncodeCIMXMLOutput(out, m, cimmodel.Result{ReturnValue: 4096, Out: map[string]cimmodel.Value{
		"Counts": cimmodel.Uint32s([]uint32{1, 2}), "Job": cimmodel.Ref(w.pools.insts[0].Path()), "Settings": cimmodel.Embedded(rsd)}})
	var tags []string
	for _, c := range out.ChildElements() {
		tags = append(tags, c.Tag+":"+c.SelectAttrValue("NAME", "")+":"+c.SelectAttrValue("PARAMTYPE", "")+":"+c.SelectAttrValue("EmbeddedObject", ""))
	}
	want := "RETURNVALUE::uint32: PARAMVALUE:Job:reference: PARAMVALUE:Settings:string:instance PARAMVALUE:Counts:uint32:"
	if got := strings.Join(tags, " "); got != want {
		t.Errorf("output %s, want %s", got, want)
	}
	if v := out.FindElement("PARAMVALUE[@NAME='Settings']/VALUE"); v == nil || !strings.HasPrefix(v.Text(), `<INSTANCE CLASSNAME="TEST_ReplicationSettingData">`) {
		t.Errorf("Settings: %v", v)
	}
	if v := out.FindElements("PARAMVALUE[@NAME='Counts']/VALUE.ARRAY/VALUE"); len(v) != 2 {
		t.Errorf("Counts: %d values", len(v))
	}
}

// A PropertyList keeps only the named properties.
func TestCIMXMLInstanceElementPropertyList(t *testing.T) {
	w := newWorld(t)
	e := cimmodel.CIMXMLInstanceElement(w.vols.insts[0], []string{"elementname", "BlockSize"})
	var names []string
	for _, p := range e.ChildElements() {
		names = append(names, p.SelectAttrValue("NAME", ""))
	}
	if strings.Join(names, ",") != "ElementName,BlockSize" {
		t.Errorf("properties %v", names)
	}
}
