package client

import (
	"os"
	"slices"
	"testing"
)

// decodeBody reads an envelope and decodes the instance that is its body.
func decodeBody(t *testing.T, envelope []byte) *Instance {
	t.Helper()
	r, b, err := parseAnswer(200, envelope)
	if err != nil {
		t.Fatal(err)
	}
	defer r.release()
	inst, err := r.instance(b)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestDecodeInstanceOfWindowsPut decodes the instance of a Put that the
// Windows MI client sent to OMI (wsman/testdata: omi-put2): values, xsi:nil
// properties, the class from xsi:type.
func TestDecodeInstanceOfWindowsPut(t *testing.T) {
	raw, err := os.ReadFile("../wsman/testdata/exchanges/powershell-put/omi-put2.request.xml")
	if err != nil {
		t.Fatal(err)
	}
	inst := decodeBody(t, raw)
	if inst.Class != "MSFT_Person" {
		t.Errorf("class %q, want MSFT_Person", inst.Class)
	}
	var names []string
	for _, p := range inst.Properties {
		names = append(names, p.Name)
	}
	if want := []string{"Key", "Species", "Last", "First", "ExpensiveProperty"}; !slices.Equal(names, want) {
		t.Fatalf("properties %v, want %v", names, want)
	}
	if got := inst.Get("Key"); got != "1" {
		t.Errorf("Key %q, want 1", got)
	}
	if got := inst.Get("Last"); got != "Osama" {
		t.Errorf("Last %q, want Osama", got)
	}
	for _, name := range []string{"Species", "First", "ExpensiveProperty"} {
		if p, _ := inst.Prop(name); !p.Null || len(p.Values) != 0 {
			t.Errorf("%s: Null %v, values %q; want NULL", name, p.Null, p.Values)
		}
	}
}

// TestDecodeInstanceArrays: an array property is its values repeated as
// elements (DSP0230); repeats gather into one property in document order,
// also when another property comes between them, and no property's values
// change another's.
func TestDecodeInstanceArrays(t *testing.T) {
	inst := decodeBody(t, []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>`+
		`<p:CIM_StorageVolume xmlns:p="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageVolume">`+
		`<p:OperationalStatus>2</p:OperationalStatus><p:OperationalStatus>3</p:OperationalStatus>`+
		`<p:Name>a</p:Name><p:StatusDescriptions>OK</p:StatusDescriptions><p:ElementName>b</p:ElementName>`+
		`<p:StatusDescriptions>Degraded</p:StatusDescriptions><p:Caption>c</p:Caption>`+
		`</p:CIM_StorageVolume></s:Body></s:Envelope>`))
	want := map[string][]string{
		"OperationalStatus":  {"2", "3"},
		"Name":               {"a"},
		"StatusDescriptions": {"OK", "Degraded"},
		"ElementName":        {"b"},
		"Caption":            {"c"},
	}
	if len(inst.Properties) != len(want) {
		t.Fatalf("%d properties, want %d: %+v", len(inst.Properties), len(want), inst.Properties)
	}
	for name, vals := range want {
		if p, _ := inst.Prop(name); !slices.Equal(p.Values, vals) {
			t.Errorf("%s = %q, want %q", name, p.Values, vals)
		}
	}
}
