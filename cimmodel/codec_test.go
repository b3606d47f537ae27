package cimmodel_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap/soaptest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// writeXML serialises e as a standalone document, with carriage returns
// in text kept as character references (etree's CanonicalText), as a
// writer must for CR to survive XML end-of-line normalisation.
func writeXML(t testing.TB, e *etree.Element) string {
	t.Helper()
	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalText = true
	doc.SetRoot(e)
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatalf("write XML: %v", err)
	}
	return s
}

// readXML parses s and returns its root element.
func readXML(t testing.TB, s string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		t.Fatalf("read XML: %v\n%s", err, s)
	}
	return doc.Root()
}

func canonical(t testing.TB, s string) string {
	t.Helper()
	c, err := soaptest.Canonical([]byte(s))
	if err != nil {
		t.Fatalf("canonical: %v\n%s", err, s)
	}
	return c
}

// checkGolden compares got (XML) with testdata/golden/name in canonical
// form, rewriting the file under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	gotC := canonical(t, got)
	if *update {
		if err := os.WriteFile(path, []byte(gotC), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if d := soaptest.Diff(gotC, canonical(t, string(want))); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, d)
	}
}

func TestInstanceRoundTrip(t *testing.T) {
	w := newWorld(t)
	emptyAll := cimmodel.NewInstance(w.allTypes).Set("ID", cimmodel.String("nulls"))
	tests := []struct {
		name string
		inst *cimmodel.Instance
	}{
		{"every type", w.fullAllTypes()},
		{"every type NULL", emptyAll},
		{"subclass with inherited keys", w.vols.insts[0]},
		{"association with references", w.allocs.insts[0]},
		{"embedded subclass", cimmodel.NewInstance(w.rsd).Set("InstanceID", cimmodel.String("x")).Set("CopyMethodology", cimmodel.Uint16(3))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.inst.Check(); err != nil {
				t.Fatalf("fixture: %v", err)
			}
			text := writeXML(t, cimmodel.EncodeInstance(nil, tt.inst))
			got, err := cimmodel.DecodeInstance(w.reg, "", readXML(t, text))
			if err != nil {
				t.Fatalf("DecodeInstance: %v\n%s", err, text)
			}
			if !got.Equal(tt.inst) {
				t.Errorf("round trip: got %v, want %v\n%s", got.Values, tt.inst.Values, text)
			}
			if err := got.Check(); err != nil {
				t.Errorf("decoded instance: %v", err)
			}
			if !got.Path().Equal(tt.inst.Path()) {
				t.Errorf("path: got %s, want %s", got.Path(), tt.inst.Path())
			}
			for _, p := range w.reg.Properties(tt.inst.Class) {
				if tt.inst.Get(p.Name).IsNull() && !got.Get(p.Name).IsNull() {
					t.Errorf("%s: got %v, want NULL", p.Name, got.Get(p.Name))
				}
			}
		})
	}
}

func TestCIMXMLRoundTrip(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name string
		inst *cimmodel.Instance
	}{
		{"every type", w.fullAllTypes()},
		{"every type NULL", cimmodel.NewInstance(w.allTypes).Set("ID", cimmodel.String("nulls"))},
		{"association with references", w.allocs.insts[2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := cimmodel.EncodeCIMXMLInstance(tt.inst)
			got, err := cimmodel.ParseCIMXMLInstance(w.reg, testNS, text)
			if err != nil {
				t.Fatalf("ParseCIMXMLInstance: %v\n%s", err, text)
			}
			if !got.Equal(tt.inst) {
				t.Errorf("round trip: got %v, want %v\n%s", got.Values, tt.inst.Values, text)
			}
		})
	}
}

// TestNullArrayAndEmptyString pins the two encodings that differ from a
// naive reading: an empty array is written as nothing and decodes as NULL;
// an empty string stays an empty string.
func TestNullArrayAndEmptyString(t *testing.T) {
	w := newWorld(t)
	inst := cimmodel.NewInstance(w.allTypes).Set("ID", cimmodel.String("")).Set("A_string", cimmodel.Strings([]string{}))
	got, err := cimmodel.DecodeInstance(w.reg, testNS, readXML(t, writeXML(t, cimmodel.EncodeInstance(nil, inst))))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := got.Get("ID").AsString(); !ok || s != "" {
		t.Errorf("ID: got %v, want empty string", got.Get("ID"))
	}
	if v := got.Get("A_string"); !v.IsNull() || !v.Array {
		t.Errorf("A_string: got %#v, want NULL array", v)
	}
}

