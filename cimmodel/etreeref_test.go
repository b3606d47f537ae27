package cimmodel

// The etree encoder of instances, method outputs and endpoint references
// that replies used before the direct encoder (xmlwrite.go), kept as the
// reference the differential tests hold the direct encoder to.

import (
	"fmt"
	"strconv"

	"github.com/beevik/etree"
)

// EncodeInstance appends inst to parent (parent may be nil) in the WS-CIM
// form Windows writes (DSP0230 §9, MS-WSMV §3.1.4.1.29): the element
// <p:Class xmlns:p="<resource URI>" xmlns:xsi=… xmlns:cim=…
// xsi:type="p:Class_Type"> with one child per effective property in
// declared order. NULL values are written as xsi:nil="true", arrays as the
// element repeated (an empty array as nothing), datetimes as cim:Datetime or
// cim:Interval children, references as endpoint references (a:Address,
// a:ReferenceParameters), embedded instances as a child element with
// xsi:type="q1:Class_Type" in the embedded class's own namespace. It returns
// the instance element. Strings are set as element text; a writer that
// wants carriage returns to survive XML end-of-line normalisation must
// serialise with etree's WriteSettings.CanonicalText. References are
// written in the EPRNative form; see [EncodeInstanceAs].
func refEncodeInstance(parent *etree.Element, inst *Instance) *etree.Element {
	return refEncodeInstanceAs(parent, inst, EPRNative)
}

// EncodeInstanceAs is [EncodeInstance] with references (in properties and
// embedded instances) written in the given form (see [ObjectPath.WriteEPRAs]).
func refEncodeInstanceAs(parent *etree.Element, inst *Instance, form EPRForm) *etree.Element {
	var el *etree.Element
	tag := "p:" + inst.className()
	if parent == nil {
		el = etree.NewElement(tag)
	} else {
		el = parent.CreateElement(tag)
	}
	el.CreateAttr("xmlns:p", ResourceURI(inst.namespace(), inst.className()))
	el.CreateAttr("xmlns:xsi", nsXSI)
	el.CreateAttr("xmlns:cim", nsCIMCommon)
	el.CreateAttr("xsi:type", "p:"+inst.className()+"_Type")
	refEncodeProperties(el, "p", inst, 0, form)
	return el
}

// encodeProperties writes inst's effective properties as children of el in
// the namespace bound to prefix.
func refEncodeProperties(el *etree.Element, prefix string, inst *Instance, depth int, form EPRForm) {
	if inst.Class == nil {
		return
	}
	props := inst.Class.props()
	// Values are normally keyed by the declared names (Instance.Set): when
	// every one is, a property not found under its name is NULL, without
	// the case-insensitive search Get does.
	exact := 0
	for _, p := range props {
		if _, ok := inst.Values[p.Name]; ok {
			exact++
		}
	}
	var tags []string
	for i, p := range props {
		v, ok := inst.Values[p.Name]
		if !ok {
			if exact == len(inst.Values) {
				v = Value{Type: p.valueType(), Array: p.Array}
			} else {
				v = inst.Get(p.Name)
			}
		}
		tag := ""
		if tags != nil {
			tag = tags[i]
		} else {
			tag = prefix + ":" + p.Name
		}
		refEncodeValue(el, tag, p.valueType(), v, depth, form)
	}
}

// encodeValue appends the element(s) tag for value v of type t to parent,
// references in the given form.
func refEncodeValue(parent *etree.Element, tag string, t Type, v Value, depth int, form EPRForm) {
	if v.IsNull() {
		ensureNS(parent, "xsi", nsXSI)
		parent.CreateElement(tag).CreateAttr("xsi:nil", "true")
		return
	}
	for _, e := range v.Elems() {
		refEncodeScalar(parent.CreateElement(tag), t, e.V, depth, form)
	}
}

