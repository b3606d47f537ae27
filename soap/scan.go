package soap

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/beevik/etree"
)

// buildTree reads text (UTF-8, as DecodeText returns it) into an etree
// document with the limits of [Parse].
//
// It is a hand-written scanner that accepts exactly what encoding/xml's
// strict Decoder.RawToken accepts, token for token (names, attribute syntax,
// the five predefined entities and character references, CDATA, comments,
// processing instructions, directives, "\r\n" folded to "\n", characters
// outside XML's range refused), and then checks tag matching, prefix
// bindings and duplicate attributes as Parse always has; the differential
// fuzz test (FuzzBuildTreeMatchesReference) holds it to the encoding/xml
// reader it replaced. It differs from that reader in cost only: the tree's
// elements, text nodes, attribute and child slices are cut from a few shared
// arrays, the names and values SOAP uses are interned (namespaces, tags,
// white space between elements), and the scratch state is reused, so a
// request of a hundred elements takes a dozen allocations instead of
// several per element and token. Every other string is copied on its own,
// as before: a string kept from the tree holds only itself, and the tree
// holds nothing of text.
func buildTree(text []byte) (*etree.Document, error) {
	p := scanners.Get().(*scanner)
	defer p.release()
	// p.s views text without a copy. Nothing cut from it is kept: names and
	// values reach the tree through intern or keepText, errors through
	// fmt or concatenation, which copy (TestTreeKeepsNoInput).
	p.s = unsafe.String(unsafe.SliceData(text), len(text))
	return p.document()
}

// scanners holds scanners between parses, for their scratch slices.
var scanners = sync.Pool{New: func() any {
	p := &scanner{}
	p.open = p.openBuf[:0]
	p.kids = p.kidsBuf[:0]
	p.prefixes = p.prefixBuf[:0]
	p.tag = p.tagBuf[:0]
	return p
}}

// release returns p to the pool without references into the tree or the
// input, unless a large document grew its scratch.
func (p *scanner) release() {
	const keep = 256
	if cap(p.open) > keep || cap(p.kids) > 4*keep || cap(p.prefixes) > keep || cap(p.tag) > keep || cap(p.buf) > 64*keep {
		return
	}
	// Only the entries the parse used hold anything: the scratch slices
	// are truncated, never cut short of what was written, so each has been
	// written up to the longest it was (used) and is zero beyond.
	clear(p.open[:max(len(p.open), p.used.open)])
	clear(p.kids[:max(len(p.kids), p.used.kids)])
	clear(p.prefixes[:max(len(p.prefixes), p.used.prefixes)])
	clear(p.tag[:max(len(p.tag), p.used.tag)])
	p.used = scratchUsed{}
	p.s, p.pos = "", 0
	clear(p.tokAttr[:cap(p.tokAttr)])
	p.emit, p.tokAttr = nil, p.tokAttr[:0]
	p.env = nil
	p.envBuf.reset(nil)
	p.open, p.kids, p.prefixes, p.tag, p.buf = p.open[:0], p.kids[:0], p.prefixes[:0], p.tag[:0], p.buf[:0]
	p.elems, p.texts, p.attrs, p.toks = nil, nil, nil, nil
	scanners.Put(p)
}

// scanner is the state of one buildTree.
type scanner struct {
	s   string // the input, borrowed: no substring of it may be kept
	pos int    // next byte of s to read

	open     []openElement // the elements not yet closed, outermost first
	kids     []etree.Token // children of the open elements, in order
	prefixes []string      // prefixes bound by the open elements
	tag      []rawAttr     // attributes of the start tag being read
	buf      []byte        // decoded text with entities or carriage returns

	// emit, when not nil, receives the document as tokens instead of a
	// tree (ReadTokens).
	emit    func(Token) error
	tokAttr []TokenAttr // the attributes of a start tag's token, reused

	// env, when not nil, decodes the header of a Parse as it is read
	// (envscan.go); it points to envBuf.
	env    *envelopeScan
	envBuf envelopeScan

	// used holds the longest each scratch slice has been, for release.
	used scratchUsed

	// Shared arrays the tree's parts are cut from, a chunk at a time.
	elems []etree.Element
	texts []etree.CharData
	attrs []etree.Attr
	toks  []etree.Token

	openBuf   [16]openElement
	kidsBuf   [64]etree.Token
	prefixBuf [16]string
	tagBuf    [16]rawAttr
}

// scratchUsed is the longest the scanner's scratch slices have been in a
// parse, recorded where they are shortened.
type scratchUsed struct{ open, kids, prefixes, tag int }

// openElement is an element whose end tag is still to come. Its name is
// kept as offsets into the input, and when building a tree its prefix and
// tag only in e: what is written to the scanner for each element is one
// pointer, not four (a write barrier each while the GC marks).
type openElement struct {
	e          *etree.Element // nil when reading tokens
	space, tag string         // its prefix and tag as etree splits them, when reading tokens
	name, end  int            // its name as written is s[name:end] (see endTagAsOpened)
	kids       int            // its children are kids[kids:]
	prefixes   int            // the prefixes it binds are prefixes[prefixes:]
	ns         int            // in Parse, its namespace declarations are env.ns[ns:]
}

