package soap

import (
	"fmt"
	"math"
	"sync"

	"github.com/beevik/etree"
	"github.com/google/uuid"
)

// defaultLang is the xml:lang Windows writes on replies when the request
// names no locale.
const defaultLang = "en-US"

// Message is an outgoing envelope under construction. Its envelope and
// addressing headers are written as text when it is serialised; the body
// is what [Message.SetBody] writes directly, after any elements added to
// [Message.Body]. It is not safe for concurrent use.
type Message struct {
	lang, action, id, relatesTo string
	// ns are the namespace declarations of the Envelope after s, a and w,
	// prefix and URI in turn, in the order NS made them.
	ns []string
	// header is nil until Header is called; it then holds the addressing
	// headers as elements and is written in their place.
	header *etree.Element
	body   *etree.Element // nil until Body is called
	write  func([]byte) []byte
	next   int // counter for prefixes of namespaces Prefixes does not name
}

// NewResponse starts a reply to req with the addressing headers Windows
// writes, in its order: wsa:Action=action, a fresh wsa:MessageID
// "uuid:<UPPER-CASE uuid>", wsa:To anonymous, and wsa:RelatesTo the
// request's MessageID (omitted when req is nil or has none). The Envelope
// carries xml:lang (the request's wsman:Locale, else en-US) and declares the
// s, a and w prefixes; [Message.NS] declares others as they are used.
func NewResponse(req *Header, action string) *Message {
	m := &Message{lang: defaultLang, action: action, id: NewID()}
	if req != nil {
		if req.Locale != "" {
			m.lang = req.Locale
		}
		m.relatesTo = req.MessageID
	}
	return m
}

// NewID returns a fresh identifier in the form Windows writes message IDs
// and enumeration contexts: "uuid:" and a random (version 4) UUID in upper
// case.
func NewID() string {
	return string(AppendID(make([]byte, 0, 41)))
}

// AppendID appends a fresh identifier, as [NewID] returns it, to b.
func AppendID(b []byte) []byte {
	u := uuid.New()
	const hex = "0123456789ABCDEF"
	b = append(b, "uuid:"...)
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[x>>4], hex[x&15])
	}
	return b
}

// Header returns the s:Header element holding the addressing headers, to
// which callers may append headers (or from which they may remove them).
func (m *Message) Header() *etree.Element {
	if m.header == nil {
		m.header = etree.NewElement("s:Header")
		m.header.CreateElement("a:Action").SetText(m.action)
		m.header.CreateElement("a:MessageID").SetText(m.id)
		m.header.CreateElement("a:To").SetText(AddressAnonymous)
		if m.relatesTo != "" {
			m.header.CreateElement("a:RelatesTo").SetText(m.relatesTo)
		}
	}
	return m.header
}

// Body returns the s:Body element; callers append the payload to it. Its
// children are written before what [Message.SetBody] writes. Prefixes
// its elements use must be declared with [Message.NS] (or on the elements):
// the element is not attached to the Envelope.
func (m *Message) Body() *etree.Element {
	if m.body == nil {
		m.body = etree.NewElement("s:Body")
	}
	return m.body
}

// SetBody sets the function that writes the body's content as UTF-8 XML
// text: it appends to its argument and returns the result, each time the
// message is serialised. It must write well-formed, escaped XML (see
// [AppendEscaped]) whose prefixes are bound in the Envelope (s, a, w and
// those [Message.NS] declared) or by the elements themselves.
func (m *Message) SetBody(write func([]byte) []byte) { m.write = write }

// MessageID returns the reply's wsa:MessageID, e.g. for logging next to the
// request's.
func (m *Message) MessageID() string { return m.id }

// Lang returns the reply's xml:lang.
func (m *Message) Lang() string { return m.lang }