func TestDecodeInstanceErrors(t *testing.T) {
	w := newWorld(t)
	const head = `<p:TEST_AllTypes xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/TEST_AllTypes" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">`
	const tail = `</p:TEST_AllTypes>`
	tests := []struct {
		name, body string
		status     cimmodel.Status
	}{
		{"uint16 not a number", `<p:S_uint16>abc</p:S_uint16>`, cimmodel.StatusInvalidParameter},
		{"uint16 overflow", `<p:S_uint16>70000</p:S_uint16>`, cimmodel.StatusInvalidParameter},
		{"uint64 negative", `<p:S_uint64>-1</p:S_uint64>`, cimmodel.StatusInvalidParameter},
		{"sint8 overflow", `<p:S_sint8>128</p:S_sint8>`, cimmodel.StatusInvalidParameter},
		{"boolean word", `<p:S_boolean>yes</p:S_boolean>`, cimmodel.StatusInvalidParameter},
		{"char16 two characters", `<p:S_char16>ab</p:S_char16>`, cimmodel.StatusInvalidParameter},
		{"real64 hex", `<p:S_real64>0x10</p:S_real64>`, cimmodel.StatusInvalidParameter},
		{"datetime garbage", `<p:S_datetime><cim:Datetime>yesterday</cim:Datetime></p:S_datetime>`, cimmodel.StatusInvalidParameter},
		{"interval in Datetime", `<p:S_datetime><cim:Datetime>P1D</cim:Datetime></p:S_datetime>`, cimmodel.StatusInvalidParameter},
		{"interval of months", `<p:S_datetime><cim:Interval>P1M</cim:Interval></p:S_datetime>`, cimmodel.StatusInvalidParameter},
		{"scalar repeated", `<p:S_string>a</p:S_string><p:S_string>b</p:S_string>`, cimmodel.StatusInvalidParameter},
		{"unknown property", `<p:Nope>1</p:Nope>`, cimmodel.StatusNoSuchProperty},
		{"element inside a number", `<p:S_uint8><x/></p:S_uint8>`, cimmodel.StatusInvalidParameter},
		{"reference without ResourceURI", `<p:S_reference><a:Address>x</a:Address></p:S_reference>`, cimmodel.StatusInvalidParameter},
		{"reference with foreign resource URI", `<p:S_reference><a:ReferenceParameters><w:ResourceURI>http://intel.com/wbem/wscim/1/amt-schema/1/AMT_X</w:ResourceURI></a:ReferenceParameters></p:S_reference>`, cimmodel.StatusInvalidParameter},
		{"embedded of wrong class", `<p:S_instance xmlns:q="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/TEST_Pool" xsi:type="q:TEST_Pool_Type"><q:InstanceID>x</q:InstanceID></p:S_instance>`, cimmodel.StatusInvalidParameter},
		{"embedded CIM-XML garbage", `<p:S_instance>&lt;INSTANCE</p:S_instance>`, cimmodel.StatusInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cimmodel.DecodeInstance(w.reg, testNS, readXML(t, head+tt.body+tail))
			if got := cimmodel.StatusOf(err); got != tt.status {
				t.Errorf("status: got %v (%v), want %v", got, err, tt.status)
			}
		})
	}
	t.Run("unknown class", func(t *testing.T) {
		_, err := cimmodel.DecodeInstance(w.reg, testNS, readXML(t, `<p:TEST_Nope xmlns:p="urn:x"/>`))
		if got := cimmodel.StatusOf(err); got != cimmodel.StatusInvalidClass {
			t.Errorf("status: got %v, want %v", got, cimmodel.StatusInvalidClass)
		}
	})
}

