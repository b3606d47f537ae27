package soap_test

import (
	"testing"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/soap"
)

// FuzzAppendEscaped checks that AppendEscaped writes text and attribute
// values exactly as etree does (the replies' escaping before the direct
// encoder): the XML-special characters, white space, characters XML cannot
// carry and invalid UTF-8.
func FuzzAppendEscaped(f *testing.F) {
	for _, s := range []string{"", "plain", `a&b<c>d'e"f`, "tab\tnl\ncr\r", "nul\x00bell\x07", "\xff\xfe bad", "é中😀", "\uFFFD\uFFFE\uFFFF", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := etree.NewElement("e")
		e.CreateAttr("v", s)
		e.SetText(s)
		doc := etree.NewDocument()
		doc.SetRoot(e)
		want, err := doc.WriteToString()
		if err != nil {
			t.Fatal(err)
		}
		got := `<e v="` + string(soap.AppendEscaped(nil, s)) + `"`
		if s == "" {
			got += "/>"
		} else {
			got += ">" + string(soap.AppendEscaped(nil, s)) + "</e>"
		}
		if got != want {
			t.Errorf("AppendEscaped(%q):\ngot  %q\nwant %q", s, got, want)
		}
	})
}
