package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"
)

// refBuildTree is the reader buildTree replaced (soap/parse.go until
// 2026-12-04), kept as the reference of FuzzBuildTreeMatchesReference. It
// reads text into an etree document with Parse's limits. It uses encoding/xml's strict tokenizer (which checks characters, names,
// entity references and attribute syntax) and checks tag matching, prefix
// bindings and duplicate attributes itself.
func refBuildTree(text []byte) (*etree.Document, error) {
	dec := xml.NewDecoder(bytes.NewReader(text))
	dec.Strict = true
	dec.CharsetReader = charsetReader

	doc := etree.NewDocument()
	stack := []*etree.Element{&doc.Element}
	elements := 0
	sawRoot := false
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, ErrEncoding) {
				return nil, parseErrWrap(ErrEncoding, err, "unsupported encoding")
			}
			return nil, parseErrWrap(ErrMalformed, err, "malformed XML")
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 1 && sawRoot {
				return nil, parseErr(ErrMalformed, "more than one root element")
			}
			sawRoot = true
			elements++
			if elements > MaxElements {
				return nil, parseErr(ErrTooManyElements, "more than %d elements", MaxElements)
			}
			if len(stack) > MaxDepth {
				return nil, parseErr(ErrTooDeep, "elements nested deeper than %d", MaxDepth)
			}
			e, err := refNewElement(top, t)
			if err != nil {
				return nil, err
			}
			stack = append(stack, e)
		case xml.EndElement:
			if len(stack) == 1 || top.Space != t.Name.Space || top.Tag != t.Name.Local {
				return nil, parseErr(ErrMalformed, "unexpected end tag %s", refQualified(t.Name))
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 1 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, parseErr(ErrMalformed, "text outside the root element")
				}
				continue
			}
			top.CreateText(string(t))
		case xml.Comment:
			// Comments carry no meaning in SOAP; drop them.
		case xml.ProcInst:
			if t.Target != "xml" || sawRoot || elements > 0 {
				return nil, parseErr(ErrProcInst, "processing instruction %q", t.Target)
			}
		case xml.Directive:
			return nil, parseErr(ErrDTD, "directive <!%.20s...>", string(t))
		}
	}
	if len(stack) != 1 {
		return nil, parseErr(ErrMalformed, "unexpected end of input inside %s", stack[len(stack)-1].FullTag())
	}
	if !sawRoot {
		return nil, parseErr(ErrMalformed, "no root element")
	}
	return doc, nil
}

// newElement creates the element for t under parent, refusing duplicate
// attributes and prefixes bound nowhere.
func refNewElement(parent *etree.Element, t xml.StartElement) (*etree.Element, error) {
	if len(t.Attr) > MaxAttributes {
		return nil, parseErr(ErrTooManyAttributes, "%d attributes on %s, more than %d", len(t.Attr), refQualified(t.Name), MaxAttributes)
	}
	e := parent.CreateElement(refQualified(t.Name))
	for i, a := range t.Attr {
		for _, b := range t.Attr[:i] {
			if a.Name == b.Name {
				return nil, parseErr(ErrMalformed, "duplicate attribute %s on %s", refQualified(a.Name), refQualified(t.Name))
			}
		}
		if a.Name.Space == "xmlns" && a.Value == "" {
			return nil, parseErr(ErrMalformed, "prefix %s bound to the empty namespace", a.Name.Local)
		}
		e.CreateAttr(refQualified(a.Name), a.Value)
	}
	if !refBound(e, t.Name.Space) {
		return nil, parseErr(ErrMalformed, "unbound prefix %q on element %s", t.Name.Space, refQualified(t.Name))
	}
	for _, a := range t.Attr {
		if a.Name.Space != "" && a.Name.Space != "xmlns" && !refBound(e, a.Name.Space) {
			return nil, parseErr(ErrMalformed, "unbound prefix %q on attribute %s", a.Name.Space, refQualified(a.Name))
		}
	}
	return e, nil
}

func refBound(e *etree.Element, prefix string) bool {
	if prefix == "" || prefix == "xml" {
		return true
	}
	for p := e; p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return true
			}
		}
	}
	return false
}

