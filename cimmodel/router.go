package cimmodel

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// Invoke is the method router (WS-Man custom actions, DSP0227 §9). It finds
// the class of target (StatusInvalidClass, StatusInvalidNamespace) and the
// effective method (StatusMethodNotFound; wsman answers
// wsa:ActionNotSupported), decodes input (the <p:Method_INPUT> element; child
// names are parameter names, any namespace; nil input means no parameters)
// into typed [Args] and checks them before Func runs:
//
//   - an unknown parameter, an out-only parameter supplied, a value that does
//     not parse as the declared type, a reference that is not an endpoint
//     reference or points at a class that is not RefClass or a subclass, an
//     embedded instance that does not parse or is not of EmbeddedClass, or a
//     scalar sent twice: *Error with StatusInvalidParameter, Func not called;
//   - a Required parameter missing or NULL, a value outside the ValueMap
//     (DMTF and Method Reserved ranges excluded) or outside Min/Max:
//     Result{ReturnValue: 5} (with a CIM_Error in the ExtendedStatus
//     out-parameter when the method declares it; no other out-parameters),
//     the method, and an
//     *InvalidParameterError naming the parameter and why. Func is not
//     called. Callers encode the Result as a normal answer and may log or
//     report the reason: errors.As(err, &ipe) tells this case apart;
//   - a method without Func: StatusMethodNotAvailable.
//
// A target with keys is checked and converted like [Registry.Get]'s path
// (StatusInvalidParameter for missing, unknown or mistyped keys); a target
// without keys calls the method on the class (static methods).
//
// Embedded-instance parameters are accepted as a child element with
// xsi:type and as CIM-XML text; Func receives them as TypeInstance values.
// Reference parameters are endpoint references, received as TypeReference
// values. Otherwise Invoke returns what Func returns, with the method.
func (r *Registry) Invoke(ctx context.Context, target ObjectPath, method string, input *etree.Element) (Result, *Method, error) {
	return r.invoke(ctx, target, method, func(ns string, m *Method) (Args, error) {
		return r.DecodeArgs(ns, m, input)
	})
}

// invoke is the router behind [Registry.Invoke] and
// [Registry.InvokeCIMXML]: decode reads the input parameters in the wire
// form of the protocol; every check after it is the same.
func (r *Registry) invoke(ctx context.Context, target ObjectPath, method string, decode func(ns string, m *Method) (Args, error)) (Result, *Method, error) {
	c, err := r.lookup(target.Namespace, target.Class)
	if err != nil {
		return Result{}, nil, err
	}
	m, ok := r.Method(c, method)
	if !ok {
		return Result{}, nil, Errorf(StatusMethodNotFound, "class %s has no method %s", c.Name, method)
	}
	ns := target.Namespace
	if ns == "" {
		ns = c.Namespace
	}
	if len(target.Keys) > 0 {
		norm, err := r.NormalizePath(c, target)
		if err != nil {
			return Result{}, nil, err
		}
		norm.Class = target.Class
		target = norm
	}
	args, err := decode(ns, m)
	if ipe := (*InvalidParameterError)(nil); errors.As(err, &ipe) {
		return r.invalidParameter(ns, m, ipe), m, ipe
	}
	if err != nil {
		return Result{}, m, err
	}
	if ipe := CheckArgs(m, args); ipe != nil {
		return r.invalidParameter(ns, m, ipe), m, ipe
	}
	if m.Func == nil {
		return Result{}, m, Errorf(StatusMethodNotAvailable, "method %s.%s is not implemented", c.Name, m.Name)
	}
	if target.Namespace == "" {
		target.Namespace = ns
	}
	res, err := m.Func(ctx, target, args)
	if err != nil {
		return res, m, fmt.Errorf("invoke %s.%s: %w", c.Name, m.Name, err)
	}
	return res, m, nil
}

