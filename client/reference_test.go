package client

// The tree-based decoder the reply reader replaced (client/client.go,
// instance.go and ops.go until 2026-12-04): soap.Parse into an etree
// document, then instances decoded from the tree. It is kept as the
// reference of FuzzReplyMatchesReference.

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// refParseAnswer reads an answer other than 401.
func refParseAnswer(status int, out []byte) (*soap.Envelope, error) {
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, fmt.Errorf("%w: HTTP %d with an empty body", ErrProtocol, status)
	}
	env, err := soap.Parse(out)
	if err != nil {
		return nil, fmt.Errorf("%w: HTTP %d: %w", ErrProtocol, status, err)
	}
	if f := refParseFault(env.Body); f != nil {
		f.HTTPStatus = status
		return nil, f
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d", ErrProtocol, status)
	}
	return env, nil
}

// refParseFault returns the fault in body, or nil when body is no s:Fault.
func refParseFault(body *etree.Element) *Fault {
	if body == nil || body.Tag != "Fault" || body.NamespaceURI() != soap.NSEnvelope {
		return nil
	}
	f := &Fault{}
	if code := childLocal(body, "Code"); code != nil {
		f.Code = strings.TrimSpace(textOf(childLocal(code, "Value")))
		if sub := childLocal(code, "Subcode"); sub != nil {
			v := strings.TrimSpace(textOf(childLocal(sub, "Value")))
			if i := strings.IndexByte(v, ':'); i >= 0 {
				v = v[i+1:]
			}
			f.Subcode = v
		}
	}
	if reason := childLocal(body, "Reason"); reason != nil {
		f.Reason = strings.TrimSpace(textOf(childLocal(reason, "Text")))
	}
	if detail := childLocal(body, "Detail"); detail != nil {
		if wf := childLocal(detail, "WSManFault"); wf != nil {
			n, _ := strconv.ParseUint(wf.SelectAttrValue("Code", "0"), 10, 32)
			f.WSManCode = uint32(n)
			if msg := childLocal(wf, "Message"); msg != nil {
				f.Message = strings.TrimSpace(msg.Text())
			}
		}
	}
	return f
}

// childLocal returns the first child element of e with local name local.
func childLocal(e *etree.Element, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == local {
			return c
		}
	}
	return nil
}

func textOf(e *etree.Element) string {
	if e == nil {
		return ""
	}
	return e.Text()
}

func tagOf(e *etree.Element) string {
	if e == nil {
		return "an empty body"
	}
	return e.FullTag()
}

// refIdentity is Identify's decoding of its answer.
func refIdentity(b *etree.Element) (Identity, error) {
	if b == nil || b.Tag != "IdentifyResponse" {
		return Identity{}, fmt.Errorf("%w: Identify answered with %s", ErrProtocol, tagOf(b))
	}
	id := Identity{
		ProtocolVersion: strings.TrimSpace(textOf(childLocal(b, "ProtocolVersion"))),
		ProductVendor:   strings.TrimSpace(textOf(childLocal(b, "ProductVendor"))),
		ProductVersion:  strings.TrimSpace(textOf(childLocal(b, "ProductVersion"))),
	}
	if sp := childLocal(b, "SecurityProfiles"); sp != nil {
		for _, p := range sp.ChildElements() {
			id.SecurityProfiles = append(id.SecurityProfiles, strings.TrimSpace(p.Text()))
		}
	}
	return id, nil
}

// refGet is Get's decoding of its answer (without the path it sets).
func refGet(b *etree.Element) (*Instance, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: Get answered with an empty body", ErrProtocol)
	}
	return decodeInstance(b)
}

// refPage is Enumerate's decoding of the answer to an Enumerate or a Pull
// (op).
func refPage(resp *etree.Element, op string, out *[]*Instance) (end bool, ctxID string, err error) {
	if resp == nil || resp.Tag != op+"Response" {
		return false, "", fmt.Errorf("%w: %s answered with %s", ErrProtocol, op, tagOf(resp))
	}
	if err := readItems(out, childLocal(resp, "Items")); err != nil {
		return false, "", err
	}
	end = childLocal(resp, "EndOfSequence") != nil
	return end, strings.TrimSpace(textOf(childLocal(resp, "EnumerationContext"))), nil
}

