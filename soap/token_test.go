package soap

import (
	"errors"
	"testing"

	"github.com/beevik/etree"
)

// treeFromTokens builds an etree document from ReadTokens' tokens, as
// buildTree would, so that the two can be compared.
func treeFromTokens(data []byte) (*etree.Document, error) {
	doc := etree.NewDocument()
	doc.Child = make([]etree.Token, 0)
	open := []*etree.Element{&doc.Element}
	err := ReadTokens(data, func(t Token) error {
		top := open[len(open)-1]
		switch t.Kind {
		case StartToken:
			e := &etree.Element{Space: t.Prefix, Tag: t.Local, Attr: make([]etree.Attr, 0), Child: make([]etree.Token, 0)}
			for _, a := range t.Attr {
				e.CreateAttr(fullTag(a.Prefix, a.Local), a.Value)
			}
			top.AddChild(e)
			open = append(open, e)
		case EndToken:
			if top.Space != t.Prefix || top.Tag != t.Local {
				return errors.New("end token does not match its start")
			}
			open = open[:len(open)-1]
		case TextToken:
			top.AddChild(&etree.CharData{Data: t.Text})
		default:
			return errors.New("token of no kind")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(open) != 1 {
		return nil, errors.New("elements left open")
	}
	return doc, nil
}

// checkTokensAgainstTree fails t unless ReadTokens and ParseXML give the
// same error, or the same tree.
func checkTokensAgainstTree(t *testing.T, data []byte) {
	t.Helper()
	got, gotErr := treeFromTokens(data)
	want, wantErr := ParseXML(data)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("ReadTokens: %v, ParseXML: %v\ninput %q", gotErr, wantErr, data)
	}
	if wantErr != nil {
		return
	}
	if d := sameTree(&got.Element, &want.Element, ""); d != "" {
		t.Fatalf("tokens differ from the tree: %s\ninput %q", d, data)
	}
}

// TestReadTokensMatchesTree checks the tokens of every real message and
// fuzz input of the soap, wsman and cimxml testdata, and of a few corners
// (attributes etree merges, text split by comments and CDATA, errors at the
// end of the input), against ParseXML's tree.
func TestReadTokensMatchesTree(t *testing.T) {
	msgs := realMessages(t)
	for _, s := range []string{
		`<a :x="1" x="2" xmlns="u" :xmlns="v"><b>t<!--c-->u<![CDATA[v]]><c/>w</b></a>`,
		`<a><b></a>`, `<a>`, `<a/><b/>`, `<a x="1" x="2"/>`, `<p:a/>`, `<a xmlns:p=""/>`, `<a>&bad;</a>`, "\xff",
		// End tags: as opened, or not quite.
		`<:a></:a>`, `<a:></a:>`, `<p:a xmlns:p="u"></p:a >`, `<p:a xmlns:p="u"></p:a>`, `<a></a`, `<a></ab>`, `<ab></a>`,
		`<é></é>`, `<a></A>`, `<a><b></b></a>`,
	} {
		msgs = append(msgs, []byte(s))
	}
	for _, m := range msgs {
		checkTokensAgainstTree(t, m)
	}
}

// FuzzReadTokensMatchesTree checks that ReadTokens refuses what ParseXML
// refuses, with the same error, and hands on the tree ParseXML builds.
func FuzzReadTokensMatchesTree(f *testing.F) {
	for _, m := range realMessages(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkTokensAgainstTree(t, data)
	})
}
