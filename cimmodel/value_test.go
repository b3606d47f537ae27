package cimmodel_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

func TestTypeString(t *testing.T) {
	tests := []struct {
		typ  cimmodel.Type
		want string
	}{
		{cimmodel.TypeUint8, "uint8"}, {cimmodel.TypeSint64, "sint64"}, {cimmodel.TypeReal32, "real32"},
		{cimmodel.TypeChar16, "char16"}, {cimmodel.TypeUint16, "uint16"}, {cimmodel.TypeDatetime, "datetime"},
		{cimmodel.TypeReference, "reference"}, {cimmodel.TypeInstance, "instance"}, {0, "type(0)"}, {99, "type(99)"},
	}
	for _, tt := range tests {
		if got := tt.typ.String(); got != tt.want {
			t.Errorf("Type(%d).String(): got %q, want %q", tt.typ, got, tt.want)
		}
		if tt.typ != 0 && tt.typ != 99 {
			if back, ok := cimmodel.ParseType(tt.want); !ok || back != tt.typ {
				t.Errorf("ParseType(%q): got %v, %v; want %v", tt.want, back, ok, tt.typ)
			}
		}
	}
}

func TestValueAccessors(t *testing.T) {
	tests := []struct {
		name     string
		v        cimmodel.Value
		u64      uint64
		u64ok    bool
		i64      int64
		i64ok    bool
		str      string
		valid    bool
		asString string
	}{
		{"uint16", cimmodel.Uint16(7), 7, true, 7, true, "", true, "7"},
		{"sint64 negative", cimmodel.Sint64(-3), 0, false, -3, true, "", true, "-3"},
		{"uint64 max", cimmodel.Uint64(1<<64 - 1), 1<<64 - 1, true, 0, false, "", true, "18446744073709551615"},
		{"string", cimmodel.String("x"), 0, false, 0, false, "x", true, "x"},
		{"NULL", cimmodel.Null(cimmodel.TypeUint32), 0, false, 0, false, "", true, "NULL"},
		{"array", cimmodel.Uint16s([]uint16{1, 2}), 0, false, 0, false, "", true, "{1,2}"},
		{"mismatched Go type", cimmodel.Value{Type: cimmodel.TypeUint16, V: "7"}, 0, false, 0, false, "7", false, "7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if u, ok := tt.v.AsUint64(); u != tt.u64 || ok != tt.u64ok {
				t.Errorf("AsUint64: got %d, %v; want %d, %v", u, ok, tt.u64, tt.u64ok)
			}
			if i, ok := tt.v.AsInt64(); i != tt.i64 || ok != tt.i64ok {
				t.Errorf("AsInt64: got %d, %v; want %d, %v", i, ok, tt.i64, tt.i64ok)
			}
			if s, _ := tt.v.AsString(); s != tt.str {
				t.Errorf("AsString: got %q, want %q", s, tt.str)
			}
			if got := tt.v.Valid(); got != tt.valid {
				t.Errorf("Valid: got %v, want %v", got, tt.valid)
			}
			if got := tt.v.String(); got != tt.asString {
				t.Errorf("String: got %q, want %q", got, tt.asString)
			}
		})
	}
	if v := cimmodel.Strings(nil); !v.IsNull() || !v.Array {
		t.Errorf("Strings(nil): got %#v, want a NULL array", v)
	}
	if v := cimmodel.Embedded(nil); !v.IsNull() || v.Type != cimmodel.TypeInstance {
		t.Errorf("Embedded(nil): got %#v, want NULL instance", v)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Array(TypeString, []uint16): no panic, want one")
			}
		}()
		cimmodel.Array(cimmodel.TypeString, []uint16{1})
	}()
}

