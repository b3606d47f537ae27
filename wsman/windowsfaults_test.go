package wsman_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/wsman"
)

const (
	nsAddressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsWSManFault = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
	nsWSManXSD   = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
)

// faultShape is what a fault's structure says, read the same way from
// Windows' answer and ours.
type faultShape struct {
	action, code, subcode, reason, faultDetail, wsCode string
	relatesTo, detail, notUnderstood                   bool
}

// child returns e's first child element with namespace ns and name local.
func child(e *etree.Element, ns, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

// qname resolves a prefixed QName written in e's text to {namespace}local.
func qname(e *etree.Element, v string) string {
	prefix, local, ok := strings.Cut(strings.TrimSpace(v), ":")
	if !ok {
		return v
	}
	for p := e; p != nil; p = p.Parent() {
		if a := p.SelectAttr("xmlns:" + prefix); a != nil {
			return "{" + a.Value + "}" + local
		}
	}
	return v
}

func textOf(e *etree.Element) string {
	if e == nil {
		return ""
	}
	return strings.Join(strings.Fields(e.Text()), " ")
}

func shapeOf(t *testing.T, b []byte) faultShape {
	t.Helper()
	root := parse(t, b)
	hdr := child(root, nsEnvelope, "Header")
	fault := child(child(root, nsEnvelope, "Body"), nsEnvelope, "Fault")
	if fault == nil {
		t.Fatalf("no s:Fault in\n%s", b)
	}
	code := child(fault, nsEnvelope, "Code")
	s := faultShape{
		action:        textOf(child(hdr, nsAddressing, "Action")),
		relatesTo:     child(hdr, nsAddressing, "RelatesTo") != nil,
		notUnderstood: child(hdr, nsEnvelope, "NotUnderstood") != nil,
		code:          qname(code, textOf(child(code, nsEnvelope, "Value"))),
		reason:        textOf(child(child(fault, nsEnvelope, "Reason"), nsEnvelope, "Text")),
	}
	if sub := child(child(code, nsEnvelope, "Subcode"), nsEnvelope, "Value"); sub != nil {
		s.subcode = qname(sub, textOf(sub))
	}
	if d := child(fault, nsEnvelope, "Detail"); d != nil {
		s.detail = true
		s.faultDetail = textOf(child(d, nsWSManXSD, "FaultDetail"))
		if wf := child(d, nsWSManFault, "WSManFault"); wf != nil {
			s.wsCode = wf.SelectAttrValue("Code", "")
		}
	}
	return s
}

// compareWithWindows checks that our fault has the structure of Windows'
// answer in testdata/windows-faults/name.xml (SOURCES.md there): action,
// code and subcode, RelatesTo, s:Detail, FaultDetail, the WSManFault code,
// s:NotUnderstood, and the reason and code unless fromProvider is set
// (Windows puts a provider's own text and HRESULT there).
func compareWithWindows(t *testing.T, name string, ours []byte, fromProvider bool) {
	t.Helper()
	win, err := os.ReadFile(filepath.Join("testdata", "windows-faults", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	want, got := shapeOf(t, win), shapeOf(t, ours)
	if fromProvider {
		want.reason, got.reason = "", ""
		want.wsCode, got.wsCode = "", ""
	}
	if got != want {
		t.Errorf("fault differs from Windows' %s.xml:\n got  %+v\n want %+v\n%s", name, got, want, ours)
	}
}

// relatesTo returns the wsa:RelatesTo of a reply.
func relatesTo(t *testing.T, b []byte) string {
	t.Helper()
	return textOf(child(child(parse(t, b), nsEnvelope, "Header"), nsAddressing, "RelatesTo"))
}

func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFaultsMatchWindows sends requests real clients sent and compares our
// faults with the answers Windows gave (testdata/windows-faults/SOURCES.md).
func TestFaultsMatchWindows(t *testing.T) {
	srv, _ := newTestServer(t, 3)

	t.Run("invalid OperationTimeout", func(t *testing.T) {
		// pypsrp's request with OperationTimeout PT-1S, and Windows' answer to it.
		req := readFixture(t, "testdata/windows-faults/invalid-timeout.request.xml")
		status, reply := post(t, srv, testUser, testPass, req)
		if status != 500 {
			t.Fatalf("status %d, want 500", status)
		}
		compareWithWindows(t, "invalid-timeout", reply, false)
		if got := relatesTo(t, reply); got != "uuid:6292D774-84D1-4421-8A5E-0EE2EA3831DA" {
			t.Errorf("RelatesTo = %q, want the request's MessageID", got)
		}
		if !strings.Contains(string(reply), "invalid timeout field in the SOAP header: PT-1S") {
			t.Errorf("f:Message does not name the timeout as Windows does:\n%s", reply)
		}
	})

	t.Run("mustUnderstand header", func(t *testing.T) {
		req := readFixture(t, "../soap/testdata/envelopes/pypsrp-exchange-create-compression.xml")
		env := etree.NewDocument()
		if err := env.ReadFromBytes(req); err != nil {
			t.Fatal(err)
		}
		id := textOf(child(child(env.Root(), nsEnvelope, "Header"), nsAddressing, "MessageID"))
		status, reply := post(t, srv, testUser, testPass, req)
		if status != 500 {
			t.Fatalf("status %d, want 500", status)
		}
		compareWithWindows(t, "must-understand", reply, false)
		if got := relatesTo(t, reply); id == "" || got != id {
			t.Errorf("RelatesTo = %q, want the request's MessageID %q", got, id)
		}
		nu := child(child(parse(t, reply), nsEnvelope, "Header"), nsEnvelope, "NotUnderstood")
		if got := qname(nu, nu.SelectAttrValue("qname", "")); got != "{http://schemas.microsoft.com/wbem/wsman/1/windows/shell}CompressionType" {
			t.Errorf("NotUnderstood qname = %s, want rsp:CompressionType", got)
		}
	})

	t.Run("unexpected selector", func(t *testing.T) {
		status, reply := post(t, srv, testUser, testPass, readFixture(t, "testdata/exchanges/fault-invalid-selectors/request.xml"))
		if status != 500 {
			t.Fatalf("status %d, want 500", status)
		}
		compareWithWindows(t, "unexpected-selectors", reply, false)
	})

	t.Run("selectors that match nothing", func(t *testing.T) {
		req := strings.Replace(string(readFixture(t, "testdata/exchanges/get/request.xml")), ">w01<", ">w99<", 1)
		status, reply := post(t, srv, testUser, testPass, []byte(req))
		if status != 500 {
			t.Fatalf("status %d, want 500", status)
		}
		compareWithWindows(t, "not-found", reply, false)
	})

	t.Run("WQL naming an unknown class", func(t *testing.T) {
		// pywinrm's WQL Enumerate, addressed to our namespace and asking for
		// the class WinRb's capture asked Windows for.
		req := string(readFixture(t, "../soap/testdata/envelopes/pywinrm-enumerate-wql.xml"))
		req = strings.Replace(req, "wmi/root/cimv2/*", "wmi/root/test/*", 1)
		req = strings.Replace(req, "select * from Win32_OperatingSystem", `Select * from Win32_Processa where name="sshd.exe"`, 1)
		status, reply := post(t, srv, testUser, testPass, []byte(req))
		if status != 500 {
			t.Fatalf("status %d, want 500\n%s", status, reply)
		}
		compareWithWindows(t, "wql-unknown-class", reply, false)
		if !strings.Contains(string(reply), "The specified class does not exist in the given namespace.") {
			t.Errorf("f:Message lacks WMI's text:\n%s", reply)
		}
	})
}

// broken is a provider whose every call fails the way a storage provider
// fails inside: with an error naming a server path.
type broken struct{ err error }

func (b broken) EnumerateInstances(context.Context) ([]*cimmodel.Instance, error) {
	return nil, b.err
}

func (b broken) GetInstance(context.Context, cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	return nil, b.err
}

// TestInternalErrorsStayInTheLog: a provider failure carrying a file path
// (a plain error, or a CIM_ERR_FAILED whose message has the path) reaches
// the client as Windows' w:InternalError (s:Receiver, wsman fault action)
// with only the generic text, and the log has the detail.
func TestInternalErrorsStayInTheLog(t *testing.T) {
	const secret = "/var/lib/replicad/pools/default/.replica-partial-7f3a"
	cause := fmt.Errorf("remove %s: %w", secret, os.ErrPermission)
	for name, err := range map[string]error{
		"plain error":     fmt.Errorf("replica: detach: %w", cause),
		"CIM_ERR_FAILED":  cimmodel.Errorf(cimmodel.StatusFailed, "detach failed: %v", cause),
		"wrapped CIM err": fmt.Errorf("provider: %w", cimmodel.Errorf(cimmodel.StatusFailed, "%v", cause)),
	} {
		t.Run(name, func(t *testing.T) {
			reg := cimmodel.NewRegistry()
			class := &cimmodel.Class{Name: "Test_Widget", Namespace: testNS,
				Properties: []cimmodel.Property{{Name: "Name", Type: cimmodel.TypeString, Key: true}},
				Provider:   broken{err: err}}
			if err := reg.Register(class); err != nil {
				t.Fatal(err)
			}
			var u users.File
			if err := u.Set(testUser, testPass); err != nil {
				t.Fatal(err)
			}
			core, logs := observer.New(zapcore.DebugLevel)
			s := wsman.NewServer(reg, &u)
			s.Logger = zap.New(core)
			s.AllowUnencrypted = true
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()

			status, reply := post(t, srv, testUser, testPass, readFixture(t, "testdata/exchanges/get/request.xml"))
			if status != 500 {
				t.Fatalf("status %d, want 500\n%s", status, reply)
			}
			compareWithWindows(t, "internal-error", reply, true)
			if strings.Contains(string(reply), secret) || strings.Contains(string(reply), "permission denied") {
				t.Errorf("the fault shows the internal error:\n%s", reply)
			}
			f := child(child(child(parse(t, reply), nsEnvelope, "Body"), nsEnvelope, "Fault"), nsEnvelope, "Detail")
			if msg := textOf(child(child(f, nsWSManFault, "WSManFault"), nsWSManFault, "Message")); msg != "Generic failure" {
				t.Errorf("f:Message = %q, want the generic %q", msg, "Generic failure")
			}
			var logged bool
			for _, e := range logs.FilterMessage("wsman fault").All() {
				if e.Level == zapcore.ErrorLevel && strings.Contains(fmt.Sprint(e.ContextMap()["error"]), secret) {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no error-level 'wsman fault' log line carries the detail %q", secret)
			}
		})
	}
}

// TestEnvelopeFaultsRelateToTheRequest: a fault raised while reading the
// envelope carries wsa:RelatesTo whenever the MessageID could be read, as
// Windows' answer to pypsrp's PT-1S request does, wherever the MessageID
// stands relative to the bad header; not when the XML is not well-formed.
func TestEnvelopeFaultsRelateToTheRequest(t *testing.T) {
	srv, _ := newTestServer(t, 1)
	get := string(readFixture(t, "testdata/exchanges/get/request.xml"))
	const id = "uuid:7C9A1B3E-2F4D-4A5B-9C6D-1E2F3A4B5C6D"
	for _, tt := range []struct {
		name, body, subcode, relates string
	}{
		{"timeout after MessageID", strings.Replace(get, "PT60.000S", "-PT5S", 1), "a:InvalidMessageInformationHeader", id},
		{"malformed timeout", strings.Replace(get, "PT60.000S", "sixty", 1), "a:InvalidMessageInformationHeader", id},
		{"bad header before MessageID", strings.Replace(get, "<w:MaxEnvelopeSize s:mustUnderstand=\"true\">512000<", "<w:MaxEnvelopeSize s:mustUnderstand=\"true\">big<", 1), "w:SchemaValidationError", id},
		{"repeated header", strings.Replace(get, "<a:To>", "<a:To>http://x/wsman</a:To><a:To>", 1), "a:InvalidMessageInformationHeader", id},
		{"unknown mustUnderstand header", strings.Replace(get, "<a:To>", `<x:Secret xmlns:x="urn:example" s:mustUnderstand="true">1</x:Secret><a:To>`, 1), "s:MustUnderstand", id},
		{"not well-formed", strings.Replace(get, "</s:Body>", "", 1), "w:SchemaValidationError", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, reply := post(t, srv, testUser, testPass, []byte(tt.body))
			if status != 500 {
				t.Fatalf("status %d, want 500\n%s", status, reply)
			}
			if got := subcode(t, reply); got != tt.subcode {
				t.Errorf("fault %s, want %s", got, tt.subcode)
			}
			if got := relatesTo(t, reply); got != tt.relates {
				t.Errorf("RelatesTo = %q, want %q", got, tt.relates)
			}
		})
	}
	// soap reports the MessageID it read to the one place faults are written.
	_, err := soap.Parse([]byte(strings.Replace(get, "PT60.000S", "-PT5S", 1)))
	if got := soap.RequestMessageID(err); got != id || !errors.Is(err, soap.ErrHeaderValue) {
		t.Errorf("RequestMessageID = %q (err %v), want %q", got, err, id)
	}
}

// TestHeaderFaultsOfWSMV: the faults [MS-WSMV] 3.1.4.1.5-9 require for
// request headers, on the Get request the CIM cmdlets send.
func TestHeaderFaultsOfWSMV(t *testing.T) {
	srv, _ := newTestServer(t, 1)
	get := string(readFixture(t, "testdata/exchanges/get/request.xml"))
	const id = "uuid:7C9A1B3E-2F4D-4A5B-9C6D-1E2F3A4B5C6D"
	for _, tt := range []struct {
		name, body, subcode, detail, code, relates string
	}{
		{"MaxEnvelopeSize below 8192", strings.Replace(get, ">512000<", ">8191<", 1),
			"w:EncodingLimit", "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MinimumEnvelopeLimit", "2150858878", id},
		{"mandatory Locale", strings.Replace(get, `<w:Locale xml:lang="en-US" s:mustUnderstand="false" />`, `<w:Locale xml:lang="en-US" s:mustUnderstand="true" />`, 1),
			"w:UnsupportedFeature", "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/Locale", "2150858818", id},
		{"mandatory DataLocale", strings.Replace(get, `<p:DataLocale xml:lang="en-US" s:mustUnderstand="false" />`, `<p:DataLocale xml:lang="en-US" s:mustUnderstand="true" />`, 1),
			"w:UnsupportedFeature", "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/DataLocale", "2150858818", id},
		{"no MessageID", strings.Replace(get, "<a:MessageID>"+id+"</a:MessageID>", "", 1),
			"a:InvalidMessageInformationHeader", "", "2150858767", ""},
		{"empty MessageID", strings.Replace(get, "<a:MessageID>"+id+"</a:MessageID>", "<a:MessageID> </a:MessageID>", 1),
			"a:InvalidMessageInformationHeader", "", "2150858767", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.body == get {
				t.Fatal("the request was not changed")
			}
			status, reply := post(t, srv, testUser, testPass, []byte(tt.body))
			if status != 500 {
				t.Fatalf("status %d, want 500\n%s", status, reply)
			}
			got := shapeOf(t, reply)
			if sub := subcode(t, reply); sub != tt.subcode || got.faultDetail != tt.detail || got.wsCode != tt.code {
				t.Errorf("fault %s, detail %q, code %s; want %s, %q, %s\n%s", sub, got.faultDetail, got.wsCode, tt.subcode, tt.detail, tt.code, reply)
			}
			if r := relatesTo(t, reply); r != tt.relates {
				t.Errorf("RelatesTo = %q, want %q", r, tt.relates)
			}
		})
	}
	// Identify needs no MessageID: Windows' own clients send none.
	if status, reply := post(t, srv, testUser, testPass, readFixture(t, "../soap/testdata/envelopes/identify.xml")); status != 200 {
		t.Errorf("Identify without MessageID: status %d\n%s", status, reply)
	}
}
