package wsman

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

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

// enumeration is one open enumeration context: the instances still to send.
type enumeration struct {
	id      string
	owner   string
	mode    string
	uri     string
	items   []*cimmodel.Instance
	expires time.Time
}

// enumerations holds the open contexts, at most max per user, each expiring
// after idle. It is safe for concurrent use.
type enumerations struct {
	mu    sync.Mutex
	byID  map[string]*enumeration
	max   int
	idle  time.Duration
	now   func() time.Time
	count map[string]int
}

func newEnumerations(max int, idle time.Duration, now func() time.Time) *enumerations {
	return &enumerations{byID: map[string]*enumeration{}, count: map[string]int{}, max: max, idle: idle, now: now}
}

// sweep drops expired contexts; callers hold mu.
func (e *enumerations) sweep() {
	now := e.now()
	for id, en := range e.byID {
		if now.After(en.expires) {
			e.drop(id, en)
		}
	}
}

func (e *enumerations) drop(id string, en *enumeration) {
	delete(e.byID, id)
	if e.count[en.owner]--; e.count[en.owner] <= 0 {
		delete(e.count, en.owner)
	}
}

// open stores en under a new ID, or fails with QuotaLimit when its owner
// already holds the maximum.
func (e *enumerations) open(en *enumeration) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sweep()
	if e.count[en.owner] >= e.max {
		return protoErr(faultQuotaLimit, "The user %s holds %d open enumerations, the most allowed; release or finish one.", en.owner, e.max)
	}
	en.id = "uuid:" + strings.ToUpper(uuid.NewString())
	en.expires = e.now().Add(e.idle)
	e.byID[en.id] = en
	e.count[en.owner]++
	return nil
}

// take removes and returns the context id of owner, or fails with
// InvalidEnumerationContext (also for another user's context).
func (e *enumerations) take(id, owner string) (*enumeration, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sweep()
	en, ok := e.byID[id]
	if !ok || en.owner != owner {
		return nil, protoErr(faultInvalidEnumerationContext, "The enumeration context %q is not valid or has expired.", id)
	}
	e.drop(id, en)
	return en, nil
}

// enumerate answers wsen:Enumerate, with the WS-Management extensions
// OptimizeEnumeration, MaxElements, EnumerationMode and Filter (DSP0226 §8).
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
	items, err := s.filtered(req, t, body)
	if err != nil {
		return nil, err
	}
	en := &enumeration{owner: req.user, mode: mode, uri: t.uri, items: items}
	m := soap.NewResponse(h, soap.ActionEnumerateResponse)
	resp := m.Body().CreateElement(m.NS(soap.NSEnumeration, "EnumerateResponse"))
	ctxElem := resp.CreateElement(m.NS(soap.NSEnumeration, "EnumerationContext"))
	if child(body, soap.NSWSMan, "OptimizeEnumeration") == nil {
		// Plain WS-Enumeration: everything comes through Pull.
		if err := s.enums.open(en); err != nil {
			return nil, err
		}
		ctxElem.SetText(en.id)
		return m, nil
	}
	max, err := maxElements(child(body, soap.NSWSMan, "MaxElements"), s.Limits.MaxElements)
	if err != nil {
		return nil, err
	}
	itemsElem := resp.CreateElement(m.NS(soap.NSWSMan, "Items"))
	if err := s.fill(req, m, itemsElem, en, max); err != nil {
		return nil, err
	}
	if len(en.items) == 0 {
		resp.CreateElement(m.NS(soap.NSWSMan, "EndOfSequence"))
		return m, nil
	}
	if err := s.enums.open(en); err != nil {
		return nil, err
	}
	ctxElem.SetText(en.id)
	return m, nil
}

// filtered returns the instances an Enumerate asks for: all of the class, or
// those its filter selects.
func (s *Server) filtered(req *request, t target, body *etree.Element) ([]*cimmodel.Instance, error) {
	filter := child(body, soap.NSWSMan, "Filter")
	if filter == nil {
		filter = child(body, soap.NSEnumeration, "Filter")
	}
	if filter == nil {
		if t.class == nil {
			return nil, &protocolError{kind: faultCannotProcessFilter,
				message: "Enumerating the * resource URI needs a WQL or association filter."}
		}
		return s.registry.Enumerate(req.ctx, t.namespace, t.class.Name)
	}
	switch dialect := filter.SelectAttrValue("Dialect", ""); dialect {
	case DialectWQL:
		return s.registry.Query(req.ctx, t.namespace, strings.TrimSpace(filter.Text()))
	case DialectAssociation:
		f, err := cimmodel.ParseAssociationFilter(filter)
		if err != nil {
			return nil, &protocolError{kind: faultCannotProcessFilter, message: "The association filter is not valid: " + err.Error(), err: err}
		}
		if f.Instances {
			return s.registry.References(req.ctx, f)
		}
		return s.registry.Associators(req.ctx, f)
	case DialectSelector:
		if t.class == nil {
			return nil, protoErr(faultCannotProcessFilter, "A selector filter needs a class resource URI.")
		}
		return s.selectorFiltered(req, t, filter)
	default:
		return nil, protoErr(faultFilterDialectUnavailable, "The filter dialect %q is not supported; use WQL, the association filter or the selector filter.", dialect)
	}
}

