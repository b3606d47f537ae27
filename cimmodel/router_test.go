package cimmodel_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
)

const inputHead = `<p:CreateReplica_INPUT xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/TEST_Service"` +
	` xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"` +
	` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common">`

func input(t testing.TB, body string) *etree.Element {
	return readXML(t, inputHead+body+`</p:CreateReplica_INPUT>`)
}

// epr writes p as the content of a parameter element.
func epr(p cimmodel.ObjectPath) string {
	e := etree.NewElement("x")
	p.WriteEPR(e, "")
	var b strings.Builder
	for _, c := range e.ChildElements() {
		doc := etree.NewDocument()
		doc.SetRoot(c.Copy())
		s, _ := doc.WriteToString()
		b.WriteString(s)
	}
	return b.String()
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func TestInvokeRejectsMalformedInput(t *testing.T) {
	w := newWorld(t)
	v1, pool := w.vols.insts[0].Path(), w.pools.insts[0].Path()
	tests := []struct{ name, body string }{
		{"unknown parameter", `<p:SyncType>6</p:SyncType><p:Nope>1</p:Nope>`},
		{"out-only parameter supplied", `<p:SyncType>6</p:SyncType><p:Job>` + epr(pool) + `</p:Job>`},
		{"uint16 not a number", `<p:SyncType>abc</p:SyncType>`},
		{"uint16 out of range", `<p:SyncType>70000</p:SyncType>`},
		{"uint64 negative", `<p:SyncType>6</p:SyncType><p:TargetElementCount>-1</p:TargetElementCount>`},
		{"boolean garbage", `<p:SyncType>6</p:SyncType><p:Force>maybe</p:Force>`},
		{"datetime garbage", `<p:SyncType>6</p:SyncType><p:Deadline><cim:Datetime>soon</cim:Datetime></p:Deadline>`},
		{"scalar repeated", `<p:SyncType>6</p:SyncType><p:SyncType>7</p:SyncType>`},
		{"reference not an EPR", `<p:SyncType>6</p:SyncType><p:SourceElement>v1</p:SourceElement>`},
		{"reference to a class outside RefClass", `<p:SyncType>6</p:SyncType><p:SourceElement>` + epr(pool) + `</p:SourceElement>`},
		{"reference to an unknown class", `<p:SyncType>6</p:SyncType><p:SourceElement>` +
			epr(cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Nope"}) + `</p:SourceElement>`},
		{"reference in TargetPool to a volume", `<p:SyncType>6</p:SyncType><p:TargetPool>` + epr(v1) + `</p:TargetPool>`},
		{"embedded instance not CIM-XML", `<p:SyncType>6</p:SyncType><p:ReplicationSettingData>not xml</p:ReplicationSettingData>`},
		{"embedded instance of the wrong class", `<p:SyncType>6</p:SyncType><p:ReplicationSettingData>` +
			xmlEscape(cimmodel.EncodeCIMXMLInstance(w.pools.insts[0])) + `</p:ReplicationSettingData>`},
		{"embedded instance element of the wrong class", `<p:SyncType>6</p:SyncType><p:ReplicationSettingData ` +
			`xmlns:q="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/TEST_Pool" xsi:type="q:TEST_Pool_Type"><q:InstanceID>x</q:InstanceID></p:ReplicationSettingData>`},
		{"array element NULL", `<p:SyncType>6</p:SyncType><p:Tags>a</p:Tags><p:Tags xsi:nil="true"/>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.calls = nil
			res, m, err := w.reg.Invoke(context.Background(), cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Service"},
				"CreateReplica", input(t, tt.body))
			if got := cimmodel.StatusOf(err); got != cimmodel.StatusInvalidParameter {
				t.Errorf("status: got %v (%v), want %v", got, err, cimmodel.StatusInvalidParameter)
			}
			var ipe *cimmodel.InvalidParameterError
			if errors.As(err, &ipe) {
				t.Errorf("got an InvalidParameterError %v, want a fault-level *Error", err)
			}
			if res.ReturnValue != 0 || m == nil || m.Name != "CreateReplica" {
				t.Errorf("got result %+v, method %v; want zero result and the method", res, m)
			}
			if len(w.calls) != 0 {
				t.Errorf("Func called %d times, want 0", len(w.calls))
			}
		})
	}
}

func TestInvokeReturnsInvalidParameter(t *testing.T) {
	w := newWorld(t)
	tests := []struct{ name, body, param string }{
		{"required missing", `<p:Mode>2</p:Mode>`, "SyncType"},
		{"required NULL", `<p:SyncType xsi:nil="true"/>`, "SyncType"},
		{"below the first range (DMTF Reserved ..)", `<p:SyncType>5</p:SyncType>`, "SyncType"},
		{"inside a DMTF Reserved range", `<p:SyncType>10</p:SyncType>`, "SyncType"},
		{"top of a DMTF Reserved range", `<p:SyncType>32767</p:SyncType>`, "SyncType"},
		{"Method Reserved vendor range", `<p:SyncType>6</p:SyncType><p:Mode>32768</p:Mode>`, "Mode"},
		{"open DMTF Reserved range", `<p:SyncType>6</p:SyncType><p:Mode>4</p:Mode>`, "Mode"},
		{"below Min", `<p:SyncType>6</p:SyncType><p:TargetElementCount>0</p:TargetElementCount>`, "TargetElementCount"},
		{"above Max", `<p:SyncType>6</p:SyncType><p:TargetElementCount>17</p:TargetElementCount>`, "TargetElementCount"},
		{"signed below Min", `<p:SyncType>6</p:SyncType><p:Offset>-11</p:Offset>`, "Offset"},
		{"array element outside ValueMap", `<p:SyncType>6</p:SyncType><p:Priorities>1</p:Priorities><p:Priorities>5</p:Priorities>`, "Priorities"},
		{"embedded instance with unknown property", `<p:SyncType>6</p:SyncType><p:ReplicationSettingData ` +
			`xmlns:q="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_SettingData" xsi:type="q:CIM_SettingData_Type"><q:Nope>x</q:Nope></p:ReplicationSettingData>`,
			"ReplicationSettingData"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.calls = nil
			res, m, err := w.reg.Invoke(context.Background(), cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Service"},
				"CreateReplica", input(t, tt.body))
			var ipe *cimmodel.InvalidParameterError
			if !errors.As(err, &ipe) {
				t.Fatalf("error: got %v, want *InvalidParameterError", err)
			}
			if ipe.Param != tt.param {
				t.Errorf("Param: got %q, want %q (reason %q)", ipe.Param, tt.param, ipe.Reason)
			}
			if res.ReturnValue != cimmodel.ReturnInvalidParameter || len(res.Out) != 0 {
				t.Errorf("result: got %+v, want ReturnValue 5 and no out-parameters", res)
			}
			if m == nil || m.Name != "CreateReplica" {
				t.Errorf("method: got %v, want CreateReplica", m)
			}
			if len(w.calls) != 0 {
				t.Errorf("Func called %d times, want 0", len(w.calls))
			}
		})
	}
}

func TestInvokeDeliversTypedArgs(t *testing.T) {
	w := newWorld(t)
	v1, pool := w.vols.insts[0].Path(), w.pools.insts[0].Path()
	rsd := cimmodel.NewInstance(w.rsd).Set("InstanceID", cimmodel.String("rsd:9")).
		Set("ConsistentPointInTime", cimmodel.Bool(true)).Set("Names", cimmodel.Strings([]string{"n1"}))
	rsdElem := writeXML(t, cimmodel.EncodeInstance(nil, rsd))
	// the instance form: the element's children in the parameter element
	rsdChildren := rsdElem[strings.Index(rsdElem, ">")+1 : strings.LastIndex(rsdElem, "</")]
	deadline := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		body string
		want cimmodel.Args
	}{
		{"only the required parameter", `<p:SyncType>6</p:SyncType>`,
			cimmodel.Args{"SyncType": cimmodel.Uint16(6)}},
		{"vendor specific value", `<p:SyncType>32768</p:SyncType>`,
			cimmodel.Args{"SyncType": cimmodel.Uint16(0x8000)}},
		{"names are case-insensitive", `<p:synctype>7</p:synctype><p:MODE>3</p:MODE>`,
			cimmodel.Args{"SyncType": cimmodel.Uint16(7), "Mode": cimmodel.Uint16(3)}},
		{"optional NULL stays present", `<p:SyncType>8</p:SyncType><p:TargetGroup xsi:nil="true"/>`,
			cimmodel.Args{"SyncType": cimmodel.Uint16(8), "TargetGroup": cimmodel.Null(cimmodel.TypeReference)}},
		{"every flavour",
			`<p:ElementName>copy of v1</p:ElementName><p:SyncType>8</p:SyncType><p:Mode>3</p:Mode>` +
				`<p:SourceElement>` + epr(v1) + `</p:SourceElement><p:TargetPool>` + epr(pool) + `</p:TargetPool>` +
				`<p:TargetElementCount>16</p:TargetElementCount>` +
				`<p:ReplicationSettingData xmlns:q="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/TEST_ReplicationSettingData" xsi:type="q:TEST_ReplicationSettingData_Type">` +
				strings.ReplaceAll(rsdChildren, "p:", "q:") + `</p:ReplicationSettingData>` +
				`<p:Tags>a</p:Tags><p:Tags>b</p:Tags><p:Priorities>0</p:Priorities><p:Priorities>4</p:Priorities>` +
				`<p:Offset>-10</p:Offset><p:Deadline><cim:Datetime>2026-12-01T00:00:00Z</cim:Datetime></p:Deadline><p:Force>true</p:Force>`,
			cimmodel.Args{
				"ElementName": cimmodel.String("copy of v1"), "SyncType": cimmodel.Uint16(8), "Mode": cimmodel.Uint16(3),
				"SourceElement": cimmodel.Ref(v1), "TargetPool": cimmodel.Ref(pool), "TargetElementCount": cimmodel.Uint64(16),
				"ReplicationSettingData": cimmodel.Embedded(rsd), "Tags": cimmodel.Strings([]string{"a", "b"}),
				"Priorities": cimmodel.Uint16s([]uint16{0, 4}), "Offset": cimmodel.Sint32(-10),
				"Deadline": cimmodel.TimeValue(deadline), "Force": cimmodel.Bool(true),
			}},
		{"embedded instance wrapped in a class-named element", `<p:SyncType>6</p:SyncType><p:ReplicationSettingData>` +
			`<q:TEST_ReplicationSettingData xmlns:q="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/TEST_ReplicationSettingData">` +
			`<q:InstanceID>rsd:9</q:InstanceID><q:ConsistentPointInTime>true</q:ConsistentPointInTime><q:Names>n1</q:Names>` +
			`</q:TEST_ReplicationSettingData></p:ReplicationSettingData>`,
			cimmodel.Args{"SyncType": cimmodel.Uint16(6), "ReplicationSettingData": cimmodel.Embedded(rsd)}},
		{"embedded instance as CIM-XML text", `<p:SyncType>6</p:SyncType><p:ReplicationSettingData>` +
			xmlEscape(cimmodel.EncodeCIMXMLInstance(rsd)) + `</p:ReplicationSettingData>`,
			cimmodel.Args{"SyncType": cimmodel.Uint16(6), "ReplicationSettingData": cimmodel.Embedded(rsd)}},
		{"embedded instance as CDATA", `<p:SyncType>6</p:SyncType><p:ReplicationSettingData><![CDATA[` +
			cimmodel.EncodeCIMXMLInstance(rsd) + `]]></p:ReplicationSettingData>`,
			cimmodel.Args{"SyncType": cimmodel.Uint16(6), "ReplicationSettingData": cimmodel.Embedded(rsd)}},
		{"reference with DMTF URI and __cimnamespace", `<p:SyncType>6</p:SyncType><p:SourceElement>` +
			`<a:Address>x</a:Address><a:ReferenceParameters><w:ResourceURI>` + cimmodel.DMTFPrefix + `CIM_StorageVolume</w:ResourceURI>` +
			`<w:SelectorSet><w:Selector Name="DeviceID">v1</w:Selector><w:Selector Name="SystemName">host</w:Selector>` +
			`<w:Selector Name="__cimnamespace">root/test</w:Selector></w:SelectorSet></a:ReferenceParameters></p:SourceElement>`,
			cimmodel.Args{"SyncType": cimmodel.Uint16(6), "SourceElement": cimmodel.Ref(cimmodel.ObjectPath{Namespace: testNS,
				Class: "CIM_StorageVolume", Keys: []cimmodel.KeyBinding{{Name: "DeviceID", Value: cimmodel.String("v1")},
					{Name: "SystemName", Value: cimmodel.String("host")}}})}},
		{"reference wrapped in EndpointReference", `<p:SyncType>6</p:SyncType><p:TargetPool><a:EndpointReference>` + epr(pool) +
			`</a:EndpointReference></p:TargetPool>`,
			cimmodel.Args{"SyncType": cimmodel.Uint16(6), "TargetPool": cimmodel.Ref(pool)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.calls = nil
			target := cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Service"}
			res, m, err := w.reg.Invoke(context.Background(), target, "CreateReplica", input(t, tt.body))
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if res.ReturnValue != 0 || m.Name != "CreateReplica" {
				t.Errorf("got %+v from %s, want ReturnValue 0 from CreateReplica", res, m.Name)
			}
			if len(w.calls) != 1 {
				t.Fatalf("Func called %d times, want 1", len(w.calls))
			}
			got := w.calls[0].args
			if keys(got) != keys(tt.want) {
				t.Errorf("args: got %s, want %s", keys(got), keys(tt.want))
			}
			for k, want := range tt.want {
				if v := got[k]; !v.Equal(want) {
					t.Errorf("%s: got %#v, want %#v", k, v, want)
				}
			}
			if !w.calls[0].target.Equal(target) {
				t.Errorf("target: got %s, want %s", w.calls[0].target, target)
			}
		})
	}
}

func keys(a cimmodel.Args) string {
	var ks []string
	for k := range a {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func TestInvokeLookup(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		target     cimmodel.ObjectPath
		method     string
		wantStatus cimmodel.Status
		wantRV     uint32
	}{
		{"unknown namespace", cimmodel.ObjectPath{Namespace: "root/nope", Class: "TEST_Service"}, "Stop", cimmodel.StatusInvalidNamespace, 0},
		{"unknown class", cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Nope"}, "Stop", cimmodel.StatusInvalidClass, 0},
		{"unknown method", cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Service"}, "Start", cimmodel.StatusMethodNotFound, 0},
		{"method without Func", cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_SubService"}, "Unimplemented", cimmodel.StatusMethodNotAvailable, 0},
		{"own method", cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Service"}, "Stop", 0, 1},
		{"overridden method", cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_SubService"}, "stop", 0, 2},
		{"method lookup is case-insensitive on classes too", cimmodel.ObjectPath{Namespace: "ROOT/Test", Class: "test_service"}, "STOP", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _, err := w.reg.Invoke(ctx, tt.target, tt.method, nil)
			if got := cimmodel.StatusOf(err); got != tt.wantStatus {
				t.Errorf("status: got %v (%v), want %v", got, err, tt.wantStatus)
			}
			if res.ReturnValue != tt.wantRV {
				t.Errorf("ReturnValue: got %d, want %d", res.ReturnValue, tt.wantRV)
			}
		})
	}
	t.Run("inherited method reaches the parent's Func", func(t *testing.T) {
		w.calls = nil
		_, m, err := w.reg.Invoke(ctx, cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_SubService"}, "CreateReplica",
			input(t, `<p:SyncType>7</p:SyncType>`))
		if err != nil || m.Name != "CreateReplica" || len(w.calls) != 1 {
			t.Fatalf("got method %v, err %v, %d calls; want CreateReplica, nil, 1", m, err, len(w.calls))
		}
		if got := w.calls[0].target.Class; got != "TEST_SubService" {
			t.Errorf("target class: got %s, want TEST_SubService", got)
		}
	})
	t.Run("target keys are checked and typed", func(t *testing.T) {
		reg := cimmodel.NewRegistry()
		var got cimmodel.ObjectPath
		m := &cimmodel.Method{Name: "Ping", Func: func(_ context.Context, target cimmodel.ObjectPath, _ cimmodel.Args) (cimmodel.Result, error) {
			got = target
			return cimmodel.Result{}, nil
		}}
		c := &cimmodel.Class{Name: "X_Keyed", Namespace: testNS, Methods: []*cimmodel.Method{m},
			Properties: []cimmodel.Property{{Name: "N", Type: cimmodel.TypeUint16, Key: true}}}
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
		target := cimmodel.ObjectPath{Namespace: testNS, Class: "X_Keyed", Keys: []cimmodel.KeyBinding{{Name: "n", Value: cimmodel.String("12")}}}
		if _, _, err := reg.Invoke(ctx, target, "Ping", nil); err != nil {
			t.Fatal(err)
		}
		if v, _ := got.Key("N"); v.Type != cimmodel.TypeUint16 || v.V != uint16(12) || got.Keys[0].Name != "N" {
			t.Errorf("target key: got %#v, want N = uint16 12", got.Keys)
		}
		target.Keys[0].Value = cimmodel.String("-1")
		if _, _, err := reg.Invoke(ctx, target, "Ping", nil); cimmodel.StatusOf(err) != cimmodel.StatusInvalidParameter {
			t.Errorf("bad key: got %v, want StatusInvalidParameter", err)
		}
	})
	t.Run("Func error is wrapped", func(t *testing.T) {
		sentinel := errors.New("boom")
		m := &cimmodel.Method{Name: "Fail", Func: func(context.Context, cimmodel.ObjectPath, cimmodel.Args) (cimmodel.Result, error) {
			return cimmodel.Result{}, sentinel
		}}
		reg := cimmodel.NewRegistry()
		if err := reg.Register(&cimmodel.Class{Name: "X_Failing", Namespace: testNS, Methods: []*cimmodel.Method{m}}); err != nil {
			t.Fatal(err)
		}
		_, _, err := reg.Invoke(ctx, cimmodel.ObjectPath{Namespace: testNS, Class: "X_Failing"}, "Fail", nil)
		if !errors.Is(err, sentinel) {
			t.Errorf("got %v, want an error wrapping %v", err, sentinel)
		}
	})
}
