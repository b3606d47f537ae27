package client

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// Identity is the answer to Identify (DSP0226 §11).
type Identity struct {
	ProtocolVersion, ProductVendor, ProductVersion string
	// SecurityProfiles are the authentication profiles the server offers
	// (Windows' wsmid:SecurityProfiles), empty when not sent.
	SecurityProfiles []string
}

// Identify asks the server what it is. It needs no credentials on WinRM, but
// the client sends them when it has them.
func (c *Client) Identify(ctx context.Context) (Identity, error) {
	// No header at all, as Windows' clients send it.
	r := &request{b: []byte(envelopeStart + `<s:Header/><s:Body xmlns:wsmid="` + soap.NSIdentity + `"><wsmid:Identify/>`),
		inBody: true, identify: true}
	rep, b, err := c.roundTrip(ctx, r)
	if err != nil {
		return Identity{}, err
	}
	defer rep.release()
	return rep.identity(b)
}

// identity decodes the answer to Identify, element b of rep.
func (rep *reply) identity(b int32) (Identity, error) {
	if b == none || rep.nodes[b].local != "IdentifyResponse" {
		return Identity{}, fmt.Errorf("%w: Identify answered with %s", ErrProtocol, rep.fullTag(b))
	}
	id := Identity{
		ProtocolVersion: strings.TrimSpace(rep.text(rep.child(b, "ProtocolVersion"))),
		ProductVendor:   strings.TrimSpace(rep.text(rep.child(b, "ProductVendor"))),
		ProductVersion:  strings.TrimSpace(rep.text(rep.child(b, "ProductVersion"))),
	}
	if sp := rep.child(b, "SecurityProfiles"); sp != none {
		for p := rep.nodes[sp].first; p != none; p = rep.nodes[p].next {
			id.SecurityProfiles = append(id.SecurityProfiles, strings.TrimSpace(rep.nodes[p].text))
		}
	}
	return id, nil
}

// selector is one wsman:Selector of a request.
type selector struct {
	name, value string
	ref         *cimmodel.ObjectPath
}

// pathSelectors returns the resource URI and selectors that address p.
func pathSelectors(p cimmodel.ObjectPath) (string, []selector) {
	sels := make([]selector, 0, len(p.Keys)+1) // the keys and __cimnamespace
	for _, k := range p.Keys {
		if r, ok := k.Value.AsRef(); ok {
			ref := r // escapes: only a reference key is copied to the heap
			sels = append(sels, selector{name: k.Name, ref: &ref})
			continue
		}
		sels = append(sels, selector{name: k.Name, value: keyString(k.Value)})
	}
	uri := cimmodel.ResourceURI(p.Namespace, p.Class)
	if strings.HasPrefix(uri, cimmodel.DMTFPrefix) && p.Namespace != "" {
		sels = append(sels, selector{name: cimmodel.CIMNamespaceSelector, value: p.Namespace})
	}
	return uri, sels
}

// Get fetches the instance at p (WS-Transfer Get).
func (c *Client) Get(ctx context.Context, p cimmodel.ObjectPath) (*Instance, error) {
	uri, sels := pathSelectors(p)
	r := c.newRequest(soap.ActionGet, uri)
	r.selectors(sels)
	rep, b, err := c.roundTrip(ctx, r)
	if err != nil {
		return nil, err
	}
	defer rep.release()
	if b == none {
		return nil, fmt.Errorf("%w: Get answered with an empty body", ErrProtocol)
	}
	inst, err := rep.instance(b)
	if err != nil {
		return nil, err
	}
	inst.Path = &p
	return inst, nil
}

// Delete deletes the instance at p (WS-Transfer Delete).
func (c *Client) Delete(ctx context.Context, p cimmodel.ObjectPath) error {
	uri, sels := pathSelectors(p)
	r := c.newRequest(soap.ActionDelete, uri)
	r.selectors(sels)
	rep, _, err := c.roundTrip(ctx, r)
	if err != nil {
		return err
	}
	rep.release()
	return nil
}

// EnumerateOptions narrow an enumeration. At most one of WQL and
// Association may be set.
type EnumerateOptions struct {
	// WQL is a WQL SELECT (dialect DialectWQL); the class may then be "*".
	WQL string
	// Association, when not nil, is an association filter (DSP0227 §8.2);
	// the class should be "*".
	Association *cimmodel.AssociationFilter
	// MaxElements is the number of items asked for per message (default
	// 100).
	MaxElements int
}

