package client

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// reply is an answer read into one flat list of elements with soap's strict
// token reader: no tree of objects, and every name and text a substring of
// the answer's bytes (which the client owns and never changes), so that
// the instances decoded from it cost a few allocations each. Where the
// element helpers below have an etree counterpart they answer as it does:
// names split at the first colon, namespaces resolved by the same lookup,
// text the character data before the first child element.
type reply struct {
	nodes []node // nodes[0] is the document, the root element its child
	attrs []soap.TokenAttr
	// rootText is set when the root element holds text other than white
	// space (not a SOAP envelope).
	rootText bool
}

// node is one element of a reply; none is the index of no element.
type node struct {
	prefix, local     string
	attrLo, attrHi    int32 // its attributes are attrs[attrLo:attrHi]
	parent            int32
	first, last, next int32 // first and last child element, next sibling
	text              string
}

const none = -1

// replies holds replies between answers, for their slices.
var replies = sync.Pool{New: func() any { return new(reply) }}

// readReply reads data into a reply; errors are soap's, as soap.Parse
// returns them for XML it refuses. Release the reply when done with it (the
// instances decoded from it do not hold it).
func readReply(data []byte) (*reply, error) {
	r := replies.Get().(*reply)
	if n := bytes.Count(data, []byte{'<'})/2 + 2; cap(r.nodes) < n {
		r.nodes = make([]node, 0, n)
	}
	r.nodes = append(r.nodes[:0], node{parent: none, first: none, last: none, next: none})
	r.attrs = r.attrs[:0]
	r.rootText = false
	open := int32(0)
	err := soap.ReadTokens(data, func(t soap.Token) error {
		switch t.Kind {
		case soap.StartToken:
			i := int32(len(r.nodes))
			lo := int32(len(r.attrs))
			if len(t.Attr) > 0 {
				r.attrs = append(r.attrs, t.Attr...)
			}
			// Fields set one by one: appending a whole node copies it with
			// the bulk write barrier, a cost per element while the GC marks.
			if int(i) < cap(r.nodes) {
				r.nodes = r.nodes[:i+1]
			} else {
				r.nodes = append(r.nodes, node{})
			}
			n := &r.nodes[i]
			n.prefix, n.local, n.text = t.Prefix, t.Local, ""
			n.attrLo, n.attrHi, n.parent, n.first, n.last, n.next = lo, int32(len(r.attrs)), open, none, none, none
			p := &r.nodes[open]
			if p.last != none {
				r.nodes[p.last].next = i
			} else {
				p.first = i
			}
			p.last = i
			open = i
		case soap.EndToken:
			open = r.nodes[open].parent
		case soap.TextToken:
			n := &r.nodes[open]
			if n.first == none {
				n.text += t.Text
			}
			if n.parent == 0 && !r.rootText && strings.TrimSpace(t.Text) != "" {
				r.rootText = true
			}
		}
		return nil
	})
	if err != nil {
		r.release()
		return nil, err
	}
	return r, nil
}

// release returns r to the pool, unless a large answer grew it.
func (r *reply) release() {
	if cap(r.nodes) > 4096 || cap(r.attrs) > 4096 {
		return
	}
	clear(r.nodes[:cap(r.nodes)])
	clear(r.attrs[:cap(r.attrs)])
	r.nodes, r.attrs = r.nodes[:0], r.attrs[:0]
	replies.Put(r)
}

// attr returns the attributes of element i.
func (r *reply) attr(i int32) []soap.TokenAttr {
	n := &r.nodes[i]
	return r.attrs[n.attrLo:n.attrHi]
}

// fullTag is element i's name as written (etree's FullTag), or "an empty
// body" for none.
func (r *reply) fullTag(i int32) string {
	if i == none {
		return "an empty body"
	}
	n := &r.nodes[i]
	if n.prefix == "" {
		return n.local
	}
	return n.prefix + ":" + n.local
}

// ns is the namespace of element i (etree's NamespaceURI).
func (r *reply) ns(i int32) string {
	if p := r.nodes[i].prefix; p != "" {
		return r.prefixNS(i, p)
	}
	for ; i > 0; i = r.nodes[i].parent {
		for _, a := range r.attr(i) {
			if a.Prefix == "" && a.Local == "xmlns" {
				return a.Value
			}
		}
	}
	return ""
}

// prefixNS is the namespace prefix is bound to at element i.
func (r *reply) prefixNS(i int32, prefix string) string {
	for ; i > 0; i = r.nodes[i].parent {
		for _, a := range r.attr(i) {
			if a.Prefix == "xmlns" && a.Local == prefix {
				return a.Value
			}
		}
	}
	return ""
}