// selectorFiltered keeps the instances whose keys equal the filter's
// selectors (DSP0226 §8.6 selector filter).
func (s *Server) selectorFiltered(req *request, t target, filter *etree.Element) ([]*cimmodel.Instance, error) {
	set := child(filter, soap.NSWSMan, "SelectorSet")
	if set == nil {
		return nil, protoErr(faultCannotProcessFilter, "The selector filter has no SelectorSet.")
	}
	var sels []soap.Selector
	for _, e := range set.ChildElements() {
		sels = append(sels, soap.Selector{Name: e.SelectAttrValue("Name", ""), Value: strings.TrimSpace(e.Text())})
	}
	want, err := pathFromSelectors(t.namespace, t.class.Name, sels)
	if err != nil {
		return nil, err
	}
	if want, err = s.registry.NormalizePath(t.class, want); err != nil {
		return nil, &protocolError{kind: faultCannotProcessFilter, message: "The selector filter does not fit the class: " + err.Error(), err: err}
	}
	all, err := s.registry.Enumerate(req.ctx, t.namespace, t.class.Name)
	if err != nil {
		return nil, err
	}
	var out []*cimmodel.Instance
	for _, inst := range all {
		have := inst.Path()
		match := true
		for _, kb := range want.Keys {
			v, ok := have.Key(kb.Name)
			if !ok || !(cimmodel.ObjectPath{Keys: []cimmodel.KeyBinding{{Name: kb.Name, Value: v}}}).Equal(
				cimmodel.ObjectPath{Keys: []cimmodel.KeyBinding{kb}}) {
				match = false
				break
			}
		}
		if match {
			out = append(out, inst)
		}
	}
	return out, nil
}

// pull answers wsen:Pull with the next items of an open context.
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
	en, err := s.enums.take(id, req.user)
	if err != nil {
		return nil, err
	}
	m := soap.NewResponse(req.header(), soap.ActionPullResponse)
	resp := m.Body().CreateElement(m.NS(soap.NSEnumeration, "PullResponse"))
	ctxElem := resp.CreateElement(m.NS(soap.NSEnumeration, "EnumerationContext"))
	itemsElem := resp.CreateElement(m.NS(soap.NSEnumeration, "Items"))
	if err := s.fill(req, m, itemsElem, en, max); err != nil {
		return nil, err
	}
	if len(en.items) == 0 {
		resp.RemoveChild(ctxElem)
		resp.CreateElement(m.NS(soap.NSEnumeration, "EndOfSequence"))
		return m, nil
	}
	if err := s.enums.open(en); err != nil {
		return nil, err
	}
	ctxElem.SetText(en.id)
	return m, nil
}

// release answers wsen:Release: the context is dropped.
func (s *Server) release(req *request) (*soap.Message, error) {
	body := req.env.Body
	if body == nil || body.Tag != "Release" || body.NamespaceURI() != soap.NSEnumeration {
		return nil, protoErr(faultSchemaValidation, "The body of a Release request must be wsen:Release.")
	}
	id := strings.TrimSpace(textOf(child(body, soap.NSEnumeration, "EnumerationContext")))
	if _, err := s.enums.take(id, req.user); err != nil {
		return nil, err
	}
	return soap.NewResponse(req.header(), soap.ActionReleaseResponse), nil
}

// fill moves up to max items of en into itemsElem, as many as fit in the
// reply's MaxEnvelopeSize; what does not fit stays in en for the next Pull.
func (s *Server) fill(req *request, m *soap.Message, itemsElem *etree.Element, en *enumeration, max int) error {
	n := min(max, len(en.items))
	for {
		for _, c := range itemsElem.ChildElements() {
			itemsElem.RemoveChild(c)
		}
		for _, inst := range en.items[:n] {
			s.writeItem(m, itemsElem, inst, en.mode)
		}
		out, err := m.Bytes(req.env.Encoding)
		if err != nil {
			return err
		}
		if len(out) <= req.maxEnvelope {
			break
		}
		if n <= 1 {
			return protoErr(faultEncodingLimit, "One item does not fit in the MaxEnvelopeSize of %d bytes.", req.maxEnvelope)
		}
		n /= 2
	}
	en.items = en.items[n:]
	return nil
}

// writeItem writes one enumerated instance as the mode asks: the instance,
// its EPR, or both in a wsman:Item.
func (s *Server) writeItem(m *soap.Message, parent *etree.Element, inst *cimmodel.Instance, mode string) {
	switch mode {
	case modeEPR:
		inst.Path().WriteEPR(parent.CreateElement(m.NS(soap.NSAddressing, "EndpointReference")), soap.AddressAnonymous)
	case modeObjectAndEPR:
		item := parent.CreateElement(m.NS(soap.NSWSMan, "Item"))
		cimmodel.EncodeInstance(item, inst)
		inst.Path().WriteEPR(item.CreateElement(m.NS(soap.NSAddressing, "EndpointReference")), soap.AddressAnonymous)
	default:
		cimmodel.EncodeInstance(parent, inst)
	}
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