// refOutput is Invoke's decoding of its answer.
func refOutput(b *etree.Element, method string) (*Output, error) {
	if b == nil || b.Tag != method+"_OUTPUT" {
		return nil, fmt.Errorf("%w: %s answered with %s", ErrProtocol, method, tagOf(b))
	}
	params := &Instance{Class: b.Tag, ResourceURI: b.NamespaceURI()}
	if err := decodeProperties(params, b); err != nil {
		return nil, err
	}
	return outputOf(params, method)
}

// readItems decodes the items of an Items element: wsman:Item pairs of an
// instance and its EPR, bare instances, or bare EPRs.
func readItems(out *[]*Instance, items *etree.Element) error {
	if items == nil {
		return nil
	}
	for _, it := range items.ChildElements() {
		switch {
		case it.Tag == "Item" && it.NamespaceURI() == soap.NSWSMan:
			var inst *Instance
			var path *cimmodel.ObjectPath
			for _, c := range it.ChildElements() {
				if c.Tag == "EndpointReference" {
					p, err := cimmodel.ParseEPR(c)
					if err != nil {
						return fmt.Errorf("%w: item EPR: %w", ErrProtocol, err)
					}
					path = &p
					continue
				}
				i, err := decodeInstance(c)
				if err != nil {
					return err
				}
				inst = i
			}
			if inst == nil {
				return fmt.Errorf("%w: wsman:Item without an instance", ErrProtocol)
			}
			inst.Path = path
			*out = append(*out, inst)
		case it.Tag == "EndpointReference":
			p, err := cimmodel.ParseEPR(it)
			if err != nil {
				return fmt.Errorf("%w: item EPR: %w", ErrProtocol, err)
			}
			*out = append(*out, &Instance{Class: p.Class, Path: &p})
		default:
			inst, err := decodeInstance(it)
			if err != nil {
				return err
			}
			*out = append(*out, inst)
		}
	}
	return nil
}

// decodeInstance reads an instance element in the WS-CIM form (DSP0230).
func decodeInstance(e *etree.Element) (*Instance, error) {
	inst := &Instance{Class: e.Tag, ResourceURI: e.NamespaceURI()}
	if t := attrNS(e, soap.NSXSI, "type"); t != "" {
		if i := strings.IndexByte(t, ':'); i >= 0 {
			t = t[i+1:]
		}
		inst.Class = strings.TrimSuffix(t, "_Type")
	}
	if err := decodeProperties(inst, e); err != nil {
		return nil, err
	}
	return inst, nil
}

