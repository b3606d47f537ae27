package soap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// parseTree is Parse as it was before the header was decoded as read:
// the whole envelope built as a tree, then decodeHeader on s:Header. It is
// the reference Parse is held to.
func parseTree(data []byte) (*Envelope, error) {
	text, enc, err := DecodeText(data)
	if err != nil {
		return nil, err
	}
	doc, err := buildTree(text)
	if err != nil {
		return nil, err
	}
	env := &Envelope{Encoding: enc}
	if err := fromDocument(doc, nil, env); err != nil {
		setMessageID(err, scanMessageID(doc.Root(), nil))
		return nil, err
	}
	return env, nil
}

// describeParse renders everything a caller can read of Parse's result:
// the error (its type, text, sentinel kind, header, value and MessageID),
// or the header (a selector's EPR as written, with the namespace of each
// of its elements and attributes), the encoding and the body (likewise).
func describeParse(env *Envelope, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "error %T %q kind=%s id=%q", err, err.Error(), errorKind(err), RequestMessageID(err))
		var pe *ParseError
		if errors.As(err, &pe) {
			fmt.Fprintf(&b, " header=%v value=%q is=%v", pe.Header, pe.Value, pe.Err)
		}
		var mu *MustUnderstandError
		if errors.As(err, &mu) {
			fmt.Fprintf(&b, " header=%v prefix=%q", mu.Header, mu.Prefix)
		}
		return b.String()
	}
	h := env.Header
	sels := h.Selectors
	h.Selectors = nil
	fmt.Fprintf(&b, "header %+v\nencoding %v\n", h, env.Encoding)
	for _, s := range sels {
		fmt.Fprintf(&b, "selector %q %q\n", s.Name, s.Value)
		if s.EPR != nil {
			describeElement(&b, s.EPR)
		}
	}
	if env.Body != nil {
		b.WriteString("body\n")
		describeElement(&b, env.Body)
		for p := env.Body.Parent(); p != nil; p = p.Parent() {
			fmt.Fprintf(&b, "ancestor %s\n", p.FullTag())
		}
	}
	return b.String()
}

// describeElement writes e as XML and the namespace URI of e, of each
// element below it and of each attribute.
func describeElement(b *strings.Builder, e *etree.Element) {
	var buf bytes.Buffer
	e.WriteTo(&buf, &etree.WriteSettings{})
	b.Write(buf.Bytes())
	b.WriteByte('\n')
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		fmt.Fprintf(b, "ns %s=%q;", e.FullTag(), e.NamespaceURI())
		for i := range e.Attr {
			fmt.Fprintf(b, " @%s=%q", e.Attr[i].FullKey(), e.Attr[i].NamespaceURI())
		}
		b.WriteByte('\n')
		for c := range e.ChildElementsSeq() {
			walk(c)
		}
	}
	walk(e)
}

// checkParseMatchesTree fails t when Parse and parseTree differ on data.
func checkParseMatchesTree(t *testing.T, data []byte) {
	t.Helper()
	got := describeParse(Parse(bytes.Clone(data)))
	want := describeParse(parseTree(bytes.Clone(data)))
	if got != want {
		t.Fatalf("Parse differs from the tree parse\ngot  %s\nwant %s\ninput %q", got, want, data)
	}
}