// attrNS returns the value of element i's attribute local in namespace ns.
func (r *reply) attrNS(i int32, ns, local string) string {
	for _, a := range r.attr(i) {
		if a.Local == local && a.Prefix != "" && r.prefixNS(i, a.Prefix) == ns {
			return a.Value
		}
	}
	return ""
}

// attrValue returns the value of element i's unprefixed attribute key, or
// def (etree's SelectAttrValue).
func (r *reply) attrValue(i int32, key, def string) string {
	for _, a := range r.attr(i) {
		if a.Prefix == "" && a.Local == key {
			return a.Value
		}
	}
	return def
}

// child returns the first child element of i with local name local, or
// none; i may be none.
func (r *reply) child(i int32, local string) int32 {
	if i == none {
		return none
	}
	for c := r.nodes[i].first; c != none; c = r.nodes[c].next {
		if r.nodes[c].local == local {
			return c
		}
	}
	return none
}

// text is the text of element i, "" for none.
func (r *reply) text(i int32) string {
	if i == none {
		return ""
	}
	return r.nodes[i].text
}

// children counts the child elements of i.
func (r *reply) children(i int32) int {
	n := 0
	for c := r.nodes[i].first; c != none; c = r.nodes[c].next {
		n++
	}
	return n
}

// envelope returns the first child element of the SOAP body (none for an
// empty body), and true, when the envelope is one soap.Parse accepts for
// sure: an Envelope of SOAP 1.2 holding an optional Header and a Body, and
// in the header only wsa:To, wsa:Action and wsa:MessageID (once each,
// mandatory or not) and headers soap does not know that are not marked
// mandatory. For anything else it returns false, and the caller asks
// soap.Parse.
func (r *reply) envelope() (int32, bool) {
	root := r.nodes[0].first
	if r.rootText || r.nodes[root].local != "Envelope" || r.ns(root) != soap.NSEnvelope {
		return none, false
	}
	header, body := int32(none), int32(none)
	for c := r.nodes[root].first; c != none; c = r.nodes[c].next {
		switch {
		case r.nodes[c].local == "Header" && header == none && body == none && r.ns(c) == soap.NSEnvelope:
			header = c
		case r.nodes[c].local == "Body" && body == none && r.ns(c) == soap.NSEnvelope:
			body = c
		default:
			return none, false
		}
	}
	if body == none || header != none && !r.plainHeader(header) {
		return none, false
	}
	return r.nodes[body].first, true
}

// plainHeader reports whether soap.Parse decodes the header h without
// error for sure (see envelope).
func (r *reply) plainHeader(h int32) bool {
	var seen [3]bool
	for c := r.nodes[h].first; c != none; c = r.nodes[c].next {
		mandatory := false
		for _, a := range r.attr(c) {
			if a.Prefix == "" || a.Local != "mustUnderstand" && a.Local != "role" || r.prefixNS(c, a.Prefix) != soap.NSEnvelope {
				continue
			}
			switch v := strings.TrimSpace(a.Value); {
			case a.Local == "role":
				return false
			case v == "true" || v == "1":
				mandatory = true
			case v != "false" && v != "0":
				return false
			}
		}
		switch ns, local := r.ns(c), r.nodes[c].local; {
		case ns == soap.NSAddressing && (local == "To" || local == "Action" || local == "MessageID"):
			k := 0
			switch local {
			case "Action":
				k = 1
			case "MessageID":
				k = 2
			}
			if seen[k] {
				return false
			}
			seen[k] = true
		case mandatory:
			return false
		case local != "RelatesTo" && (ns == soap.NSAddressing || ns == soap.NSWSMan || ns == soap.NSMicrosoft):
			return false
		}
	}
	return true
}

// body reads the body of an envelope soap.Parse accepted.
func (r *reply) body() int32 {
	root := r.nodes[0].first
	for c := r.nodes[root].first; c != none; c = r.nodes[c].next {
		if r.nodes[c].local == "Body" && r.ns(c) == soap.NSEnvelope {
			return r.nodes[c].first
		}
	}
	return none
}