// names returns o's prefix and tag as etree splits them.
func (o *openElement) names() (space, tag string) {
	if o.e != nil {
		return o.e.Space, o.e.Tag
	}
	return o.space, o.tag
}

// rawAttr is one attribute of a start tag as written, its name kept as
// offsets into the input (see openElement).
type rawAttr struct {
	name, colon, end int // the name is s[name:end]; s[colon] is its colon, or colon < 0
	value            string
}

// qname returns a's name as written.
func (a *rawAttr) qname(s string) string { return s[a.name:a.end] }

// xmlName returns a's name split as encoding/xml splits it (see nsname).
func (a *rawAttr) xmlName(s string) (space, local string) {
	if a.colon <= a.name || a.colon >= a.end-1 {
		return "", s[a.name:a.end]
	}
	return s[a.name:a.colon], s[a.colon+1 : a.end]
}

// etreeName returns a's name split as etree splits it (splitPrefix).
func (a *rawAttr) etreeName(s string) (space, local string) {
	if a.colon < 0 {
		return "", s[a.name:a.end]
	}
	return s[a.name:a.colon], s[a.colon+1 : a.end]
}

// document reads the whole input.
func (p *scanner) document() (*etree.Document, error) {
	elements := 0
	sawRoot := false
	for p.pos < len(p.s) {
		if p.s[p.pos] != '<' {
			data, err := p.text(-1, false)
			if err != nil {
				return nil, err
			}
			if err := p.charData(data); err != nil {
				return nil, err
			}
			continue
		}
		p.pos++
		if p.pos >= len(p.s) {
			return nil, p.eof()
		}
		switch p.s[p.pos] {
		case '/':
			p.pos++
			if ok, err := p.endTagAsOpened(); ok || err != nil {
				if err != nil {
					return nil, err
				}
				continue
			}
			if err := p.endTag(); err != nil {
				return nil, err
			}
		case '?':
			p.pos++
			if err := p.procInst(sawRoot || elements > 0); err != nil {
				return nil, err
			}
		case '!':
			p.pos++
			if err := p.bang(); err != nil {
				return nil, err
			}
		default:
			if err := p.startTag(&elements, &sawRoot); err != nil {
				return nil, err
			}
		}
	}
	if len(p.open) != 0 {
		o := &p.open[len(p.open)-1]
		return nil, parseErr(ErrMalformed, "unexpected end of input inside %s", fullTag(o.names()))
	}
	if !sawRoot {
		return nil, parseErr(ErrMalformed, "no root element")
	}
	if p.emit != nil {
		return nil, nil
	}
	doc := etree.NewDocument()
	p.adopt(&doc.Element, p.kids)
	return doc, nil
}

// charData adds text to the open element, or checks that text outside the
// root element is white space.
func (p *scanner) charData(data string) error {
	if len(p.open) == 0 {
		if strings.TrimSpace(data) != "" {
			return parseErr(ErrMalformed, "text outside the root element")
		}
		return nil
	}
	if p.emit != nil {
		return p.emit(Token{Kind: TextToken, Text: data})
	}
	if p.env != nil {
		switch top := p.open[len(p.open)-1].e; {
		case top == nil:
			p.env.charData(data)
			return nil
		case top == p.env.header:
			return nil // nothing reads the text between headers
		}
	}
	if len(p.texts) == cap(p.texts) {
		p.texts = make([]etree.CharData, 0, p.chunkSize(len(p.texts), "<", 1))
	}
	p.texts = p.texts[:len(p.texts)+1]
	c := &p.texts[len(p.texts)-1]
	c.Data = keepText(data)
	p.kids = append(p.kids, c)
	return nil
}

