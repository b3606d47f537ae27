package wsman

import (
	"errors"
	"strings"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// cimNamespaceSelector names the namespace of a DMTF-form resource URI
// (DSP0227 §6.3); Windows also accepts it as an option.
const cimNamespaceSelector = "__cimnamespace"

// defaultDMTFNamespace is the namespace of a DMTF-form resource URI without
// __cimnamespace (MS-WSMV 3.1.4.1.1). replicad serves nothing there, so such a
// request gets DestinationUnreachable with a hint.
const defaultDMTFNamespace = "root/hardware"

// target is what a request's resource URI and selectors name.
type target struct {
	namespace string
	class     *cimmodel.Class // nil for the "*" wildcard
	uri       string          // the resource URI as the client sent it
}

// resolveClass turns ResourceURI (and __cimnamespace) into a namespace and a
// class of the registry.
func (s *Server) resolveClass(h *soap.Header) (target, error) {
	if h.ResourceURI == "" {
		return target{}, protoErr(faultDestinationUnreachable, "The request has no wsman:ResourceURI header.")
	}
	ns, class, dmtf, err := cimmodel.ParseResourceURI(h.ResourceURI)
	if err != nil {
		return target{}, &protocolError{kind: faultDestinationUnreachable,
			message: "The resource URI " + h.ResourceURI + " is not a WMI or DMTF CIM resource URI.", err: err}
	}
	if dmtf {
		ns = defaultDMTFNamespace
		if sel, ok := h.Selector(cimNamespaceSelector); ok && sel.Value != "" {
			ns = sel.Value
		} else if opt, ok := h.Option(cimNamespaceSelector); ok && opt.Value != "" {
			ns = opt.Value
		}
	}
	ns = normalizeNamespace(ns)
	t := target{namespace: ns, uri: h.ResourceURI}
	if class == "*" {
		if !s.registry.HasNamespace(ns) {
			return target{}, protoErr(faultDestinationUnreachable, "The namespace %s is not served here.", ns)
		}
		return t, nil
	}
	c, ok := s.registry.Class(ns, class)
	if !ok {
		msg := "The class " + class + " does not exist in namespace " + ns + "."
		if dmtf && ns == defaultDMTFNamespace {
			msg += " DMTF resource URIs need a __cimnamespace selector, e.g. root/cimv2/storage/iscsitarget."
		}
		return target{}, protoErr(faultDestinationUnreachable, "%s", msg)
	}
	t.class = c
	return t, nil
}

// resolvePath turns ResourceURI and SelectorSet into the object path of one
// instance, checking that the selectors are exactly the class's keys.
func (s *Server) resolvePath(h *soap.Header) (target, cimmodel.ObjectPath, error) {
	t, err := s.resolveClass(h)
	if err != nil {
		return t, cimmodel.ObjectPath{}, err
	}
	if t.class == nil {
		return t, cimmodel.ObjectPath{}, protoErr(faultDestinationUnreachable,
			"The resource URI %s names no class; this operation needs one.", h.ResourceURI)
	}
	sels := make([]soap.Selector, 0, len(h.Selectors))
	for _, sel := range h.Selectors {
		if !strings.EqualFold(sel.Name, cimNamespaceSelector) {
			sels = append(sels, sel)
		}
	}
	path, err := pathFromSelectors(t.namespace, t.class.Name, sels)
	if err != nil {
		return t, path, err
	}
	if _, err := s.registry.NormalizePath(t.class, path); err != nil {
		if f := selectorFault(err); f != nil {
			return t, path, f
		}
		// A key value that does not parse is reported where the
		// registry reads the path, as before.
	}
	return t, path, nil
}

// selectorFault is the fault for a path whose keys are not its class's
// (cimmodel's Registry.NormalizePath checks them), or nil: a key the class
// does not have is UnexpectedSelectors, a missing one
// InsufficientSelectors.
func selectorFault(err error) error {
	var ke *cimmodel.KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	if ke.Kind == cimmodel.KeyMissing {
		return &protocolError{kind: faultInsufficientSelectors,
			message: "The selectors do not name every key of " + ke.Class + "."}
	}
	return &protocolError{kind: faultUnexpectedSelectors,
		message: "The selector " + ke.Key + " is not a key of " + ke.Class + "."}
}

// normalizeNamespace writes a CIM namespace with '/' separators, as the
// registry keeps it (Windows writes Root\CIMv2\...; both are accepted).
func normalizeNamespace(ns string) string {
	return strings.Trim(strings.ReplaceAll(ns, "\\", "/"), "/")
}

// pathFromSelectors builds the object path of class from a request's
// selectors (DSP0227 §7.2); any problem with them is InvalidSelectors.
func pathFromSelectors(namespace, class string, sels []soap.Selector) (cimmodel.ObjectPath, error) {
	p, err := cimmodel.PathFromSelectors(namespace, class, sels)
	if err != nil {
		return p, &protocolError{kind: faultInvalidSelectors, message: "The selectors are not valid: " + err.Error(), err: err}
	}
	return p, nil
}
