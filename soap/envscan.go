package soap

import (
	"encoding/xml"
	"errors"
	"strings"
	"unsafe"

	"github.com/beevik/etree"
)

// envelopeScan is what Parse adds to the scanner: the children of s:Header
// are decoded into a Header as they are read, and no etree node is made for
// them, except for wsman:SelectorSet, whose tree the Header keeps (a
// selector's EPR is an element). Everything else (the envelope, s:Header
// itself, s:Body and what it holds) is built as a tree, as buildTree builds
// it, so Body stays attached to its document.
//
// The result is the one decodeHeader gives on the tree buildTree builds
// (TestParseMatchesTreeParse, FuzzParseMatchesTreeParse): the same header
// chosen, the same prefixes resolved (etree's way: the innermost
// declaration of the element and its ancestors), the same text (an
// element's character data before its first child element), the same
// first error in document order. Since the old parse read the whole
// document before decoding the header, errors of the header are kept and
// returned only after the document was read without an XML error and its
// shape checked (fromDocument).
type envelopeScan struct {
	h *Header

	// ns holds the namespace declarations of the open elements, outermost
	// first; an open element's start at openElement.ns.
	ns []nsDecl

	envelope bool           // the root is s:Envelope
	header   *etree.Element // the s:Header decoded as read, once opened
	body     bool           // an s:Body came: a later s:Header is not the header

	seen    uint32          // the known headers met, by their handlerFor bit
	stopped bool            // a header child failed: the later ones are not decoded
	pending []pendingHeader // in document order: errors met, trees to decode at the end

	// The wsa:MessageID of the header, for the fault of a refused request
	// (scanMessageID).
	msgID      string
	msgIDFound bool

	depth int         // how deep the element being read is below s:Header, 0 outside
	child headerChild // the header child being read (depth 1)
	sub   headerSub   // its child being read (depth 2)
	text  []byte      // the child's leading character data
	stext []byte      // the sub-child's leading character data
}

// nsDecl is one namespace declaration: prefix bound to uri, or the default
// namespace when def.
type nsDecl struct {
	prefix, uri string
	def         bool
}

// pendingHeader is a header child's outcome that decodeHeader would have
// met at its place: an error, or a tree whose handler runs at the end.
type pendingHeader struct {
	err  error
	tree *etree.Element
	name xml.Name
	run  headerHandler
}

// What is done with a header child read without a tree.
const (
	hSkip             = iota // not decoded (unknown, role none, after an error)
	hIgnore                  // understood and ignored, or decoded from its start tag (Locale)
	hTo                      // h.To is its text
	hAction                  // h.Action is its text
	hMessageID               // h.MessageID is its text
	hResourceURI             // h.ResourceURI is its text
	hSessionID               // h.SessionID is its text
	hMaxEnvelopeSize         // its text, decoded by maxEnvelopeSize
	hOperationTimeout        // its text, decoded by operationTimeout
	hReplyTo                 // its first wsa:Address child's text
	hOptionSet               // its wsman:Option children
)

// headerChild is the state of the header child being read.
type headerChild struct {
	kind         int
	name         xml.Name
	textOpen     bool // no child element yet: text is the child's
	wantText     bool // its text is needed (decoded, or the MessageID)
	isMessageID  bool // it is the first wsa:MessageID
	addressFound bool // hReplyTo: an Address came
	address      string
}

// headerSub is the state of a header child's child being read.
type headerSub struct {
	read      bool // decoded: an Option, or the ReplyTo's first Address
	textOpen  bool
	fullTag   string
	name, typ string
	comply    string
	hasComply bool
}

// reset readies v for a parse into h.
func (v *envelopeScan) reset(h *Header) {
	clear(v.ns)
	clear(v.pending)
	*v = envelopeScan{h: h, ns: v.ns[:0], pending: v.pending[:0], text: v.text[:0], stext: v.stext[:0]}
}

// lookup returns the URI prefix is bound to by the open elements, as
// etree's NamespaceURI finds it ("" for the default namespace).
func (v *envelopeScan) lookup(prefix string) string {
	def := prefix == ""
	for i := len(v.ns) - 1; i >= 0; i-- {
		if d := &v.ns[i]; d.def == def && d.prefix == prefix {
			return d.uri
		}
	}
	return ""
}