// startTag reads a start tag after its "<", checks the limits and the
// attributes, and opens (or, for "<x/>", opens and closes) its element.
func (p *scanner) startTag(elements *int, sawRoot *bool) error {
	at := p.pos
	name, space, local, colon, ok, err := p.nsname()
	if err != nil {
		return err
	}
	if !ok {
		return p.syntaxError("expected element name after <")
	}
	p.used.tag = max(p.used.tag, len(p.tag))
	p.tag = p.tag[:0]
	nattr := 0
	empty := false
	for {
		p.space()
		if p.pos >= len(p.s) {
			return p.eof()
		}
		b := p.s[p.pos]
		if b == '/' {
			p.pos++
			if p.pos >= len(p.s) {
				return p.eof()
			}
			if p.s[p.pos] != '>' {
				return p.syntaxError("expected /> in element")
			}
			p.pos++
			empty = true
			break
		}
		if b == '>' {
			p.pos++
			break
		}
		a, err := p.attribute()
		if err != nil {
			return err
		}
		// Past the limit the tag is only checked, to be refused whole.
		nattr++
		if nattr <= MaxAttributes {
			p.tag = append(p.tag, a)
		}
	}

	if len(p.open) == 0 && *sawRoot {
		return parseErr(ErrMalformed, "more than one root element")
	}
	*sawRoot = true
	*elements++
	if *elements > MaxElements {
		return parseErr(ErrTooManyElements, "more than %d elements", MaxElements)
	}
	if len(p.open)+1 > MaxDepth {
		return parseErr(ErrTooDeep, "elements nested deeper than %d", MaxDepth)
	}
	if nattr > MaxAttributes {
		return parseErr(ErrTooManyAttributes, "%d attributes on %s, more than %d", nattr, name, MaxAttributes)
	}

	// The checks come first, in the order the tree was built in: an
	// attribute twice, a prefix bound to "", then the prefixes in use.
	s := p.s
	for i := range p.tag {
		a := &p.tag[i]
		aspace, alocal := a.xmlName(s)
		for j := range p.tag[:i] {
			if bspace, blocal := p.tag[j].xmlName(s); aspace == bspace && alocal == blocal {
				return parseErr(ErrMalformed, "duplicate attribute %s on %s", a.qname(s), name)
			}
		}
		if aspace == "xmlns" && a.value == "" {
			return parseErr(ErrMalformed, "prefix %s bound to the empty namespace", alocal)
		}
	}
	prefixes := len(p.prefixes)
	for i := range p.tag {
		// etree's split of the name, which the tree's prefix lookups use.
		if space, key := p.tag[i].etreeName(s); space == "xmlns" {
			p.prefixes = append(p.prefixes, key)
		}
	}
	if !p.bound(space) {
		return parseErr(ErrMalformed, "unbound prefix %q on element %s", space, name)
	}
	for i := range p.tag {
		a := &p.tag[i]
		if aspace, _ := a.xmlName(s); aspace != "" && aspace != "xmlns" && !p.bound(aspace) {
			return parseErr(ErrMalformed, "unbound prefix %q on attribute %s", aspace, a.qname(s))
		}
	}
	space0, tag := "", name // etree's split
	if colon >= 0 {
		space0, tag = name[:colon], name[colon+1:]
	}
	if p.emit != nil {
		return p.startToken(space0, tag, space, local, name, at, prefixes, empty)
	}
	var attrs []TokenAttr
	ns := 0
	if p.env != nil {
		attrs = p.keptAttrs()
		ns = len(p.env.ns)
		p.env.declare(attrs)
		if p.env.streams(p, space0, tag) {
			return p.startStreamed(space0, tag, space, local, name, at, prefixes, ns, attrs, empty)
		}
	}

	if len(p.elems) == cap(p.elems) {
		p.elems = make([]etree.Element, 0, p.chunkSize(len(p.elems), "<", 2))
	}
	p.elems = p.elems[:len(p.elems)+1]
	e := &p.elems[len(p.elems)-1]
	if q, ok := lookupInterned(name); ok {
		e.Space, e.Tag = "", q
		if colon >= 0 {
			e.Space, e.Tag = q[:colon], q[colon+1:]
		}
	} else {
		e.Space, e.Tag = intern(space0), intern(tag)
	}
	e.Attr = p.attrSlice(len(p.tag))
	for i := range p.tag {
		// CreateAttr splits the name as the element's was split (an
		// attribute of the same split replaces the earlier one's value):
		// the parts of a name that may be kept may be kept.
		a := &p.tag[i]
		e.CreateAttr(intern(a.qname(s)), keepText(a.value))
	}
	p.kids = append(p.kids, e)
	o := p.push()
	o.e, o.name, o.end, o.kids, o.prefixes = e, at, at+len(name), len(p.kids), prefixes
	if p.env != nil {
		o.ns = ns
		p.env.treeOpened(p, e, attrs)
	}
	if empty {
		return p.closeElement(space, local, name)
	}
	return nil
}

// attribute reads one name="value" of a start tag.
func (p *scanner) attribute() (rawAttr, error) {
	at := p.pos
	name, _, _, colon, ok, err := p.nsname()
	if err != nil {
		return rawAttr{}, err
	}
	if !ok {
		return rawAttr{}, p.syntaxError("expected attribute name in element")
	}
	a := rawAttr{name: at, colon: -1, end: at + len(name)}
	if colon >= 0 {
		a.colon = at + colon
	}
	p.space()
	if p.pos >= len(p.s) {
		return rawAttr{}, p.eof()
	}
	if p.s[p.pos] != '=' {
		return rawAttr{}, p.syntaxError("attribute name without = in element")
	}
	p.pos++
	p.space()
	if p.pos >= len(p.s) {
		return rawAttr{}, p.eof()
	}
	q := p.s[p.pos]
	if q != '"' && q != '\'' {
		return rawAttr{}, p.syntaxError("unquoted or missing attribute value in element")
	}
	p.pos++
	value, err := p.text(int(q), false)
	if err != nil {
		return rawAttr{}, err
	}
	a.value = value
	return a, nil
}

// attrSlice returns an empty slice with room for n attributes.
func (p *scanner) attrSlice(n int) []etree.Attr {
	if n == 0 {
		return make([]etree.Attr, 0)
	}
	if cap(p.attrs)-len(p.attrs) < n {
		p.attrs = make([]etree.Attr, 0, max(n, p.chunkSize(len(p.attrs), "=", 1)))
	}
	l := len(p.attrs)
	p.attrs = p.attrs[:l+n]
	return p.attrs[l : l : l+n]
}

