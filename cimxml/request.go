package cimxml

import (
	"errors"
	"strings"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// Request is one parsed CIM operation request: a SIMPLEREQ holding either
// an IMETHODCALL (an intrinsic operation, Intrinsic true) or a METHODCALL
// (an extrinsic method).
type Request struct {
	// MessageID is MESSAGE's ID, echoed in the answer.
	MessageID string
	// Method is the operation ("EnumerateInstances") or the extrinsic
	// method's name ("CreateElementReplica").
	Method    string
	Intrinsic bool
	// Namespace is the target namespace ("root/interop"): the intrinsic
	// call's LOCALNAMESPACEPATH, or the extrinsic target's.
	Namespace string
	// Target is an extrinsic call's object: an instance path, or a class
	// path (no keys) for a static method.
	Target cimmodel.ObjectPath
	// Params are the IPARAMVALUE elements of an intrinsic call by lower-case
	// name; ParamValues the PARAMVALUE elements of an extrinsic one.
	Params      map[string]*etree.Element
	ParamValues []*etree.Element
}

// Limits of what ParseRequest accepts beyond soap.ParseXML's.
const (
	// maxParams bounds the parameters of one call.
	maxParams = 256
	// maxNamespaceParts bounds the segments of a namespace path.
	maxNamespaceParts = 16
)

// ParseRequest reads a CIM-XML request body: <CIM><MESSAGE
// ID PROTOCOLVERSION="1.x"><SIMPLEREQ> with one IMETHODCALL
// (LOCALNAMESPACEPATH, IPARAMVALUE*) or METHODCALL (LOCALINSTANCEPATH or
// LOCALCLASSPATH, PARAMVALUE*). It refuses DTDs, entities, processing
// instructions and too deep or too large documents (soap.ParseXML). Errors
// are *RequestError naming the DSP0200 CIMError value.
func ParseRequest(body []byte) (*Request, error) {
	doc, err := soap.ParseXML(body)
	if err != nil {
		kind := "request-not-well-formed"
		if errors.Is(err, soap.ErrTooDeep) || errors.Is(err, soap.ErrTooManyElements) || errors.Is(err, soap.ErrTooManyAttributes) {
			kind = "request-not-valid"
		}
		return nil, badRequest(kind, err, "the body is not acceptable XML")
	}
	root := doc.Root()
	if root.Space != "" || root.Tag != "CIM" {
		return nil, badRequest("request-not-valid", nil, "root element %s is not CIM", root.FullTag())
	}
	msg := only(root, "MESSAGE")
	if msg == nil {
		return nil, badRequest("request-not-valid", nil, "CIM holds no single MESSAGE")
	}
	req := &Request{MessageID: msg.SelectAttrValue("ID", "")}
	if req.MessageID == "" {
		return nil, badRequest("request-not-valid", nil, "MESSAGE has no ID")
	}
	if v := msg.SelectAttrValue("PROTOCOLVERSION", ""); !strings.HasPrefix(v, "1.") {
		return nil, badRequest("unsupported-protocol-version", nil, "PROTOCOLVERSION %q", v)
	}
	if msg.SelectElement("MULTIREQ") != nil {
		return nil, badRequest("multiple-requests-unsupported", nil, "MULTIREQ")
	}
	simple := only(msg, "SIMPLEREQ")
	if simple == nil {
		return nil, badRequest("request-not-valid", nil, "MESSAGE holds no single SIMPLEREQ")
	}
	if call := only(simple, "IMETHODCALL"); call != nil {
		return req, req.intrinsic(call)
	}
	if call := only(simple, "METHODCALL"); call != nil {
		return req, req.extrinsic(call)
	}
	return nil, badRequest("request-not-valid", nil, "SIMPLEREQ holds no IMETHODCALL or METHODCALL")
}

// only returns e's one child element named tag, nil when there is none,
// several, or other elements beside it.
func only(e *etree.Element, tag string) *etree.Element {
	kids := e.ChildElements()
	if len(kids) != 1 || kids[0].Tag != tag || kids[0].Space != "" {
		return nil
	}
	return kids[0]
}

func (req *Request) intrinsic(call *etree.Element) error {
	req.Intrinsic = true
	req.Method = call.SelectAttrValue("NAME", "")
	if !validName(req.Method) {
		return badRequest("request-not-valid", nil, "IMETHODCALL NAME %q", req.Method)
	}
	req.Params = map[string]*etree.Element{}
	sawNS := false
	for _, c := range call.ChildElements() {
		switch c.Tag {
		case "LOCALNAMESPACEPATH":
			if sawNS {
				return badRequest("request-not-valid", nil, "two LOCALNAMESPACEPATHs")
			}
			sawNS = true
			ns, err := namespaceOf(c)
			if err != nil {
				return err
			}
			req.Namespace = ns
		case "IPARAMVALUE":
			name := strings.ToLower(c.SelectAttrValue("NAME", ""))
			if !validName(name) {
				return badRequest("request-not-valid", nil, "IPARAMVALUE NAME %q", name)
			}
			if _, dup := req.Params[name]; dup {
				return badRequest("request-not-valid", nil, "IPARAMVALUE %s repeated", name)
			}
			if len(req.Params) >= maxParams {
				return badRequest("request-not-valid", nil, "more than %d parameters", maxParams)
			}
			req.Params[name] = c
		default:
			return badRequest("request-not-valid", nil, "unexpected %s in IMETHODCALL", c.Tag)
		}
	}
	if !sawNS {
		return badRequest("request-not-valid", nil, "IMETHODCALL without LOCALNAMESPACEPATH")
	}
	return nil
}

func (req *Request) extrinsic(call *etree.Element) error {
	req.Method = call.SelectAttrValue("NAME", "")
	if !validName(req.Method) {
		return badRequest("request-not-valid", nil, "METHODCALL NAME %q", req.Method)
	}
	sawTarget := false
	for _, c := range call.ChildElements() {
		switch c.Tag {
		case "LOCALINSTANCEPATH", "LOCALCLASSPATH":
			if sawTarget {
				return badRequest("request-not-valid", nil, "two targets in METHODCALL")
			}
			sawTarget = true
			ns := c.SelectElement("LOCALNAMESPACEPATH")
			if ns == nil {
				return badRequest("request-not-valid", nil, "%s without LOCALNAMESPACEPATH", c.Tag)
			}
			namespace, err := namespaceOf(ns)
			if err != nil {
				return err
			}
			p, err := cimmodel.ParseCIMXMLPath(c, namespace)
			if err != nil {
				return badRequest("request-not-valid", err, "METHODCALL target")
			}
			req.Namespace, req.Target = namespace, p
		case "PARAMVALUE":
			if !validName(c.SelectAttrValue("NAME", "")) {
				return badRequest("request-not-valid", nil, "PARAMVALUE NAME %q", c.SelectAttrValue("NAME", ""))
			}
			if len(req.ParamValues) >= maxParams {
				return badRequest("request-not-valid", nil, "more than %d parameters", maxParams)
			}
			req.ParamValues = append(req.ParamValues, c)
		default:
			return badRequest("request-not-valid", nil, "unexpected %s in METHODCALL", c.Tag)
		}
	}
	if !sawTarget {
		return badRequest("request-not-valid", nil, "METHODCALL without LOCALINSTANCEPATH or LOCALCLASSPATH")
	}
	return nil
}

// namespaceOf reads a LOCALNAMESPACEPATH: at least one NAMESPACE, each a
// non-empty NAME without "/" or "\".
func namespaceOf(e *etree.Element) (string, error) {
	kids := e.ChildElements()
	if len(kids) == 0 || len(kids) > maxNamespaceParts {
		return "", badRequest("request-not-valid", nil, "LOCALNAMESPACEPATH with %d NAMESPACEs", len(kids))
	}
	parts := make([]string, 0, len(kids))
	for _, n := range kids {
		name := n.SelectAttrValue("NAME", "")
		if n.Tag != "NAMESPACE" || name == "" || strings.ContainsAny(name, "/\\") || !validName(name) {
			return "", badRequest("request-not-valid", nil, "bad NAMESPACE %q in LOCALNAMESPACEPATH", name)
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, "/"), nil
}

// validName accepts CIM names (DSP0004 identifiers: letters, digits and
// "_", not starting with a digit), at most 256 characters.
func validName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'):
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
