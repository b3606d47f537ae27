package soap_test

import (
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/soap"
	"github.com/replicad/replicad/soap/soaptest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/faults")

// volatile are the elements whose values change on every run.
var volatile = []string{"MessageID"}

func goldenFaults(t *testing.T) map[string]*soap.Fault {
	t.Helper()
	provider := etree.NewElement("f:ProviderFault")
	provider.CreateAttr("provider", "replicad")
	provider.CreateAttr("path", "/usr/bin/replicad")
	provider.SetText("copy failed")
	return map[string]*soap.Fault{
		"destination-unreachable": {
			Code:    soap.CodeSender,
			Subcode: xml.Name{Space: soap.NSAddressing, Local: "DestinationUnreachable"},
			Reason:  "The WS-Management service cannot process the request because the resource URI is not valid.",
			Detail: &soap.WSManFault{
				Code:    2150858752,
				Machine: "replicad.example.com",
				Message: "The WS-Management service cannot process the request. The resource URI is not valid.",
			},
		},
		"invalid-selectors": {
			Code:        soap.CodeSender,
			Subcode:     xml.Name{Space: soap.NSWSMan, Local: "InvalidSelectors"},
			Reason:      "The WS-Management service cannot process the request because the request contained invalid selectors for the resource.",
			FaultDetail: soap.FaultDetailPrefix + "/UnexpectedSelectors",
			Detail:      &soap.WSManFault{Code: 2150858843, Machine: "replicad.example.com", Message: "Unexpected selector Foo."},
		},
		"invalid-enumeration-context": {
			Code:    soap.CodeReceiver,
			Subcode: xml.Name{Space: soap.NSEnumeration, Local: "InvalidEnumerationContext"},
			Reason:  "The enumeration context supplied in the message is not valid.",
		},
		"must-understand": {
			Code:          soap.CodeMustUnderstand,
			Reason:        "The WS-Management service cannot process a SOAP header in the request that is marked as mustUnderstand.",
			NotUnderstood: &xml.Name{Space: "http://schemas.microsoft.com/wbem/wsman/1/windows/shell", Local: "CompressionType"},
		},
		"internal-error": {
			Code:    soap.CodeReceiver,
			Subcode: xml.Name{Space: soap.NSWSMan, Local: "InternalError"},
			Reason:  "The service cannot comply with the request due to internal processing errors.",
			Detail:  &soap.WSManFault{Code: 2147500037, Machine: "replicad.example.com", Message: "Internal error.", ProviderFault: provider},
		},
		"timed-out": windowsTimedOut(),
	}
}

// windowsTimedOut is the fault of testdata/faults/windows-timedout.xml, a
// reply captured from Windows (masterzen/winrm fixture_test.go).
func windowsTimedOut() *soap.Fault {
	const text = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "
	return &soap.Fault{
		Code:    soap.CodeReceiver,
		Subcode: xml.Name{Space: soap.NSWSMan, Local: "TimedOut"},
		Reason:  text,
		Detail:  &soap.WSManFault{Code: 2150858793, Machine: "127.0.0.1", Message: text},
	}
}

func TestFaultGolden(t *testing.T) {
	req := &soap.Header{MessageID: "uuid:e54190b3-e060-4b5c-4779-b63ab4963bac"}
	for name, f := range goldenFaults(t) {
		t.Run(name, func(t *testing.T) {
			b, err := f.Message(req).Bytes(soap.UTF8)
			if err != nil {
				t.Fatalf("Bytes: %v", err)
			}
			got, err := soaptest.Canonical(b, volatile...)
			if err != nil {
				t.Fatalf("Canonical: %v", err)
			}
			path := filepath.Join("testdata", "faults", name+".xml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run go test -update): %v", err)
			}
			if d := soaptest.Diff(got, string(want)); d != "" {
				t.Errorf("fault XML differs from %s (-want +got):\n%s", path, d)
			}
			if _, err := soap.Parse(b); err != nil {
				t.Errorf("Parse of our own fault: %v", err)
			}
		})
	}
}