// bound reports whether prefix is bound by an open element (or needs no
// binding).
func (p *scanner) bound(prefix string) bool {
	if prefix == "" || prefix == "xml" {
		return true
	}
	for _, q := range p.prefixes {
		if q == prefix {
			return true
		}
	}
	return false
}

// endTagAsOpened closes the innermost open element if the input at p.pos
// (after "</") is its name exactly as its start tag wrote it, then '>': a
// comparison of bytes where endTag would read the same name, split it the same
// way (a name without a leading or trailing colon is split alike by etree
// and encoding/xml) and close the element, so the name is not read again.
// ok is false, with nothing read, when endTag must read the end tag.
func (p *scanner) endTagAsOpened() (ok bool, err error) {
	if len(p.open) == 0 {
		return false, nil
	}
	o := &p.open[len(p.open)-1]
	name, rest := p.s[o.name:o.end], p.s[p.pos:]
	if name == "" || name[0] == ':' || name[len(name)-1] == ':' ||
		len(rest) <= len(name) || rest[len(name)] != '>' || rest[:len(name)] != name {
		return false, nil
	}
	p.pos += len(name) + 1
	space, tag := o.names()
	return true, p.closeElement(space, tag, name)
}

// endTag reads an end tag after its "</" and closes the open element it
// must match.
func (p *scanner) endTag() error {
	name, space, local, _, ok, err := p.nsname()
	if err != nil {
		return err
	}
	if !ok {
		return p.syntaxError("expected element name after </")
	}
	p.space()
	if p.pos >= len(p.s) {
		return p.eof()
	}
	if p.s[p.pos] != '>' {
		return p.syntaxError("invalid characters between </" + local + " and >")
	}
	p.pos++
	return p.closeElement(space, local, name)
}

// closeElement closes the innermost open element, which must be space:local
// as encoding/xml splits an end tag's name (the element keeps etree's split,
// which differs for names that begin or end with a colon: such elements
// never close, as before).
func (p *scanner) closeElement(space, local, name string) error {
	if len(p.open) == 0 {
		return parseErr(ErrMalformed, "unexpected end tag %s", name)
	}
	o := &p.open[len(p.open)-1]
	if ospace, otag := o.names(); ospace != space || otag != local {
		return parseErr(ErrMalformed, "unexpected end tag %s", name)
	}
	if o.e == nil {
		if p.env != nil {
			p.env.end()
			p.env.ns = p.env.ns[:o.ns]
			p.shorten(o)
			return nil
		}
		prefix, tag := o.space, o.tag
		p.shorten(o)
		return p.emit(Token{Kind: EndToken, Prefix: prefix, Local: tag})
	}
	p.adopt(o.e, p.kids[o.kids:])
	if p.env != nil {
		p.env.ns = p.env.ns[:o.ns]
		p.env.treeClosed(o.e)
	}
	p.shorten(o)
	return nil
}

// shorten closes the innermost open element o in the scratch slices,
// recording how long they were for release.
func (p *scanner) shorten(o *openElement) {
	u := &p.used
	u.kids, u.prefixes, u.open = max(u.kids, len(p.kids)), max(u.prefixes, len(p.prefixes)), max(u.open, len(p.open))
	p.kids = p.kids[:o.kids]
	p.prefixes = p.prefixes[:o.prefixes]
	p.open = p.open[:len(p.open)-1]
}

// chunkSize is the length of the next chunk of a shared array, whose last
// chunk had used entries. It is the number of marks (at most one per
// element, text or attribute) in the input divided by per (two '<' per
// element with an end tag) for the first chunk, and the number left after
// p.pos for the next ones, but at least 8 and at most 64 for the first,
// twice the last and 1,024 for the next ones: a request takes one chunk, a
// large document a few, and a document refused early (too deep) has not
// had room made for all it might have held.
func (p *scanner) chunkSize(used int, mark string, per int) int {
	const firstMax, maxChunk = 64, 1024
	if used == 0 {
		if p.env != nil {
			// Parse builds no node for most of the header: the marks
			// counted would be mostly the header's. The envelope, s:Header,
			// s:Body and a small body (an Enumerate or Pull) fit in 8;
			// a larger body grows as below.
			return 8
		}
		return min(max(strings.Count(p.s, mark)/per+1, 8), firstMax)
	}
	if used >= maxChunk/2 {
		return maxChunk
	}
	return min(max(strings.Count(p.s[p.pos:], mark)+1, 8), 2*used)
}

// adopt makes kids the children of e, in a slice cut to their number.
func (p *scanner) adopt(e *etree.Element, kids []etree.Token) {
	if len(kids) == 0 {
		e.Child = make([]etree.Token, 0)
		return
	}
	n := len(kids)
	if cap(p.toks)-len(p.toks) < n {
		// Children are elements (one '<' each, two with an end tag) and the
		// text between them: half as many again as the '<'.
		p.toks = make([]etree.Token, 0, max(n, p.chunkSize(len(p.toks), "<", 1)*3/2+len(p.kids)))
	}
	l := len(p.toks)
	p.toks = p.toks[:l+n]
	e.Child = p.toks[l : l : l+n]
	for _, k := range kids {
		e.AddChild(k)
	}
}

