package wsman

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/beevik/etree"
	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// Class retrieval: PowerShell's MI client (Get-CimClass, and every cmdlet
// that needs a class first: Invoke-CimMethod -ClassName, New-CimInstance,
// tab completion) asks for class declarations with a WS-Transfer Get on
// classResourceURI with the selectors __cimnamespace and ClassName, and
// enumerates them with a WS-Enumeration Enumerate on the same URI with
// __cimnamespace. The answer is a DSP0201 (CIM-XML) <CLASS> in the Body,
// or one per item. Sources (docs/powershell.md, wsman/testdata/exchanges/
// SOURCES.md): OMI's Unix/doc/xml/GetClassRequest.xml and
// Unix/tests/wsman/test_wsman.cpp (the requests and OMI's answers),
// Windows' WMI plugin configuration (both Get and Enumerate on this URI).

// classResourceURI is the resource URI of class declarations.
const classResourceURI = "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/"

// classNameSelector names the class of a class retrieval.
const classNameSelector = "ClassName"

// isClassResource reports whether uri addresses class declarations: the
// "*" form the MI client sends, or the class name in place of "*".
func isClassResource(uri string) bool {
	u := strings.TrimSpace(uri)
	return len(u) > len(classResourceURI) && strings.EqualFold(u[:len(classResourceURI)], classResourceURI)
}

// classOptions reads the options of a class retrieval. Each may come with
// or without the "wmi:" prefix (OMI accepts both). IncludeClassOrigin is
// true unless the client says otherwise: the WinRM client assumes the
// server includes it (OMI's wsmanparser.c sets it for "Microsoft WinRM
// Client" requests); the others are false unless asked for (DSP0226 option
// default), and PowerShell asks for all three.
func classOptions(h *soap.Header) cimmodel.ClassXMLOptions {
	flag := func(name string, def bool) bool {
		o, ok := h.Option(name)
		if !ok {
			o, ok = h.Option("wmi:" + name)
		}
		if !ok {
			return def
		}
		b, err := strconv.ParseBool(strings.TrimSpace(o.Value))
		if err != nil {
			return def
		}
		return b
	}
	return cimmodel.ClassXMLOptions{
		Qualifiers:  flag("IncludeQualifiers", false),
		Inherited:   flag("IncludeInheritedElements", false),
		Hierarchy:   flag("IncludeInheritanceHierarchy", false),
		ClassOrigin: flag("IncludeClassOrigin", true),
	}
}

// classNamespace returns the namespace of a class request: the
// __cimnamespace selector (or option), which must name a namespace we
// serve.
func (s *Server) classNamespace(h *soap.Header) (string, error) {
	ns := ""
	if sel, ok := h.Selector(cimNamespaceSelector); ok {
		ns = sel.Value
	} else if opt, ok := h.Option(cimNamespaceSelector); ok {
		ns = opt.Value
	}
	ns = normalizeNamespace(ns)
	if ns == "" {
		ns = defaultDMTFNamespace
	}
	if !s.registry.HasNamespace(ns) {
		return "", protoErr(faultDestinationUnreachable, "The target namespace %s does not exist.", ns)
	}
	return ns, nil
}

// requestedClass returns the class a class Get names: the ClassName
// selector, or the resource URI's last segment when it is not "*".
func (s *Server) requestedClass(h *soap.Header, ns string) (*cimmodel.Class, error) {
	name := ""
	if sel, ok := h.Selector(classNameSelector); ok {
		name = sel.Value
	} else if tail := strings.TrimSpace(h.ResourceURI)[len(classResourceURI):]; tail != "*" {
		name = tail
	}
	if name == "" {
		return nil, protoErr(faultDestinationUnreachable, "The specified class does not exist: the request names none (selector ClassName).")
	}
	c, ok := s.registry.Class(ns, name)
	if !ok {
		return nil, protoErr(faultDestinationUnreachable, "The specified class does not exist: %s is not in namespace %s.", name, ns)
	}
	return c, nil
}

// getClass answers a WS-Transfer Get of a class declaration: the Body holds
// the <CLASS> element itself, as OMI's server writes it.
func (s *Server) getClass(req *request) (*soap.Message, error) {
	h := req.header()
	ns, err := s.classNamespace(h)
	if err != nil {
		return nil, err
	}
	c, err := s.requestedClass(h, ns)
	if err != nil {
		return nil, err
	}
	m := soap.NewResponse(h, soap.ActionGetResponse)
	cimmodel.EncodeCIMXMLClass(m.Body(), c, classOptions(h))
	return m, nil
}

// classItem is a class declaration on its way into an Enumerate or Pull
// reply.
type classItem struct {
	class *cimmodel.Class
	opts  cimmodel.ClassXMLOptions
}