// fault returns the fault that element b is, or nil when b is no s:Fault.
func (r *reply) fault(b int32) *Fault {
	if b == none || r.nodes[b].local != "Fault" || r.ns(b) != soap.NSEnvelope {
		return nil
	}
	f := &Fault{}
	if code := r.child(b, "Code"); code != none {
		f.Code = strings.TrimSpace(r.text(r.child(code, "Value")))
		if sub := r.child(code, "Subcode"); sub != none {
			v := strings.TrimSpace(r.text(r.child(sub, "Value")))
			if i := strings.IndexByte(v, ':'); i >= 0 {
				v = v[i+1:]
			}
			f.Subcode = v
		}
	}
	if reason := r.child(b, "Reason"); reason != none {
		f.Reason = strings.TrimSpace(r.text(r.child(reason, "Text")))
	}
	if detail := r.child(b, "Detail"); detail != none {
		if wf := r.child(detail, "WSManFault"); wf != none {
			n, _ := strconv.ParseUint(r.attrValue(wf, "Code", "0"), 10, 32)
			f.WSManCode = uint32(n)
			if msg := r.child(wf, "Message"); msg != none {
				f.Message = strings.TrimSpace(r.text(msg))
			}
		}
	}
	return f
}

// instance decodes element e as an instance in the WS-CIM form (DSP0230).
func (r *reply) instance(e int32) (*Instance, error) {
	inst := new(Instance)
	if err := r.instanceInto(inst, e); err != nil {
		return nil, err
	}
	return inst, nil
}

// instanceInto decodes element e into inst, a zero Instance.
func (r *reply) instanceInto(inst *Instance, e int32) error {
	inst.Class, inst.ResourceURI = r.nodes[e].local, r.ns(e)
	if t := r.attrNS(e, soap.NSXSI, "type"); t != "" {
		if i := strings.IndexByte(t, ':'); i >= 0 {
			t = t[i+1:]
		}
		inst.Class = strings.TrimSuffix(t, "_Type")
	}
	return r.properties(inst, e)
}

// properties appends e's children to inst as properties; repeated names
// become arrays. The first value of every scalar property shares one
// backing array (a reply of 5 volumes has about 130 of them).
func (r *reply) properties(inst *Instance, e int32) error {
	n := r.children(e)
	if inst.Properties == nil {
		inst.Properties = make([]Property, 0, n)
	}
	values := make([]string, 0, n) // backing of single values
	for c := r.nodes[e].first; c != none; c = r.nodes[c].next {
		name := r.nodes[c].local
		i := propertyIndex(inst.Properties, name)
		seen := i >= 0
		if !seen {
			inst.Properties = append(inst.Properties, Property{Name: name})
			i = len(inst.Properties) - 1
		}
		p := &inst.Properties[i]
		first := r.nodes[c].first
		switch nil_ := r.attrNS(c, soap.NSXSI, "nil"); {
		case nil_ == "true" || nil_ == "1":
			if !seen {
				p.Null = true
			}
		case r.child(c, "ReferenceParameters") != none:
			ref, err := r.epr(c, 0)
			if err != nil {
				return fmt.Errorf("%w: property %s: %w", ErrProtocol, name, err)
			}
			p.Refs = append(p.Refs, ref)
		case first == none:
			if p.Values == nil {
				// A capacity of one: a second value (an array) copies.
				values = append(values, r.nodes[c].text)
				p.Values = values[len(values)-1 : len(values) : len(values)]
			} else {
				p.Values = append(p.Values, r.nodes[c].text)
			}
		default:
			switch r.nodes[first].local {
			case "Datetime", "Interval", "Date", "Time":
				p.Values = append(p.Values, strings.TrimSpace(r.nodes[first].text))
			default:
				sub, err := r.instance(c)
				if err != nil {
					return err
				}
				if r.nodes[first].next == none && r.attrNS(c, soap.NSXSI, "type") == "" {
					// <Param><q1:Class ...>...</q1:Class></Param>
					sub, err = r.instance(first)
					if err != nil {
						return err
					}
				}
				p.Instances = append(p.Instances, sub)
			}
		}
	}
	return nil
}

// maxEPRDepth bounds the nesting of references inside selectors, as
// cimmodel.ParseEPR does.
const maxEPRDepth = 16