// procInst reads a processing instruction after its "<?". The XML
// declaration's version and encoding are checked as encoding/xml does;
// any other instruction, or a declaration after the first element, is
// refused.
func (p *scanner) procInst(late bool) error {
	target, ok, err := p.name()
	if err != nil {
		return err
	}
	if !ok {
		return p.syntaxError("expected target name after <?")
	}
	p.space()
	k := strings.Index(p.s[p.pos:], "?>")
	if k < 0 {
		p.pos = len(p.s)
		return p.eof()
	}
	content := p.s[p.pos : p.pos+k]
	p.pos += k + 2
	if target == "xml" {
		if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
			return parseErrWrap(ErrMalformed, fmt.Errorf("xml: unsupported version %q; only version 1.0 is supported", ver), "malformed XML")
		}
		if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
			if _, err := charsetReader(enc, nil); err != nil {
				return parseErrWrap(ErrEncoding, fmt.Errorf("xml: opening charset %q: %w", enc, err), "unsupported encoding")
			}
		}
	}
	if target != "xml" || late {
		return parseErr(ErrProcInst, "processing instruction %q", target)
	}
	return nil
}

// procInstParam returns the value of param="..." in a processing
// instruction's content, as encoding/xml reads it.
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// bang reads what follows "<!": a comment (dropped), a CDATA section (text)
// or a directive (refused: DTDs and entity declarations).
func (p *scanner) bang() error {
	if p.pos >= len(p.s) {
		return p.eof()
	}
	switch p.s[p.pos] {
	case '-':
		p.pos++
		if p.pos >= len(p.s) {
			return p.eof()
		}
		if p.s[p.pos] != '-' {
			return p.syntaxError("invalid sequence <!- not part of <!--")
		}
		p.pos++
		k := strings.Index(p.s[p.pos:], "--")
		if k < 0 || p.pos+k+2 >= len(p.s) {
			p.pos = len(p.s)
			return p.eof()
		}
		p.pos += k + 2
		if p.s[p.pos] != '>' {
			return p.syntaxError(`invalid sequence "--" not allowed in comments`)
		}
		p.pos++
		return nil
	case '[':
		p.pos++
		for i := 0; i < len("CDATA["); i++ {
			if p.pos >= len(p.s) {
				return p.eof()
			}
			if p.s[p.pos] != "CDATA["[i] {
				return p.syntaxError("invalid <![ sequence")
			}
			p.pos++
		}
		data, err := p.text(-1, true)
		if err != nil {
			return err
		}
		return p.charData(data)
	}
	start := p.pos
	if err := p.directive(); err != nil {
		return err
	}
	return parseErr(ErrDTD, "directive <!%.20s...>", p.s[start:p.pos])
}

// directive skips a directive (<!DOCTYPE ...>, <!ENTITY ...>) after its
// "<!" exactly as encoding/xml does: quoted '>' and '<' do not count, nested
// <...> do, comments inside are skipped. It only finds where it ends, so
// that a truncated one is malformed, as it was.
func (p *scanner) directive() error {
	next := func() (byte, bool) {
		if p.pos >= len(p.s) {
			return 0, false
		}
		b := p.s[p.pos]
		p.pos++
		return b, true
	}
	if _, ok := next(); !ok { // the first byte is taken as it is
		return p.eof()
	}
	var inquote byte
	depth := 0
	for {
		b, ok := next()
		if !ok {
			return p.eof()
		}
		if inquote == 0 && b == '>' && depth == 0 {
			return nil
		}
	handle:
		switch {
		case b == inquote:
			inquote = 0
		case inquote != 0:
		case b == '\'' || b == '"':
			inquote = b
		case b == '>':
			depth--
		case b == '<':
			for i := 0; i < len("!--"); i++ {
				if b, ok = next(); !ok {
					return p.eof()
				}
				if b != "!--"[i] {
					depth++
					goto handle
				}
			}
			var b0, b1 byte
			for {
				if b, ok = next(); !ok {
					return p.eof()
				}
				if b0 == '-' && b1 == '-' && b == '>' {
					break
				}
				b0, b1 = b1, b
			}
		}
	}
}