// NS returns the prefix-qualified name "p:local" for the namespace ns and
// declares the prefix on the Envelope if it is not declared yet. Namespaces
// listed in [Prefixes] get Windows' prefix; others get ns1, ns2, ... The XML
// namespace always gets "xml", and the empty namespace no prefix.
func (m *Message) NS(ns, local string) string {
	switch ns {
	case "":
		return local
	case NSXML:
		return qualified("xml", local)
	case NSEnvelope:
		return qualified("s", local)
	case NSAddressing:
		return qualified("a", local)
	case NSWSMan:
		return qualified("w", local)
	}
	for i := 0; i < len(m.ns); i += 2 {
		if m.ns[i+1] == ns {
			return qualified(m.ns[i], local)
		}
	}
	p := prefixFor(ns)
	if p == "" || m.declared(p) {
		for {
			m.next++
			p = fmt.Sprintf("ns%d", m.next)
			if !m.declared(p) {
				break
			}
		}
	}
	m.ns = append(m.ns, p, ns)
	return qualified(p, local)
}

// qualifiedNames remembers the names qualified returned, so that a reply
// does not make the same few strings ("n:Items", "w:Item", ...) each time.
var qualifiedNames struct {
	sync.RWMutex
	m map[[2]string]string
}

// maxQualifiedNames bounds qualifiedNames; names past it are made afresh.
const maxQualifiedNames = 512

// qualified returns prefix + ":" + local.
func qualified(prefix, local string) string {
	key := [2]string{prefix, local}
	qualifiedNames.RLock()
	q, ok := qualifiedNames.m[key]
	qualifiedNames.RUnlock()
	if ok {
		return q
	}
	q = prefix + ":" + local
	qualifiedNames.Lock()
	if qualifiedNames.m == nil {
		qualifiedNames.m = make(map[[2]string]string)
	}
	if len(qualifiedNames.m) < maxQualifiedNames {
		qualifiedNames.m[key] = q
	}
	qualifiedNames.Unlock()
	return q
}

// declared reports whether the Envelope declares prefix p.
func (m *Message) declared(p string) bool {
	if p == "s" || p == "a" || p == "w" {
		return true
	}
	for i := 0; i < len(m.ns); i += 2 {
		if m.ns[i] == p {
			return true
		}
	}
	return false
}

// maxPooledText is the largest serialisation buffer kept for reuse.
const maxPooledText = 1 << 20

// textBuffers holds serialisation buffers between replies.
var textBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8192); return &b }}

// Bytes serialises the message in enc: UTF-8 without a declaration or BOM,
// UTF-16 with a byte order mark. Text and attribute values are escaped as
// [AppendEscaped] does; characters XML cannot carry (such as NUL) become
// U+FFFD. The result is the caller's.
func (m *Message) Bytes(enc Encoding) ([]byte, error) {
	t, _, err := m.Render(enc, math.MaxInt)
	return t.Detach(), err
}

// Render serialises the message in enc as [Message.Bytes] does, for a reply
// that may be at most limit bytes: it returns the size of the serialised
// message in enc, and the message only when it is within limit (an empty
// Text otherwise). A UTF-8 message stays in the pooled buffer it was
// written in, so that the server can send it without copying it: the
// caller must call [Text.Release] (or [Text.Detach]) once, when done.
func (m *Message) Render(enc Encoding, limit int) (Text, int, error) {
	if enc != UTF8 && enc != UTF16LE && enc != UTF16BE {
		return Text{}, 0, fmt.Errorf("soap: encode: unknown encoding %d", int(enc))
	}
	bp := textBuffers.Get().(*[]byte)
	text := m.appendText((*bp)[:0])
	*bp = text
	size := EncodedLen(text, enc)
	if enc != UTF8 {
		size += len(bomUTF16LE)
	}
	switch {
	case size > limit:
		releaseText(bp)
		return Text{}, size, nil
	case enc == UTF8:
		return Text{b: text, bp: bp}, size, nil
	default:
		out, _ := encodeText(text, enc)
		releaseText(bp)
		return Text{b: out}, size, nil
	}
}

