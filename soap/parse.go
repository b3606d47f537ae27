package soap

import (
	"strings"

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
	doc, err := buildTree(text)
	if err != nil {
		return nil, err
	}
	env, err := fromDocument(doc)
	if err != nil {
		setMessageID(err, scanMessageID(doc.Root()))
		return nil, err
	}
	env.Encoding = enc
	return env, nil
}

// fromDocument checks the envelope's shape and decodes its header.
func fromDocument(doc *etree.Document) (*Envelope, error) {
	root := doc.Root()
	if root.Tag != "Envelope" {
		return nil, parseErr(ErrNotEnvelope, "root element is %s, not Envelope", root.FullTag())
	}
	if ns := root.NamespaceURI(); ns != NSEnvelope {
		return nil, &VersionMismatchError{Namespace: ns}
	}
	var header, body *etree.Element
	for c := range root.ChildElementsSeq() {
		switch {
		case c.NamespaceURI() == NSEnvelope && c.Tag == "Header" && header == nil && body == nil:
			header = c
		case c.NamespaceURI() == NSEnvelope && c.Tag == "Body" && body == nil:
			body = c
		default:
			return nil, parseErr(ErrNotEnvelope, "unexpected element %s in Envelope", c.FullTag())
		}
	}
	if body == nil {
		return nil, parseErr(ErrNotEnvelope, "Envelope has no Body")
	}
	for _, t := range root.Child {
		if cd, ok := t.(*etree.CharData); ok && strings.TrimSpace(cd.Data) != "" {
			return nil, parseErr(ErrNotEnvelope, "text directly inside Envelope")
		}
	}
	env := &Envelope{}
	if header != nil {
		if err := decodeHeader(header, &env.Header); err != nil {
			return nil, err
		}
	}
	for c := range body.ChildElementsSeq() {
		env.Body = c
		break
	}
	return env, nil
}

// scanMessageID returns the text of the first wsa:MessageID in a Header
// child of root, whatever the envelope's namespace, or "". It reads the
// MessageID of a request Parse refuses, for the fault's wsa:RelatesTo.
func scanMessageID(root *etree.Element) string {
	if root == nil {
		return ""
	}
	for h := range root.ChildElementsSeq() {
		if h.Tag != "Header" {
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