// text reads character data from p.pos as encoding/xml's Decoder.text does:
// up to '<' (quote < 0, not cdata), to the closing quote (an attribute value)
// or to "]]>" (cdata). Entities are replaced and "\r\n" and "\r" become "\n";
// without either the result is a substring of the borrowed input, which
// keepText copies before the tree keeps it.
//
// It skips the bytes of no interest to the mode (textClass) in a tight
// loop and looks only at the others. "]]>" is found at its '>' by looking
// back two bytes: encoding/xml counts only the bytes since the last
// entity, whose ';' can never be one of the two ']'.
func (p *scanner) text(quote int, cdata bool) (string, error) {
	s := p.s
	var mask uint8
	switch {
	case cdata:
		mask = classCDATA
	case quote == '"':
		mask = classQuot
	case quote == '\'':
		mask = classApos
	default:
		mask = classText
	}
	start, i, end := p.pos, p.pos, 0
	plain := true
	from := start // the bytes that may make a "]]>" begin here
scan:
	for {
		// Four bytes at a time while none is of interest, then one.
		for i+4 <= len(s) && (textClass[s[i]]|textClass[s[i+1]]|textClass[s[i+2]]|textClass[s[i+3]])&mask == 0 {
			i += 4
		}
		for i < len(s) && textClass[s[i]]&mask == 0 {
			i++
		}
		if i >= len(s) {
			if cdata {
				p.pos = i
				return "", p.syntaxError("unexpected EOF in CDATA section")
			}
			end = i
			break
		}
		b := s[i]
		switch textClass[b] & mask {
		case cGT:
			if i-2 >= from && s[i-1] == ']' && s[i-2] == ']' {
				if cdata {
					end = i - 2
					i++
					break scan
				}
				p.pos = i
				return "", p.syntaxError("unescaped ]]> not in CDATA section")
			}
		case cLT:
			if quote >= 0 {
				p.pos = i
				return "", p.syntaxError("unescaped < inside quoted string")
			}
			end = i
			break scan
		case cQuot, cApos:
			end = i
			i++
			break scan
		case cAmp:
			r, n := entity(s[i:])
			if n == 0 || !inCharacterRange(r) {
				p.pos = i
				return "", p.syntaxError("invalid character entity " + entityText(s[i:]))
			}
			plain = false
			i += n
			from = i
			continue
		case cCtl:
			p.pos = i
			return "", p.syntaxError(fmt.Sprintf("illegal character code %U", rune(b)))
		case cEF:
			if i+2 < len(s) && s[i+1] == 0xBF && (s[i+2] == 0xBE || s[i+2] == 0xBF) {
				p.pos = i
				return "", p.syntaxError(fmt.Sprintf("illegal character code %U", rune(0xFFFE)|rune(s[i+2]&1)))
			}
		case cCR:
			plain = false
		}
		i++
	}
	p.pos = i
	if plain {
		return s[start:end], nil
	}
	return p.decode(s[start:end], cdata), nil
}

// Classes of the bytes text looks at; each byte has at most one.
const (
	cLT   = 1 << iota // '<'
	cAmp              // '&'
	cGT               // '>', the end of "]]>"
	cQuot             // '"'
	cApos             // '\''
	cCR               // '\r', folded
	cCtl              // a control character other than tab, line feed and carriage return
	cEF               // the first byte of U+FFFE and U+FFFF

	// The classes each mode of text stops at.
	classText  = cLT | cAmp | cGT | cCR | cCtl | cEF
	classCDATA = cGT | cCR | cCtl | cEF
	classQuot  = cLT | cAmp | cQuot | cCR | cCtl | cEF
	classApos  = cLT | cAmp | cApos | cCR | cCtl | cEF
)

// textClass is the class of each byte for text, 0 for the bytes it takes
// as they are.
var textClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = cCtl
	}
	t['\t'], t['\n'] = 0, 0
	t['\r'], t['<'], t['&'], t['>'], t['"'], t['\''], t[0xEF] = cCR, cLT, cAmp, cGT, cQuot, cApos, cEF
	return t
}()

// decode replaces the entities of raw text that text has checked and folds
// its line ends.
func (p *scanner) decode(raw string, cdata bool) string {
	out := p.buf[:0]
	var prev byte
	for i := 0; i < len(raw); {
		b := raw[i]
		switch {
		case b == '&' && !cdata:
			r, n := entity(raw[i:])
			out = append(out, string(r)...)
			i += n
			prev = 0
			continue
		case b == '\r':
			out = append(out, '\n')
		case b == '\n' && prev == '\r':
		default:
			out = append(out, b)
		}
		prev = b
		i++
	}
	p.buf = out
	return string(out)
}

// entity decodes the entity or character reference at the start of s (which
// begins with '&'), returning its rune (as string(rune(n)) converts a
// reference: surrogates become U+FFFD) and its length, or a length of 0 when
// encoding/xml's strict reader refuses it.
func entity(s string) (rune, int) {
	i := 1
	if i < len(s) && s[i] == '#' {
		i++
		base := 10
		if i < len(s) && s[i] == 'x' {
			base = 16
			i++
		}
		start := i
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || base == 16 && (s[i] >= 'a' && s[i] <= 'f' || s[i] >= 'A' && s[i] <= 'F')) {
			i++
		}
		if i >= len(s) || s[i] != ';' {
			return 0, 0
		}
		n, err := strconv.ParseUint(s[start:i], base, 64)
		if err != nil || n > unicode.MaxRune {
			return 0, 0
		}
		if r := rune(n); utf8.ValidRune(r) {
			return r, i + 1
		}
		return utf8.RuneError, i + 1
	}
	end := strings.IndexByte(s, ';')
	if end < 0 {
		return 0, 0
	}
	switch s[1:end] {
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "amp":
		return '&', end + 1
	case "apos":
		return '\'', end + 1
	case "quot":
		return '"', end + 1
	}
	return 0, 0
}

