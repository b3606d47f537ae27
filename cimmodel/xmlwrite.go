package cimmodel

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/replicad/replicad/soap"
)

// The WS-CIM encoder of the replies: instances, method outputs and
// endpoint references written straight into a byte slice as XML text. What
// it writes is what an etree of the same elements serialises to (etree's
// escaping, an element without content as <tag/>); the differential test
// and FuzzAppendInstance hold it to the etree encoder it replaced.

// AppendInstance appends inst to b in the WS-CIM form Windows writes
// (DSP0230 §9, MS-WSMV §3.1.4.1.29) and returns the result: the element
// <p:Class xmlns:p="<resource URI>" xmlns:xsi=… xmlns:cim=…
// xsi:type="p:Class_Type"> with one child per effective property in
// declared order. NULL values are written as xsi:nil="true", arrays as the
// element repeated (an empty array as nothing), datetimes as cim:Datetime or
// cim:Interval children, references as endpoint references (a:Address,
// a:ReferenceParameters, in the given form: see [AppendEPR]), embedded
// instances as a child element with xsi:type="q1:Class_Type" in the
// embedded class's own namespace. Text is escaped by [soap.AppendEscaped];
// carriage returns are written as they are (a reader normalises them to
// line feeds).
//
// A frozen instance ([Instance.Freeze]) is written once per form; later
// calls copy that text.
func AppendInstance(b []byte, inst *Instance, form EPRForm) []byte {
	if t := inst.text; t != nil && uint(form) < uint(eprForms) {
		return appendKept(&t.inst[form], b, func(b []byte) []byte {
			w := xmlWriter{b: b, form: form}
			w.instance(inst)
			return w.b
		})
	}
	w := xmlWriter{b: b, form: form}
	w.instance(inst)
	return w.b
}

// AppendInstanceEPR appends the endpoint reference of inst's path, as
// AppendEPR(b, inst.Path(), address, form) does; a frozen instance's
// reference to the anonymous address is written once per form.
func AppendInstanceEPR(b []byte, inst *Instance, address string, form EPRForm) []byte {
	if t := inst.text; t != nil && uint(form) < uint(eprForms) && (address == "" || address == addressAnonymous) {
		return appendKept(&t.epr[form], b, func(b []byte) []byte {
			return AppendEPR(b, inst.Path(), addressAnonymous, form)
		})
	}
	return AppendEPR(b, inst.Path(), address, form)
}

// appendKept appends the text kept in s, first writing it with write
// (which appends it to the slice it is given) when s holds none. Writers
// that race each store the same bytes.
func appendKept(s *atomic.Pointer[[]byte], b []byte, write func([]byte) []byte) []byte {
	if t := s.Load(); t != nil {
		return append(b, *t...)
	}
	start := len(b)
	b = write(b)
	t := slices.Clone(b[start:])
	s.Store(&t)
	return b
}

// AppendEPR appends the content of an endpoint reference for p to b:
// a:Address (the anonymous address when address is "") and
// a:ReferenceParameters holding w:ResourceURI and w:SelectorSet with one
// w:Selector per key, then the __cimnamespace selector when the URI is in
// the DMTF form (CIM_ classes, or every class in the EPRDMTF form). A
// reference-valued key nests an a:EndpointReference, in the same form, in
// its selector. The a and w prefixes must be bound where b is written
// (they are in every SOAP reply).
func AppendEPR(b []byte, p ObjectPath, address string, form EPRForm) []byte {
	w := xmlWriter{b: b, form: form}
	w.epr(p, address)
	return w.b
}

// AppendOutput appends the output message of method m to b:
// <p:Method_OUTPUT xmlns:p="resourceURI"> (with xmlns:xsi and xmlns:cim
// declared, as Windows does) holding the out-parameters of res in declared
// order (NULL or absent ones omitted, arrays repeated, references as
// endpoint references, embedded instances as child elements with
// xsi:type), then <p:ReturnValue>. References are written in the form a
// request on resourceURI gets ([EPRFormOf]).
func AppendOutput(b []byte, m *Method, resourceURI string, res Result) []byte {
	w := xmlWriter{b: b, form: EPRFormOf(resourceURI)}
	w.output(m, resourceURI, res)
	return w.b
}

