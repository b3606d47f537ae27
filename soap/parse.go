package soap

import (
	"strings"
	"unsafe"

	"github.com/beevik/etree"
)

// Limits Parse puts on a message. A WinRM envelope is at most a few hundred
// kilobytes (MaxEnvelopeSize defaults to 500 KiB); CIM instances with
// embedded references nest a dozen levels.
const (
	// MaxDepth is the deepest element nesting Parse accepts; the Envelope
	// element is at depth 1.
	MaxDepth = 128
	// MaxElements is the largest number of elements Parse accepts in one
	// message.
	MaxElements = 100000
	// MaxAttributes is the most attributes (namespace declarations included)
	// Parse accepts on one element. Real envelopes carry a dozen at most; the
	// bound keeps the duplicate and prefix checks cheap.
	MaxAttributes = 64
)

// Envelope is a decoded SOAP 1.2 message.
type Envelope struct {
	// Header holds the decoded addressing and WS-Management headers; it is
	// the zero Header when the message has no s:Header.
	Header Header
	// Body is the first element child of s:Body, or nil if the body is
	// empty. It stays attached to its document, so namespace prefixes
	// declared on the envelope resolve with NamespaceURI.
	Body *etree.Element
	// Encoding is the encoding the message arrived in; answer in it.
	Encoding Encoding
}

// Parse decodes one SOAP 1.2 envelope. It detects UTF-8 or UTF-16 from the
// byte order mark (or, without one, from the UTF-16 form of the leading
// "<"), accepts an XML declaration naming UTF-8 or UTF-16, and refuses DTDs,
// entity declarations, processing instructions, unbound prefixes, duplicate
// attributes, more than [MaxDepth] levels and more than [MaxElements]
// elements.
//
// Errors: [*VersionMismatchError] for an Envelope in another namespace,
// [*MustUnderstandError] for a mandatory header this package does not
// process, [*ParseError] for everything else. Parse is safe for concurrent
// use.
func Parse(data []byte) (*Envelope, error) {
	text, enc, err := DecodeText(data)
	if err != nil {
		return nil, err
	}
	p := scanners.Get().(*scanner)
	defer p.release()
	// p.s views text without a copy (see buildTree); the header keeps
	// copies of what it decodes (TestParseKeepsNoInput).
	p.s = unsafe.String(unsafe.SliceData(text), len(text))
	env := &Envelope{Encoding: enc}
	p.envBuf.reset(&env.Header)
	p.env = &p.envBuf
	doc, err := p.document()
	if err != nil {
		return nil, err
	}
	if err := fromDocument(doc, p.env, env); err != nil {
		setMessageID(err, scanMessageID(doc.Root(), p.env))
		return nil, err
	}
	return env, nil
}

// fromDocument checks the envelope's shape, decodes its header into env
// (or, when v read the header, takes v's outcome) and sets env.Body.
func fromDocument(doc *etree.Document, v *envelopeScan, env *Envelope) error {
	root := doc.Root()
	if root.Tag != "Envelope" {
		return parseErr(ErrNotEnvelope, "root element is %s, not Envelope", root.FullTag())
	}
	if ns := root.NamespaceURI(); ns != NSEnvelope {
		return &VersionMismatchError{Namespace: ns}
	}
	var header, body *etree.Element
	for c := range root.ChildElementsSeq() {
		switch {
		case c.NamespaceURI() == NSEnvelope && c.Tag == "Header" && header == nil && body == nil:
			header = c
		case c.NamespaceURI() == NSEnvelope && c.Tag == "Body" && body == nil:
			body = c
		default:
			return parseErr(ErrNotEnvelope, "unexpected element %s in Envelope", c.FullTag())
		}
	}
	if body == nil {
		return parseErr(ErrNotEnvelope, "Envelope has no Body")
	}
	for _, t := range root.Child {
		if cd, ok := t.(*etree.CharData); ok && strings.TrimSpace(cd.Data) != "" {
			return parseErr(ErrNotEnvelope, "text directly inside Envelope")
		}
	}
	if header != nil {
		var err error
		if v != nil && header == v.header {
			err = v.finish()
		} else {
			err = decodeHeader(header, &env.Header)
		}
		if err != nil {
			return err
		}
	}
	for c := range body.ChildElementsSeq() {
		env.Body = c
		break
	}
	return nil
}

// scanMessageID returns the text of the first wsa:MessageID in a Header
// child of root, whatever the envelope's namespace, or "". It reads the
// MessageID of a request Parse refuses, for the fault's wsa:RelatesTo.
//
// The header v read has no children in the tree (but a SelectorSet): its
// MessageID is the one v met.
func scanMessageID(root *etree.Element, v *envelopeScan) string {
	if root == nil {
		return ""
	}
	for h := range root.ChildElementsSeq() {
		if h.Tag != "Header" {
			continue
		}
		if v != nil && h == v.header {
			if v.msgIDFound {
				return v.msgID
			}
			continue
		}
		for c := range h.ChildElementsSeq() {
			if c.Tag == "MessageID" && c.NamespaceURI() == NSAddressing {
				return text(c)
			}
		}
	}
	return ""
}