// entityText is the refused entity at the start of s, for the error.
func entityText(s string) string {
	if end := strings.IndexAny(s, "; \t\r\n<"); end > 0 && end < 32 {
		return s[:end+1]
	}
	return s[:min(len(s), 32)]
}

// inCharacterRange reports whether r is an XML character (the Char
// production of XML 1.0 section 2.2).
func inCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// space skips XML white space.
func (p *scanner) space() {
	for p.pos < len(p.s) && isSpace[p.s[p.pos]] {
		p.pos++
	}
}

// isSpace marks XML's white space bytes.
var isSpace = [256]bool{' ': true, '\r': true, '\n': true, '\t': true}

// name reads an XML name as encoding/xml does: the bytes up to the first
// ASCII byte that cannot be in a name, which must then form a name. ok is
// false, with no error, when no name starts at p.pos.
func (p *scanner) name() (name string, ok bool, err error) {
	name, _, _, ok, err = p.scanName()
	return name, ok, err
}

// scanName is name, also returning the index of the name's first colon
// (or -1) and whether it has another.
func (p *scanner) scanName() (name string, colon int, twoColons, ok bool, err error) {
	s := p.s
	start, i := p.pos, p.pos
	colon = -1
	var high byte // the bytes' bits or-ed: 0x80 when one is not ASCII
	for i < len(s) && nameByte[s[i]] {
		c := s[i]
		high |= c
		if c == ':' {
			if colon >= 0 {
				twoColons = true
			} else {
				colon = i - start
			}
		}
		i++
	}
	if i >= len(s) {
		p.pos = i
		return "", -1, false, false, p.eof()
	}
	if i == start {
		return "", -1, false, false, nil
	}
	name = s[start:i]
	if high >= 0x80 {
		if !isName(name) {
			return "", -1, false, false, p.syntaxError("invalid XML name: " + name)
		}
	} else if !nameStart[name[0]] {
		return "", -1, false, false, p.syntaxError("invalid XML name: " + name)
	}
	p.pos = i
	return name, colon, twoColons, true, nil
}

// nsname reads a name and splits it at its colon as encoding/xml does: a
// name with two colons is no name; one that begins or ends with its colon
// has no prefix. colon is the index of its colon, or -1.
func (p *scanner) nsname() (name, space, local string, colon int, ok bool, err error) {
	name, colon, twoColons, ok, err := p.scanName()
	switch {
	case !ok:
		return "", "", "", -1, false, err
	case twoColons:
		return "", "", "", -1, false, nil
	case colon <= 0 || colon == len(name)-1:
		return name, "", name, colon, true, nil
	}
	return name, name[:colon], name[colon+1:], colon, true, nil
}

// splitPrefix splits a qualified name as etree does.
func splitPrefix(name string) (space, local string) {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}

// nameByte marks the bytes a name runs over: the ASCII bytes encoding/xml
// allows in a name and every byte of a non-ASCII character (checked whole
// by isName). nameStart marks the ASCII bytes a name may begin with.
var nameByte, nameStart = func() (in, first [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		first[c] = 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || b == '_' || b == ':'
		in[c] = first[c] || '0' <= b && b <= '9' || b == '.' || b == '-' || b >= 0x80
	}
	return in, first
}()

// isName reports whether s is an XML name by encoding/xml's tables. ASCII
// names are checked here; the rare name with other characters is handed to
// encoding/xml itself (as the target of a processing instruction, which it
// checks with those tables), so that the two cannot drift apart.
func isName(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		_, err := xml.NewDecoder(strings.NewReader("<?" + s + "?>")).RawToken()
		return err == nil
	}
	c := s[0]
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':'
}

// eof is the error of input that ends inside markup.
func (p *scanner) eof() error {
	return p.syntaxError("unexpected EOF")
}

// syntaxError is a malformed-XML error at p.pos, worded as encoding/xml's.
func (p *scanner) syntaxError(msg string) error {
	line := 1 + strings.Count(p.s[:min(p.pos, len(p.s))], "\n")
	return parseErrWrap(ErrMalformed, &xml.SyntaxError{Msg: msg, Line: line}, "malformed XML")
}

// internWords are the names and attribute values SOAP requests repeat,
// which the tree uses without a copy (intern).
var internWords = []string{
	// Prefixes.
	internPrefixes,
	// Elements and attributes of the headers and bodies replicad reads.
	"Envelope Header Body To Action MessageID RelatesTo ReplyTo FaultTo From Address ReferenceParameters ReferenceProperties " +
		"ResourceURI SelectorSet Selector OptionSet Option MaxEnvelopeSize OperationTimeout Locale DataLocale SessionId " +
		"OperationID SequenceId RequestTotalItemsCountEstimate FragmentTransfer Enumerate Pull Release Renew GetStatus " +
		"EnumerationContext MaxElements MaxCharacters MaxTime Filter OptimizeEnumeration EnumerationMode Expires " +
		"EndpointReference Identify Get Put Create Delete Dialect Name Type MustComply mustUnderstand role lang nil type " +
		"true false 1 0 en-US xmlns xml:lang xsi:nil xsi:type",
	strings.Join([]string{NSEnvelope, NSAddressing, NSWSMan, NSEnumeration, NSTransfer, NSIdentity, NSMicrosoft,
		NSCIMBinding, NSWSManFault, NSXSI, NSXSD, NSCIMCommon, NSXML, AddressAnonymous}, " "),
}