// Enumerate returns every instance of class in namespace (polymorphically,
// as the server enumerates), or those a filter selects, through an
// optimized Enumerate and as many Pulls as needed. Each instance carries
// its Path.
func (c *Client) Enumerate(ctx context.Context, namespace, class string, opts EnumerateOptions) ([]*Instance, error) {
	if opts.WQL != "" && opts.Association != nil {
		return nil, fmt.Errorf("client: give a WQL query or an association filter, not both")
	}
	max := opts.MaxElements
	if max <= 0 {
		max = 100
	}
	uri := cimmodel.ResourceURI(namespace, class)
	r := c.newRequest(soap.ActionEnumerate, uri)
	if strings.HasPrefix(uri, cimmodel.DMTFPrefix) && namespace != "" {
		r.selectors([]selector{{name: cimmodel.CIMNamespaceSelector, value: namespace}})
	}
	r.openBody(` xmlns:n="` + soap.NSEnumeration + `"`)
	r.b = append(r.b, "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>"...)
	r.b = strconv.AppendInt(r.b, int64(max), 10)
	r.b = append(r.b, "</w:MaxElements><w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode>"...)
	switch {
	case opts.WQL != "":
		r.b = append(r.b, `<w:Filter Dialect="`+cimmodel.DialectWQL+`">`...)
		r.b = soap.AppendEscaped(r.b, opts.WQL)
		r.b = append(r.b, "</w:Filter>"...)
	case opts.Association != nil:
		r.b = appendAssociationFilter(r.b, opts.Association)
	}
	r.b = append(r.b, "</n:Enumerate>"...)
	var out []*Instance
	end, ctxID, err := c.page(ctx, r, "Enumerate", &out)
	if err != nil {
		return nil, err
	}
	for !end {
		if ctxID == "" {
			return nil, fmt.Errorf("%w: enumeration without context or EndOfSequence", ErrProtocol)
		}
		pr := c.newRequest(soap.ActionPull, uri)
		pr.openBody(` xmlns:n="` + soap.NSEnumeration + `"`)
		pr.b = append(pr.b, "<n:Pull>"...)
		pr.b = soap.AppendTextElement(pr.b, "n:EnumerationContext", ctxID)
		pr.b = append(pr.b, "<n:MaxElements>"...)
		pr.b = strconv.AppendInt(pr.b, int64(max), 10)
		pr.b = append(pr.b, "</n:MaxElements></n:Pull>"...)
		if end, ctxID, err = c.page(ctx, pr, "Pull", &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// page sends the Enumerate or Pull r (op) and appends the items of its
// answer to out; it returns whether the answer ended the sequence, and the
// context to pull the next page with.
func (c *Client) page(ctx context.Context, r *request, op string, out *[]*Instance) (end bool, ctxID string, err error) {
	rep, b, err := c.roundTrip(ctx, r)
	if err != nil {
		return false, "", err
	}
	defer rep.release()
	return rep.page(b, op, out)
}

// page decodes element b of rep, the answer to an Enumerate or Pull (op),
// as Client.page returns it.
func (rep *reply) page(b int32, op string, out *[]*Instance) (end bool, ctxID string, err error) {
	if b == none || rep.nodes[b].local != op+"Response" {
		return false, "", fmt.Errorf("%w: %s answered with %s", ErrProtocol, op, rep.fullTag(b))
	}
	if err := rep.items(out, rep.child(b, "Items")); err != nil {
		return false, "", err
	}
	end = rep.child(b, "EndOfSequence") != none
	return end, strings.TrimSpace(rep.text(rep.child(b, "EnumerationContext"))), nil
}

// appendAssociationFilter appends a wsman:Filter in the association
// dialect.
func appendAssociationFilter(b []byte, f *cimmodel.AssociationFilter) []byte {
	kind := "b:AssociatedInstances"
	if f.Instances {
		kind = "b:AssociationInstances"
	}
	b = append(b, `<w:Filter Dialect="`+cimmodel.DialectAssociation+`" xmlns:b="`+soap.NSCIMBinding+`"><`...)
	b = append(b, kind...)
	b = append(b, "><b:Object>"...)
	b = cimmodel.AppendEPR(b, f.Object, "", cimmodel.EPRNative)
	b = append(b, "</b:Object>"...)
	for _, kv := range []struct{ name, value string }{
		{"b:AssociationClassName", f.AssociationClassName},
		{"b:Role", f.Role},
		{"b:ResultClassName", f.ResultClassName},
		{"b:ResultRole", f.ResultRole},
	} {
		if kv.value != "" {
			b = soap.AppendTextElement(b, kv.name, kv.value)
		}
	}
	b = append(b, "</"...)
	b = append(b, kind...)
	return append(b, "></w:Filter>"...)
}

// Arg is one in-parameter of Invoke. Set Values for scalars and arrays of
// text (numbers, booleans, strings, CIM-XML text of embedded instances),
// Refs for references; several values make an array. Null sends xsi:nil.
type Arg struct {
	Name   string
	Values []string
	Refs   []cimmodel.ObjectPath
	Null   bool
}

// Text returns a text argument.
func Text(name string, values ...string) Arg { return Arg{Name: name, Values: values} }

// Uint returns a numeric argument.
func Uint(name string, n uint64) Arg {
	return Arg{Name: name, Values: []string{strconv.FormatUint(n, 10)}}
}

// Ref returns a reference argument.
func Ref(name string, paths ...cimmodel.ObjectPath) Arg { return Arg{Name: name, Refs: paths} }

// Output is the answer of Invoke.
type Output struct {
	// ReturnValue is the method's return value.
	ReturnValue uint32
	// Params are the out-parameters, as properties of a pseudo-instance
	// named Method_OUTPUT (ReturnValue excluded).
	Params *Instance
}

// Reason is why the server refused the call: the Message of the CIM_Error
// in the ExtendedStatus out-parameter (replicad and Windows' Storage
// Management API methods return one beside a refusing ReturnValue), "" when
// there is none.
func (o *Output) Reason() string {
	if o == nil || o.Params == nil {
		return ""
	}
	p, ok := o.Params.Prop("ExtendedStatus")
	if !ok || len(p.Instances) == 0 {
		return ""
	}
	return p.Instances[0].Get("Message")
}

// Invoke calls method on the instance at target (a static method when
// target has no keys) with args in order, and returns its output.
func (c *Client) Invoke(ctx context.Context, target cimmodel.ObjectPath, method string, args []Arg) (*Output, error) {
	uri, sels := pathSelectors(target)
	r := c.newRequest(uri+"/"+method, uri)
	r.selectors(sels)
	r.openBody("")
	r.b = append(r.b, "<p:"...)
	r.b = append(r.b, method...)
	r.b = append(r.b, `_INPUT xmlns:p="`...)
	r.b = soap.AppendEscaped(r.b, uri)
	r.b = append(r.b, '"')
	start := len(r.b)
	r.b = append(r.b, '>')
	for _, a := range args {
		switch {
		case a.Null:
			r.b = append(r.b, "<p:"...)
			r.b = append(r.b, a.Name...)
			r.b = append(r.b, ` xmlns:xsi="`+soap.NSXSI+`" xsi:nil="true"/>`...)
		case len(a.Refs) > 0:
			for _, ref := range a.Refs {
				r.b = append(r.b, "<p:"...)
				r.b = append(r.b, a.Name...)
				r.b = append(r.b, '>')
				r.b = cimmodel.AppendEPR(r.b, ref, "", cimmodel.EPRNative)
				r.b = append(r.b, "</p:"...)
				r.b = append(r.b, a.Name...)
				r.b = append(r.b, '>')
			}
		default:
			for _, v := range a.Values {
				r.b = soap.AppendTextElement(r.b, "p:"+a.Name, v)
			}
		}
	}
	if len(r.b) == start+1 {
		r.b = append(r.b[:start], "/>"...) // no arguments: <p:Method_INPUT .../>
	} else {
		r.b = append(r.b, "</p:"...)
		r.b = append(r.b, method...)
		r.b = append(r.b, "_INPUT>"...)
	}
	rep, b, err := c.roundTrip(ctx, r)
	if err != nil {
		return nil, err
	}
	defer rep.release()
	return rep.output(b, method)
}

// output decodes element b of rep, the answer to a call of method.
func (rep *reply) output(b int32, method string) (*Output, error) {
	if b == none || rep.nodes[b].local != method+"_OUTPUT" {
		return nil, fmt.Errorf("%w: %s answered with %s", ErrProtocol, method, rep.fullTag(b))
	}
	params := &Instance{Class: rep.nodes[b].local, ResourceURI: rep.ns(b)}
	if err := rep.properties(params, b); err != nil {
		return nil, err
	}
	return outputOf(params, method)
}

// outputOf takes the ReturnValue out of params, the out-parameters of a
// call of method.
func outputOf(params *Instance, method string) (*Output, error) {
	out := &Output{Params: params}
	rv, ok := params.Prop("ReturnValue")
	if !ok || len(rv.Values) != 1 {
		return nil, fmt.Errorf("%w: %s_OUTPUT without a ReturnValue", ErrProtocol, method)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(rv.Values[0]), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: ReturnValue %q: %w", ErrProtocol, rv.Values[0], err)
	}
	out.ReturnValue = uint32(n)
	kept := params.Properties[:0]
	for _, p := range params.Properties {
		if p.Name != "ReturnValue" {
			kept = append(kept, p)
		}
	}
	params.Properties = kept
	return out, nil
}
