package soap

import "unsafe"

// TokenKind says what a [Token] is.
type TokenKind uint8

// The kinds of token ReadTokens hands on.
const (
	// StartToken is an element's start tag.
	StartToken TokenKind = iota + 1
	// EndToken is an element's end tag (also after an empty-element tag).
	EndToken
	// TextToken is character data inside an element: text with its
	// entities replaced and line ends folded, or a CDATA section. Comments
	// are dropped, so text may come in several tokens in a row.
	TextToken
)

// Token is one element start, element end or run of text of a document read
// by [ReadTokens]. Names are split at their first colon, as etree splits
// them (the split [Parse]'s tree has).
type Token struct {
	Kind TokenKind
	// Prefix and Local are the element's name (StartToken, EndToken).
	Prefix, Local string
	// Attr are the start tag's attributes, namespace declarations included,
	// as etree keeps them: in order, and an attribute whose split name
	// repeats an earlier one's replacing that one's value. The slice is
	// reused for the next token.
	Attr []TokenAttr
	// Text is the character data of a TextToken.
	Text string
}

// TokenAttr is one attribute of a start tag.
type TokenAttr struct {
	Prefix, Local, Value string
}

// ReadTokens reads data (UTF-8 or UTF-16) with the strict reader and limits
// of [ParseXML] and hands each element start, element end and run of text
// inside the root element to fn, in document order; no tree is built. It
// stops at the first error, fn's or the reader's, and returns it; for a
// document ParseXML refuses, that is ParseXML's error, unless fn failed
// first. Text outside the root element is checked, not handed on.
//
// The strings of a token are substrings of data (or of its UTF-8 form) or
// fresh copies: they stay valid after ReadTokens returns as long as data is
// not modified. A token's Attr slice is reused for the next start tag.
func ReadTokens(data []byte, fn func(Token) error) error {
	text, _, err := DecodeText(data)
	if err != nil {
		return err
	}
	p := scanners.Get().(*scanner)
	defer p.release()
	p.s = unsafe.String(unsafe.SliceData(text), len(text))
	p.emit = fn
	_, err = p.document()
	return err
}

// startToken opens the element of a start tag the scanner has read and
// checked (see startTag) and hands its token on.
func (p *scanner) startToken(space, tag, xmlSpace, xmlLocal, name string, at, prefixes int, empty bool) error {
	attrs := p.keptAttrs()
	o := p.push()
	o.e, o.space, o.tag, o.name, o.end, o.kids, o.prefixes = nil, space, tag, at, at+len(name), len(p.kids), prefixes
	if err := p.emit(Token{Kind: StartToken, Prefix: space, Local: tag, Attr: attrs}); err != nil {
		return err
	}
	if empty {
		return p.closeElement(xmlSpace, xmlLocal, name)
	}
	return nil
}

// push opens an element in p.open and returns it, to be filled in. The
// fields are set one by one: appending a whole struct copies it with the
// bulk write barrier, a cost per element while the GC marks.
func (p *scanner) push() *openElement {
	n := len(p.open)
	if n < cap(p.open) {
		p.open = p.open[:n+1]
	} else {
		p.open = append(p.open, openElement{})
	}
	return &p.open[n]
}

// fullTag is an element's qualified name as etree's FullTag writes it.
func fullTag(space, tag string) string {
	if space == "" {
		return tag
	}
	return space + ":" + tag
}
