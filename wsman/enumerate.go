package wsman

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// Filter dialects accepted on Enumerate.
const (
	DialectWQL         = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
	DialectAssociation = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"
	DialectSelector    = "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter"
)

// Enumeration modes (DSP0226 §8.7).
const (
	modeObject       = ""
	modeEPR          = "EnumerateEPR"
	modeObjectAndEPR = "EnumerateObjectAndEPR"
)

// EnumerationLimits bound the open enumeration contexts of all users
// together; the per-user cap and the expiry are Limits' own fields. The
// zero value of a field means its default.
type EnumerationLimits struct {
	// MaxEnumerations caps the open enumeration contexts of all users
	// (default 256); more are answered with a QuotaLimit fault.
	MaxEnumerations int
	// MaxEnumerationBytes is the memory budget of all open enumeration
	// contexts together, by estimate (default 64 MiB): an Enumerate whose
	// context would not fit is answered with a QuotaLimit fault.
	MaxEnumerationBytes int64
}

// Estimates of what an open context holds, in bytes (64-bit Go): the
// context with its ID, map entry and cursor, an ObjectPath in its slice (56
// bytes) and one key binding with its boxed value (48 + 16). A test
// measures the heap to keep them honest.
const (
	enumerationOverhead = 768
	pathOverhead        = 64
	keyOverhead         = 80
)

// enumeration is one open enumeration context. An enumeration of a class
// (without a filter, or with a WQL or selector filter) whose providers page
// themselves (cimmodel.InstancePager: the volumes) holds a cursor: its
// class and the key of the last instance sent, whatever the number of
// instances; each Pull asks the providers for the next instances in key
// order (cimmodel.Registry.EnumeratePage). An instance created behind the
// cursor is not sent, one created ahead of it is, one deleted before its
// turn is not: each instance is sent at most once, as it is at the Pull.
// The other enumerations (other classes, association filters, class
// declarations) hold the object paths of the items still to send, in the
// providers' order, not the instances: Pull
// fetches those again (what changed since the Enumerate shows, what was
// deleted is skipped).
type enumeration struct {
	id      string
	owner   string
	mode    string
	uri     string
	query   *cimmodel.Query       // the WQL filter, whose projection instances get; nil: all properties
	cursor  *classCursor          // a class enumeration's position; nil: paths
	paths   []cimmodel.ObjectPath // every item not sent by the Enumerate itself, in order
	next    int                   // the first of paths not yet sent
	bytes   int64                 // the estimate counted against the budget
	expires time.Time
	busy    bool // a Pull is working on it

	classOpts *cimmodel.ClassXMLOptions // a class enumeration (class.go): paths name classes
}

// classCursor is where the enumeration of a class and its subclasses
// stands.
type classCursor struct {
	namespace, class string
	keep             func(*cimmodel.Instance) bool // a filter; nil: every instance
	at               cimmodel.Cursor               // just past the last instance sent
	// itemBytes is the size of an item in the last reply, with its share
	// of the envelope: a Pull fetches no more instances than would fit.
	itemBytes int
}

// position is where an enumeration stands after a Pull: next (paths) or
// at (a cursor), and whether nothing is left.
type position struct {
	next      int
	at        cimmodel.Cursor
	itemBytes int
	end       bool
}

// position returns where en stands now; callers hold en (busy).
func (en *enumeration) position() position {
	pos := position{next: en.next}
	if en.cursor != nil {
		pos.at, pos.itemBytes = en.cursor.at, en.cursor.itemBytes
	}
	return pos
}

// pathBytes estimates the memory an ObjectPath holds.
func pathBytes(p cimmodel.ObjectPath) int64 {
	n := int64(pathOverhead)
	for _, k := range p.Keys {
		n += keyOverhead
		switch v := k.Value.V.(type) {
		case string:
			n += int64(len(v))
		case cimmodel.ObjectPath:
			n += pathBytes(v)
		}
	}
	return n
}