// Text is a serialised message ([Message.Render]), possibly held in a
// pooled buffer. The zero Text is empty.
type Text struct {
	b  []byte
	bp *[]byte // the pooled buffer b lives in; nil when b is the caller's
}

// Bytes returns the serialised message, valid until Release.
func (t *Text) Bytes() []byte { return t.b }

// Release gives a pooled buffer back for reuse; the bytes must not be used
// afterwards. It leaves t empty, so that a second call does nothing.
func (t *Text) Release() {
	if t.bp != nil {
		releaseText(t.bp)
	}
	*t = Text{}
}

// Detach returns the serialised message as bytes of the caller's own (a
// copy when it was pooled) and releases t.
func (t *Text) Detach() []byte {
	out := t.b
	if t.bp != nil && out != nil {
		out = append(make([]byte, 0, len(out)), out...)
	}
	t.Release()
	return out
}

// releaseText puts a serialisation buffer back in the pool unless it grew
// past maxPooledText.
func releaseText(bp *[]byte) {
	if cap(*bp) <= maxPooledText {
		*bp = (*bp)[:0]
		textBuffers.Put(bp)
	}
}

// appendText appends the message as UTF-8 text to b.
func (m *Message) appendText(b []byte) []byte {
	b = append(b, `<s:Envelope xml:lang="`...)
	b = AppendEscaped(b, m.lang)
	b = append(b, `" xmlns:s="`+NSEnvelope+`" xmlns:a="`+NSAddressing+`" xmlns:w="`+NSWSMan+`"`...)
	for i := 0; i < len(m.ns); i += 2 {
		b = append(b, " xmlns:"...)
		b = append(b, m.ns[i]...)
		b = append(b, `="`...)
		b = AppendEscaped(b, m.ns[i+1])
		b = append(b, '"')
	}
	b = append(b, '>')
	if m.header != nil {
		b = appendElement(b, m.header)
	} else {
		b = append(b, "<s:Header>"...)
		b = AppendTextElement(b, "a:Action", m.action)
		b = AppendTextElement(b, "a:MessageID", m.id)
		b = append(b, "<a:To>"+AddressAnonymous+"</a:To>"...)
		if m.relatesTo != "" {
			b = AppendTextElement(b, "a:RelatesTo", m.relatesTo)
		}
		b = append(b, "</s:Header>"...)
	}
	switch {
	case m.write == nil && m.body != nil:
		b = appendElement(b, m.body)
	case m.write == nil:
		b = append(b, "<s:Body/>"...)
	default:
		b = append(b, "<s:Body>"...)
		if m.body != nil {
			for _, c := range m.body.Child {
				w := appender{b}
				c.WriteTo(&w, &etree.WriteSettings{})
				b = w.b
			}
		}
		b = m.write(b)
		b = append(b, "</s:Body>"...)
	}
	return append(b, "</s:Envelope>"...)
}

// appendElement appends e serialised by etree (escaping as AppendEscaped).
func appendElement(b []byte, e *etree.Element) []byte {
	w := appender{b}
	e.WriteTo(&w, &etree.WriteSettings{})
	return w.b
}

// AppendTextElement appends <tag>text</tag> to b, text escaped, or <tag/>
// when text is empty (as etree writes an element without children).
func AppendTextElement(b []byte, tag, text string) []byte {
	b = append(b, '<')
	b = append(b, tag...)
	if text == "" {
		return append(b, "/>"...)
	}
	b = append(b, '>')
	b = AppendEscaped(b, text)
	b = append(b, "</"...)
	b = append(b, tag...)
	return append(b, '>')
}

// appender is an etree.Writer appending to a byte slice.
type appender struct{ b []byte }

func (w *appender) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func (w *appender) WriteString(s string) (int, error) { w.b = append(w.b, s...); return len(s), nil }

func (w *appender) WriteByte(c byte) error { w.b = append(w.b, c); return nil }