// xmlWriter appends WS-CIM XML to b, references in form.
type xmlWriter struct {
	b    []byte
	form EPRForm
	// crRef writes carriage returns as character references, so that
	// they survive a parse (EncodeInstance's tree is parsed from the text).
	crRef bool
}

func (w *xmlWriter) start(tag string) {
	w.b = append(w.b, '<')
	w.b = append(w.b, tag...)
}

// qstart writes "<prefix:name".
func (w *xmlWriter) qstart(prefix, name string) {
	w.b = append(w.b, '<')
	w.b = append(w.b, prefix...)
	w.b = append(w.b, ':')
	w.b = append(w.b, name...)
}

func (w *xmlWriter) qend(prefix, name string) {
	w.b = append(w.b, "</"...)
	w.b = append(w.b, prefix...)
	w.b = append(w.b, ':')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

func (w *xmlWriter) end(tag string) {
	w.b = append(w.b, "</"...)
	w.b = append(w.b, tag...)
	w.b = append(w.b, '>')
}

func (w *xmlWriter) attr(key, value string) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, key...)
	w.b = append(w.b, `="`...)
	w.text(value)
	w.b = append(w.b, '"')
}

// text writes s escaped.
func (w *xmlWriter) text(s string) {
	if !w.crRef {
		w.b = soap.AppendEscaped(w.b, s)
		return
	}
	for {
		i := strings.IndexByte(s, '\r')
		if i < 0 {
			w.b = soap.AppendEscaped(w.b, s)
			return
		}
		w.b = soap.AppendEscaped(w.b, s[:i])
		w.b = append(w.b, "&#xD;"...)
		s = s[i+1:]
	}
}

// resourceURI writes ResourceURI(namespace, class) as text, without
// making the string (escaping its parts is escaping the whole).
func (w *xmlWriter) resourceURI(namespace, class string) {
	if isDMTFClass(class) {
		w.text(DMTFPrefix)
	} else {
		w.text(WMIPrefix)
		w.text(strings.Trim(strings.ReplaceAll(namespace, "\\", "/"), "/"))
		w.b = append(w.b, '/')
	}
	w.text(class)
}

// output writes the output message of m.
func (w *xmlWriter) output(m *Method, resourceURI string, res Result) {
	w.start("p:" + m.Name + "_OUTPUT")
	w.attr("xmlns:p", resourceURI)
	w.b = append(w.b, ` xmlns:xsi="`+nsXSI+`" xmlns:cim="`+nsCIMCommon+`">`...)
	for p, v := range m.outputs(res) {
		w.value("p", p.Name, p.valueType(), v, 0)
	}
	w.b = append(w.b, "<p:ReturnValue>"...)
	w.b = m.appendReturnValue(w.b, res.ReturnValue)
	w.b = append(w.b, "</p:ReturnValue>"...)
	w.end("p:" + m.Name + "_OUTPUT")
}

// instance writes inst as the root element of an instance.
func (w *xmlWriter) instance(inst *Instance) {
	class := inst.className()
	w.qstart("p", class)
	w.b = append(w.b, ` xmlns:p="`...)
	w.resourceURI(inst.namespace(), class)
	w.b = append(w.b, `" xmlns:xsi="`+nsXSI+`" xmlns:cim="`+nsCIMCommon+`" xsi:type="p:`...)
	w.text(class)
	w.b = append(w.b, `_Type"`...)
	if !w.properties("p", inst, 0) {
		w.b = append(w.b, "/>"...)
		return
	}
	w.qend("p", class)
}

