package soap_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/replicad/replicad/soap"
)

const envOpen = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">`

func withHeader(h string) []byte {
	return []byte(envOpen + `<s:Header>` + h + `</s:Header><s:Body/></s:Envelope>`)
}

func TestParseHostile(t *testing.T) {
	billionLaughs := `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol3;</s:Body></s:Envelope>`
	externalEntity := `<!DOCTYPE s [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&xxe;</s:Body></s:Envelope>`
	deep := envOpen + `<s:Body>` + strings.Repeat("<x>", 10000) + strings.Repeat("</x>", 10000) + `</s:Body></s:Envelope>`
	wide := envOpen + `<s:Body><x>` + strings.Repeat("<y/>", soap.MaxElements) + `</x></s:Body></s:Envelope>`

	tests := []struct {
		name string
		data []byte
		want error // sentinel wrapped by the *ParseError
	}{
		{"empty input", nil, soap.ErrMalformed},
		{"not XML", []byte("hello"), soap.ErrMalformed},
		{"truncated", []byte(envOpen + `<s:Body>`), soap.ErrMalformed},
		{"mismatched end tag", []byte(envOpen + `<s:Body></s:Header></s:Envelope>`), soap.ErrMalformed},
		{"two roots", []byte(envOpen + `<s:Body/></s:Envelope><s:Envelope/>`), soap.ErrMalformed},
		{"text after root", []byte(envOpen + `<s:Body/></s:Envelope>junk`), soap.ErrMalformed},
		{"unbound element prefix", []byte(envOpen + `<s:Body><q:X/></s:Body></s:Envelope>`), soap.ErrMalformed},
		{"unbound attribute prefix", []byte(envOpen + `<s:Body><X q:y="1"/></s:Body></s:Envelope>`), soap.ErrMalformed},
		{"duplicate attribute", []byte(envOpen + `<s:Body><X y="1" y="2"/></s:Body></s:Envelope>`), soap.ErrMalformed},
		{"undefined entity", []byte(envOpen + `<s:Body>&nope;</s:Body></s:Envelope>`), soap.ErrMalformed},
		{"billion laughs", []byte(billionLaughs), soap.ErrDTD},
		{"external entity", []byte(externalEntity), soap.ErrDTD},
		{"processing instruction", []byte(envOpen + `<?php echo 1 ?><s:Body/></s:Envelope>`), soap.ErrProcInst},
		{"10k-deep nesting", []byte(deep), soap.ErrTooDeep},
		{"too many elements", []byte(wide), soap.ErrTooManyElements},
		{"invalid UTF-8", []byte(envOpen + "<s:Body>\xff\xfe\xfd</s:Body></s:Envelope>"), soap.ErrEncoding},
		{"odd-length UTF-16", []byte{0xFF, 0xFE, '<', 0, 'x'}, soap.ErrEncoding},
		{"unpaired surrogate", []byte{0xFF, 0xFE, '<', 0, 0x00, 0xD8, 'x', 0}, soap.ErrEncoding},
		{"declared Latin-1", []byte(`<?xml version="1.0" encoding="ISO-8859-1"?>` + envOpen + `<s:Body/></s:Envelope>`), soap.ErrEncoding},
		{"root is not Envelope", []byte(`<s:Body xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>`), soap.ErrNotEnvelope},
		{"no Body", []byte(envOpen + `<s:Header/></s:Envelope>`), soap.ErrNotEnvelope},
		{"two Bodies", []byte(envOpen + `<s:Body/><s:Body/></s:Envelope>`), soap.ErrNotEnvelope},
		{"Header after Body", []byte(envOpen + `<s:Body/><s:Header/></s:Envelope>`), soap.ErrNotEnvelope},
		{"foreign element in Envelope", []byte(envOpen + `<a:To>x</a:To><s:Body/></s:Envelope>`), soap.ErrNotEnvelope},
		{"two wsa:Action", withHeader(`<a:Action>x</a:Action><a:Action>y</a:Action>`), soap.ErrDuplicateHeader},
		{"two wsa:MessageID", withHeader(`<a:MessageID>uuid:1</a:MessageID><a:MessageID>uuid:2</a:MessageID>`), soap.ErrDuplicateHeader},
		{"two SelectorSets", withHeader(`<w:SelectorSet/><w:SelectorSet/>`), soap.ErrDuplicateHeader},
		{"MaxEnvelopeSize not a number", withHeader(`<w:MaxEnvelopeSize>lots</w:MaxEnvelopeSize>`), soap.ErrHeaderValue},
		{"MaxEnvelopeSize zero", withHeader(`<w:MaxEnvelopeSize>0</w:MaxEnvelopeSize>`), soap.ErrHeaderValue},
		{"MaxEnvelopeSize negative", withHeader(`<w:MaxEnvelopeSize>-5</w:MaxEnvelopeSize>`), soap.ErrHeaderValue},
		{"MaxEnvelopeSize overflow", withHeader(`<w:MaxEnvelopeSize>99999999999999999999</w:MaxEnvelopeSize>`), soap.ErrHeaderValue},
		{"OperationTimeout garbage", withHeader(`<w:OperationTimeout>60</w:OperationTimeout>`), soap.ErrHeaderValue},
		{"OperationTimeout negative", withHeader(`<w:OperationTimeout>-PT5S</w:OperationTimeout>`), soap.ErrHeaderValue},
		{"OperationTimeout zero", withHeader(`<w:OperationTimeout>PT0S</w:OperationTimeout>`), soap.ErrHeaderValue},
		{"OperationTimeout huge", withHeader(`<w:OperationTimeout>P999999999Y</w:OperationTimeout>`), soap.ErrHeaderValue},
		{"OperationTimeout in months", withHeader(`<w:OperationTimeout>P1M</w:OperationTimeout>`), soap.ErrHeaderValue},
		{"mustUnderstand not boolean", withHeader(`<a:Action s:mustUnderstand="yes">x</a:Action>`), soap.ErrHeaderValue},
		{"selector without Name", withHeader(`<w:SelectorSet><w:Selector>1</w:Selector></w:SelectorSet>`), soap.ErrHeaderValue},
		{"option without Name", withHeader(`<w:OptionSet><w:Option>1</w:Option></w:OptionSet>`), soap.ErrHeaderValue},
		{"ReplyTo without Address", withHeader(`<a:ReplyTo/>`), soap.ErrHeaderValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := soap.Parse(tt.data)
			if err == nil {
				t.Fatalf("Parse: got envelope %+v, want error %v", env.Header, tt.want)
			}
			var pe *soap.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse: got %T %v, want *ParseError", err, err)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Parse: got %v, want it to wrap %v", err, tt.want)
			}
			if pe.Reason == "" {
				t.Errorf("Reason: got empty, want a description")
			}
		})
	}
}