// invalidParameter is the router's own answer to a parameter that breaks
// its declaration: ReturnValue 5 and, when m declares the
// [ExtendedStatusParam] out-parameter, a CIM_Error saying which parameter
// and why (CIMStatusCode 4, CIM_ERR_INVALID_PARAMETER).
func (r *Registry) invalidParameter(ns string, m *Method, ipe *InvalidParameterError) Result {
	res := Result{ReturnValue: ReturnInvalidParameter}
	p, ok := m.Param(ExtendedStatusParam)
	if !ok || !p.Out || p.EmbeddedClass == "" {
		return res
	}
	c, ok := r.Class(ns, p.EmbeddedClass)
	if !ok {
		return res
	}
	msg := fmt.Sprintf("%s: parameter %s: %s", m.Name, ipe.Param, ipe.Reason)
	res.Out = map[string]Value{ExtendedStatusParam: Embedded(
		NewCIMError(c, StatusInvalidParameter, 4, MessageIDInvalidParameter, msg))}
	return res
}

// DecodeArgs decodes a method's input element into typed arguments (the
// first half of [Registry.Invoke]); errors are *Error with
// StatusInvalidParameter. namespace resolves references and embedded
// instances that name no namespace of their own.
func (r *Registry) DecodeArgs(namespace string, m *Method, input *etree.Element) (Args, error) {
	args := Args{}
	if input == nil {
		return args, nil
	}
	groups, order, _ := groupChildren(input)
	for _, name := range order {
		p, ok := m.Param(name)
		if !ok {
			return nil, Errorf(StatusInvalidParameter, "method %s has no parameter %q", m.Name, name)
		}
		if !p.In {
			return nil, Errorf(StatusInvalidParameter, "parameter %s of %s is output-only", p.Name, m.Name)
		}
		v, err := decodeElements(r, namespace, groups[strings.ToLower(name)], p.valueType(), p.Array, p.EmbeddedClass, p.RefClass, 0)
		if ce := (*Error)(nil); errors.As(err, &ce) && ce.Status == StatusNoSuchProperty {
			// A well-formed embedded instance with a property its class
			// does not have breaks the method's rules rather than the
			// protocol: ReturnValue 5, like a value outside a ValueMap.
			return nil, &InvalidParameterError{Param: p.Name, Reason: ce.Message}
		}
		if err != nil {
			return nil, Errorf(StatusInvalidParameter, "parameter %s of %s: %v", p.Name, m.Name, err)
		}
		args[p.Name] = v
	}
	return args, nil
}

// CheckArgs checks decoded arguments against m's Required, ValueMap and
// Min/Max qualifiers, in declared parameter order, and returns the first
// violation (nil when there is none).
func CheckArgs(m *Method, args Args) *InvalidParameterError {
	for _, p := range m.Params {
		if !p.In {
			continue
		}
		v, present := args[p.Name]
		if !present || v.IsNull() {
			if p.Required {
				return &InvalidParameterError{Param: p.Name, Reason: "required parameter missing or NULL"}
			}
			continue
		}
		for _, e := range v.Elems() {
			if reason := checkScalar(p, e); reason != "" {
				return &InvalidParameterError{Param: p.Name, Reason: reason}
			}
		}
	}
	return nil
}

func checkScalar(p Parameter, e Value) string {
	if len(p.ValueMap) > 0 {
		if s, ok := e.AsString(); ok {
			if !stringInValueMap(p, s) {
				return fmt.Sprintf("value %q is not in the ValueMap", s)
			}
		} else if n, ok := integerOf(e); ok {
			if !intInValueMap(p, n) {
				return fmt.Sprintf("value %s is not in the ValueMap", e)
			}
		}
	}
	if p.Min != nil || p.Max != nil {
		n, ok := integerOf(e)
		if !ok {
			return ""
		}
		if p.Min != nil && n.lt(*p.Min) {
			return fmt.Sprintf("value %s is below the minimum %d", e, *p.Min)
		}
		if p.Max != nil && n.gt(*p.Max) {
			return fmt.Sprintf("value %s is above the maximum %d", e, *p.Max)
		}
	}
	return ""
}