// headerEdges are envelopes whose headers take each path of decodeHeader:
// each refusal, the ones kept for later (a SelectorSet before a failing
// header), prefixes declared on the headers themselves, text in pieces.
var headerEdges = []string{
	envHead + `<a:To>x</a:To><a:MessageID>uuid:1</a:MessageID></s:Header><s:Body/></s:Envelope>`,
	envHead + `<a:MessageID s:mustUnderstand="maybe">uuid:1</a:MessageID></s:Header><s:Body/></s:Envelope>`,
	envHead + `<a:To s:mustUnderstand="maybe">x</a:To><a:MessageID>uuid:2</a:MessageID></s:Header><s:Body/></s:Envelope>`,
	envHead + `<x:Foo xmlns:x="urn:foo" s:mustUnderstand="true"/><a:MessageID>uuid:3</a:MessageID></s:Header><s:Body/></s:Envelope>`,
	envHead + `<x:Foo xmlns:x="urn:foo" s:mustUnderstand="true" s:role="http://www.w3.org/2003/05/soap-envelope/role/none"/></s:Header><s:Body/></s:Envelope>`,
	envHead + `<x:Foo xmlns:x="urn:foo" mustUnderstand="true"/><Bar xmlns="urn:bar" s:mustUnderstand="1"/></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:Locale xml:lang="de-DE" s:mustUnderstand="true"/></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:Locale xml:lang="de-DE" s:mustUnderstand="false"/><p:DataLocale xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" xml:lang="fr"/></s:Header><s:Body/></s:Envelope>`,
	envHead + `<a:Action>x</a:Action><a:Action>y</a:Action></s:Header><s:Body/></s:Envelope>`,
	envHead + `<a:ReplyTo><a:Other>o</a:Other><a:Address> http://x </a:Address><a:Address>y</a:Address></a:ReplyTo></s:Header><s:Body/></s:Envelope>`,
	envHead + `<a:ReplyTo> t <a:Other/></a:ReplyTo><a:MessageID>uuid:4</a:MessageID></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:OptionSet s:mustUnderstand="true"><w:Option Name="a" Type="t">v<x/>w</w:Option><w:Option Name="b" MustComply=" true ">z</w:Option></w:OptionSet></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:OptionSet><w:Option Name="a" MustComply="yes">v</w:Option></w:OptionSet><a:MessageID>m</a:MessageID></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:OptionSet>o<w:Option>v</w:Option></w:OptionSet></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:OptionSet> p <w:Other/></w:OptionSet></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:OptionSet><w:Option x:Name="n" xmlns:x="urn:x">v</w:Option></w:OptionSet></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:MaxEnvelopeSize>100</w:MaxEnvelopeSize></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:MaxEnvelopeSize>x<!-- c -->1</w:MaxEnvelopeSize></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:MaxEnvelopeSize> 512<![CDATA[000]]> </w:MaxEnvelopeSize><w:OperationTimeout>PT-1S</w:OperationTimeout></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:OperationTimeout>PT0S</w:OperationTimeout></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:OperationTimeout>bad</w:OperationTimeout></s:Header><s:Body/></s:Envelope>`,
	envHead + `<a:To>a&amp;b<x>c</x>d</a:To><a:Action>q&#x20;</a:Action></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:SelectorSet><w:Selector Name="k">v</w:Selector><w:Selector Name="e"><a:EndpointReference><a:Address>x</a:Address></a:EndpointReference></w:Selector></w:SelectorSet><a:MessageID>uuid:5</a:MessageID></s:Header><s:Body><n:Enumerate xmlns:n="urn:n"/></s:Body></s:Envelope>`,
	envHead + `<w:SelectorSet><w:Other/></w:SelectorSet><w:OperationTimeout>bad</w:OperationTimeout></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:OperationTimeout>bad</w:OperationTimeout><w:SelectorSet><w:Other/></w:SelectorSet></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:SelectorSet xmlns:w="urn:not-wsman"><w:Selector/></w:SelectorSet><y:SelectorSet xmlns:y="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><y:Selector Name="n">v</y:Selector></y:SelectorSet></s:Header><s:Body/></s:Envelope>`,
	envHead + `<w:SelectorSet><w:Selector Name="a">1</w:Selector></w:SelectorSet><w:SelectorSet/></s:Header><s:Body/></s:Envelope>`,
	envHead + `<a:MessageID xmlns:a="urn:other">no</a:MessageID><b:MessageID xmlns:b="http://schemas.xmlsoap.org/ws/2004/08/addressing">yes</b:MessageID><b:Action xmlns:b="urn:x" s:mustUnderstand="true"/></s:Header><s:Body/></s:Envelope>`,
	envHead + `<a:MessageID>first</a:MessageID></s:Header><s:Header><a:MessageID>second</a:MessageID></s:Header><s:Body/></s:Envelope>`,
	envOpenTag + `<x:Header xmlns:x="urn:x"><a:MessageID>junk</a:MessageID></x:Header><s:Header><a:MessageID>real</a:MessageID></s:Header><s:Body/></s:Envelope>`,
	envOpenTag + `<s:Body/><s:Header><a:MessageID>late</a:MessageID></s:Header></s:Envelope>`,
	envOpenTag + `<s:Header><a:MessageID>m</a:MessageID></s:Header></s:Envelope>`,
	envOpenTag + `<s:Header><a:MessageID>m</a:MessageID></s:Header>text<s:Body/></s:Envelope>`,
	envOpenTag + `<s:Header><a:MessageID>m</a:MessageID><a:Action s:mustUnderstand="x"/></s:Header><s:Body/><s:Body/></s:Envelope>`,
	`<e:Envelope xmlns:e="urn:soap11" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><e:Header><a:MessageID>v</a:MessageID></e:Header><e:Body/></e:Envelope>`,
	`<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Header><MessageID xmlns="http://schemas.xmlsoap.org/ws/2004/08/addressing">d</MessageID><To xmlns="">t</To></Header><Body><Get xmlns="urn:g"><k>v</k></Get></Body></Envelope>`,
	`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header xmlns:a="urn:shadow"><a:MessageID>shadowed</a:MessageID></s:Header><s:Body/></s:Envelope>`,
	envHead + `<a:MessageID>m</a:MessageID><a:To>unclosed</s:Header><s:Body/></s:Envelope>`,
	envHead + `<a:MessageID>m</a:MessageID><a:To s:mustUnderstand="x">t</a:To></s:Header><s:Body><q:x xmlns:q="urn:q"><unbound:y/></q:x></s:Body></s:Envelope>`,
	envHead + `<a:MessageID>m</a:MessageID></s:Header><s:Body xmlns:b="urn:b"><b:Pull a:attr="1"><b:Ctx>c</b:Ctx></b:Pull><b:second/></s:Body></s:Envelope>`,
}

