package soaptest

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/soap"
)

// Blank is the text that replaces the value of a volatile element.
const Blank = "…"

// Canonical parses xml (UTF-8 or UTF-16 with a BOM) and writes it back in a
// form that compares well in golden files: one element per line indented
// by two spaces, attributes (namespace declarations included) sorted, text
// trimmed, white-space-only text, comments and the XML declaration dropped.
// The text of every element whose local name is in volatile (e.g.
// "MessageID", "EnumerationContext") becomes [Blank].
func Canonical(xml []byte, volatile ...string) (string, error) {
	text, _, err := soap.DecodeText(xml)
	if err != nil {
		return "", fmt.Errorf("soaptest: canonical: %w", err)
	}
	doc := etree.NewDocument()
	doc.ReadSettings.CharsetReader = passThrough
	if err := doc.ReadFromBytes(text); err != nil {
		return "", fmt.Errorf("soaptest: canonical: %w", err)
	}
	root := doc.Root()
	if root == nil {
		return "", fmt.Errorf("soaptest: canonical: no root element")
	}
	out := etree.NewDocument()
	out.SetRoot(normalise(root, volatile))
	out.Indent(2)
	s, err := out.WriteToString()
	if err != nil {
		return "", fmt.Errorf("soaptest: canonical: %w", err)
	}
	return s, nil
}

func passThrough(_ string, r io.Reader) (io.Reader, error) { return r, nil }

// normalise returns a copy of e with sorted attributes, trimmed text and
// volatile values blanked.
func normalise(e *etree.Element, volatile []string) *etree.Element {
	c := etree.NewElement(e.FullTag())
	attrs := slices.Clone(e.Attr)
	slices.SortFunc(attrs, func(a, b etree.Attr) int {
		return strings.Compare(a.FullKey(), b.FullKey())
	})
	for _, a := range attrs {
		c.CreateAttr(a.FullKey(), a.Value)
	}
	var text strings.Builder
	for _, t := range e.Child {
		switch t := t.(type) {
		case *etree.CharData:
			text.WriteString(t.Data)
		case *etree.Element:
			c.AddChild(normalise(t, volatile))
		}
	}
	if s := strings.TrimSpace(text.String()); s != "" {
		if slices.Contains(volatile, e.Tag) {
			s = Blank
		}
		c.SetText(s)
	} else if slices.Contains(volatile, e.Tag) && len(e.ChildElements()) == 0 {
		c.SetText(Blank)
	}
	return c
}

// Diff returns a line diff of got against want, empty when they are equal.
// Lines only in want start with "-", lines only in got with "+", common
// lines with a space.
func Diff(got, want string) string {
	if got == want {
		return ""
	}
	a := strings.Split(want, "\n")
	b := strings.Split(got, "\n")
	// lcs[i][j] is the length of the longest common subsequence of a[i:]
	// and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var sb strings.Builder
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			sb.WriteString("  " + a[i] + "\n")
			i++
			j++
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			sb.WriteString("- " + a[i] + "\n")
			i++
		default:
			sb.WriteString("+ " + b[j] + "\n")
			j++
		}
	}
	return sb.String()
}