// declare adds the namespace declarations among attrs (as etree keeps them).
func (v *envelopeScan) declare(attrs []TokenAttr) {
	for i := range attrs {
		a := &attrs[i]
		switch {
		case a.Prefix == "xmlns":
			v.ns = append(v.ns, nsDecl{prefix: a.Local, uri: a.Value})
		case a.Prefix == "" && a.Local == "xmlns":
			v.ns = append(v.ns, nsDecl{uri: a.Value, def: true})
		}
	}
}

// envAttr is envAttr of decodeHeader on attributes as etree keeps them,
// the element's declarations in v.ns.
func (v *envelopeScan) envAttr(attrs []TokenAttr, local string) (string, bool) {
	for i := range attrs {
		if a := &attrs[i]; a.Local == local && a.Prefix != "" && v.lookup(a.Prefix) == NSEnvelope {
			return a.Value, true
		}
	}
	return "", false
}

// selectAttr is etree's SelectAttrValue(key, dflt) for a key without a
// prefix (any prefix matches) or with one.
func selectAttr(attrs []TokenAttr, prefix, local, dflt string) (string, bool) {
	for i := range attrs {
		if a := &attrs[i]; (prefix == "" || a.Prefix == prefix) && a.Local == local {
			return a.Value, true
		}
	}
	return dflt, false
}

// streams reports whether the element about to open, whose own
// declarations are already in v.ns, is read without a tree: it is below a
// header child read so, or a header child other than wsman:SelectorSet.
func (v *envelopeScan) streams(p *scanner, prefix, local string) bool {
	if len(p.open) == 0 {
		return false
	}
	top := &p.open[len(p.open)-1]
	if top.e == nil {
		return true
	}
	if v.header == nil || top.e != v.header {
		return false
	}
	return local != "SelectorSet" || v.lookup(prefix) != NSWSMan
}

// treeOpened records the root, the header and the body as their tree
// elements open, and starts the decoding of a header child kept as a tree.
func (v *envelopeScan) treeOpened(p *scanner, e *etree.Element, attrs []TokenAttr) {
	switch depth := len(p.open); {
	case depth == 1:
		v.envelope = e.Tag == "Envelope" && v.lookup(e.Space) == NSEnvelope
	case depth == 2 && v.envelope && v.lookup(e.Space) == NSEnvelope:
		switch {
		case e.Tag == "Header" && v.header == nil && !v.body:
			v.header = e
		case e.Tag == "Body":
			v.body = true
		}
	case depth == 3 && v.header != nil && p.open[1].e == v.header:
		if v.childStart(e.Space, e.Tag, v.lookup(e.Space), attrs) {
			v.pending = append(v.pending, pendingHeader{tree: e, name: xml.Name{Space: NSWSMan, Local: "SelectorSet"}, run: decodeSelectorSet})
		}
	}
}

// treeClosed notes the end of the header.
func (v *envelopeScan) treeClosed(e *etree.Element) {
	if e == v.header {
		v.depth = 0
	}
}

// childStart runs decodeHeader's checks of a header child at its start
// tag, in its order, and reports whether the child is to be decoded; an
// error is kept in v.pending.
func (v *envelopeScan) childStart(prefix, local, uri string, attrs []TokenAttr) bool {
	name := xml.Name{Space: uri, Local: local}
	if !v.msgIDFound && local == "MessageID" && uri == NSAddressing {
		v.child.isMessageID = true
	}
	if v.stopped {
		return false
	}
	mustUnderstand := false
	if s, ok := v.envAttr(attrs, "mustUnderstand"); ok {
		switch strings.TrimSpace(s) {
		case "true", "1":
			mustUnderstand = true
		case "false", "0":
		default:
			v.fail(parseErr(ErrHeaderValue, "mustUnderstand=%q on %s is not a boolean", s, fullTag(prefix, local)))
			return false
		}
	}
	if role, _ := v.envAttr(attrs, "role"); strings.TrimSpace(role) == roleNone {
		return false
	}
	if mustUnderstand && mustNotBeMandatory(name) {
		err := parseErr(ErrUnsupportedFeature, "%s is marked mustUnderstand", fullTag(prefix, local))
		err.Header = keepName(name)
		v.fail(err)
		return false
	}
	_, bit, known := handlerFor(name)
	if !known {
		if mustUnderstand {
			v.fail(&MustUnderstandError{Header: keepName(name), Prefix: intern(prefix)})
		}
		return false
	}
	if v.seen&bit != 0 {
		err := parseErr(ErrDuplicateHeader, "header %s appears more than once", fullTag(prefix, local))
		err.Header = keepName(name)
		v.fail(err)
		return false
	}
	v.seen |= bit
	return true
}