// internPrefixes are the namespace prefixes clients write; each is also
// interned as a namespace declaration, xmlns:prefix.
const internPrefixes = "s a w n x p b f m h e i c t q env soap soapenv SOAP-ENV wsa wsman wsen wst wsmid wsmv xsi xsd xml cim rsp cfg plus"

// internQualified are qualified names interned whole, so that an element's
// or attribute's prefix and local name (substrings of the whole, as etree
// splits it) take one lookup: each local name of a namespace with the
// prefixes clients write for it.
var internQualified = []struct{ prefixes, locals string }{
	{"s env soap soapenv SOAP-ENV", "Envelope Header Body mustUnderstand role"},
	{"a wsa", "To Action MessageID RelatesTo ReplyTo FaultTo From Address ReferenceParameters EndpointReference"},
	{"w wsman", "ResourceURI SelectorSet Selector OptionSet Option MaxEnvelopeSize OperationTimeout Locale " +
		"RequestTotalItemsCountEstimate FragmentTransfer OptimizeEnumeration MaxElements EnumerationMode Filter"},
	{"n wsen", "Enumerate Pull Release Renew GetStatus EnumerationContext MaxElements MaxCharacters MaxTime Expires Filter"},
	{"p wsmv", "DataLocale SessionId OperationID SequenceId"},
	{"wsmid", "Identify"},
}

// interned is an open-addressing table of internWords by internHash: a
// lookup hashes a few bytes and compares one or two strings, where a map
// hashed all of them (a third of the parse's time went to the map).
var interned = func() (t [internSlots]string) {
	add := func(v string) {
		i := internHash(v)
		for t[i] != "" && t[i] != v {
			i = (i + 1) % internSlots
		}
		t[i] = v
	}
	for _, list := range internWords {
		for _, v := range strings.Fields(list) {
			add(v)
		}
	}
	for _, prefix := range strings.Fields(internPrefixes) {
		add("xmlns:" + prefix)
	}
	for _, q := range internQualified {
		for _, prefix := range strings.Fields(q.prefixes) {
			for _, local := range strings.Fields(q.locals) {
				add(prefix + ":" + local)
			}
		}
	}
	return t
}()

// internSlots is the size of interned, a power of two about eight times the
// number of words, so that most lookups find their word or an empty slot
// at once.
const internSlots = 2048

// internHash is the slot where a lookup of s (not empty) begins: a hash of
// its length and of four of its bytes (first, middle, three quarters in,
// last), which tell apart the namespace URIs of a common start.
func internHash(s string) uint32 {
	n := len(s)
	h := uint32(n)*0x9E3779B1 ^ uint32(s[0])<<24 ^ uint32(s[n/2])<<16 ^ uint32(s[n*3/4])<<8 ^ uint32(s[n-1])
	h ^= h >> 15
	h *= 0x2C1B3C6D
	h ^= h >> 13
	return h % internSlots
}

// lookupInterned returns the interned string equal to s, or "" and false.
func lookupInterned(s string) (string, bool) {
	if s == "" {
		return "", true
	}
	for i := internHash(s); ; i = (i + 1) % internSlots {
		v := interned[i]
		if v == s {
			return v, true
		}
		if v == "" {
			return "", false
		}
	}
}

// intern returns s as a string the tree may keep: the interned one, or a
// copy.
func intern(s string) string {
	if v, ok := lookupInterned(s); ok {
		return v
	}
	return strings.Clone(s)
}

// Runs of white space that indentation between elements is cut from.
var (
	newlineSpaces = "\n" + strings.Repeat(" ", 64)
	newlineTabs   = "\n" + strings.Repeat("\t", 16)
)

// keepText returns text as a string the tree may keep: indentation (a line
// end and spaces or tabs) and interned values without a copy, anything else
// copied.
func keepText(s string) string {
	if s == "" {
		return ""
	}
	if ws := indentation(s); ws != "" {
		return ws
	}
	return intern(s)
}

// indentation returns s cut from newlineSpaces or newlineTabs when it is
// an optional line end followed by spaces only or tabs only, else "".
func indentation(s string) string {
	rest, pad := s, ""
	if rest[0] == '\n' {
		rest = rest[1:]
	}
	switch {
	case rest == "":
		pad = newlineSpaces
	case rest[0] == ' ':
		pad = newlineSpaces
	case rest[0] == '\t':
		pad = newlineTabs
	default:
		return ""
	}
	if len(rest) >= len(pad) {
		return ""
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] != pad[1] {
			return ""
		}
	}
	if len(rest) == len(s) {
		return pad[1 : 1+len(rest)]
	}
	return pad[:len(s)]
}