// encodeScalar writes one non-NULL scalar into el.
func refEncodeScalar(el *etree.Element, t Type, x any, depth int, form EPRForm) {
	switch x := x.(type) {
	case ObjectPath:
		el.CreateAttr("xmlns:a", nsAddressing)
		el.CreateAttr("xmlns:w", nsWSMan)
		refWriteEPRAs(x, el, "", form)
	case *Instance:
		if x == nil {
			ensureNS(el, "xsi", nsXSI)
			el.CreateAttr("xsi:nil", "true")
			return
		}
		prefix := "q" + strconv.Itoa(depth+1)
		el.CreateAttr("xmlns:"+prefix, ResourceURI(x.namespace(), x.className()))
		ensureNS(el, "xsi", nsXSI)
		el.CreateAttr("xsi:type", prefix+":"+x.className()+"_Type")
		refEncodeProperties(el, prefix, x, depth+1, form)
	case Datetime:
		ensureNS(el, "cim", nsCIMCommon)
		tag := "cim:Datetime"
		if x.IsInterval {
			tag = "cim:Interval"
		}
		el.CreateElement(tag).SetText(formatDatetime(x))
	default:
		s, err := formatScalar(t, x)
		if err != nil {
			s = fmt.Sprint(x)
		}
		el.SetText(s)
	}
}

// EncodeOutput appends the output message of method m to parent (which may
// be nil) and returns it: <p:Method_OUTPUT xmlns:p="resourceURI"> (with
// xmlns:xsi and xmlns:cim declared, as Windows does) holding the
// out-parameters of res in declared order (NULL or absent ones omitted,
// arrays repeated, references as endpoint references, embedded instances as
// child elements with xsi:type), then <p:ReturnValue>. References are
// written in the form a request on resourceURI gets ([EPRFormOf]).
func refEncodeOutput(parent *etree.Element, m *Method, resourceURI string, res Result) *etree.Element {
	var el *etree.Element
	tag := "p:" + m.Name + "_OUTPUT"
	if parent == nil {
		el = etree.NewElement(tag)
	} else {
		el = parent.CreateElement(tag)
	}
	el.CreateAttr("xmlns:p", resourceURI)
	el.CreateAttr("xmlns:xsi", nsXSI)
	el.CreateAttr("xmlns:cim", nsCIMCommon)
	form := EPRFormOf(resourceURI)
	for _, p := range m.Params {
		if !p.Out {
			continue
		}
		v, ok := Args(res.Out).Get(p.Name)
		if !ok || v.IsNull() {
			continue
		}
		refEncodeValue(el, "p:"+p.Name, p.valueType(), v, 0, form)
	}
	rt := m.ReturnType
	if rt == 0 {
		rt = TypeUint32
	}
	rv := strconv.FormatUint(uint64(res.ReturnValue), 10)
	if rt.isSigned() {
		rv = strconv.FormatInt(int64(int32(res.ReturnValue)), 10)
	}
	el.CreateElement("p:ReturnValue").SetText(rv)
	return el
}

// WriteEPRAs appends p as an endpoint reference to parent: a:Address (the
// anonymous address when address is "") and a:ReferenceParameters holding
// w:ResourceURI and w:SelectorSet with one w:Selector per key, then the
// __cimnamespace selector when the URI is in the DMTF form (CIM_ classes,
// or every class in the EPRDMTF form). A reference-valued key nests an
// a:EndpointReference, in the same form, in its selector. Namespace
// declarations for the a and w prefixes are added to parent when they are
// not in scope.
func refWriteEPRAs(p ObjectPath, parent *etree.Element, address string, form EPRForm) {
	ensureNS(parent, "a", nsAddressing)
	ensureNS(parent, "w", nsWSMan)
	if address == "" {
		address = addressAnonymous
	}
	parent.CreateElement("a:Address").SetText(address)
	rp := parent.CreateElement("a:ReferenceParameters")
	uri := ResourceURI(p.Namespace, p.Class)
	if form == EPRDMTF {
		uri = DMTFPrefix + p.Class
	}
	rp.CreateElement("w:ResourceURI").SetText(uri)
	ss := rp.CreateElement("w:SelectorSet")
	for _, k := range p.Keys {
		sel := ss.CreateElement("w:Selector")
		sel.CreateAttr("Name", k.Name)
		if r, ok := k.Value.V.(ObjectPath); ok {
			refWriteEPRAs(r, sel.CreateElement("a:EndpointReference"), address, form)
			continue
		}
		sel.SetText(keyText(k.Value))
	}
	if (form == EPRDMTF || isDMTFClass(p.Class)) && p.Namespace != "" {
		sel := ss.CreateElement("w:Selector")
		sel.CreateAttr("Name", CIMNamespaceSelector)
		sel.SetText(p.Namespace)
	}
}