// keepValue returns text without its surrounding white space as a string
// that may be kept: an interned one (a namespace, an action, a common
// resource URI) without a copy, else a copy.
func keepValue(text []byte) string {
	s := strings.TrimSpace(unsafe.String(unsafe.SliceData(text), len(text)))
	if v, ok := lookupInterned(s); ok {
		return v
	}
	return strings.Clone(s)
}

// keepName returns n as a name an error may keep: its strings may be cut
// from the borrowed input.
func keepName(n xml.Name) xml.Name {
	return xml.Name{Space: intern(n.Space), Local: intern(n.Local)}
}

// fail keeps err as the outcome of the header child being read and stops
// the decoding of the later ones.
func (v *envelopeScan) fail(err error) {
	v.pending = append(v.pending, pendingHeader{err: err})
	v.stopped = true
}

// failValue is fail for an error of a header's handler, which names the
// header and its text (decodeHeader).
func (v *envelopeScan) failValue(err *ParseError) {
	if err.Header.Local == "" {
		err.Header, err.Value = keepName(v.child.name), keepValue(v.text)
	}
	v.fail(err)
}

// start opens a streamed element whose start tag was read, its attributes
// as etree keeps them.
func (v *envelopeScan) start(prefix, local string, attrs []TokenAttr) {
	v.depth++
	switch v.depth {
	case 1:
		v.startChild(prefix, local, attrs)
	case 2:
		c := &v.child
		c.textOpen = false
		if c.kind == hSkip || c.kind == hIgnore {
			return
		}
		v.sub = headerSub{}
		switch c.kind {
		case hReplyTo:
			if !c.addressFound && local == "Address" && v.lookup(prefix) == NSAddressing {
				c.addressFound = true
				v.sub.read, v.sub.textOpen = true, true
				v.stext = v.stext[:0]
			}
		case hOptionSet:
			if local != "Option" || v.lookup(prefix) != NSWSMan {
				v.failValue(parseErr(ErrHeaderValue, "unexpected %s in wsman:OptionSet", fullTag(prefix, local)))
				c.kind = hSkip
				return
			}
			s := &v.sub
			s.read, s.textOpen = true, true
			s.name, _ = selectAttr(attrs, "", "Name", "")
			s.typ, _ = selectAttr(attrs, "", "Type", "")
			s.comply, s.hasComply = selectAttr(attrs, "", "MustComply", "false")
			s.name, s.typ, s.comply = strings.Clone(s.name), strings.Clone(s.typ), strings.Clone(s.comply)
			v.stext = v.stext[:0]
		}
	default:
		if v.depth == 3 {
			v.sub.textOpen = false
		}
	}
}

// startChild opens a header child.
func (v *envelopeScan) startChild(prefix, local string, attrs []TokenAttr) {
	v.child = headerChild{textOpen: true}
	v.text = v.text[:0]
	uri := v.lookup(prefix)
	c := &v.child
	c.name = xml.Name{Space: uri, Local: local}
	if !v.childStart(prefix, local, uri, attrs) {
		c.kind, c.wantText = hSkip, c.isMessageID
		return
	}
	c.wantText = true
	switch uri {
	case NSAddressing:
		switch local {
		case "To":
			c.kind = hTo
		case "Action":
			c.kind = hAction
		case "MessageID":
			c.kind = hMessageID
		case "ReplyTo":
			c.kind = hReplyTo
		}
	case NSWSMan:
		switch local {
		case "ResourceURI":
			c.kind = hResourceURI
		case "OptionSet":
			c.kind = hOptionSet
			mu, _ := v.envAttr(attrs, "mustUnderstand") // checked by childStart
			switch strings.TrimSpace(mu) {
			case "true", "1":
				v.h.OptionSetMustComply = true
			}
		case "MaxEnvelopeSize":
			c.kind = hMaxEnvelopeSize
		case "OperationTimeout":
			c.kind = hOperationTimeout
		case "Locale":
			c.kind = hIgnore
			lang, _ := selectAttr(attrs, "xml", "lang", "")
			v.h.Locale = strings.Clone(lang)
		case "RequestTotalItemsCountEstimate":
			c.kind = hIgnore
		}
	case NSMicrosoft:
		switch local {
		case "DataLocale":
			c.kind = hIgnore
			lang, _ := selectAttr(attrs, "xml", "lang", "")
			v.h.DataLocale = strings.Clone(lang)
		case "SessionId":
			c.kind = hSessionID
		case "OperationID", "SequenceId":
			c.kind = hIgnore
		}
	}
	if c.kind == hIgnore || c.kind == hSkip {
		c.wantText = c.isMessageID
	}
}