func refQualified(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// parseSentinels are the kinds of error buildTree and refBuildTree return.
var parseSentinels = []error{ErrMalformed, ErrEncoding, ErrDTD, ErrProcInst, ErrTooDeep, ErrTooManyElements, ErrTooManyAttributes}

// errorKind names the sentinel err wraps, or err itself if none.
func errorKind(err error) string {
	if err == nil {
		return "nil"
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		return "not a *ParseError: " + err.Error()
	}
	for _, s := range parseSentinels {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "unknown sentinel: " + err.Error()
}

// sameTree reports the first difference between two etree elements and
// their subtrees (names, attributes with their namespaces, text, parents
// and indexes), or "".
func sameTree(got, want *etree.Element, path string) string {
	if got.Space != want.Space || got.Tag != want.Tag {
		return path + ": element " + got.FullTag() + ", want " + want.FullTag()
	}
	path += "/" + want.FullTag()
	if got.NamespaceURI() != want.NamespaceURI() {
		return path + ": namespace " + strconv.Quote(got.NamespaceURI()) + ", want " + strconv.Quote(want.NamespaceURI())
	}
	if len(got.Attr) != len(want.Attr) {
		return path + ": " + strconv.Itoa(len(got.Attr)) + " attributes, want " + strconv.Itoa(len(want.Attr))
	}
	for i, a := range want.Attr {
		g := got.Attr[i]
		if g.Space != a.Space || g.Key != a.Key || g.Value != a.Value || g.NamespaceURI() != a.NamespaceURI() || g.Element() != got {
			return path + ": attribute " + strconv.Quote(g.FullKey()+"="+g.Value) + ", want " + strconv.Quote(a.FullKey()+"="+a.Value)
		}
	}
	if len(got.Child) != len(want.Child) {
		return path + ": " + strconv.Itoa(len(got.Child)) + " children, want " + strconv.Itoa(len(want.Child))
	}
	for i, w := range want.Child {
		g := got.Child[i]
		if g.Parent() != got || g.Index() != i {
			return path + ": child " + strconv.Itoa(i) + " has the wrong parent or index"
		}
		switch w := w.(type) {
		case *etree.Element:
			ge, ok := g.(*etree.Element)
			if !ok {
				return path + ": child " + strconv.Itoa(i) + " is not an element"
			}
			if d := sameTree(ge, w, path); d != "" {
				return d
			}
		case *etree.CharData:
			gc, ok := g.(*etree.CharData)
			if !ok {
				return path + ": child " + strconv.Itoa(i) + " is not text"
			}
			if gc.Data != w.Data || gc.IsCData() != w.IsCData() || gc.IsWhitespace() != w.IsWhitespace() {
				return path + ": text " + strconv.Quote(gc.Data) + ", want " + strconv.Quote(w.Data)
			}
		default:
			return path + ": the reference has a child that is neither element nor text"
		}
	}
	return ""
}

// checkAgainstReference fails t if buildTree and refBuildTree disagree on
// text: both accept it with the same tree, or both refuse it with the same
// kind of error.
func checkAgainstReference(t *testing.T, text []byte) {
	t.Helper()
	got, gotErr := buildTree(text)
	want, wantErr := refBuildTree(text)
	if g, w := errorKind(gotErr), errorKind(wantErr); g != w {
		t.Fatalf("buildTree error kind %s (%v), reference %s (%v)\ninput %q", g, gotErr, w, wantErr, text)
	}
	if wantErr != nil {
		return
	}
	if d := sameTree(&got.Element, &want.Element, ""); d != "" {
		t.Fatalf("tree differs from the reference: %s\ninput %q", d, text)
	}
	// Parse decodes the same header and body from either tree.
	gotEnv, wantEnv := &Envelope{}, &Envelope{}
	gotErr = fromDocument(got, nil, gotEnv)
	wantErr = fromDocument(want, nil, wantEnv)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("fromDocument: %v, reference %v", gotErr, wantErr)
	}
	if gotErr == nil && (gotEnv.Header.Action != wantEnv.Header.Action || gotEnv.Header.MessageID != wantEnv.Header.MessageID || len(gotEnv.Header.Selectors) != len(wantEnv.Header.Selectors)) {
		t.Fatalf("header %+v, reference %+v", gotEnv.Header, wantEnv.Header)
	}
}

// realMessages returns every XML message under the testdata of soap, wsman
// and cimxml, and the inputs of their fuzz corpora.
func realMessages(tb testing.TB) [][]byte {
	var out [][]byte
	for _, dir := range []string{"testdata", "../wsman/testdata", "../cimxml/testdata"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if strings.Contains(filepath.ToSlash(path), "/fuzz/") {
				out = append(out, corpusInputs(b)...)
				return nil
			}
			if strings.HasSuffix(path, ".xml") {
				out = append(out, b)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// corpusInputs returns the []byte and string values of a Go fuzz corpus
// file.
func corpusInputs(b []byte) [][]byte {
	var out [][]byte
	for _, line := range strings.Split(string(b), "\n") {
		for _, kind := range []string{"[]byte(", "string("} {
			if v, ok := strings.CutPrefix(line, kind); ok {
				if s, err := strconv.Unquote(strings.TrimSuffix(v, ")")); err == nil {
					out = append(out, []byte(s))
				}
			}
		}
	}
	return out
}

// TestBuildTreeMatchesReferenceOnRealMessages checks the scanner against
// encoding/xml's reader on every real message and fuzz input of the soap,
// wsman and cimxml testdata, in UTF-8 (and from UTF-16 where they are).
func TestBuildTreeMatchesReferenceOnRealMessages(t *testing.T) {
	msgs := realMessages(t)
	if len(msgs) < 50 {
		t.Fatalf("found %d messages, want the testdata's", len(msgs))
	}
	accepted := 0
	for _, m := range msgs {
		text, _, err := DecodeText(m)
		if err != nil {
			continue
		}
		checkAgainstReference(t, text)
		if _, err := refBuildTree(text); err == nil {
			accepted++
		}
	}
	if accepted < 40 {
		t.Errorf("the reference accepted %d of %d messages, want most", accepted, len(msgs))
	}
}

// TestBuildTreeMatchesReferenceOnEdges checks the corners of XML syntax
// where a hand-written reader most easily differs from encoding/xml's.
func TestBuildTreeMatchesReferenceOnEdges(t *testing.T) {
	const ns = ` xmlns:s="http://www.w3.org/2003/05/soap-envelope"`
	edges := []string{
		`<a>x&lt;&gt;&amp;&apos;&quot;y</a>`, `<a>&#65;&#x42;&#x1F600;&#xD800;</a>`, `<a>&#0;</a>`, `<a>&#xFFFE;</a>`,
		`<a>&#x110000;</a>`, `<a>&#;</a>`, `<a>&#x;</a>`, `<a>&#X41;</a>`, `<a>&nope;</a>`, `<a>&lt</a>`, `<a>&`, `<a>&#99999999999999999999;</a>`,
		"<a>a\r\nb\rc\r\r\nd</a>", "<a x='a\r\nb'/>", "<a><![CDATA[x\r\n]]]></a>", `<a><![CDATA[]]></a>`, `<a><![CDATA[<&>]]></a>`,
		`<a>]]></a>`, `<a>]]&gt;</a>`, `<a x="]]>"/>`, `<a x="<"/>`, `<a x=1/>`, `<a x/>`, `<a x="1"y="2"/>`, `<a x = "1" />`,
		`<a/ >`, `<a></a >`, `<a></ a>`, `<:a/>`, `<a:/>`, `<a:b:c/>`, `<a :x="1" x="2"/>`, `<a xmlns:="u"/>`, `<a xmlns:p=""/>`,
		`<p:a xmlns:p="u"><p:b/></p:a>`, `<p:a/>`, `<a p:x="1"/>`, `<a xmlns:p="u" p:x="1" p:x="2"/>`, `<xml:a/>`, `<a xml:lang="en"/>`,
		`<a>` + "\x01" + `</a>`, "<a>\uFFFE</a>", "<a>\uFFFF</a>", "<a x='\x7f\uFFFD'/>", `<é/>`, `<aé/>`, `<a·/>`, `<·a/>`, `<a>`, `</a>`, `<a></b>`,
		`<a/><b/>`, `<a/>x`, ` <a/> `, "\u00a0<a/>", `<a/>&#32;`, `<a/>&#65;`, `<a/><![CDATA[ ]]>`,
		`<!-- c --><a><!----></a>`, `<a><!-- a -- b --></a>`, `<a><!---></a>`, `<a><!-x--></a>`, `<!--`, `<a><!--x--`,
		`<?xml version="1.0"?><a/>`, `<?xml version="1.1"?><a/>`, `<?xml encoding="UTF-16"?><a/>`, `<?xml encoding="latin1"?><a/>`,
		`<a/><?xml version="1.0"?>`, `<a><?xml?></a>`, `<?php x?><a/>`, `<?XML?><a/>`, `<??><a/>`, `<?xml`, `<?xml ?`, `<?xml version='1.0' encoding='utf-8'?><a/>`,
		`<!DOCTYPE a><a/>`, `<!DOCTYPE a [<!ENTITY x "y">]><a/>`, `<!DOCTYPE a [<!-- > -->]><a/>`, `<!DOCTYPE a "x>"><a/>`, `<!DOCTYPE`, `<!>`, `<!a<b>`,
		`<![CDATX[x]]><a/>`, `<a><![CDATA[x`, `<`, `<a`, `<a x`, `<a x=`, `<a x="`, `<a x="1"`, `<a/`, ``, ` `, `x`,
		"<a>\n\t\t<b/>  <c/>\n    <d/>\t</a>", "<a> \t </a>", "<a>\n\n</a>", "<a>" + strings.Repeat(" ", 64) + "</a>", "<a>\n" + strings.Repeat("\t", 15) + "</a>",
		"<a>\n" + strings.Repeat("\t", 16) + "</a>", `<a x="true" y=" " z="http://www.w3.org/2003/05/soap-envelope">Body</a>`,
		`<s:Envelope` + ns + `><s:Body/></s:Envelope>`, `<s:Envelope` + ns + `><s:Header/><s:Body/></s:Envelope>`,
	}
	for _, e := range edges {
		t.Run(strconv.Quote(e), func(t *testing.T) { checkAgainstReference(t, []byte(e)) })
	}
}

// FuzzBuildTreeMatchesReference checks that the scanner accepts what
// encoding/xml's reader accepted, with the same tree, and refuses what it
// refused, with the same kind of error. Seeded with every real message and
// fuzz input of the soap, wsman and cimxml testdata.
func FuzzBuildTreeMatchesReference(f *testing.F) {
	for _, m := range realMessages(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		text, _, err := DecodeText(data)
		if err != nil {
			return
		}
		checkAgainstReference(t, text)
	})
}

// TestTreeKeepsNoInput checks that neither the tree, nor the decoded
// header, nor an error holds a part of the input: buildTree reads the
// caller's bytes in place, so each is rendered, the input overwritten, and
// each rendered again.
func TestTreeKeepsNoInput(t *testing.T) {
	render := func(doc *etree.Document, env *Envelope, err error) string {
		if err != nil {
			return err.Error()
		}
		s, werr := doc.WriteToString()
		if werr != nil {
			t.Fatal(werr)
		}
		if env != nil {
			s += fmt.Sprintf("%+v", env.Header)
		}
		return s
	}
	msgs := append(realMessages(t), []byte(`<a x="1"><b:c/></a>`), []byte(`<a><![CDATA[x]]>&amp;</a><b/>`), []byte(`<a><é/></a>`))
	for _, m := range msgs {
		text, _, err := DecodeText(m)
		if err != nil {
			continue
		}
		buf := bytes.Clone(text)
		doc, err := buildTree(buf)
		var env *Envelope
		if err == nil {
			if e := (&Envelope{}); fromDocument(doc, nil, e) == nil {
				env = e
			}
		}
		before := render(doc, env, err)
		for i := range buf {
			buf[i] = 'x'
		}
		if after := render(doc, env, err); after != before {
			t.Fatalf("overwriting the input changed the result:\nbefore %s\nafter  %s", before, after)
		}
	}
}

// TestBuildTreeConcurrent checks that parses running at once (sharing the
// scanner pool) build the trees a lone parse builds; run it with -race.
func TestBuildTreeConcurrent(t *testing.T) {
	var texts [][]byte
	var want []string
	for _, m := range realMessages(t) {
		text, _, err := DecodeText(m)
		if err != nil {
			continue
		}
		doc, err := buildTree(text)
		if err != nil {
			continue
		}
		s, err := doc.WriteToString()
		if err != nil {
			t.Fatal(err)
		}
		texts, want = append(texts, text), append(want, s)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 20 {
				i := (g*7 + round) % len(texts)
				doc, err := buildTree(texts[i])
				if err != nil {
					errs <- err.Error()
					return
				}
				if s, _ := doc.WriteToString(); s != want[i] {
					errs <- "tree differs from a lone parse:\n" + s + "\nwant\n" + want[i]
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// TestScannerReleaseKeepsNothing checks that a scanner goes back to the
// pool holding nothing of the tree or the input: release clears each
// scratch slice up to the longest it was in the parse, not its capacity,
// and every entry must be zero.
func TestScannerReleaseKeepsNothing(t *testing.T) {
	deep := `<a xmlns:p="u" x="1" p:y="2"><b z="3">` + strings.Repeat(`<c q="1" r="2" s="3">t<d/></c>`, 40) + `<e><f><g><h>x</h></g></f></e></b>u</a>`
	for _, doc := range []string{deep, `<a><b x="1">` + "t\r\n" + `</b></a`, `<a xmlns:p="u"><p:b/><c/></a>`} {
		p := scanners.Get().(*scanner)
		p.s = doc
		p.document() //nolint:errcheck // the errors do not matter, the scratch does
		p.release()
		q := scanners.Get().(*scanner) // p, unless the pool dropped it
		for i, o := range q.open[:cap(q.open)] {
			if o != (openElement{}) {
				t.Fatalf("open[%d] holds %+v after release", i, o)
			}
		}
		for i, k := range q.kids[:cap(q.kids)] {
			if k != nil {
				t.Fatalf("kids[%d] holds %v after release", i, k)
			}
		}
		for i, s := range q.prefixes[:cap(q.prefixes)] {
			if s != "" {
				t.Fatalf("prefixes[%d] holds %q after release", i, s)
			}
		}
		for i, a := range q.tag[:cap(q.tag)] {
			if a != (rawAttr{}) {
				t.Fatalf("tag[%d] holds %+v after release", i, a)
			}
		}
		if q.s != "" || q.elems != nil || q.texts != nil || q.attrs != nil || q.toks != nil {
			t.Fatal("the scanner holds the input or the tree's arrays after release")
		}
		scanners.Put(q)
	}
}
