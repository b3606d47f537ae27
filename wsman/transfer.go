package wsman

import (
	"errors"
	"strings"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// modifiedPropertiesOption is the option in which the MI client
// (PowerShell's Set-CimInstance) names the properties it changed, one
// wsman:Option per property, Name="wmiarray:__MIInstanceModifiedPropertiesList"
// Type="xs:string" (the form OMI keeps in Unix/wsman/samples/Put2.xml).
const modifiedPropertiesOption = "__MIInstanceModifiedPropertiesList"

// nsCIMCommon is the namespace of the WS-CIM common elements (DSP0230), such
// as the cim:Location EPR a Put body may carry (MS-WSMV 4.1.3).
const nsCIMCommon = "http://schemas.dmtf.org/wbem/wscim/1/common"

// get answers WS-Transfer Get: the instance named by ResourceURI and
// SelectorSet (DSP0226 §7.3).
func (s *Server) get(req *request) (*soap.Message, error) {
	t, path, err := s.resolvePath(req.header())
	if err != nil {
		return nil, err
	}
	inst, err := s.registry.Get(req.ctx, path)
	if err != nil {
		return nil, selectorError(err)
	}
	return instanceReply(req.header(), soap.ActionGetResponse, inst, t.uri), nil
}

// put answers WS-Transfer Put: the body holds the instance, the answer the
// instance as it is now. PowerShell's Set-CimInstance sends the whole
// instance (read-only and NULL properties included) and names the
// properties it changed in the option __MIInstanceModifiedPropertiesList:
// only those are applied. Without the option (Set-WSManInstance, winrm put:
// keys plus the changed properties, or the whole instance as Get gave it)
// every property in the body is. Either way a read-only property may be
// sent unchanged; a change to one is refused (readOnlyError) before the
// provider sees anything.
func (s *Server) put(req *request) (*soap.Message, error) {
	h := req.header()
	t, path, err := s.resolvePath(h)
	if err != nil {
		return nil, err
	}
	if req.env.Body == nil {
		return nil, protoErr(faultSchemaValidation, "Put needs the instance in the body.")
	}
	changes, err := s.putChanges(req, t, path)
	if err != nil {
		return nil, err
	}
	inst, err := s.registry.Modify(req.ctx, path, changes)
	if err != nil {
		return nil, err // the keys were found by Get: no longer a selector problem
	}
	return instanceReply(h, soap.ActionPutResponse, inst, t.uri), nil
}

// instanceReply is the reply to req holding inst, references in the form
// a request on uri gets.
func instanceReply(req *soap.Header, action string, inst *cimmodel.Instance, uri string) *soap.Message {
	m := soap.NewResponse(req, action)
	form := cimmodel.EPRFormOf(uri)
	m.SetBody(func(b []byte) []byte { return cimmodel.AppendInstance(b, inst, form) })
	return m
}

// putChanges reads the properties a Put applies to the instance at path:
// those __MIInstanceModifiedPropertiesList names when the option is there,
// else all in the body; a change to a read-only one is refused.
func (s *Server) putChanges(req *request, t target, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	body := withoutCIMCommon(req.env.Body)
	names, listed := modifiedProperties(req.header())
	if listed {
		onlyListed(body, names) // what is not applied need not even parse
	}
	changes, err := cimmodel.DecodeInstance(s.registry, t.namespace, body)
	if err != nil {
		return nil, err
	}
	cur, err := s.registry.Get(req.ctx, path)
	if err != nil {
		return nil, selectorError(err)
	}
	props := s.registry.Properties(cur.Class)
	if listed {
		if changes, err = onlyModified(props, changes, names); err != nil {
			return nil, err
		}
	}
	if err := checkReadOnly(props, cur, changes); err != nil {
		return nil, err
	}
	return changes, nil
}

// modifiedProperties returns the property names of the
// __MIInstanceModifiedPropertiesList option (with or without its
// "wmiarray:" prefix), and whether the option is there at all: present
// with no names, nothing is to change.
func modifiedProperties(h *soap.Header) ([]string, bool) {
	var names []string
	found := false
	for _, o := range h.Options {
		name := o.Name
		if i := strings.IndexByte(name, ':'); i >= 0 {
			name = name[i+1:]
		}
		if !strings.EqualFold(name, modifiedPropertiesOption) {
			continue
		}
		found = true
		if v := strings.TrimSpace(o.Value); v != "" {
			names = append(names, v)
		}
	}
	return names, found
}

// onlyListed removes from the instance element e the property elements
// that names does not list (case-insensitive).
func onlyListed(e *etree.Element, names []string) {
	for _, k := range e.ChildElements() {
		keep := false
		for _, n := range names {
			if strings.EqualFold(k.Tag, n) {
				keep = true
				break
			}
		}
		if !keep {
			e.RemoveChild(k)
		}
	}
}

// onlyModified returns the properties of changes that names lists
// (case-insensitive). A listed name that is none of props is
// StatusNoSuchProperty; a listed property the body does not carry is left
// out (the body tells nothing of its new value).
func onlyModified(props []cimmodel.Property, changes *cimmodel.Instance, names []string) (*cimmodel.Instance, error) {
	out := cimmodel.NewInstance(changes.Class)
	out.Namespace = changes.Namespace
	for _, n := range names {
		found := false
		for name, v := range changes.Values {
			if strings.EqualFold(name, n) {
				out.Values[name] = v
				found = true
			}
		}
		if _, declared := propertyNamed(props, n); !found && !declared {
			return nil, cimmodel.Errorf(cimmodel.StatusNoSuchProperty,
				"%s names the property %q, which %s does not have", modifiedPropertiesOption, n, changes.Class.Name)
		}
	}
	return out, nil
}

// checkReadOnly refuses a change to a property that is not writable (no
// Write qualifier; keys included): its value in changes must equal the
// current one.
func checkReadOnly(props []cimmodel.Property, cur, changes *cimmodel.Instance) error {
	for name, v := range changes.Values {
		p, ok := propertyNamed(props, name)
		if !ok || p.Write {
			continue // undeclared properties are the registry's to refuse
		}
		if !cur.Get(p.Name).Equal(v) {
			return readOnlyError(p, cur.Class.Name)
		}
	}
	return nil
}

// readOnlyError is the fault for a Put that changes a read-only property:
// s:Sender, w:InvalidParameter (DSP0227's mapping of CIM_ERR_INVALID_PARAMETER;
// wsmerror.h's ERROR_WSMAN_WMI_PROVIDER_INVALID_PARAMETER is what WinRM
// reports when a WMI provider refuses a value), with the faultDetail
// ReadOnly of DSP0226 and a message naming the property; for a key, the
// message of wsmerror.h's ERROR_WSMAN_CANNOT_CHANGE_KEYS. Windows' own
// fault for it is not in any public capture (docs/powershell.md).
func readOnlyError(p cimmodel.Property, class string) error {
	msg := "The property " + p.Name + " of " + class + " is read-only; it cannot be changed by Put."
	if p.Key {
		msg = "The input XML modifies the key " + p.Name + " of " + class +
			". You cannot create a new instance or change the identity of an instance by changing the keys."
	}
	return &protocolError{kind: faultInvalidParameter, detail: faultDetailReadOnly, message: msg}
}

// withoutCIMCommon removes from the instance element e its children in the
// WS-CIM common namespace (cim:Location, DSP0230), which describe the
// instance rather than hold a property, and returns e.
func withoutCIMCommon(e *etree.Element) *etree.Element {
	for _, k := range e.ChildElements() {
		if k.NamespaceURI() == nsCIMCommon {
			e.RemoveChild(k)
		}
	}
	return e
}

// delete answers WS-Transfer Delete of the named instance.
func (s *Server) delete(req *request) (*soap.Message, error) {
	_, path, err := s.resolvePath(req.header())
	if err != nil {
		return nil, err
	}
	if err := s.registry.Delete(req.ctx, path); err != nil {
		return nil, selectorError(err)
	}
	return soap.NewResponse(req.header(), soap.ActionDeleteResponse), nil
}

// selectorError turns a registry's complaint about a path's keys into the
// InvalidSelectors fault that a Get, Put or Delete gets for them.
func selectorError(err error) error {
	var ce *cimmodel.Error
	if errors.As(err, &ce) && ce.Status == cimmodel.StatusInvalidParameter {
		return &protocolError{kind: faultInvalidSelectors, message: ce.Message, err: err}
	}
	return err
}