// bigInt holds any CIM integer: a uint64 magnitude and a sign.
type bigInt struct {
	neg bool
	mag uint64
}

func integerOf(v Value) (bigInt, bool) {
	if !v.Type.isInteger() {
		return bigInt{}, false
	}
	if u, ok := v.AsUint64(); ok {
		return bigInt{mag: u}, true
	}
	if n, ok := v.AsInt64(); ok {
		if n < 0 {
			return bigInt{neg: true, mag: uint64(-(n + 1)) + 1}, true
		}
		return bigInt{mag: uint64(n)}, true
	}
	return bigInt{}, false
}

func (b bigInt) cmp(c bigInt) int {
	switch {
	case b.neg && !c.neg:
		return -1
	case !b.neg && c.neg:
		return 1
	}
	r := 0
	if b.mag < c.mag {
		r = -1
	} else if b.mag > c.mag {
		r = 1
	}
	if b.neg {
		r = -r
	}
	return r
}

func fromInt64(n int64) bigInt {
	if n < 0 {
		return bigInt{neg: true, mag: uint64(-(n + 1)) + 1}
	}
	return bigInt{mag: uint64(n)}
}

func (b bigInt) lt(n int64) bool { return b.cmp(fromInt64(n)) < 0 }
func (b bigInt) gt(n int64) bool { return b.cmp(fromInt64(n)) > 0 }

// parseValueMapInt parses a ValueMap number: decimal, or hexadecimal with
// 0x (DSP0004 §5.6.3.55, ValueMap).
func parseValueMapInt(s string) (bigInt, bool) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	base := 10
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		base, s = 16, s[2:]
	}
	u, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return bigInt{}, false
	}
	return bigInt{neg: neg && u != 0, mag: u}, true
}

// reservedValues reports whether a Values text marks its ValueMap entry as
// not usable.
func reservedValues(text string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	return t == "dmtf reserved" || t == "method reserved" || t == "reserved"
}

func intInValueMap(p Parameter, n bigInt) bool {
	// The most specific entry decides: single values, then bounded ranges,
	// then "..", which DSP0004 uses for "every value not listed".
	for pass := 0; pass < 3; pass++ {
		for i, entry := range p.ValueMap {
			lo, hi, ok := valueMapRange(entry)
			if !ok || entryKind(entry) != pass {
				continue
			}
			if n.cmp(lo) >= 0 && n.cmp(hi) <= 0 {
				return i >= len(p.Values) || !reservedValues(p.Values[i])
			}
		}
	}
	return false
}

// entryKind is 0 for a single value, 1 for a range with a bound, 2 for "..".
func entryKind(entry string) int {
	e := strings.TrimSpace(entry)
	switch {
	case e == "..":
		return 2
	case strings.Contains(e, ".."):
		return 1
	}
	return 0
}

// valueMapRange returns the bounds of a ValueMap entry: "6", "9..0x7FFF",
// "0x8000..", "..5", or ".." (anything).
func valueMapRange(entry string) (lo, hi bigInt, ok bool) {
	minAll := bigInt{neg: true, mag: math.MaxUint64}
	maxAll := bigInt{mag: math.MaxUint64}
	a, b, isRange := strings.Cut(strings.TrimSpace(entry), "..")
	if !isRange {
		v, ok := parseValueMapInt(a)
		return v, v, ok
	}
	lo, hi = minAll, maxAll
	if strings.TrimSpace(a) != "" {
		if lo, ok = parseValueMapInt(a); !ok {
			return bigInt{}, bigInt{}, false
		}
	}
	if strings.TrimSpace(b) != "" {
		if hi, ok = parseValueMapInt(b); !ok {
			return bigInt{}, bigInt{}, false
		}
	}
	return lo, hi, true
}

func stringInValueMap(p Parameter, s string) bool {
	for i, entry := range p.ValueMap {
		if entry == s {
			return i >= len(p.Values) || !reservedValues(p.Values[i])
		}
	}
	return false
}