// TestDecodeAcceptedForms covers inputs that must decode although the
// encoder never writes them.
func TestDecodeAcceptedForms(t *testing.T) {
	w := newWorld(t)
	const head = `<p:TEST_AllTypes xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/TEST_AllTypes" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common">`
	tests := []struct {
		name, body, prop string
		want             cimmodel.Value
	}{
		{"boolean 1", `<p:S_boolean>1</p:S_boolean>`, "S_boolean", cimmodel.Bool(true)},
		{"number with spaces", `<p:S_uint32> 42 </p:S_uint32>`, "S_uint32", cimmodel.Uint32(42)},
		{"datetime as plain text", `<p:S_datetime>2026-01-02T03:04:05Z</p:S_datetime>`, "S_datetime",
			cimmodel.TimeValue(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))},
		{"datetime in DSP0004 form", `<p:S_datetime>20260102030405.000001+060</p:S_datetime>`, "S_datetime",
			cimmodel.TimeValue(time.Date(2026, 1, 2, 3, 4, 5, 1000, time.FixedZone("", 3600)))},
		{"interval in DSP0004 form", `<p:S_datetime>00000001020304.000005:000</p:S_datetime>`, "S_datetime",
			cimmodel.IntervalValue(26*time.Hour + 3*time.Minute + 4*time.Second + 5*time.Microsecond)},
		{"real INF", `<p:S_real64>-INF</p:S_real64>`, "S_real64", cimmodel.Real64(negInf())},
		{"case-insensitive property name", `<p:s_UINT8>7</p:s_UINT8>`, "S_uint8", cimmodel.Uint8(7)},
		{"nil with 1", `<p:S_string xsi:nil="1"/>`, "S_string", cimmodel.Null(cimmodel.TypeString)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, err := cimmodel.DecodeInstance(w.reg, testNS, readXML(t, head+tt.body+`</p:TEST_AllTypes>`))
			if err != nil {
				t.Fatal(err)
			}
			if got := inst.Get(tt.prop); !got.Equal(tt.want) {
				t.Errorf("%s: got %#v, want %#v", tt.prop, got, tt.want)
			}
		})
	}
}

func negInf() float64 { var z float64; return -1 / z }

func TestEncodeGolden(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		file string
		inst *cimmodel.Instance
	}{
		{"test_storagevolume.xml", w.vols.insts[0]},
		{"test_alltypes.xml", w.fullAllTypes()},
		{"test_allocatedfrompool.xml", w.allocs.insts[0]},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			checkGolden(t, tt.file, writeXML(t, cimmodel.EncodeInstance(nil, tt.inst)))
		})
	}
}