// envOpenTag opens an envelope, envHead its header too.
const (
	envOpenTag = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">`
	envHead    = envOpenTag + `<s:Header>`
)

// TestParseMatchesTreeParse holds Parse to the tree parse it replaced on
// every real message and fuzz input of the testdata, on the header edges,
// and on each of them cut short at every 7th byte.
func TestParseMatchesTreeParse(t *testing.T) {
	inputs := realMessages(t)
	fuzzed, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	for _, name := range fuzzed {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, corpusInputs(b)...)
	}
	for _, e := range headerEdges {
		inputs = append(inputs, []byte(e))
	}
	accepted := 0
	for _, in := range inputs {
		checkParseMatchesTree(t, in)
		if _, err := Parse(in); err == nil {
			accepted++
		}
		for i := 0; i < len(in); i += 7 {
			checkParseMatchesTree(t, in[:i])
		}
	}
	if accepted < 20 {
		t.Errorf("only %d inputs parsed: the comparison saw too few successes", accepted)
	}
}

// FuzzParseMatchesTreeParse holds Parse to the tree parse on any input.
func FuzzParseMatchesTreeParse(f *testing.F) {
	for _, m := range realMessages(f) {
		f.Add(m)
	}
	for _, e := range headerEdges {
		f.Add([]byte(e))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParseMatchesTree(t, data)
	})
}

// TestParseKeepsNoInput checks that nothing Parse returns (header, body,
// error) holds a part of the input it reads in place.
func TestParseKeepsNoInput(t *testing.T) {
	inputs := realMessages(t)
	for _, e := range headerEdges {
		inputs = append(inputs, []byte(e))
	}
	for _, in := range inputs {
		buf := bytes.Clone(in)
		env, err := Parse(buf)
		before := describeParse(env, err)
		for i := range buf {
			buf[i] = 'x'
		}
		if after := describeParse(env, err); after != before {
			t.Fatalf("overwriting the input changed the result:\nbefore %s\nafter  %s", before, after)
		}
	}
}