// properties writes inst's effective properties in the namespace bound to
// prefix, after closing the start tag of their element when they write
// anything (an empty array writes nothing); it reports whether they did.
func (w *xmlWriter) properties(prefix string, inst *Instance, depth int) bool {
	if inst.Class == nil {
		return false
	}
	props := inst.Class.props()
	if len(props) == 0 {
		return false
	}
	w.b = append(w.b, '>')
	open := len(w.b)
	if c := inst.Class; c.reg != nil && len(props) <= maxSlots {
		// Values are normally keyed by the declared names (Instance.Set):
		// when every one is, each goes to its property's slot in one
		// lookup, and a property without one is NULL.
		var slots [maxSlots]Value
		exact := true
		for name, v := range inst.Values {
			i, ok := c.propIdx[name]
			if !ok {
				exact = false
				break
			}
			slots[i] = v
		}
		if exact {
			for i := range props {
				p := &props[i] // a Property is large: not copied per value
				w.value(prefix, p.Name, p.valueType(), slots[i], depth)
			}
			return w.closeProperties(open)
		}
	}
	// Otherwise each property is looked up by name; when some value is
	// not under a declared name, a property not found so is looked for
	// case-insensitively (Get).
	exact := 0
	for _, p := range props {
		if _, ok := inst.Values[p.Name]; ok {
			exact++
		}
	}
	for i := range props {
		p := &props[i]
		v, ok := inst.Values[p.Name]
		if !ok && exact != len(inst.Values) {
			v = inst.Get(p.Name)
		}
		w.value(prefix, p.Name, p.valueType(), v, depth)
	}
	return w.closeProperties(open)
}

// maxSlots is the most properties a class may have for properties to
// gather the values on the stack.
const maxSlots = 128

// closeProperties ends what properties wrote after the start tag closed at
// open: when nothing was, it reopens the tag (for "/>") and reports false.
func (w *xmlWriter) closeProperties(open int) bool {
	if len(w.b) == open {
		w.b = w.b[:open-1]
		return false
	}
	return true
}

// value writes the element(s) prefix:name for value v of type t.
func (w *xmlWriter) value(prefix, name string, t Type, v Value, depth int) {
	if v.IsNull() {
		w.qstart(prefix, name)
		w.b = append(w.b, ` xsi:nil="true"/>`...)
		return
	}
	if !v.Array {
		w.scalar(prefix, name, t, v.V, depth)
		return
	}
	switch s := v.V.(type) {
	case []uint8:
		scalars(w, prefix, name, t, s, depth)
	case []int8:
		scalars(w, prefix, name, t, s, depth)
	case []uint16:
		scalars(w, prefix, name, t, s, depth)
	case []int16:
		scalars(w, prefix, name, t, s, depth)
	case []uint32:
		scalars(w, prefix, name, t, s, depth)
	case []int32:
		scalars(w, prefix, name, t, s, depth)
	case []uint64:
		scalars(w, prefix, name, t, s, depth)
	case []int64:
		scalars(w, prefix, name, t, s, depth)
	case []float32:
		scalars(w, prefix, name, t, s, depth)
	case []float64:
		scalars(w, prefix, name, t, s, depth)
	case []bool:
		scalars(w, prefix, name, t, s, depth)
	case []string:
		scalars(w, prefix, name, t, s, depth)
	case []Datetime:
		scalars(w, prefix, name, t, s, depth)
	case []ObjectPath:
		scalars(w, prefix, name, t, s, depth)
	case []*Instance:
		scalars(w, prefix, name, t, s, depth)
	}
}

// scalars writes each element of an array.
func scalars[T any](w *xmlWriter, prefix, name string, t Type, s []T, depth int) {
	for _, x := range s {
		w.scalar(prefix, name, t, x, depth)
	}
}

// scalar writes the element prefix:name holding one non-NULL scalar x.
func (w *xmlWriter) scalar(prefix, name string, t Type, x any, depth int) {
	w.qstart(prefix, name)
	switch x := x.(type) {
	case ObjectPath:
		w.b = append(w.b, ` xmlns:a="`+nsAddressing+`" xmlns:w="`+nsWSMan+`">`...)
		w.epr(x, "")
	case *Instance:
		if x == nil {
			w.b = append(w.b, ` xsi:nil="true"/>`...)
			return
		}
		q := "q" + strconv.Itoa(depth+1)
		w.b = append(w.b, " xmlns:"...)
		w.b = append(w.b, q...)
		w.b = append(w.b, `="`...)
		w.resourceURI(x.namespace(), x.className())
		w.b = append(w.b, `" xsi:type="`...)
		w.b = append(w.b, q...)
		w.b = append(w.b, ':')
		w.text(x.className())
		w.b = append(w.b, `_Type"`...)
		if !w.properties(q, x, depth+1) {
			w.b = append(w.b, "/>"...)
			return
		}
	case Datetime:
		if x.IsInterval {
			w.b = append(w.b, "><cim:Interval>"...)
			w.b = append(w.b, formatDuration(x.Interval)...)
			w.b = append(w.b, "</cim:Interval>"...)
		} else {
			w.b = append(w.b, "><cim:Datetime>"...)
			w.b = x.Time.AppendFormat(w.b, xsDateTimeLayout)
			w.b = append(w.b, "</cim:Datetime>"...)
		}
	default:
		if !w.scalarText(t, x) {
			return
		}
	}
	w.qend(prefix, name)
}