func TestIntervalText(t *testing.T) {
	// Round trips through the codec pin the xs:duration form.
	w := newWorld(t)
	tests := []struct {
		d    time.Duration
		text string
	}{
		{0, "P0DT0H0M0S"},
		{100 * time.Second, "P0DT0H1M40S"},
		{26*time.Hour + 3*time.Minute + 4*time.Second + 500*time.Millisecond, "P1DT2H3M4.5S"},
		{time.Nanosecond, "P0DT0H0M0.000000001S"},
		{-90 * time.Second, "-P0DT0H1M30S"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			inst := cimmodel.NewInstance(w.allTypes).Set("ID", cimmodel.String("i")).Set("S_interval", cimmodel.IntervalValue(tt.d))
			el := cimmodel.EncodeInstance(nil, inst)
			iv := el.FindElement("S_interval/Interval")
			if iv == nil || iv.Text() != tt.text {
				t.Fatalf("encoded: got %v, want %s", iv, tt.text)
			}
			back, err := cimmodel.DecodeInstance(w.reg, testNS, readXML(t, writeXML(t, el)))
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := back.Get("S_interval").AsDatetime(); !d.IsInterval || d.Interval != tt.d {
				t.Errorf("decoded: got %+v, want interval %v", d, tt.d)
			}
		})
	}
	for _, bad := range []string{"P", "PT", "P1H", "PT1D", "P1.5D", "P1DT", "PT1.S", "PT.5S", "P1Y", "P99999999999999999999D", "1D"} {
		t.Run("bad "+bad, func(t *testing.T) {
			raw := `<p:TEST_AllTypes xmlns:p="urn:x" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common"><p:S_interval><cim:Interval>` + bad + `</cim:Interval></p:S_interval></p:TEST_AllTypes>`
			if _, err := cimmodel.DecodeInstance(w.reg, testNS, readXML(t, raw)); err == nil {
				t.Errorf("got nil error for %q, want one", bad)
			}
		})
	}
}