// windowsClasses declares the WMI classes (the properties the Windows
// samples show, in their order) of testdata/windows.
func windowsClasses(t *testing.T) *cimmodel.Registry {
	t.Helper()
	reg := cimmodel.NewRegistry()
	classes := []*cimmodel.Class{
		{Name: "Win32_Process", Namespace: "root/cimv2", Properties: []cimmodel.Property{
			{Name: "Caption", Type: cimmodel.TypeString},
			{Name: "CommandLine", Type: cimmodel.TypeString},
			{Name: "CreationDate", Type: cimmodel.TypeDatetime},
			{Name: "AutomaticStartupActionDelay", Type: cimmodel.TypeDatetime},
			{Name: "IPAddress", Type: cimmodel.TypeString, Array: true},
			{Name: "Handle", Type: cimmodel.TypeString, Key: true},
		}},
		{Name: "Win32_OperatingSystem", Namespace: "root/cimv2", Properties: []cimmodel.Property{
			{Name: "BootDevice", Type: cimmodel.TypeString},
			{Name: "BuildNumber", Type: cimmodel.TypeString},
			{Name: "BuildType", Type: cimmodel.TypeString},
		}},
		{Name: "Msvm_AllocationCapabilities", Namespace: "root/virtualization", Properties: []cimmodel.Property{
			{Name: "InstanceID", Type: cimmodel.TypeString, Key: true}}},
		{Name: "Msvm_Synthetic3DDisplayControllerSettingData", Namespace: "root/virtualization", Properties: []cimmodel.Property{
			{Name: "InstanceID", Type: cimmodel.TypeString, Key: true}}},
		{Name: "Msvm_SettingsDefineCapabilities", Namespace: "root/virtualization", Association: true, Properties: []cimmodel.Property{
			{Name: "GroupComponent", Type: cimmodel.TypeReference, Key: true, RefClass: "Msvm_AllocationCapabilities"},
			{Name: "PartComponent", Type: cimmodel.TypeReference, Key: true},
			{Name: "PropertyPolicy", Type: cimmodel.TypeUint16},
			{Name: "ValueRange", Type: cimmodel.TypeUint16},
			{Name: "ValueRole", Type: cimmodel.TypeUint16},
		}},
	}
	for _, c := range classes {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// TestWindowsInstances decodes instances as Windows wrote them and checks
// that encoding them again gives Windows' XML (in canonical form).
func TestWindowsInstances(t *testing.T) {
	reg := windowsClasses(t)
	tests := []struct {
		file  string
		check func(t *testing.T, inst *cimmodel.Instance)
	}{
		{"win32_process-enumerate-item.xml", func(t *testing.T, inst *cimmodel.Instance) {
			if d, _ := inst.Get("CreationDate").AsDatetime(); !d.Time.Equal(time.Date(2014, 4, 3, 6, 45, 50, 468750000, time.UTC)) {
				t.Errorf("CreationDate: got %v, want 2014-04-03T06:45:50.46875Z", d.Time)
			}
			if d, _ := inst.Get("AutomaticStartupActionDelay").AsDatetime(); !d.IsInterval || d.Interval != 100*time.Second {
				t.Errorf("AutomaticStartupActionDelay: got %+v, want interval 1m40s", d)
			}
			if s, _ := inst.Get("IPAddress").AsStrings(); len(s) != 3 || s[1] != "fe80::6962:c157:2318:423d" {
				t.Errorf("IPAddress: got %q, want 3 addresses", s)
			}
			if !inst.Get("CommandLine").IsNull() {
				t.Errorf("CommandLine: got %v, want NULL", inst.Get("CommandLine"))
			}
		}},
		{"win32_operatingsystem-get.xml", func(t *testing.T, inst *cimmodel.Instance) {
			if s, _ := inst.Get("BootDevice").AsString(); s != `\Device\HarddiskVolume2` {
				t.Errorf("BootDevice: got %q", s)
			}
		}},
		{"msvm_settingsdefinecapabilities-enumerate-item.xml", func(t *testing.T, inst *cimmodel.Instance) {
			ref, _ := inst.Get("PartComponent").AsRef()
			id, _ := ref.Key("InstanceID")
			if ref.Namespace != "root/virtualization" || ref.Class != "Msvm_Synthetic3DDisplayControllerSettingData" ||
				id.V != `Microsoft:Definition\06FF76FA-2D58-4BAF-9F8D-455773824F37\Default` {
				t.Errorf("PartComponent: got %s", ref)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "windows", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			inst, err := cimmodel.DecodeInstance(reg, "", readXML(t, string(raw)))
			if err != nil {
				t.Fatalf("DecodeInstance: %v", err)
			}
			tt.check(t, inst)
			// Windows omits the Handle key in the sample; drop it from the
			// comparison by declaring what Windows wrote.
			got := writeXML(t, cimmodel.EncodeInstance(nil, inst))
			want := canonical(t, string(raw))
			gotC := canonical(t, got)
			if inst.Class.Name == "Win32_Process" {
				gotC = strings.Replace(gotC, "  <p:Handle xsi:nil=\"true\"/>\n", "", 1)
			}
			if d := soaptest.Diff(gotC, want); d != "" {
				t.Errorf("re-encoded differs from Windows (-windows +ours):\n%s", d)
			}
		})
	}
}

func TestEncodeOutput(t *testing.T) {
	w := newWorld(t)
	m, _ := w.reg.Method(w.service, "CreateReplica")
	uri := cimmodel.ResourceURI(testNS, "TEST_Service")
	emb := cimmodel.NewInstance(w.settingData).Set("InstanceID", cimmodel.String("sd"))
	res := cimmodel.Result{ReturnValue: 4096, Out: map[string]cimmodel.Value{
		"Counts":      cimmodel.Uint32s([]uint32{1, 2}),
		"Job":         cimmodel.Ref(w.pools.insts[0].Path()),
		"settings":    cimmodel.Embedded(emb),
		"TargetGroup": cimmodel.Null(cimmodel.TypeReference),
	}}
	out := cimmodel.EncodeOutput(nil, m, uri, res)
	checkGolden(t, "createreplica_output.xml", writeXML(t, out))

	var names []string
	for _, c := range out.ChildElements() {
		names = append(names, c.Tag)
	}
	if got, want := strings.Join(names, ","), "Job,Settings,Counts,Counts,ReturnValue"; got != want {
		t.Errorf("output order: got %s, want %s", got, want)
	}
}

// TestWindowsOutputs decodes method outputs that Windows and other WS-Man
// servers wrote, using the router's argument decoder on out-parameters.
func TestWindowsOutputs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "windows", "dcim-job-output-epr.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// The vendor resource URI is refused (only WMI and DMTF forms name
	// classes); with the DMTF prefix the same EPR parses, namespace from
	// __cimnamespace.
	root := readXML(t, string(raw))
	if _, err := cimmodel.ParseEPR(root.SelectElement("Job")); !errors.Is(err, cimmodel.ErrInvalidResourceURI) {
		t.Errorf("vendor resource URI: got %v, want ErrInvalidResourceURI", err)
	}
	root = readXML(t, strings.Replace(string(raw), "http://schemas.dell.com/wbem/wscim/1/cimschema/2/", cimmodel.DMTFPrefix, 1))
	job, err := cimmodel.ParseEPR(root.SelectElement("Job"))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := job.Key("InstanceID")
	if job.Namespace != "root/dcim" || job.Class != "DCIM_LifecycleJob" || id.V != "JID_001300633744" || len(job.Keys) != 1 {
		t.Errorf("Job: got %s, want root/dcim DCIM_LifecycleJob InstanceID=JID_001300633744", job)
	}

	reg := cimmodel.NewRegistry()
	m := &cimmodel.Method{Name: "Create", ReturnType: cimmodel.TypeUint32, Params: []cimmodel.Parameter{
		{Name: "CommandLine", Type: cimmodel.TypeString, In: true},
		{Name: "ProcessId", Type: cimmodel.TypeUint32, Out: true},
	}}
	if err := reg.Register(&cimmodel.Class{Name: "Win32_Process", Namespace: "root/cimv2", Methods: []*cimmodel.Method{m}}); err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile(filepath.Join("testdata", "windows", "wsmv-4.1.4-create-input.xml"))
	if err != nil {
		t.Fatal(err)
	}
	m.Params = append(m.Params, cimmodel.Parameter{Name: "CurrentDirectory", Type: cimmodel.TypeString, In: true})
	args, err := reg.DecodeArgs("root/cimv2", m, readXML(t, string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if cl, cd := args["CommandLine"], args["CurrentDirectory"]; cl.V != "notepad.exe" || cd.V != `C:\` || len(args) != 2 {
		t.Errorf("Create_INPUT: got %v, want CommandLine notepad.exe and CurrentDirectory C:\\", args)
	}
	raw, err = os.ReadFile(filepath.Join("testdata", "windows", "win32_process-create-output.xml"))
	if err != nil {
		t.Fatal(err)
	}
	got := writeXML(t, cimmodel.EncodeOutput(nil, m, cimmodel.ResourceURI("root/cimv2", "Win32_Process"),
		cimmodel.Result{Out: map[string]cimmodel.Value{"ProcessId": cimmodel.Uint32(6356)}}))
	windows := strings.Replace(string(raw), ` xml:lang="en-US"`, "", 1)
	if d := soaptest.Diff(canonical(t, got), canonical(t, windows)); d != "" {
		t.Errorf("Create_OUTPUT differs from Windows (-windows +ours):\n%s", d)
	}
}

func TestCIMXMLErrors(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name, text string
		status     cimmodel.Status
	}{
		{"not XML", `<INSTANCE`, cimmodel.StatusInvalidParameter},
		{"wrong root", `<CLASS NAME="x"/>`, cimmodel.StatusInvalidParameter},
		{"no class name", `<INSTANCE/>`, cimmodel.StatusInvalidParameter},
		{"unknown class", `<INSTANCE CLASSNAME="TEST_Nope"/>`, cimmodel.StatusInvalidClass},
		{"unknown property", `<INSTANCE CLASSNAME="TEST_AllTypes"><PROPERTY NAME="Nope" TYPE="string"><VALUE>x</VALUE></PROPERTY></INSTANCE>`, cimmodel.StatusNoSuchProperty},
		{"bad number", `<INSTANCE CLASSNAME="TEST_AllTypes"><PROPERTY NAME="S_uint8" TYPE="uint8"><VALUE>256</VALUE></PROPERTY></INSTANCE>`, cimmodel.StatusInvalidParameter},
		{"array for scalar", `<INSTANCE CLASSNAME="TEST_AllTypes"><PROPERTY.ARRAY NAME="S_uint8" TYPE="uint8"><VALUE.ARRAY><VALUE>1</VALUE></VALUE.ARRAY></PROPERTY.ARRAY></INSTANCE>`, cimmodel.StatusInvalidParameter},
		{"repeated property", `<INSTANCE CLASSNAME="TEST_AllTypes"><PROPERTY NAME="ID" TYPE="string"><VALUE>x</VALUE></PROPERTY><PROPERTY NAME="ID" TYPE="string"><VALUE>y</VALUE></PROPERTY></INSTANCE>`, cimmodel.StatusInvalidParameter},
		{"reference to wrong class", `<INSTANCE CLASSNAME="TEST_AllocatedFromPool"><PROPERTY.REFERENCE NAME="Antecedent"><VALUE.REFERENCE><INSTANCENAME CLASSNAME="TEST_StorageVolume"><KEYBINDING NAME="DeviceID"><KEYVALUE>v1</KEYVALUE></KEYBINDING></INSTANCENAME></VALUE.REFERENCE></PROPERTY.REFERENCE></INSTANCE>`, cimmodel.StatusInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cimmodel.ParseCIMXMLInstance(w.reg, testNS, tt.text)
			if got := cimmodel.StatusOf(err); got != tt.status {
				t.Errorf("status: got %v (%v), want %v", got, err, tt.status)
			}
			var ce *cimmodel.Error
			if !errors.As(err, &ce) {
				t.Errorf("error %v is not a *cimmodel.Error", err)
			}
		})
	}
	t.Run("system properties and qualifiers ignored", func(t *testing.T) {
		text := `<?xml version="1.0"?><INSTANCE CLASSNAME="TEST_ReplicationSettingData"><QUALIFIER NAME="x"/>` +
			`<PROPERTY NAME="__PATH" TYPE="string"><VALUE>ignored</VALUE></PROPERTY>` +
			`<PROPERTY NAME="InstanceID" TYPE="string" CLASSORIGIN="CIM_SettingData"><QUALIFIER NAME="key"/><VALUE>r1</VALUE></PROPERTY>` +
			`<PROPERTY NAME="CopyMethodology" TYPE="uint16"/></INSTANCE>`
		inst, err := cimmodel.ParseCIMXMLInstance(w.reg, testNS, text)
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := inst.Get("InstanceID").AsString(); s != "r1" {
			t.Errorf("InstanceID: got %q, want r1", s)
		}
		if v := inst.Get("CopyMethodology"); !v.IsNull() {
			t.Errorf("CopyMethodology: got %v, want NULL", v)
		}
	})
}

// TestStringWhitespaceRoundTrip pins that strings keep carriage returns,
// tabs and surrounding white space through both codecs.
func TestStringWhitespaceRoundTrip(t *testing.T) {
	w := newWorld(t)
	for _, s := range []string{"a\rb", "a\r\nb", "\t x \n", "\u0085"} {
		inst := cimmodel.NewInstance(w.allTypes).Set("ID", cimmodel.String(s))
		text := writeXML(t, cimmodel.EncodeInstance(nil, inst))
		back, err := cimmodel.DecodeInstance(w.reg, testNS, readXML(t, text))
		if err != nil || !back.Equal(inst) {
			t.Errorf("%q: got %q err %v\n%s", s, back.Get("ID").V, err, text)
		}
		c := cimmodel.EncodeCIMXMLInstance(inst)
		back, err = cimmodel.ParseCIMXMLInstance(w.reg, testNS, c)
		if err != nil || !back.Equal(inst) {
			t.Errorf("cimxml %q: got %q err %v", s, back.Get("ID").V, err)
		}
	}
}