// enumerations holds the open contexts: at most perUser per user and max in
// all, together within a memory budget (bytes, by estimate), each expiring
// after idle. Quotas are taken with reserve before any instance is
// enumerated. It is safe for concurrent use.
type enumerations struct {
	mu      sync.Mutex
	byID    map[string]*enumeration
	perUser int
	max     int
	budget  int64
	used    int64 // bytes of the open contexts
	pending int   // reservations neither opened nor cancelled
	idle    time.Duration
	now     func() time.Time
	count   map[string]int // per owner: open contexts and reservations
}

// newEnumerations applies l's per-user cap, expiry and EnumerationLimits
// (the defaults of the latter when unset).
func newEnumerations(l Limits, now func() time.Time) *enumerations {
	e := &enumerations{byID: map[string]*enumeration{}, count: map[string]int{},
		perUser: l.MaxEnumerationsPerUser, max: l.MaxEnumerations, budget: l.MaxEnumerationBytes,
		idle: l.EnumerationExpiry, now: now}
	if e.max <= 0 {
		e.max = 256
	}
	if e.budget <= 0 {
		e.budget = 64 << 20
	}
	return e
}

// enumTicket is a reservation of one context for owner, under the ID it will have.
type enumTicket struct {
	owner, id string
	settled   bool
}

// sweep drops expired contexts that no Pull is working on; callers hold mu.
func (e *enumerations) sweep() {
	now := e.now()
	for id, en := range e.byID {
		if !en.busy && now.After(en.expires) {
			e.drop(id, en)
		}
	}
}

// drop forgets a context; callers hold mu.
func (e *enumerations) drop(id string, en *enumeration) {
	delete(e.byID, id)
	e.used -= en.bytes
	e.uncount(en.owner)
}

func (e *enumerations) uncount(owner string) {
	if e.count[owner]--; e.count[owner] <= 0 {
		delete(e.count, owner)
	}
}

// reserve takes a context from the quotas of owner and of the server, or
// fails with QuotaLimit, before the caller does any work for it.
func (e *enumerations) reserve(owner string) (*enumTicket, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sweep()
	switch {
	case e.count[owner] >= e.perUser:
		return nil, protoErr(faultQuotaLimit, "The user %s holds %d open enumerations, the most allowed; release or finish one.", owner, e.perUser)
	case len(e.byID)+e.pending >= e.max:
		return nil, protoErr(faultQuotaLimit, "The service holds %d open enumerations, the most allowed; retry later.", e.max)
	case e.used >= e.budget:
		return nil, protoErr(faultQuotaLimit, "The open enumerations use the memory allowed for them; retry later.")
	}
	e.count[owner]++
	e.pending++
	return &enumTicket{owner: owner, id: soap.NewID()}, nil
}

// cancel gives back an unused reservation; it does nothing after open.
func (e *enumerations) cancel(t *enumTicket) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.settled {
		return
	}
	t.settled = true
	e.pending--
	e.uncount(t.owner)
}

