package wsman_test

import (
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// selectorFilter is an Enumerate body with the SelectorFilter dialect of
// DSP0226 (wsman:Filter holding a wsman:SelectorSet), optimized so that
// every match comes in the reply.
func selectorFilter(selectors string) []byte {
	return enumerate(`<w:OptimizeEnumeration/><w:MaxElements>50</w:MaxElements><w:Filter Dialect="http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter"><w:SelectorSet>` + selectors + `</w:SelectorSet></w:Filter>`)
}

// names returns the Name property of every Test_Widget in a reply.
func names(t *testing.T, reply []byte) []string {
	t.Helper()
	var out []string
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if e.Tag == "Test_Widget" {
			if n := find(e, "Name"); n != nil {
				out = append(out, n.Text())
			}
			return
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(parse(t, reply))
	return out
}

// TestSelectorFilterOnAnyProperty: the selector filter dialect (DSP0226
// ANNEX / MS-WSMV 3.1.4.1.13) selects on non-key properties as well as
// keys; every selector must match; a name that is no property of the
// class is wsen:CannotProcessFilter.
func TestSelectorFilterOnAnyProperty(t *testing.T) {
	srv, _ := newTestServer(t, 3) // w00 size 0, w01 size 512, w02 size 1024
	cases := []struct {
		selectors string
		want      string
	}{
		{`<w:Selector Name="Size">512</w:Selector>`, "w01"},
		{`<w:Selector Name="ElementName">widget 2</w:Selector>`, "w02"},
		{`<w:Selector Name="name">w00</w:Selector>`, "w00"},
		{`<w:Selector Name="Name">w00</w:Selector><w:Selector Name="Size">0</w:Selector>`, "w00"},
		{`<w:Selector Name="Name">w00</w:Selector><w:Selector Name="Size">512</w:Selector>`, ""},
		{`<w:Selector Name="Size">4096</w:Selector>`, ""},
	}
	for _, c := range cases {
		status, reply := post(t, srv, testUser, testPass, selectorFilter(c.selectors))
		if status != 200 {
			t.Errorf("%s: status %d:\n%s", c.selectors, status, reply)
			continue
		}
		if got := strings.Join(names(t, reply), ","); got != c.want {
			t.Errorf("%s: got %q, want %q", c.selectors, got, c.want)
		}
	}
	status, reply := post(t, srv, testUser, testPass, selectorFilter(`<w:Selector Name="Colour">red</w:Selector>`))
	if status != 500 || !strings.HasSuffix(subcode(t, reply), ":CannotProcessFilter") {
		t.Errorf("unknown property: status %d subcode %q, want CannotProcessFilter", status, subcode(t, reply))
	}
}

const dmtfWidgetURI = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Test_Widget"

// dmtfRequest addresses Test_Widget with the DMTF resource URI and the
// namespace in __cimnamespace, as PowerShell's MI client does
// (soap/testdata/envelopes/powershell-enumerate-associated.xml).
func dmtfRequest(action, selectors, body string) []byte {
	return []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:To>http://localhost/wsman</a:To><w:ResourceURI s:mustUnderstand="true">` + dmtfWidgetURI + `</w:ResourceURI><a:ReplyTo><a:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><a:Action s:mustUnderstand="true">` + action + `</a:Action><a:MessageID>uuid:00000000-0000-0000-0000-000000000002</a:MessageID><w:SelectorSet><w:Selector Name="__cimnamespace">root/test</w:Selector>` + selectors + `</w:SelectorSet></s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
}

// eprs returns the EPRs of a reply: resource URI and selectors by name.
func eprs(t *testing.T, reply []byte) []map[string]string {
	t.Helper()
	var out []map[string]string
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if e.Tag == "ReferenceParameters" {
			m := map[string]string{}
			if u := find(e, "ResourceURI"); u != nil {
				m["ResourceURI"] = strings.TrimSpace(u.Text())
			}
			if ss := find(e, "SelectorSet"); ss != nil {
				for _, s := range ss.ChildElements() {
					m[s.SelectAttrValue("Name", "")] = strings.TrimSpace(s.Text())
				}
			}
			out = append(out, m)
			return
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(parse(t, reply))
	return out
}

// TestEPRsKeepTheNamespace: an Enumerate addressed with a DMTF resource URI
// and __cimnamespace answers EPRs (EnumerateEPR, EnumerateObjectAndEPR, in
// the Enumerate and in Pulls) with the DMTF URI and a __cimnamespace
// selector, as OMI writes them (Unix/wsman/wsbuf.c _PackEPR) and DSP0227
// §7.3 defines; reusing one on the DMTF URI gets the instance. A request
// with the WMI URI keeps getting WMI-form EPRs without the selector.
func TestEPRsKeepTheNamespace(t *testing.T) {
	srv, _ := newTestServer(t, 3)
	const enumAction = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
	for _, mode := range []string{"EnumerateEPR", "EnumerateObjectAndEPR"} {
		status, reply := post(t, srv, testUser, testPass, dmtfRequest(enumAction, "",
			`<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>2</w:MaxElements><w:EnumerationMode>`+mode+`</w:EnumerationMode></n:Enumerate>`))
		if status != 200 {
			t.Fatalf("%s: status %d:\n%s", mode, status, reply)
		}
		got := eprs(t, reply)
		ctx := find(parse(t, reply), "EnumerationContext")
		if ctx == nil || ctx.Text() == "" {
			t.Fatalf("%s: no context for the third item:\n%s", mode, reply)
		}
		pullBody := `<n:Pull><n:EnumerationContext>` + ctx.Text() + `</n:EnumerationContext><n:MaxElements>5</n:MaxElements></n:Pull>`
		status, reply = post(t, srv, testUser, testPass, dmtfRequest("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull", "", pullBody))
		if status != 200 {
			t.Fatalf("%s pull: status %d:\n%s", mode, status, reply)
		}
		got = append(got, eprs(t, reply)...)
		if len(got) != 3 {
			t.Fatalf("%s: %d EPRs, want 3", mode, len(got))
		}
		for _, e := range got {
			if e["ResourceURI"] != dmtfWidgetURI || e["__cimnamespace"] != "root/test" || e["Name"] == "" {
				t.Errorf("%s: EPR %v, want %s with __cimnamespace root/test and Name", mode, e, dmtfWidgetURI)
			}
		}
	}

	// Reuse the last EPR's selectors on the URI the client used.
	status, reply := post(t, srv, testUser, testPass, dmtfRequest(enumAction, "",
		`<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>5</w:MaxElements><w:EnumerationMode>EnumerateEPR</w:EnumerationMode></n:Enumerate>`))
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	last := eprs(t, reply)[2]
	get := []byte(strings.Replace(string(dmtfRequest("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
		`<w:Selector Name="Name">`+last["Name"]+`</w:Selector>`, "")),
		`<w:Selector Name="__cimnamespace">root/test</w:Selector>`, `<w:Selector Name="__cimnamespace">`+last["__cimnamespace"]+`</w:Selector>`, 1))
	status, reply = post(t, srv, testUser, testPass, get)
	if status != 200 || len(names(t, reply)) != 1 || names(t, reply)[0] != last["Name"] {
		t.Errorf("Get with the EPR's selectors on the DMTF URI: status %d:\n%s", status, reply)
	}

	status, reply = post(t, srv, testUser, testPass, enumerate(`<w:OptimizeEnumeration/><w:MaxElements>5</w:MaxElements><w:EnumerationMode>EnumerateEPR</w:EnumerationMode>`))
	if status != 200 {
		t.Fatalf("WMI URI: status %d", status)
	}
	for _, e := range eprs(t, reply) {
		if e["ResourceURI"] != widgetURI {
			t.Errorf("WMI URI: EPR %v, want %s", e, widgetURI)
		}
		if _, ok := e["__cimnamespace"]; ok {
			t.Errorf("WMI URI: EPR %v carries __cimnamespace", e)
		}
	}
}