// skeleton describes a document by the namespace-resolved names of its
// elements with their non-namespace attributes and trimmed text, so that
// messages using different prefixes or extra namespace declarations
// compare equal when their structure is equal.
func skeleton(t *testing.T, data []byte, blank ...string) []string {
	t.Helper()
	env, err := soap.Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	root := env.Body
	for root.Parent() != nil && root.Parent().Tag != "" {
		root = root.Parent()
	}
	var out []string
	var walk func(e *etree.Element, depth int)
	walk = func(e *etree.Element, depth int) {
		var attrs []string
		for _, a := range e.Attr {
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
				continue
			}
			attrs = append(attrs, a.Key+"="+a.Value)
		}
		slices.Sort(attrs)
		text := strings.TrimSpace(e.Text())
		if slices.Contains(blank, e.Tag) {
			text = "…"
		}
		// A QName value (s:Sender, w:TimedOut) is compared by its local
		// part: the prefixes are the sender's choice.
		if i := strings.IndexByte(text, ':'); e.Tag == "Value" && i >= 0 {
			text = text[i+1:]
		}
		out = append(out, strings.Repeat("  ", depth)+"{"+e.NamespaceURI()+"}"+e.Tag+" "+strings.Join(attrs, " ")+" "+text)
		for _, c := range e.ChildElements() {
			walk(c, depth+1)
		}
	}
	walk(root, 0)
	return out
}

// TestFaultMatchesWindows compares our TimedOut fault with the one Windows
// sent (testdata/faults/windows-timedout.xml).
func TestFaultMatchesWindows(t *testing.T) {
	windows, err := os.ReadFile(filepath.Join("testdata", "faults", "windows-timedout.xml"))
	if err != nil {
		t.Fatal(err)
	}
	req := &soap.Header{MessageID: "uuid:e54190b3-e060-4b5c-4779-b63ab4963bac"}
	ours, err := windowsTimedOut().Message(req).Bytes(soap.UTF8)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(skeleton(t, ours, "MessageID"), "\n")
	want := strings.Join(skeleton(t, windows, "MessageID"), "\n")
	if d := soaptest.Diff(got, want); d != "" {
		t.Errorf("fault structure differs from Windows' (-windows +ours):\n%s", d)
	}
}

func TestFaultAction(t *testing.T) {
	tests := []struct {
		name string
		f    soap.Fault
		want string
	}{
		{"addressing subcode", soap.Fault{Subcode: xml.Name{Space: soap.NSAddressing, Local: "ActionNotSupported"}}, soap.ActionFaultAddressing},
		{"enumeration subcode", soap.Fault{Subcode: xml.Name{Space: soap.NSEnumeration, Local: "InvalidEnumerationContext"}}, soap.ActionFaultEnumeration},
		{"wsman subcode", soap.Fault{Subcode: xml.Name{Space: soap.NSWSMan, Local: "InvalidSelectors"}}, soap.ActionFaultWSMan},
		{"no subcode", soap.Fault{Code: soap.CodeSender}, soap.ActionFaultWSMan},
		{"explicit action", soap.Fault{Action: "urn:custom", Subcode: xml.Name{Space: soap.NSAddressing, Local: "X"}}, "urn:custom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.f.Message(nil)
			got := m.Header().ChildElements()[0]
			if got.Tag != "Action" || got.Text() != tt.want {
				t.Errorf("first header: got %s=%q, want Action=%q", got.Tag, got.Text(), tt.want)
			}
		})
	}
}

func TestFaultError(t *testing.T) {
	tests := []struct {
		name string
		f    soap.Fault
		want string
	}{
		{"with subcode", soap.Fault{Code: soap.CodeSender, Subcode: xml.Name{Space: soap.NSWSMan, Local: "InvalidSelectors"}, Reason: "bad"},
			"soap: fault s:Sender/{" + soap.NSWSMan + "}InvalidSelectors: bad"},
		{"without subcode", soap.Fault{Code: soap.CodeMustUnderstand, Reason: "hdr"}, "soap: fault s:MustUnderstand: hdr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Error(); got != tt.want {
				t.Errorf("Error: got %q, want %q", got, tt.want)
			}
		})
	}
}
