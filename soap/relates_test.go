package soap_test

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/soap"
)

// TestRequestMessageID: every error Parse returns after the XML was read
// carries the request's wsa:MessageID, wherever it stands, so that the
// fault can relate to it; XML that is not well-formed carries none.
func TestRequestMessageID(t *testing.T) {
	const id = "uuid:6292D774-84D1-4421-8A5E-0EE2EA3831DA"
	head := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>`
	mid := `<a:MessageID>` + id + `</a:MessageID>`
	tail := `</s:Header><s:Body/></s:Envelope>`
	for _, tt := range []struct {
		name, body string
		want       string
		header     xml.Name // the header ParseError names, if any
	}{
		{"timeout after MessageID", head + mid + `<w:OperationTimeout>PT-1S</w:OperationTimeout>` + tail, id,
			xml.Name{Space: soap.NSWSMan, Local: "OperationTimeout"}},
		{"timeout before MessageID", head + `<w:OperationTimeout>PT-1S</w:OperationTimeout>` + mid + tail, id,
			xml.Name{Space: soap.NSWSMan, Local: "OperationTimeout"}},
		{"repeated header", head + mid + `<a:To>x</a:To><a:To>y</a:To>` + tail, id,
			xml.Name{Space: soap.NSAddressing, Local: "To"}},
		{"mustUnderstand", head + `<x:H xmlns:x="urn:x" s:mustUnderstand="true"/>` + mid + tail, id, xml.Name{}},
		{"SOAP 1.1", `<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><e:Header>` + mid + `</e:Header><e:Body/></e:Envelope>`, id, xml.Name{}},
		{"not well-formed", head + mid + `</s:Header><s:Body>`, "", xml.Name{}},
		{"no MessageID", head + `<w:OperationTimeout>PT-1S</w:OperationTimeout>` + tail, "",
			xml.Name{Space: soap.NSWSMan, Local: "OperationTimeout"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := soap.Parse([]byte(tt.body))
			if err == nil {
				t.Fatal("Parse accepted the envelope")
			}
			if got := soap.RequestMessageID(err); got != tt.want {
				t.Errorf("RequestMessageID = %q, want %q (err %v)", got, tt.want, err)
			}
			var pe *soap.ParseError
			if tt.header.Local != "" && (!errors.As(err, &pe) || pe.Header != tt.header) {
				t.Errorf("error %v names header %v, want %v", err, pe, tt.header)
			}
		})
	}
	_, err := soap.Parse([]byte(head + mid + `<w:OperationTimeout>PT-1S</w:OperationTimeout>` + tail))
	var pe *soap.ParseError
	if !errors.As(err, &pe) || pe.Value != "PT-1S" {
		t.Errorf("ParseError.Value = %+v, want the header's text PT-1S", pe)
	}
}

// TestNotUnderstoodPrefix: the s:NotUnderstood qname uses the request's
// prefix (as Windows writes qname="wsman:ResourceUri") unless that prefix
// would shadow the fault's own s: or is reserved.
func TestNotUnderstoodPrefix(t *testing.T) {
	const ns = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
	for prefix, want := range map[string]string{"rsp": "rsp", "s": "nu", "": "nu", "xmlns": "nu", "S": "nu"} {
		f := &soap.Fault{Code: soap.CodeMustUnderstand, Reason: "r",
			NotUnderstood: &xml.Name{Space: ns, Local: "CompressionType"}, NotUnderstoodPrefix: prefix}
		out, err := f.Message(&soap.Header{MessageID: "uuid:1"}).Bytes(soap.UTF8)
		if err != nil {
			t.Fatal(err)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(out); err != nil {
			t.Fatal(err)
		}
		nu := doc.FindElement("//NotUnderstood")
		if nu == nil || nu.NamespaceURI() != soap.NSEnvelope {
			t.Fatalf("prefix %q: no s:NotUnderstood in the SOAP namespace:\n%s", prefix, out)
		}
		q := nu.SelectAttrValue("qname", "")
		p, local, _ := strings.Cut(q, ":")
		if p != want || local != "CompressionType" || nu.SelectAttrValue("xmlns:"+p, "") != ns {
			t.Errorf("prefix %q: qname %q with xmlns:%s=%q, want %s:CompressionType bound to %s", prefix, q, p, nu.SelectAttrValue("xmlns:"+p, ""), want, ns)
		}
	}
}
