package soap_test

import (
	"regexp"
	"testing"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/soap"
)

var windowsMessageID = regexp.MustCompile(`^uuid:[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

// headerChildren returns "prefix:Local=text" for each child of s:Header.
func headerChildren(m *soap.Message) []string {
	var out []string
	for _, c := range m.Header().ChildElements() {
		out = append(out, c.FullTag()+"="+c.Text())
	}
	return out
}

func TestNewResponse(t *testing.T) {
	tests := []struct {
		name     string
		req      *soap.Header
		wantLang string
		wantRel  bool
	}{
		{"request with MessageID", &soap.Header{MessageID: "uuid:req-1"}, "en-US", true},
		{"request with locale", &soap.Header{MessageID: "uuid:req-2", Locale: "fr-FR"}, "fr-FR", true},
		{"request without MessageID", &soap.Header{}, "en-US", false},
		{"no request", nil, "en-US", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := soap.NewResponse(tt.req, soap.ActionGetResponse)
			if !windowsMessageID.MatchString(m.MessageID()) {
				t.Errorf("MessageID: got %q, want uuid:<UPPER-CASE uuid>", m.MessageID())
			}
			direct := mustBytes(t, m) // the envelope written as text
			want := []string{
				"a:Action=" + soap.ActionGetResponse,
				"a:MessageID=" + m.MessageID(),
				"a:To=" + soap.AddressAnonymous,
			}
			if tt.wantRel {
				want = append(want, "a:RelatesTo="+tt.req.MessageID)
			}
			got := headerChildren(m)
			if len(got) != len(want) {
				t.Fatalf("headers: got %q, want %q", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("header %d: got %q, want %q", i, got[i], want[i])
				}
			}
			// Header() turns the headers into elements: the text is the same.
			if viaTree := mustBytes(t, m); string(viaTree) != string(direct) {
				t.Errorf("envelope written directly:\n%s\nwritten by etree:\n%s", direct, viaTree)
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(direct); err != nil {
				t.Fatal(err)
			}
			root := doc.Root()
			if lang := root.SelectAttrValue("xml:lang", ""); lang != tt.wantLang {
				t.Errorf("xml:lang: got %q, want %q", lang, tt.wantLang)
			}
			for _, c := range root.ChildElements() {
				if c.NamespaceURI() != soap.NSEnvelope {
					t.Errorf("%s namespace: got %q, want %q", c.Tag, c.NamespaceURI(), soap.NSEnvelope)
				}
			}
		})
	}
}

func TestMessageIDsAreFresh(t *testing.T) {
	a := soap.NewResponse(nil, "x").MessageID()
	b := soap.NewResponse(nil, "x").MessageID()
	if a == b {
		t.Errorf("MessageID: got %q twice, want distinct values", a)
	}
}

func TestNS(t *testing.T) {
	m := soap.NewResponse(nil, "x")
	tests := []struct {
		ns, local, want string
	}{
		{soap.NSEnvelope, "Fault", "s:Fault"},
		{soap.NSEnumeration, "Items", "n:Items"},
		{soap.NSEnumeration, "EndOfSequence", "n:EndOfSequence"},
		{soap.NSCIMBinding, "AssociatedInstances", "b:AssociatedInstances"},
		{"urn:unknown:1", "X", "ns1:X"},
		{"urn:unknown:2", "Y", "ns2:Y"},
		{"urn:unknown:1", "Z", "ns1:Z"},
		{soap.NSXML, "lang", "xml:lang"},
		{"", "Plain", "Plain"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := m.NS(tt.ns, tt.local)
			if got != tt.want {
				t.Fatalf("NS(%q, %q): got %q, want %q", tt.ns, tt.local, got, tt.want)
			}
			if tt.ns == soap.NSXML {
				return // etree does not resolve the implicit xml prefix
			}
			m.Body().CreateElement(got)
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(mustBytes(t, m)); err != nil {
				t.Fatal(err)
			}
			body := doc.Root().ChildElements()[1].ChildElements()
			if e := body[len(body)-1]; e.FullTag() != got || e.NamespaceURI() != tt.ns {
				t.Errorf("%s in the serialised message: got %s in %q, want %q", got, e.FullTag(), e.NamespaceURI(), tt.ns)
			}
		})
	}
}

// mustBytes serialises m in UTF-8.
func mustBytes(t *testing.T, m *soap.Message) []byte {
	t.Helper()
	out, err := m.Bytes(soap.UTF8)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