// epr reads the object path of an endpoint reference (or of an element
// holding wsa:ReferenceParameters) exactly as cimmodel.ParseEPR reads it
// from a tree; errors wrap cimmodel.ErrInvalidEPR.
func (r *reply) epr(e int32, depth int) (cimmodel.ObjectPath, error) {
	if depth > maxEPRDepth {
		return cimmodel.ObjectPath{}, fmt.Errorf("%w: references nested too deep", cimmodel.ErrInvalidEPR)
	}
	holder := e
	if rp := r.child(e, "ReferenceParameters"); rp != none {
		holder = rp
	} else if epr := r.child(e, "EndpointReference"); epr != none && r.child(e, "ResourceURI") == none {
		return r.epr(epr, depth+1)
	}
	uriElem := r.child(holder, "ResourceURI")
	if uriElem == none {
		return cimmodel.ObjectPath{}, fmt.Errorf("%w: no ResourceURI", cimmodel.ErrInvalidEPR)
	}
	uri := r.nodes[uriElem].text
	ns, class, _, err := cimmodel.ParseResourceURI(uri)
	if err != nil {
		return cimmodel.ObjectPath{}, fmt.Errorf("%w: %w", cimmodel.ErrInvalidEPR, err)
	}
	if class == "*" {
		return cimmodel.ObjectPath{}, fmt.Errorf("%w: resource URI %q names no class", cimmodel.ErrInvalidEPR, uri)
	}
	p := cimmodel.ObjectPath{Namespace: ns, Class: class}
	ss := r.child(holder, "SelectorSet")
	if ss == none {
		return p, nil
	}
	if n := r.children(ss); n > 1 {
		p.Keys = make([]cimmodel.KeyBinding, 0, n)
	}
	for sel := r.nodes[ss].first; sel != none; sel = r.nodes[sel].next {
		if r.nodes[sel].local != "Selector" {
			continue
		}
		name := r.attrValue(sel, "Name", "")
		if name == "" {
			return cimmodel.ObjectPath{}, fmt.Errorf("%w: selector without a Name", cimmodel.ErrInvalidEPR)
		}
		if _, dup := p.Key(name); dup {
			return cimmodel.ObjectPath{}, fmt.Errorf("%w: selector %q repeated", cimmodel.ErrInvalidEPR, name)
		}
		if strings.EqualFold(name, cimmodel.CIMNamespaceSelector) {
			p.Namespace = strings.Trim(strings.ReplaceAll(strings.TrimSpace(r.nodes[sel].text), "\\", "/"), "/")
			continue
		}
		if nested := r.child(sel, "EndpointReference"); nested != none {
			ref, err := r.epr(nested, depth+1)
			if err != nil {
				return cimmodel.ObjectPath{}, fmt.Errorf("selector %q: %w", name, err)
			}
			p.Keys = append(p.Keys, cimmodel.KeyBinding{Name: name, Value: cimmodel.Ref(ref)})
			continue
		}
		if r.nodes[sel].first != none {
			return cimmodel.ObjectPath{}, fmt.Errorf("%w: selector %q holds an element that is not an EndpointReference", cimmodel.ErrInvalidEPR, name)
		}
		p.Keys = append(p.Keys, cimmodel.KeyBinding{Name: name, Value: cimmodel.String(r.nodes[sel].text)})
	}
	if len(p.Keys) == 0 {
		p.Keys = nil // as ParseEPR leaves a selector set of no key
	}
	return p, nil
}

// add appends inst to out, making room for n more when it is full.
func add(out *[]*Instance, n int, inst *Instance) {
	if len(*out) == cap(*out) {
		*out = slices.Grow(*out, n)
	}
	*out = append(*out, inst)
}

// items decodes the items of an Items element: wsman:Item pairs of an
// instance and its EPR, bare instances, or bare EPRs.
func (r *reply) items(out *[]*Instance, items int32) error {
	if items == none {
		return nil
	}
	// The instances and paths of a page are cut from one array each, and
	// out grows once for them.
	n := r.children(items)
	var insts []Instance
	var paths []cimmodel.ObjectPath
	for it := r.nodes[items].first; it != none; it = r.nodes[it].next {
		switch local := r.nodes[it].local; {
		case local == "Item" && r.ns(it) == soap.NSWSMan:
			var inst *Instance
			var path *cimmodel.ObjectPath
			for c := r.nodes[it].first; c != none; c = r.nodes[c].next {
				if r.nodes[c].local == "EndpointReference" {
					p, err := r.epr(c, 0)
					if err != nil {
						return fmt.Errorf("%w: item EPR: %w", ErrProtocol, err)
					}
					if len(paths) == cap(paths) {
						paths = make([]cimmodel.ObjectPath, 0, n)
					}
					paths = append(paths, p)
					path = &paths[len(paths)-1]
					continue
				}
				if len(insts) == cap(insts) {
					insts = make([]Instance, 0, n)
				}
				insts = append(insts, Instance{})
				i := &insts[len(insts)-1]
				if err := r.instanceInto(i, c); err != nil {
					return err
				}
				inst = i
			}
			if inst == nil {
				return fmt.Errorf("%w: wsman:Item without an instance", ErrProtocol)
			}
			inst.Path = path
			add(out, n, inst)
		case local == "EndpointReference":
			p, err := r.epr(it, 0)
			if err != nil {
				return fmt.Errorf("%w: item EPR: %w", ErrProtocol, err)
			}
			add(out, n, &Instance{Class: p.Class, Path: &p})
		default:
			inst, err := r.instance(it)
			if err != nil {
				return err
			}
			add(out, n, inst)
		}
	}
	return nil
}