func TestParseVersionMismatch(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"SOAP 1.1", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`, "http://schemas.xmlsoap.org/soap/envelope/"},
		{"no namespace", `<Envelope><Body/></Envelope>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := soap.Parse([]byte(tt.data))
			var vm *soap.VersionMismatchError
			if !errors.As(err, &vm) {
				t.Fatalf("Parse: got %v, want *VersionMismatchError", err)
			}
			if vm.Namespace != tt.want {
				t.Errorf("Namespace: got %q, want %q", vm.Namespace, tt.want)
			}
		})
	}
}

func TestParseAcceptsDeclarations(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"utf-8 declaration", `<?xml version="1.0" encoding="utf-8" ?>` + envOpen + `<s:Body/></s:Envelope>`},
		{"UTF-8 BOM", "\xEF\xBB\xBF" + envOpen + `<s:Body/></s:Envelope>`},
		{"comments", `<!-- hi -->` + envOpen + `<!-- there --><s:Body/></s:Envelope>`},
		{"default namespace", `<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body/></Envelope>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := soap.Parse([]byte(tt.data)); err != nil {
				t.Errorf("Parse: got error %v, want nil", err)
			}
		})
	}
}

// TestParseLimits checks that the limits are exact: a message at the limit
// parses, one element more does not.
func TestParseLimits(t *testing.T) {
	nest := func(depth int) []byte {
		// Envelope and Body take two levels.
		inner := depth - 2
		return []byte(envOpen + `<s:Body>` + strings.Repeat("<x>", inner) + strings.Repeat("</x>", inner) + `</s:Body></s:Envelope>`)
	}
	many := func(n int) []byte {
		// Envelope, Body and x are three elements.
		return []byte(envOpen + `<s:Body><x>` + strings.Repeat("<y/>", n-3) + `</x></s:Body></s:Envelope>`)
	}
	attrs := func(n int) []byte {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, ` a%d="v"`, i)
		}
		return []byte(envOpen + `<s:Body><x` + b.String() + `/></s:Body></s:Envelope>`)
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"depth at limit", nest(soap.MaxDepth), nil},
		{"depth over limit", nest(soap.MaxDepth + 1), soap.ErrTooDeep},
		{"elements at limit", many(soap.MaxElements), nil},
		{"elements over limit", many(soap.MaxElements + 1), soap.ErrTooManyElements},
		{"attributes at limit", attrs(soap.MaxAttributes), nil},
		{"attributes over limit", attrs(soap.MaxAttributes + 1), soap.ErrTooManyAttributes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := soap.Parse(tt.data)
			if tt.want == nil && err != nil {
				t.Fatalf("Parse: got error %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Parse: got error %v, want %v", err, tt.want)
			}
		})
	}
}
