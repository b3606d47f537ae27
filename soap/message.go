package soap

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"
	"github.com/google/uuid"
)

// defaultLang is the xml:lang Windows writes on replies when the request
// names no locale.
const defaultLang = "en-US"

// Message is an outgoing envelope under construction. It is not safe for
// concurrent use.
type Message struct {
	doc    *etree.Document
	env    *etree.Element
	header *etree.Element
	body   *etree.Element
	id     string
	next   int // counter for prefixes of namespaces Prefixes does not name
}

// NewResponse starts a reply to req with the addressing headers Windows
// writes, in its order: wsa:Action=action, a fresh wsa:MessageID
// "uuid:<UPPER-CASE uuid>", wsa:To anonymous, and wsa:RelatesTo the
// request's MessageID (omitted when req is nil or has none). The Envelope
// carries xml:lang (the request's wsman:Locale, else en-US) and declares the
// s, a and w prefixes; [Message.NS] declares others as they are used.
func NewResponse(req *Header, action string) *Message {
	lang := defaultLang
	if req != nil && req.Locale != "" {
		lang = req.Locale
	}
	m := &Message{doc: etree.NewDocument()}
	m.env = m.doc.CreateElement("s:Envelope")
	m.env.CreateAttr("xml:lang", lang)
	for _, ns := range []string{NSEnvelope, NSAddressing, NSWSMan} {
		m.env.CreateAttr("xmlns:"+prefixFor(ns), ns)
	}
	m.header = m.env.CreateElement("s:Header")
	m.body = m.env.CreateElement("s:Body")
	m.id = "uuid:" + strings.ToUpper(uuid.NewString())

	m.header.CreateElement("a:Action").SetText(action)
	m.header.CreateElement("a:MessageID").SetText(m.id)
	m.header.CreateElement("a:To").SetText(AddressAnonymous)
	if req != nil && req.MessageID != "" {
		m.header.CreateElement("a:RelatesTo").SetText(req.MessageID)
	}
	return m
}

// Header returns the s:Header element, to which callers may append headers.
func (m *Message) Header() *etree.Element { return m.header }

// Body returns the s:Body element; callers append the payload to it.
func (m *Message) Body() *etree.Element { return m.body }

// Document returns the whole document, for callers that need to walk it.
func (m *Message) Document() *etree.Document { return m.doc }

// MessageID returns the reply's wsa:MessageID, e.g. for logging next to the
// request's.
func (m *Message) MessageID() string { return m.id }

// NS returns the prefix-qualified name "p:local" for the namespace ns and
// declares the prefix on the Envelope if it is not declared yet. Namespaces
// listed in [Prefixes] get Windows' prefix; others get ns1, ns2, ... The XML
// namespace always gets "xml", and the empty namespace no prefix.
func (m *Message) NS(ns, local string) string {
	switch ns {
	case "":
		return local
	case NSXML:
		return "xml:" + local
	}
	for _, a := range m.env.Attr {
		if a.Space == "xmlns" && a.Value == ns {
			return a.Key + ":" + local
		}
	}
	p := prefixFor(ns)
	if p == "" || m.env.SelectAttr("xmlns:"+p) != nil {
		for {
			m.next++
			p = fmt.Sprintf("ns%d", m.next)
			if m.env.SelectAttr("xmlns:"+p) == nil {
				break
			}
		}
	}
	m.env.CreateAttr("xmlns:"+p, ns)
	return p + ":" + local
}

// Bytes serialises the message in enc: UTF-8 without a declaration or BOM,
// UTF-16 with a byte order mark. Text and attribute values are escaped by
// etree; callers must not put characters XML cannot carry (such as NUL)
// into the tree.
func (m *Message) Bytes(enc Encoding) ([]byte, error) {
	text, err := m.doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("soap: serialise message: %w", err)
	}
	return encodeText(text, enc)
}
