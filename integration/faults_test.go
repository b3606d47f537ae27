package integration

import (
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// faultOf parses a fault reply and returns its subcode (or code, when there
// is no subcode) and the WSManFault Code attribute.
func faultOf(t *testing.T, body string) (subcode, wsmanCode string) {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(body); err != nil {
		t.Fatalf("fault is not XML: %v\n%s", err, body)
	}
	fault := find(doc.Root(), "http://www.w3.org/2003/05/soap-envelope", "Fault")
	if fault == nil {
		t.Fatalf("no s:Fault in\n%s", body)
	}
	code := find(fault, "http://www.w3.org/2003/05/soap-envelope", "Code")
	values := findAll(code, "Value")
	if len(values) == 0 {
		t.Fatalf("fault without a Code value\n%s", body)
	}
	if wf := find(fault, nsFault, "WSManFault"); wf != nil {
		wsmanCode = wf.SelectAttrValue("Code", "")
	}
	return values[len(values)-1].Text(), wsmanCode
}

// TestBadRequestsGetTheirFaults sends each kind of bad request through raw
// HTTP and checks its specific fault, and that the daemon keeps serving.
func TestBadRequestsGetTheirFaults(t *testing.T) {
	t.Parallel()
	d := sharedDaemon(t)
	keys := map[string]string{"SystemCreationClassName": "MSFTSM_ComputerSystem", "SystemName": "nohost",
		"CreationClassName": "MSISCSITARGET_ReplicationService", "Name": "ReplicationService"}
	huge := enumerateEnvelope(d.url(), uriReplService, "<w:Junk>"+strings.Repeat("x", 5<<20)+"</w:Junk>")
	tests := []struct {
		name, body  string
		wantSubcode string
		wantCode    string
	}{
		{"malformed XML", `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>`, "w:SchemaValidationError", "2150858819"},
		{"unknown action", strings.Replace(enumerateEnvelope(d.url(), uriReplService, ""),
			"http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate", "http://example.com/Frobnicate", 1),
			"a:ActionNotSupported", "2150858771"},
		{"unknown resource URI", enumerateEnvelope(d.url(),
			"http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/MSISCSITARGET_NoSuchClass", ""),
			"a:DestinationUnreachable", "2150858811"},
		{"selectors that match nothing", getEnvelope(d.url(), uriReplService, keys), "a:DestinationUnreachable", "2150858752"},
		{"selector that is not a key", getEnvelope(d.url(), uriReplService, map[string]string{"Bogus": "1"}),
			"w:InvalidSelectors", "2150858843"}, // ERROR_WSMAN_UNEXPECTED_SELECTORS, as Windows (wsman/fault.go)
		{"method the class does not have", invokeEnvelope(d.url(), uriReplService, "Frobnicate", keys, ""),
			"a:ActionNotSupported", "2150858771"}, // ERROR_WSMAN_ACTION_NOT_SUPPORTED (wsmerror.h)
		{"mustUnderstand header we do not know", strings.Replace(enumerateEnvelope(d.url(), uriReplService, ""),
			"</s:Header>", `<x:Secret xmlns:x="urn:example" s:mustUnderstand="true">1</x:Secret></s:Header>`, 1),
			"s:MustUnderstand", ""}, // Windows writes no s:Detail here (wsman/fault.go)
		{"SOAP 1.1 envelope", `<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>`,
			"s:VersionMismatch", "2150858765"}, // ERROR_WSMAN_SOAP_VERSION_MISMATCH
		{"huge body", huge, "w:EncodingLimit", "2150858805"},
		{"unknown filter dialect", enumerateEnvelope(d.url(), uriReplService,
			`<w:Filter Dialect="http://example.com/xpath">/a</w:Filter>`), "n:FilterDialectRequestedUnavailable", "2150858777"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := d.post(d.user, d.password, []byte(tt.body), "")
			if status != 500 {
				t.Fatalf("status %d, want 500\n%.2000s", status, body)
			}
			sub, code := faultOf(t, body)
			if sub != tt.wantSubcode || code != tt.wantCode {
				t.Errorf("fault %s (WSManFault %s), want %s (%s)", sub, code, tt.wantSubcode, tt.wantCode)
			}
			if strings.Contains(body, "goroutine") || strings.Contains(body, ".go:") {
				t.Errorf("fault leaks Go internals:\n%s", body)
			}
			// The daemon keeps serving the next request.
			if st, _ := d.post(d.user, d.password, []byte(enumerateEnvelope(d.url(), uriReplService,
				`<w:OptimizeEnumeration/>`)), ""); st != 200 {
				t.Errorf("next request after the fault: status %d, want 200", st)
			}
		})
	}
	if n := len(d.waitLogs("wsman fault", len(tests))); n < len(tests) {
		t.Errorf("got %d 'wsman fault' log lines, want one per bad request (%d)", n, len(tests))
	}
}

// TestUTF16Request sends an Enumerate in UTF-16LE with a byte-order mark, as
// Windows may, and expects the answer in UTF-16 too.
func TestUTF16Request(t *testing.T) {
	t.Parallel()
	d := sharedDaemon(t)
	utf16 := encodeUTF16LE(enumerateEnvelope(d.url(), uriReplService, `<w:OptimizeEnumeration/><w:MaxElements>5</w:MaxElements>`))
	status, body := d.post(d.user, d.password, utf16, "application/soap+xml;charset=UTF-16")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	raw := []byte(body)
	if len(raw) < 2 || raw[0] != 0xFF || raw[1] != 0xFE {
		t.Fatalf("reply does not start with a UTF-16LE byte-order mark: % x", raw[:min(8, len(raw))])
	}
	text := decodeUTF16LE(raw[2:])
	if !strings.Contains(text, "MSISCSITARGET_ReplicationService") {
		t.Errorf("UTF-16 reply lacks the instance:\n%.1000s", text)
	}
}

func encodeUTF16LE(s string) []byte {
	out := []byte{0xFF, 0xFE}
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			hi, lo := 0xD800+(r>>10), 0xDC00+(r&0x3FF)
			out = append(out, byte(hi), byte(hi>>8), byte(lo), byte(lo>>8))
			continue
		}
		out = append(out, byte(r), byte(r>>8))
	}
	return out
}

func decodeUTF16LE(b []byte) string {
	var sb strings.Builder
	for i := 0; i+1 < len(b); i += 2 {
		sb.WriteRune(rune(uint16(b[i]) | uint16(b[i+1])<<8))
	}
	return sb.String()
}