// decodeProperties appends e's children to inst as properties; repeated
// names become arrays. The first value of every scalar property shares one
// backing array (a reply of 5 volumes has about 130 of them).
func decodeProperties(inst *Instance, e *etree.Element) error {
	children := e.ChildElements()
	if inst.Properties == nil {
		inst.Properties = make([]Property, 0, len(children))
	}
	values := make([]string, 0, len(children)) // backing of single values
	for _, c := range children {
		i := propertyIndex(inst.Properties, c.Tag)
		seen := i >= 0
		if !seen {
			inst.Properties = append(inst.Properties, Property{Name: c.Tag})
			i = len(inst.Properties) - 1
		}
		p := &inst.Properties[i]
		grand := c.ChildElements()
		switch nil_ := attrNS(c, soap.NSXSI, "nil"); {
		case nil_ == "true" || nil_ == "1":
			if !seen {
				p.Null = true
			}
		case hasLocal(grand, "ReferenceParameters"):
			r, err := cimmodel.ParseEPR(c)
			if err != nil {
				return fmt.Errorf("%w: property %s: %w", ErrProtocol, c.Tag, err)
			}
			p.Refs = append(p.Refs, r)
		case len(grand) == 0:
			if p.Values == nil {
				// A capacity of one: a second value (an array) copies.
				values = append(values, c.Text())
				p.Values = values[len(values)-1 : len(values) : len(values)]
			} else {
				p.Values = append(p.Values, c.Text())
			}
		default:
			first := grand[0]
			switch first.Tag {
			case "Datetime", "Interval", "Date", "Time":
				p.Values = append(p.Values, strings.TrimSpace(first.Text()))
			default:
				sub, err := decodeInstance(c)
				if err != nil {
					return err
				}
				if len(grand) == 1 && attrNS(c, soap.NSXSI, "type") == "" {
					// <Param><q1:Class ...>...</q1:Class></Param>
					sub, err = decodeInstance(first)
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

// hasLocal reports whether one of elems has the local name local.
func hasLocal(elems []*etree.Element, local string) bool {
	for _, e := range elems {
		if e.Tag == local {
			return true
		}
	}
	return false
}

// attrNS returns the value of the attribute local in namespace ns.
func attrNS(e *etree.Element, ns, local string) string {
	for _, a := range e.Attr {
		if a.Key == local && a.NamespaceURI() == ns {
			return a.Value
		}
	}
	return ""
}

// The request builder the text writer replaced: an etree document per
// request, serialised by etree. It is kept as the reference of
// TestRequestsMatchTree.

// refRequest is an outgoing envelope.
type refRequest struct {
	doc  *etree.Document
	head *etree.Element
	body *etree.Element
}

// refNewRequest starts an envelope with the headers newRequest writes;
// messageID is the MessageID's text.
func refNewRequest(c *Client, action, resourceURI, messageID string) *refRequest {
	doc := etree.NewDocument()
	env := doc.CreateElement("s:Envelope")
	env.CreateAttr("xmlns:s", soap.NSEnvelope)
	env.CreateAttr("xmlns:a", soap.NSAddressing)
	env.CreateAttr("xmlns:w", soap.NSWSMan)
	h := env.CreateElement("s:Header")
	h.CreateElement("a:To").SetText(c.url)
	if resourceURI != "" {
		ru := h.CreateElement("w:ResourceURI")
		ru.CreateAttr("s:mustUnderstand", "true")
		ru.SetText(resourceURI)
	}
	h.CreateElement("a:ReplyTo").CreateElement("a:Address").SetText(soap.AddressAnonymous)
	if action != "" {
		a := h.CreateElement("a:Action")
		a.CreateAttr("s:mustUnderstand", "true")
		a.SetText(action)
	}
	mes := h.CreateElement("w:MaxEnvelopeSize")
	mes.CreateAttr("s:mustUnderstand", "true")
	mes.SetText(strconv.Itoa(c.maxEnvelope))
	h.CreateElement("a:MessageID").SetText(messageID)
	loc := h.CreateElement("w:Locale")
	loc.CreateAttr("xml:lang", "en-US")
	loc.CreateAttr("s:mustUnderstand", "false")
	h.CreateElement("w:OperationTimeout").SetText(soap.FormatDuration(c.timeout))
	body := env.CreateElement("s:Body")
	return &refRequest{doc: doc, head: h, body: body}
}

// selectors adds a wsman:SelectorSet to the request headers.
func (r *refRequest) selectors(sels []selector) {
	if len(sels) == 0 {
		return
	}
	ss := r.head.CreateElement("w:SelectorSet")
	for _, s := range sels {
		e := ss.CreateElement("w:Selector")
		e.CreateAttr("Name", s.name)
		if s.ref != nil {
			s.ref.WriteEPR(e.CreateElement("a:EndpointReference"), "")
			continue
		}
		e.SetText(s.value)
	}
}

func (r *refRequest) bytes() []byte {
	b, err := r.doc.WriteToBytes()
	if err != nil {
		panic(err)
	}
	return b
}

// refIdentifyRequest is the Identify request.
func refIdentifyRequest(c *Client, messageID string) []byte {
	r := refNewRequest(c, "", "", messageID)
	for _, h := range r.head.ChildElements() {
		r.head.RemoveChild(h)
	}
	r.body.CreateAttr("xmlns:wsmid", soap.NSIdentity)
	r.body.CreateElement("wsmid:Identify")
	return r.bytes()
}

// refTransferRequest is the Get or Delete (action) of p.
func refTransferRequest(c *Client, action string, p cimmodel.ObjectPath, messageID string) []byte {
	uri, sels := pathSelectors(p)
	r := refNewRequest(c, action, uri, messageID)
	r.selectors(sels)
	return r.bytes()
}

// refEnumerateRequest is the Enumerate of Client.Enumerate.
func refEnumerateRequest(c *Client, namespace, class string, opts EnumerateOptions, messageID string) []byte {
	max := opts.MaxElements
	if max <= 0 {
		max = 100
	}
	uri := cimmodel.ResourceURI(namespace, class)
	r := refNewRequest(c, soap.ActionEnumerate, uri, messageID)
	if strings.HasPrefix(uri, cimmodel.DMTFPrefix) && namespace != "" {
		r.selectors([]selector{{name: cimmodel.CIMNamespaceSelector, value: namespace}})
	}
	r.body.CreateAttr("xmlns:n", soap.NSEnumeration)
	en := r.body.CreateElement("n:Enumerate")
	en.CreateElement("w:OptimizeEnumeration")
	en.CreateElement("w:MaxElements").SetText(strconv.Itoa(max))
	en.CreateElement("w:EnumerationMode").SetText("EnumerateObjectAndEPR")
	switch {
	case opts.WQL != "":
		f := en.CreateElement("w:Filter")
		f.CreateAttr("Dialect", cimmodel.DialectWQL)
		f.SetText(opts.WQL)
	case opts.Association != nil:
		writeAssociationFilter(en, opts.Association)
	}
	return r.bytes()
}

// writeAssociationFilter appends a wsman:Filter in the association dialect.
func writeAssociationFilter(parent *etree.Element, f *cimmodel.AssociationFilter) {
	filter := parent.CreateElement("w:Filter")
	filter.CreateAttr("Dialect", cimmodel.DialectAssociation)
	filter.CreateAttr("xmlns:b", soap.NSCIMBinding)
	kind := "b:AssociatedInstances"
	if f.Instances {
		kind = "b:AssociationInstances"
	}
	ai := filter.CreateElement(kind)
	f.Object.WriteEPR(ai.CreateElement("b:Object"), "")
	for _, kv := range []struct{ name, value string }{
		{"b:AssociationClassName", f.AssociationClassName},
		{"b:Role", f.Role},
		{"b:ResultClassName", f.ResultClassName},
		{"b:ResultRole", f.ResultRole},
	} {
		if kv.value != "" {
			ai.CreateElement(kv.name).SetText(kv.value)
		}
	}
}

// refPullRequest is the Pull of Client.Enumerate.
func refPullRequest(c *Client, uri, ctxID string, max int, messageID string) []byte {
	pr := refNewRequest(c, soap.ActionPull, uri, messageID)
	pr.body.CreateAttr("xmlns:n", soap.NSEnumeration)
	pull := pr.body.CreateElement("n:Pull")
	pull.CreateElement("n:EnumerationContext").SetText(ctxID)
	pull.CreateElement("n:MaxElements").SetText(strconv.Itoa(max))
	return pr.bytes()
}

// refInvokeRequest is the request of Client.Invoke.
func refInvokeRequest(c *Client, target cimmodel.ObjectPath, method string, args []Arg, messageID string) []byte {
	uri, sels := pathSelectors(target)
	r := refNewRequest(c, uri+"/"+method, uri, messageID)
	r.selectors(sels)
	in := r.body.CreateElement("p:" + method + "_INPUT")
	in.CreateAttr("xmlns:p", uri)
	for _, a := range args {
		switch {
		case a.Null:
			e := in.CreateElement("p:" + a.Name)
			e.CreateAttr("xmlns:xsi", soap.NSXSI)
			e.CreateAttr("xsi:nil", "true")
		case len(a.Refs) > 0:
			for _, ref := range a.Refs {
				ref.WriteEPR(in.CreateElement("p:"+a.Name), "")
			}
		default:
			for _, v := range a.Values {
				in.CreateElement("p:" + a.Name).SetText(v)
			}
		}
	}
	return r.bytes()
}