// open stores en under its enumTicket's ID, or fails with QuotaLimit (and gives
// the reservation back) when its paths do not fit in the memory budget.
func (e *enumerations) open(t *enumTicket, en *enumeration) error {
	size := int64(enumerationOverhead)
	for _, p := range en.paths {
		size += pathBytes(p)
	}
	if c := en.cursor; c != nil {
		size += int64(len(c.namespace) + len(c.class) + len(c.at.Class) + 2*len(c.at.Key))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t.settled = true
	e.pending--
	if e.used+size > e.budget {
		e.uncount(t.owner)
		return protoErr(faultQuotaLimit, "The enumeration of %d items does not fit in the memory left for open enumerations; narrow it with a filter or retry later.", len(en.paths))
	}
	en.id, en.owner, en.bytes = t.id, t.owner, size
	en.expires = e.now().Add(e.idle)
	e.byID[en.id] = en
	e.used += size
	return nil
}

// acquire returns the context id of owner for a Pull, marked busy, or fails
// with InvalidEnumerationContext (also for another user's context), or
// with QuotaLimit while another Pull works on it.
func (e *enumerations) acquire(id, owner string) (*enumeration, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sweep()
	en, ok := e.byID[id]
	if !ok || en.owner != owner {
		return nil, protoErr(faultInvalidEnumerationContext, "The enumeration context %q is not valid or has expired.", id)
	}
	if en.busy {
		return nil, protoErr(faultQuotaLimit, "Another Pull is working on the enumeration context %q; retry when it has answered.", id)
	}
	en.busy = true
	return en, nil
}

// settle ends a Pull on en at pos. A context with nothing left is
// dropped; otherwise it waits for the next Pull, also after a Pull that
// failed, which leaves it where it was.
func (e *enumerations) settle(en *enumeration, pos position) {
	e.mu.Lock()
	defer e.mu.Unlock()
	en.busy = false
	if e.byID[en.id] != en { // released meanwhile
		return
	}
	if pos.end {
		e.drop(en.id, en)
		return
	}
	en.next = pos.next
	if en.cursor != nil {
		en.cursor.at, en.cursor.itemBytes = pos.at, pos.itemBytes
	}
	en.expires = e.now().Add(e.idle)
}

// release drops the context id of owner, or fails with
// InvalidEnumerationContext.
func (e *enumerations) release(id, owner string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sweep()
	en, ok := e.byID[id]
	if !ok || en.owner != owner {
		return protoErr(faultInvalidEnumerationContext, "The enumeration context %q is not valid or has expired.", id)
	}
	e.drop(id, en)
	return nil
}

// item is one enumerated item on its way into a reply: the instance
// (nil in EnumerateEPR mode for a context of paths) and its path (set in
// the EPR modes, which write it, and for a context of paths); end is
// the index in the context's paths just past it, at the cursor just past
// it.
type item struct {
	inst *cimmodel.Instance
	path cimmodel.ObjectPath
	// of, when set, is the instance whose path is the item's (path is
	// then unset): the EPR modes write its reference, which a frozen
	// instance keeps written (cimmodel.AppendInstanceEPR).
	of    *cimmodel.Instance
	end   int
	at    cimmodel.Cursor
	class *classItem // a class declaration instead of an instance (class.go)
}

// enumerate answers wsen:Enumerate, with the WS-Management extensions
// OptimizeEnumeration, MaxElements, EnumerationMode and Filter (DSP0226 §8).
// The quotas of open contexts are checked before any instance is
// enumerated. An enumeration of a class keeps a cursor (enumeration); an
// association filter's keeps the paths of the items not in this reply.
func (s *Server) enumerate(req *request) (*soap.Message, error) {
	h := req.header()
	t, err := s.resolveClass(h)
	if err != nil {
		return nil, err
	}
	body := req.env.Body
	if body == nil || body.Tag != "Enumerate" || body.NamespaceURI() != soap.NSEnumeration {
		return nil, protoErr(faultSchemaValidation, "The body of an Enumerate request must be wsen:Enumerate.")
	}
	mode := ""
	if e := child(body, soap.NSWSMan, "EnumerationMode"); e != nil {
		mode = strings.TrimSpace(e.Text())
		if mode != modeEPR && mode != modeObjectAndEPR {
			return nil, protoErr(faultSchemaValidation, "The EnumerationMode %q is not supported.", mode)
		}
	}
	optimized := child(body, soap.NSWSMan, "OptimizeEnumeration") != nil
	max := 0
	if optimized {
		if max, err = maxElements(child(body, soap.NSWSMan, "MaxElements"), s.Limits.MaxElements); err != nil {
			return nil, err
		}
	}
	tk, err := s.enums.reserve(req.user)
	if err != nil {
		return nil, err
	}
	defer s.enums.cancel(tk)
	en := &enumeration{mode: mode, uri: t.uri}
	insts, err := s.source(req, t, body, en)
	if err != nil {
		return nil, err
	}
	if c := en.cursor; c != nil && !s.registry.Pageable(c.namespace, c.class) {
		// Providers that do not page keep their own order (a group's
		// members in pairing order, say) in a snapshot of paths.
		if insts, err = s.snapshot(req, en); err != nil {
			return nil, err
		}
		en.cursor = nil
	}
	m := soap.NewResponse(h, soap.ActionEnumerateResponse)
	reply := enumerateReply(m, tk.id, optimized)
	m.SetBody(func(b []byte) []byte { return reply(b, nil, false) })
	if optimized {
		page, more, err := s.firstPage(req, en, insts, max)
		if err != nil {
			return nil, err
		}
		sent, err := s.fill(req, m, page, mode, cimmodel.EPRFormOf(t.uri), more, reply)
		if err != nil {
			return nil, err
		}
		if sent == len(page) && !more {
			return m, nil
		}
		if sent > 0 {
			en.next = page[sent-1].end
			if en.cursor != nil {
				en.cursor.at = page[sent-1].at
				en.cursor.itemBytes = len(req.encoded.Bytes()) / sent
			}
		}
	}
	if en.cursor == nil {
		en.paths = make([]cimmodel.ObjectPath, 0, len(insts)-en.next)
		for _, inst := range insts[en.next:] {
			en.paths = append(en.paths, inst.Path())
		}
		en.next = 0
	}
	if err := s.enums.open(tk, en); err != nil {
		return nil, err
	}
	return m, nil
}

// enumerateReply returns the writer of an Enumerate reply's body around
// its items: wsen:EnumerateResponse with the context id, then, for an
// optimized Enumerate, wsman:Items and, when last, wsman:EndOfSequence and
// the context empty (it stays, as Windows answers).
func enumerateReply(m *soap.Message, id string, optimized bool) replyBody {
	resp := m.NS(soap.NSEnumeration, "EnumerateResponse")
	ctx := m.NS(soap.NSEnumeration, "EnumerationContext")
	if !optimized {
		return func(b []byte, _ func([]byte) []byte, _ bool) []byte {
			b = append(append(append(b, '<'), resp...), '>')
			b = soap.AppendTextElement(b, ctx, id)
			return append(append(append(b, "</"...), resp...), '>')
		}
	}
	// The last reply keeps its context, empty, as Windows answers.
	return pageReply(resp, ctx, m.NS(soap.NSWSMan, "Items"), m.NS(soap.NSWSMan, "EndOfSequence"), id, true)
}

// pageReply returns the writer of a reply that carries a page of items:
// <resp>, the context id in <ctx> (empty or, unless keepContext, left out
// in the last reply), the items in <itemsTag>, then <eos/> when last.
func pageReply(resp, ctx, itemsTag, eos, id string, keepContext bool) replyBody {
	return func(b []byte, items func([]byte) []byte, last bool) []byte {
		b = append(append(append(b, '<'), resp...), '>')
		switch {
		case !last:
			b = soap.AppendTextElement(b, ctx, id)
		case keepContext:
			b = soap.AppendTextElement(b, ctx, "")
		}
		b = appendItems(b, itemsTag, items)
		if last {
			b = append(append(append(b, '<'), eos...), "/>"...)
		}
		return append(append(append(b, "</"...), resp...), '>')
	}
}

// replyBody writes the body of an enumeration reply around its items,
// which items writes (nil: none); last says whether the reply ends the
// sequence.
type replyBody func(b []byte, items func([]byte) []byte, last bool) []byte

// appendItems appends <tag>, what items writes and </tag>, or <tag/> when
// it writes nothing.
func appendItems(b []byte, tag string, items func([]byte) []byte) []byte {
	b = append(append(append(b, '<'), tag...), '>')
	start := len(b)
	if items != nil {
		b = items(b)
	}
	if len(b) == start {
		return append(b[:start-1], "/>"...)
	}
	return append(append(append(b, "</"...), tag...), '>')
}

// firstPage returns the items of an optimized Enumerate: at most max from
// en's cursor, or of insts when en has none, and whether more follow.
func (s *Server) firstPage(req *request, en *enumeration, insts []*cimmodel.Instance, max int) ([]item, bool, error) {
	if en.cursor != nil {
		return s.cursorPage(req, en, max)
	}
	page := make([]item, min(max, len(insts)))
	for i := range page {
		page[i] = item{inst: insts[i], end: i + 1}
		if en.mode != modeObject { // the EPR modes write the path
			page[i].path = insts[i].Path()
		}
	}
	return page, len(insts) > len(page), nil
}

// source sets up what an Enumerate enumerates: a cursor over a class (all
// its instances, or those a WQL or selector filter keeps), checked but not
// yet walked, or the instances an association filter finds, returned.
// Every loop stops when the request's context ends.
func (s *Server) source(req *request, t target, body *etree.Element, en *enumeration) ([]*cimmodel.Instance, error) {
	if err := req.ctx.Err(); err != nil {
		return nil, err
	}
	filter := child(body, soap.NSWSMan, "Filter")
	if filter == nil {
		filter = child(body, soap.NSEnumeration, "Filter")
	}
	dialect := ""
	if filter != nil {
		dialect = filter.SelectAttrValue("Dialect", "")
	}
	switch {
	case filter != nil && dialect == DialectWQL:
		q, err := cimmodel.ParseWQL(strings.TrimSpace(filter.Text()))
		if err != nil {
			return nil, err
		}
		if err := s.registry.CheckQuery(t.namespace, q); err != nil {
			return nil, wqlError(err)
		}
		en.query = q
		en.cursor = &classCursor{namespace: t.namespace, class: q.Class, keep: q.Match}
		return nil, nil
	case filter == nil:
		if t.class == nil {
			return nil, &protocolError{kind: faultCannotProcessFilter,
				message: "Enumerating the * resource URI needs a WQL or association filter."}
		}
		en.cursor = &classCursor{namespace: t.namespace, class: t.class.Name}
		return nil, nil
	case dialect == DialectAssociation:
		f, err := cimmodel.ParseAssociationFilter(filter)
		if err != nil {
			return nil, &protocolError{kind: faultCannotProcessFilter, message: "The association filter is not valid: " + err.Error(), err: err}
		}
		if f.Instances {
			return s.registry.References(req.ctx, f)
		}
		return s.registry.Associators(req.ctx, f)
	case dialect == DialectSelector:
		if t.class == nil {
			return nil, protoErr(faultCannotProcessFilter, "A selector filter needs a class resource URI.")
		}
		keep, err := s.selectorFilter(t, filter)
		if err != nil {
			return nil, err
		}
		en.cursor = &classCursor{namespace: t.namespace, class: t.class.Name, keep: keep}
		return nil, nil
	default:
		return nil, protoErr(faultFilterDialectUnavailable, "The filter dialect %q is not supported; use WQL, the association filter or the selector filter.", dialect)
	}
}

// snapshot returns every instance en's cursor would meet, in the order
// of Registry.Enumerate, projected by the WQL filter's SELECT list. Every
// loop stops when the request's context ends.
func (s *Server) snapshot(req *request, en *enumeration) ([]*cimmodel.Instance, error) {
	c := en.cursor
	all, err := s.registry.Enumerate(req.ctx, c.namespace, c.class)
	if err != nil {
		if en.query != nil {
			err = wqlError(err)
		}
		return nil, err
	}
	var out []*cimmodel.Instance
	for _, inst := range all {
		if err := req.ctx.Err(); err != nil {
			return nil, err
		}
		if c.keep != nil && !c.keep(inst) {
			continue
		}
		if en.query != nil {
			inst = en.query.Project(inst)
		}
		out = append(out, inst)
	}
	return out, nil
}

// selectorFilter returns the test of a selector filter: the instances
// whose properties equal the filter's selectors (DSP0226 §8.6 / ANNEX: the
// SelectorFilter dialect; MS-WSMV 3.1.4.1.13 wsman:Filter). A selector may
// name any property of the class, key or not; every selector must match
// (an array property matches when one of its elements does, a NULL one
// never). A name that is no property of the class is CannotProcessFilter.
func (s *Server) selectorFilter(t target, filter *etree.Element) (func(*cimmodel.Instance) bool, error) {
	set := child(filter, soap.NSWSMan, "SelectorSet")
	if set == nil {
		return nil, protoErr(faultCannotProcessFilter, "The selector filter has no SelectorSet.")
	}
	want, err := s.filterSelectors(t, set)
	if err != nil {
		return nil, err
	}
	return func(inst *cimmodel.Instance) bool { return matchesSelectors(inst, want) }, nil
}

// filterSelectors reads the selectors of a selector filter as bindings of
// t.class's properties (declared names); __cimnamespace is skipped.
func (s *Server) filterSelectors(t target, set *etree.Element) ([]cimmodel.KeyBinding, error) {
	props := s.registry.Properties(t.class)
	var want []cimmodel.KeyBinding
	for _, e := range set.ChildElements() {
		if e.Tag != "Selector" {
			continue
		}
		name := e.SelectAttrValue("Name", "")
		if strings.EqualFold(name, cimNamespaceSelector) {
			continue
		}
		p, ok := propertyNamed(props, name)
		if !ok {
			return nil, protoErr(faultCannotProcessFilter, "The selector filter names %q, which is not a property of %s.", name, t.class.Name)
		}
		v := cimmodel.String(strings.TrimSpace(e.Text()))
		if epr := childNamed(e, "EndpointReference"); epr != nil {
			r, err := cimmodel.ParseEPR(epr)
			if err != nil {
				return nil, &protocolError{kind: faultCannotProcessFilter, message: "The selector filter's reference for " + p.Name + " is not valid: " + err.Error(), err: err}
			}
			v = cimmodel.Ref(r)
		}
		want = append(want, cimmodel.KeyBinding{Name: p.Name, Value: v})
	}
	return want, nil
}

// propertyNamed returns the property of props named name (case-insensitive).
func propertyNamed(props []cimmodel.Property, name string) (cimmodel.Property, bool) {
	for _, p := range props {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return cimmodel.Property{}, false
}

// childNamed returns the first child element of e with local name local,
// whatever its namespace.
func childNamed(e *etree.Element, local string) *etree.Element {
	for _, c := range e.ChildElements() {
		if c.Tag == local {
			return c
		}
	}
	return nil
}

// matchesSelectors reports whether every binding of want equals inst's
// property of that name (an element of it, for arrays). Values compare as
// keys do (cimmodel.ObjectPath.Equal): by their text, references by their
// canonical path.
func matchesSelectors(inst *cimmodel.Instance, want []cimmodel.KeyBinding) bool {
	for _, kb := range want {
		found := false
		for _, e := range inst.Get(kb.Name).Elems() {
			have := cimmodel.ObjectPath{Keys: []cimmodel.KeyBinding{{Name: kb.Name, Value: e}}}
			if have.Equal(cimmodel.ObjectPath{Keys: []cimmodel.KeyBinding{kb}}) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// pull answers wsen:Pull with the next items of an open context: the
// next instances after its cursor, or those at its next paths, fetched
// again. A Pull that fails (EncodingLimit, a provider's error, the
// OperationTimeout) leaves the context as it was: the client may retry,
// with a smaller MaxElements or a larger MaxEnvelopeSize.
func (s *Server) pull(req *request) (*soap.Message, error) {
	body := req.env.Body
	if body == nil || body.Tag != "Pull" || body.NamespaceURI() != soap.NSEnumeration {
		return nil, protoErr(faultSchemaValidation, "The body of a Pull request must be wsen:Pull.")
	}
	id := strings.TrimSpace(textOf(child(body, soap.NSEnumeration, "EnumerationContext")))
	max, err := maxElements(child(body, soap.NSEnumeration, "MaxElements"), s.Limits.MaxElements)
	if err != nil {
		return nil, err
	}
	en, err := s.enums.acquire(id, req.user)
	if err != nil {
		return nil, err
	}
	pos := en.position()
	defer func() { s.enums.settle(en, pos) }()
	page, more, err := s.page(req, en, max)
	if err != nil {
		return nil, err
	}
	m := soap.NewResponse(req.header(), soap.ActionPullResponse)
	// The last reply has no context.
	reply := pageReply(m.NS(soap.NSEnumeration, "PullResponse"), m.NS(soap.NSEnumeration, "EnumerationContext"),
		m.NS(soap.NSEnumeration, "Items"), m.NS(soap.NSEnumeration, "EndOfSequence"), en.id, false)
	sent, err := s.fill(req, m, page, en.mode, cimmodel.EPRFormOf(en.uri), more, reply)
	if err != nil {
		return nil, err
	}
	next := pos
	switch {
	case en.cursor != nil:
		if sent > 0 {
			next.at = page[sent-1].at
			next.itemBytes = len(req.encoded.Bytes()) / sent
		}
		next.end = sent == len(page) && !more
	case sent > 0:
		next.next = page[sent-1].end
		next.end = next.next >= len(en.paths)
	default: // every path left named a deleted instance
		next.end = true
	}
	pos = next
	return m, nil
}

// page returns the next at most max items of en and whether more follow.
func (s *Server) page(req *request, en *enumeration, max int) ([]item, bool, error) {
	if en.cursor != nil {
		return s.cursorPage(req, en, max)
	}
	var out []item
	if en.classOpts != nil {
		out = s.classPage(en, max)
	} else {
		var err error
		if out, err = s.pathPage(req, en, max); err != nil {
			return nil, false, err
		}
	}
	more := len(out) > 0 && out[len(out)-1].end < len(en.paths)
	return out, more, nil
}

// cursorPage returns the next at most max instances after en's cursor,
// each projected by the WQL filter's SELECT list, and whether more follow.
func (s *Server) cursorPage(req *request, en *enumeration, max int) ([]item, bool, error) {
	c := en.cursor
	if c.itemBytes > 0 { // what fits, by the last reply, and a tenth more
		max = min(max, req.maxEnvelope/c.itemBytes*11/10+1)
	}
	got, more, err := s.registry.EnumeratePage(req.ctx, c.namespace, c.class, c.at, max, c.keep)
	if err != nil {
		if en.query != nil {
			err = wqlError(err)
		}
		return nil, false, err
	}
	out := make([]item, len(got))
	for i, g := range got {
		out[i] = item{inst: g.Instance, at: g.Cursor, of: g.Instance}
		if en.query != nil {
			out[i].inst = en.query.Project(g.Instance)
		}
	}
	return out, more, nil
}

// pathPage returns the next at most max items of en's paths. Instances are
// fetched again (in EnumerateEPR mode the paths are enough); those deleted
// since the Enumerate are skipped.
func (s *Server) pathPage(req *request, en *enumeration, max int) ([]item, error) {
	var out []item
	for i := en.next; len(out) == 0 && i < len(en.paths); {
		j := min(i+max, len(en.paths))
		var insts []*cimmodel.Instance
		if en.mode != modeEPR {
			var err error
			if insts, err = s.registry.Instances(req.ctx, en.paths[i:j]); err != nil {
				return nil, err
			}
		}
		for k, p := range en.paths[i:j] {
			it := item{path: p, end: i + k + 1}
			if en.mode != modeEPR {
				if it.inst = insts[k]; it.inst == nil {
					continue
				}
				if en.query != nil {
					it.inst = en.query.Project(it.inst)
				}
			}
			out = append(out, it)
		}
		i = j
	}
	return out, nil
}

// release answers wsen:Release: the context is dropped.
func (s *Server) release(req *request) (*soap.Message, error) {
	body := req.env.Body
	if body == nil || body.Tag != "Release" || body.NamespaceURI() != soap.NSEnumeration {
		return nil, protoErr(faultSchemaValidation, "The body of a Release request must be wsen:Release.")
	}
	id := strings.TrimSpace(textOf(child(body, soap.NSEnumeration, "EnumerationContext")))
	if err := s.enums.release(id, req.user); err != nil {
		return nil, err
	}
	return soap.NewResponse(req.header(), soap.ActionReleaseResponse), nil
}

// fill sets m's body to the items that fit in the reply's MaxEnvelopeSize,
// written by reply (the body around them, whose end is last when every
// item fits and none follows, more saying whether items follow those
// given), and returns how many; EncodingLimit when not even one fits. The
// encoding of the reply that was measured is the reply (req.encoded: it is
// not encoded again). Items are written until they alone pass the limit;
// a reply too large is cut to the most items that fit, from the size of
// the envelope without items and of each item as it was written, and
// encoded once more. References take the given form.
func (s *Server) fill(req *request, m *soap.Message, items []item, mode string, form cimmodel.EPRForm, more bool, reply replyBody) (int, error) {
	enc, limit := req.env.Encoding, req.maxEnvelope
	tags := itemTags{item: m.NS(soap.NSWSMan, "Item"), epr: m.NS(soap.NSAddressing, "EndpointReference")}
	sizes := make([]int, len(items)) // of the items written, in enc, each with those before it
	n, last, written := len(items), !more, 0
	write := func(b []byte) []byte {
		start := len(b)
		for i, it := range items[:n] {
			b = appendItem(b, tags, it, mode, form)
			sizes[i] = soap.EncodedLen(b[start:], enc)
			written = max(written, i+1)
			if sizes[i] > limit { // the reply cannot hold them: no use writing more
				break
			}
		}
		return b
	}
	m.SetBody(func(b []byte) []byte { return reply(b, write, last) })
	out, size, err := m.Render(enc, limit)
	if err != nil {
		return 0, fmt.Errorf("encode reply: %w", err)
	}
	if size > limit {
		n, last = 0, false
		_, base, err := m.Render(enc, 0)
		if err != nil {
			return 0, fmt.Errorf("encode reply: %w", err)
		}
		for n < written && base+sizes[n] <= limit {
			n++
		}
		if n == 0 {
			return 0, protoErr(faultEncodingLimit, "One item does not fit in the MaxEnvelopeSize of %d bytes.", limit)
		}
		if out, _, err = m.Render(enc, math.MaxInt); err != nil {
			return 0, fmt.Errorf("encode reply: %w", err)
		}
	}
	req.encoded.Release()
	req.encoded, req.encodedMsg = out, m
	return n, nil
}

// itemTags are the qualified names of an item's wrapper elements in a
// reply.
type itemTags struct{ item, epr string }

// appendItem appends one enumerated item as the mode asks: the instance,
// its EPR, or both in a wsman:Item. References (the EPR and
// reference-valued properties) are written in form: a request addressed
// with a DMTF resource URI gets them with __cimnamespace
// (cimmodel.EPRDMTF).
func appendItem(b []byte, tags itemTags, it item, mode string, form cimmodel.EPRForm) []byte {
	if it.class != nil {
		return appendClassItem(b, it.class)
	}
	switch mode {
	case modeEPR:
		return appendEPRItem(b, tags.epr, it, form)
	case modeObjectAndEPR:
		b = append(append(append(b, '<'), tags.item...), '>')
		b = cimmodel.AppendInstance(b, it.inst, form)
		b = appendEPRItem(b, tags.epr, it, form)
		return append(append(append(b, "</"...), tags.item...), '>')
	default:
		return cimmodel.AppendInstance(b, it.inst, form)
	}
}

// appendEPRItem appends the a:EndpointReference (tag) of an item.
func appendEPRItem(b []byte, tag string, it item, form cimmodel.EPRForm) []byte {
	b = append(append(append(b, '<'), tag...), '>')
	if it.of != nil {
		b = cimmodel.AppendInstanceEPR(b, it.of, soap.AddressAnonymous, form)
	} else {
		b = cimmodel.AppendEPR(b, it.path, soap.AddressAnonymous, form)
	}
	return append(append(append(b, "</"...), tag...), '>')
}

// maxElements reads a MaxElements element: default 1 (WS-Enumeration), at
// most limit.
func maxElements(e *etree.Element, limit int) (int, error) {
	if e == nil {
		return 1, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(e.Text()))
	if err != nil || n < 1 {
		return 0, protoErr(faultSchemaValidation, "MaxElements must be a positive integer, not %q.", e.Text())
	}
	return min(n, limit), nil
}

func textOf(e *etree.Element) string {
	if e == nil {
		return ""
	}
	return e.Text()
}