// enumerateClasses answers an Enumerate of class declarations: every class
// of the __cimnamespace namespace in registration order (superclasses
// first), or with a ClassName selector its subclasses, at any depth (CIM
// EnumerateClasses with DeepInheritance). Filters are refused: what the MI
// client would send as one is not established. Options apply to the whole
// enumeration; the context keeps class names.
func (s *Server) enumerateClasses(req *request) (*soap.Message, error) {
	h := req.header()
	ns, err := s.classNamespace(h)
	if err != nil {
		return nil, err
	}
	body := req.env.Body
	if body == nil || body.Tag != "Enumerate" || body.NamespaceURI() != soap.NSEnumeration {
		return nil, protoErr(faultSchemaValidation, "The body of an Enumerate request must be wsen:Enumerate.")
	}
	if child(body, soap.NSWSMan, "Filter") != nil || child(body, soap.NSEnumeration, "Filter") != nil {
		return nil, protoErr(faultCannotProcessFilter, "Class declarations are enumerated without a filter.")
	}
	if e := child(body, soap.NSWSMan, "EnumerationMode"); e != nil {
		return nil, protoErr(faultSchemaValidation, "Class declarations have no EPRs; the EnumerationMode %q is not supported.", strings.TrimSpace(e.Text()))
	}
	classes, err := s.enumeratedClasses(h, ns)
	if err != nil {
		return nil, err
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
	opts := classOptions(h)
	m := soap.NewResponse(h, soap.ActionEnumerateResponse)
	reply := enumerateReply(m, tk.id, optimized)
	m.SetBody(func(b []byte) []byte { return reply(b, nil, false) })
	sent := 0
	if optimized {
		page := make([]item, min(max, len(classes)))
		for i := range page {
			page[i] = item{class: &classItem{class: classes[i], opts: opts}, end: i + 1}
		}
		form := cimmodel.EPRFormOf(h.ResourceURI)
		if sent, err = s.fill(req, m, page, modeObject, form, len(page) < len(classes), reply); err != nil {
			return nil, err
		}
		if sent == len(classes) {
			return m, nil
		}
	}
	en := &enumeration{uri: h.ResourceURI, classOpts: &opts}
	for _, c := range classes[sent:] {
		en.paths = append(en.paths, cimmodel.ObjectPath{Namespace: ns, Class: c.Name})
	}
	if err := s.enums.open(tk, en); err != nil {
		return nil, err
	}
	return m, nil
}

// enumeratedClasses returns the classes an Enumerate of class declarations
// asks for.
func (s *Server) enumeratedClasses(h *soap.Header, ns string) ([]*cimmodel.Class, error) {
	all := s.registry.Classes(ns)
	sel, ok := h.Selector(classNameSelector)
	if !ok || sel.Value == "" {
		return all, nil
	}
	base, found := s.registry.Class(ns, sel.Value)
	if !found {
		return nil, protoErr(faultDestinationUnreachable, "The specified class does not exist: %s is not in namespace %s.", sel.Value, ns)
	}
	var out []*cimmodel.Class
	for _, c := range all {
		if c != base && s.registry.IsA(c, base.Name) {
			out = append(out, c)
		}
	}
	return out, nil
}

// classPage returns the next at most max class declarations of a class
// enumeration; classes are looked up again by name.
func (s *Server) classPage(en *enumeration, max int) []item {
	var out []item
	for i := en.next; i < len(en.paths) && len(out) < max; i++ {
		p := en.paths[i]
		if c, ok := s.registry.Class(p.Namespace, p.Class); ok {
			out = append(out, item{class: &classItem{class: c, opts: *en.classOpts}, path: p, end: i + 1})
		}
	}
	return out
}

// appendClassItem appends one enumerated class declaration (a CIM-XML
// CLASS element, built as a tree).
func appendClassItem(b []byte, ci *classItem) []byte {
	e := cimmodel.EncodeCIMXMLClass(etree.NewElement("Items"), ci.class, ci.opts)
	buf := bytes.NewBuffer(b)
	e.WriteTo(buf, &etree.WriteSettings{})
	return buf.Bytes()
}

// classInvocation reports whether an Invoke names a class rather than an
// instance: no selector but __cimnamespace. This is what
// Invoke-CimMethod -ClassName sends (CimSession.InvokeMethod(namespace,
// className, …) in PowerShell's CimCmdlets), a static call in DSP0227's
// terms.
func classInvocation(h *soap.Header) bool {
	for _, sel := range h.Selectors {
		if !strings.EqualFold(sel.Name, cimNamespaceSelector) {
			return false
		}
	}
	return true
}

// invokeOnClass answers an Invoke addressed to a class: the method runs
// with the class's path, without keys, as the registry's method router
// runs static methods; parameters are checked against the declaration the
// client fetched with Get-CimClass first. The services of our namespace
// are single instances whose methods do not depend on the keys, so
// Invoke-CimMethod -ClassName MSISCSITARGET_ReplicationService works; a
// method that needs its instance answers as its provider does for an
// instance it cannot find.
func (s *Server) invokeOnClass(req *request, method string) (*soap.Message, error) {
	h := req.header()
	t, err := s.resolveClass(h)
	if err != nil {
		return nil, err
	}
	if t.class == nil {
		return nil, protoErr(faultDestinationUnreachable, "The resource URI %s names no class; a method needs one.", h.ResourceURI)
	}
	input := req.env.Body
	if input == nil {
		input = etree.NewElement(method + "_INPUT")
	} else if input.Tag != method+"_INPUT" {
		return nil, protoErr(faultSchemaValidation, "The body of a %s invocation must be %s_INPUT, not %s.", method, method, input.Tag)
	}
	path := cimmodel.ObjectPath{Namespace: t.namespace, Class: t.class.Name}
	res, m, err := s.registry.Invoke(req.ctx, path, method, input)
	var invalid *cimmodel.InvalidParameterError
	if errors.As(err, &invalid) && m != nil {
		s.Logger.Info("invoke: invalid parameter", zap.String("method", method), zap.String("path", path.String()),
			zap.String("messageID", h.MessageID), zap.Error(err))
		err = nil
	}
	if err != nil {
		return nil, err
	}
	reply := soap.NewResponse(h, h.Action+"Response")
	reply.SetBody(func(b []byte) []byte { return cimmodel.AppendOutput(b, m, t.uri, res) })
	return reply, nil
}