// charData takes text of a streamed element.
func (v *envelopeScan) charData(data string) {
	switch v.depth {
	case 1:
		if v.child.textOpen && v.child.wantText {
			v.text = append(v.text, data...)
		}
	case 2:
		if v.sub.read && v.sub.textOpen {
			v.stext = append(v.stext, data...)
		}
	}
}

// end closes the innermost streamed element.
func (v *envelopeScan) end() {
	switch v.depth {
	case 1:
		v.endChild()
	case 2:
		v.endSub()
	}
	v.depth--
}

// endSub closes a header child's child: an Option, or ReplyTo's Address.
func (v *envelopeScan) endSub() {
	s, c := &v.sub, &v.child
	if !s.read || (c.kind != hReplyTo && c.kind != hOptionSet) {
		return
	}
	s.read = false
	value := keepValue(v.stext)
	if c.kind == hReplyTo {
		c.address = value
		return
	}
	o := Option{Name: s.name, Type: s.typ, Value: value}
	if o.Name == "" {
		v.failValue(parseErr(ErrHeaderValue, "wsman:Option without a Name attribute"))
		c.kind = hSkip
		return
	}
	switch t := strings.TrimSpace(s.comply); t {
	case "true", "1":
		o.MustComply = true
	case "false", "0":
	default:
		v.failValue(parseErr(ErrHeaderValue, "MustComply=%q on option %q is not a boolean", t, o.Name))
		c.kind = hSkip
		return
	}
	v.h.Options = append(v.h.Options, o)
}

// endChild closes a header child and decodes it.
func (v *envelopeScan) endChild() {
	c, h := &v.child, v.h
	if !c.wantText {
		return
	}
	value := keepValue(v.text)
	if c.isMessageID {
		v.msgID, v.msgIDFound = value, true
	}
	var err *ParseError
	switch c.kind {
	case hTo:
		h.To = value
	case hAction:
		h.Action = value
	case hMessageID:
		h.MessageID = value
	case hResourceURI:
		h.ResourceURI = value
	case hSessionID:
		h.SessionID = value
	case hReplyTo:
		if !c.addressFound {
			err = parseErr(ErrHeaderValue, "wsa:ReplyTo has no wsa:Address")
		} else {
			h.ReplyTo = c.address
		}
	case hMaxEnvelopeSize:
		err = maxEnvelopeSize(value, h)
	case hOperationTimeout:
		err = operationTimeout(value, h)
	}
	if err != nil {
		v.failValue(err)
	}
}

// finish is decodeHeader's outcome once the document is read: the first
// error in document order, the handlers of the header children kept as
// trees run in their place.
func (v *envelopeScan) finish() error {
	for _, ph := range v.pending {
		if ph.err != nil {
			return ph.err
		}
		if err := ph.run(ph.tree, v.h); err != nil {
			var pe *ParseError
			if errors.As(err, &pe) && pe.Header.Local == "" {
				pe.Header, pe.Value = ph.name, text(ph.tree)
			}
			return err
		}
	}
	return nil
}

// keptAttrs returns the attributes of the start tag just read as etree
// keeps them (see Token.Attr), in p.tokAttr.
func (p *scanner) keptAttrs() []TokenAttr {
	var attrs []TokenAttr
	if len(p.tag) > 0 {
		if cap(p.tokAttr) < len(p.tag) {
			p.tokAttr = make([]TokenAttr, 0, max(len(p.tag), 16))
		}
		attrs = p.tokAttr[:0]
	}
next:
	for j := range p.tag {
		a := &p.tag[j]
		prefix, local := a.etreeName(p.s)
		for i := range attrs {
			if attrs[i].Prefix == prefix && attrs[i].Local == local {
				attrs[i].Value = a.value
				continue next
			}
		}
		attrs = append(attrs, TokenAttr{Prefix: prefix, Local: local, Value: a.value})
	}
	return attrs
}

// startStreamed opens an element of the header read without a tree.
func (p *scanner) startStreamed(space, tag, xmlSpace, xmlLocal, name string, at, prefixes, ns int, attrs []TokenAttr, empty bool) error {
	o := p.push()
	o.e, o.space, o.tag, o.name, o.end, o.kids, o.prefixes, o.ns = nil, space, tag, at, at+len(name), len(p.kids), prefixes, ns
	p.env.start(space, tag, attrs)
	if empty {
		return p.closeElement(xmlSpace, xmlLocal, name)
	}
	return nil
}