func TestResourceURI(t *testing.T) {
	tests := []struct {
		ns, class, uri string
	}{
		{"root/cimv2/storage/iscsitarget", "MSISCSITARGET_ReplicationService",
			"http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/MSISCSITARGET_ReplicationService"},
		{"root/cimv2/storage/iscsitarget", "CIM_StorageVolume", "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageVolume"},
		{"root/cimv2", "*", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*"},
		{`root\cimv2`, "Win32_Service", "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service"},
	}
	for _, tt := range tests {
		if got := cimmodel.ResourceURI(tt.ns, tt.class); got != tt.uri {
			t.Errorf("ResourceURI(%q, %q): got %s, want %s", tt.ns, tt.class, got, tt.uri)
		}
	}
	parse := []struct {
		uri, ns, class string
		dmtf, ok       bool
	}{
		{"http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/MSISCSITARGET_StorageVolume",
			"root/cimv2/storage/iscsitarget", "MSISCSITARGET_StorageVolume", false, true},
		{"HTTP://schemas.microsoft.com/wbem/wsman/1/wmi/ROOT/CIMV2/*", "ROOT/CIMV2", "*", false, true},
		{" http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageVolume\n", "", "CIM_StorageVolume", true, true},
		{"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Win32_LogicalDisk", "", "Win32_LogicalDisk", true, true},
		{"http://schemas.dmtf.org/wbem/wscim/1/*", "", "*", true, true},
		{"http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service?Name=x", "root/cimv2", "Win32_Service", false, true},
		{"http://schemas.microsoft.com/wbem/wsman/1/wmi/Win32_Service", "", "", false, false},
		{"http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/", "", "", false, false},
		{"http://schemas.microsoft.com/wbem/wsman/1/wmi///A", "", "", false, false},
		{"http://schemas.microsoft.com/wbem/wsman/1/wmi//root//A", "root", "A", false, true},
		{"http://schemas.microsoft.com/wbem/wsman/1/wmi/root//cimv2/A", "", "", false, false},
		{"http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd", "", "", false, false},
		{"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/a/b", "", "", false, false},
		{"http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Bad-Name", "", "", false, false},
	}
	for _, tt := range parse {
		t.Run(tt.uri, func(t *testing.T) {
			ns, class, dmtf, err := cimmodel.ParseResourceURI(tt.uri)
			if (err == nil) != tt.ok {
				t.Fatalf("error: got %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, cimmodel.ErrInvalidResourceURI) {
					t.Errorf("error %v does not wrap ErrInvalidResourceURI", err)
				}
				return
			}
			if ns != tt.ns || class != tt.class || dmtf != tt.dmtf {
				t.Errorf("got %q, %q, %v; want %q, %q, %v", ns, class, dmtf, tt.ns, tt.class, tt.dmtf)
			}
		})
	}
}

func TestObjectPath(t *testing.T) {
	v1 := volPath("v1")
	tests := []struct {
		name string
		a, b cimmodel.ObjectPath
		eq   bool
	}{
		{"same", v1, volPath("v1"), true},
		{"names fold, key order free", v1, cimmodel.ObjectPath{Namespace: "ROOT/TEST", Class: "test_storagevolume", Keys: []cimmodel.KeyBinding{
			{Name: "deviceid", Value: cimmodel.String("v1")}, {Name: "SYSTEMNAME", Value: cimmodel.String("host")}}}, true},
		{"key values exact", v1, volPath("V1"), false},
		{"other class", v1, cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_OtherVolume", Keys: v1.Keys}, false},
		{"missing key", v1, cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_StorageVolume", Keys: v1.Keys[:1]}, false},
		{"typed and text keys", cimmodel.ObjectPath{Class: "X", Keys: []cimmodel.KeyBinding{{Name: "N", Value: cimmodel.Uint32(5)}}},
			cimmodel.ObjectPath{Class: "X", Keys: []cimmodel.KeyBinding{{Name: "N", Value: cimmodel.String("5")}}}, true},
		{"nested references", cimmodel.ObjectPath{Class: "S", Keys: []cimmodel.KeyBinding{{Name: "A", Value: cimmodel.Ref(v1)}}},
			cimmodel.ObjectPath{Class: "S", Keys: []cimmodel.KeyBinding{{Name: "a", Value: cimmodel.Ref(volPath("v1"))}}}, true},
		{"nested references differ", cimmodel.ObjectPath{Class: "S", Keys: []cimmodel.KeyBinding{{Name: "A", Value: cimmodel.Ref(v1)}}},
			cimmodel.ObjectPath{Class: "S", Keys: []cimmodel.KeyBinding{{Name: "A", Value: cimmodel.Ref(volPath("v2"))}}}, false},
		{"reference against its text", cimmodel.ObjectPath{Class: "S", Keys: []cimmodel.KeyBinding{{Name: "A", Value: cimmodel.Ref(v1)}}},
			cimmodel.ObjectPath{Class: "S", Keys: []cimmodel.KeyBinding{{Name: "A", Value: cimmodel.String(v1.String())}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Equal(tt.b); got != tt.eq {
				t.Errorf("Equal: got %v, want %v (%s vs %s)", got, tt.eq, tt.a, tt.b)
			}
			if got := tt.a.String() == tt.b.String(); got != tt.eq {
				t.Errorf("String equality: got %v, want %v (%s vs %s)", got, tt.eq, tt.a, tt.b)
			}
		})
	}
	if got, want := v1.String(), `root/test:test_storagevolume.deviceid="v1",systemname="host"`; got != want {
		t.Errorf("String: got %s, want %s", got, want)
	}
	if v, ok := v1.Key("deviceID"); !ok || v.V != "v1" {
		t.Errorf("Key(deviceID): got %v, %v; want v1", v, ok)
	}
}

func TestEPR(t *testing.T) {
	v1 := volPath("v1")
	nested := cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Synced", Keys: []cimmodel.KeyBinding{
		{Name: "SystemElement", Value: cimmodel.Ref(v1)}, {Name: "SyncedElement", Value: cimmodel.Ref(volPath("v2"))}}}
	dmtf := cimmodel.ObjectPath{Namespace: "root/cimv2/storage/iscsitarget", Class: "CIM_StorageVolume", Keys: v1.Keys}
	for _, p := range []cimmodel.ObjectPath{v1, nested, dmtf, {Namespace: testNS, Class: "TEST_Service"}} {
		t.Run(p.String(), func(t *testing.T) {
			el := etree.NewElement("a:EndpointReference")
			p.WriteEPR(el, "http://host:5985/wsman")
			text := writeXML(t, el)
			got, err := cimmodel.ParseEPR(readXML(t, text))
			if err != nil {
				t.Fatalf("ParseEPR: %v\n%s", err, text)
			}
			if !got.Equal(p) {
				t.Errorf("round trip: got %s, want %s\n%s", got, p, text)
			}
			// As a selector value (soap.Selector.EPR) it becomes a reference key.
			sel := []soap.Selector{{Name: "Ref", EPR: readXML(t, text)}, {Name: "Plain", Value: "x"}}
			path, err := cimmodel.PathFromSelectors("root/x", "X_Holder", sel)
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := path.Key("ref"); !ok || !r.V.(cimmodel.ObjectPath).Equal(p) {
				t.Errorf("selector reference: got %v, want %s", r, p)
			}
		})
	}
	t.Run("DMTF form carries __cimnamespace", func(t *testing.T) {
		el := etree.NewElement("x")
		dmtf.WriteEPR(el, "")
		sels := el.FindElements("ReferenceParameters/SelectorSet/Selector[@Name='__cimnamespace']")
		if len(sels) != 1 || sels[0].Text() != "root/cimv2/storage/iscsitarget" {
			t.Errorf("__cimnamespace selector: got %d, want one with the namespace", len(sels))
		}
		if a := el.SelectElement("Address"); a == nil || a.Text() != soap.AddressAnonymous {
			t.Errorf("Address: got %v, want the anonymous address", a)
		}
	})
	t.Run("__cimnamespace with backslashes", func(t *testing.T) {
		p, err := cimmodel.ParseEPR(readXML(t, `<x><ResourceURI>`+cimmodel.DMTFPrefix+`CIM_X</ResourceURI><SelectorSet>`+
			`<Selector Name="__CIMNamespace">Root\CIMv2\storage\</Selector></SelectorSet></x>`))
		if err != nil || p.Namespace != "Root/CIMv2/storage" || len(p.Keys) != 0 {
			t.Errorf("got %+v, %v; want namespace Root/CIMv2/storage and no keys", p, err)
		}
	})
	bad := []string{
		`<x/>`,
		`<x><ReferenceParameters><ResourceURI>http://example.com/x</ResourceURI></ReferenceParameters></x>`,
		`<x><ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*</ResourceURI></x>`,
		`<x><ResourceURI>` + cimmodel.DMTFPrefix + `CIM_X</ResourceURI><SelectorSet><Selector>v</Selector></SelectorSet></x>`,
		`<x><ResourceURI>` + cimmodel.DMTFPrefix + `CIM_X</ResourceURI><SelectorSet><Selector Name="A">1</Selector><Selector Name="a">2</Selector></SelectorSet></x>`,
		`<x><ResourceURI>` + cimmodel.DMTFPrefix + `CIM_X</ResourceURI><SelectorSet><Selector Name="A"><y/></Selector></SelectorSet></x>`,
	}
	for i, b := range bad {
		t.Run(fmt.Sprintf("bad %d", i), func(t *testing.T) {
			if _, err := cimmodel.ParseEPR(readXML(t, b)); !errors.Is(err, cimmodel.ErrInvalidEPR) {
				t.Errorf("got %v, want an error wrapping ErrInvalidEPR", err)
			}
		})
	}
	t.Run("repeated selector", func(t *testing.T) {
		_, err := cimmodel.PathFromSelectors(testNS, "X", []soap.Selector{{Name: "A", Value: "1"}, {Name: "a", Value: "2"}})
		if !errors.Is(err, cimmodel.ErrInvalidEPR) {
			t.Errorf("got %v, want an error wrapping ErrInvalidEPR", err)
		}
	})
}

func TestErrors(t *testing.T) {
	cause := errors.New("disk gone")
	err := cimmodel.Errorf(cimmodel.StatusNotFound, "volume %s: %w", "v1", cause)
	if got, want := err.Error(), "cimmodel: CIM_ERR_NOT_FOUND: volume v1: disk gone"; got != want {
		t.Errorf("Error: got %q, want %q", got, want)
	}
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(err, cause): got false, want true")
	}
	wrapped := fmt.Errorf("get: %w", err)
	if got := cimmodel.StatusOf(wrapped); got != cimmodel.StatusNotFound {
		t.Errorf("StatusOf: got %v, want %v", got, cimmodel.StatusNotFound)
	}
	if got := cimmodel.StatusOf(cause); got != cimmodel.StatusFailed {
		t.Errorf("StatusOf(plain): got %v, want %v", got, cimmodel.StatusFailed)
	}
	ipe := &cimmodel.InvalidParameterError{Param: "SyncType", Reason: "value 5 is not in the ValueMap"}
	if got, want := ipe.Error(), "cimmodel: invalid parameter SyncType: value 5 is not in the ValueMap"; got != want {
		t.Errorf("InvalidParameterError: got %q, want %q", got, want)
	}
}