// scalarText writes ">" and the text of a scalar that is not a reference,
// an instance or a datetime, or "/>" when the text is empty; it reports
// whether the element is still open.
func (w *xmlWriter) scalarText(t Type, x any) bool {
	w.b = append(w.b, '>')
	switch x := x.(type) {
	case uint8:
		w.b = strconv.AppendUint(w.b, uint64(x), 10)
	case uint16:
		w.b = strconv.AppendUint(w.b, uint64(x), 10)
	case uint32:
		w.b = strconv.AppendUint(w.b, uint64(x), 10)
	case uint64:
		w.b = strconv.AppendUint(w.b, x, 10)
	case int8:
		w.b = strconv.AppendInt(w.b, int64(x), 10)
	case int16:
		w.b = strconv.AppendInt(w.b, int64(x), 10)
	case int32:
		if t == TypeChar16 {
			w.text(string(rune(x)))
		} else {
			w.b = strconv.AppendInt(w.b, int64(x), 10)
		}
	case int64:
		w.b = strconv.AppendInt(w.b, x, 10)
	case float32:
		w.b = append(w.b, formatFloat(float64(x), 32)...)
	case float64:
		w.b = append(w.b, formatFloat(x, 64)...)
	case bool:
		w.b = strconv.AppendBool(w.b, x)
	case string:
		if x == "" {
			w.b = append(w.b[:len(w.b)-1], "/>"...)
			return false
		}
		w.text(x)
	default: // a Go type no CIM type has: what fmt makes of it
		s := fmt.Sprint(x)
		if s == "" {
			w.b = append(w.b[:len(w.b)-1], "/>"...)
			return false
		}
		w.text(s)
	}
	return true
}

// epr writes the content of an endpoint reference for p.
func (w *xmlWriter) epr(p ObjectPath, address string) {
	if address == "" {
		address = addressAnonymous
	}
	w.b = append(w.b, "<a:Address>"...)
	w.text(address)
	w.b = append(w.b, "</a:Address><a:ReferenceParameters><w:ResourceURI>"...)
	if w.form == EPRDMTF {
		w.b = append(w.b, DMTFPrefix...)
		w.text(p.Class)
	} else {
		w.resourceURI(p.Namespace, p.Class)
	}
	w.b = append(w.b, "</w:ResourceURI>"...)
	cimNS := (w.form == EPRDMTF || isDMTFClass(p.Class)) && p.Namespace != ""
	if len(p.Keys) == 0 && !cimNS {
		w.b = append(w.b, "<w:SelectorSet/></a:ReferenceParameters>"...)
		return
	}
	w.b = append(w.b, "<w:SelectorSet>"...)
	for _, k := range p.Keys {
		w.b = append(w.b, `<w:Selector Name="`...)
		w.text(k.Name)
		w.b = append(w.b, '"')
		if r, ok := k.Value.V.(ObjectPath); ok {
			w.b = append(w.b, "><a:EndpointReference>"...)
			w.epr(r, address)
			w.b = append(w.b, "</a:EndpointReference></w:Selector>"...)
			continue
		}
		w.selectorText(keyText(k.Value))
	}
	if cimNS {
		w.b = append(w.b, `<w:Selector Name="`+CIMNamespaceSelector+`"`...)
		w.selectorText(p.Namespace)
	}
	w.b = append(w.b, "</w:SelectorSet></a:ReferenceParameters>"...)
}

// selectorText ends a w:Selector start tag with its text.
func (w *xmlWriter) selectorText(s string) {
	if s == "" {
		w.b = append(w.b, "/>"...)
		return
	}
	w.b = append(w.b, '>')
	w.text(s)
	w.b = append(w.b, "</w:Selector>"...)
}
