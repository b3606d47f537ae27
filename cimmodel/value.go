package cimmodel

import (
	"fmt"
	"time"
)

// Type is a CIM data type (DMTF DSP0004 §5.2).
type Type uint8

// The CIM data types. TypeInstance is an embedded instance (a string or
// instance property with the EmbeddedInstance qualifier).
const (
	TypeUint8 Type = iota + 1
	TypeSint8
	TypeUint16
	TypeSint16
	TypeUint32
	TypeSint32
	TypeUint64
	TypeSint64
	TypeReal32
	TypeReal64
	TypeBoolean
	TypeChar16
	TypeString
	TypeDatetime
	TypeReference
	TypeInstance
)

var typeNames = [...]string{
	TypeUint8:     "uint8",
	TypeSint8:     "sint8",
	TypeUint16:    "uint16",
	TypeSint16:    "sint16",
	TypeUint32:    "uint32",
	TypeSint32:    "sint32",
	TypeUint64:    "uint64",
	TypeSint64:    "sint64",
	TypeReal32:    "real32",
	TypeReal64:    "real64",
	TypeBoolean:   "boolean",
	TypeChar16:    "char16",
	TypeString:    "string",
	TypeDatetime:  "datetime",
	TypeReference: "reference",
	TypeInstance:  "instance",
}

// String returns the DSP0004 name of the type ("uint16", "datetime",
// "reference", "instance"), or "type(N)" for an unknown value.
func (t Type) String() string {
	if int(t) > 0 && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// ParseType returns the type named s as written by [Type.String] (case
// insensitive); ok is false for unknown names.
func ParseType(s string) (Type, bool) {
	for t := TypeUint8; t <= TypeInstance; t++ {
		if equalFold(typeNames[t], s) {
			return t, true
		}
	}
	return 0, false
}

func (t Type) valid() bool { return t >= TypeUint8 && t <= TypeInstance }

func (t Type) isInteger() bool { return t >= TypeUint8 && t <= TypeSint64 }

func (t Type) isSigned() bool {
	switch t {
	case TypeSint8, TypeSint16, TypeSint32, TypeSint64:
		return true
	}
	return false
}

func (t Type) bits() int {
	switch t {
	case TypeUint8, TypeSint8:
		return 8
	case TypeUint16, TypeSint16:
		return 16
	case TypeUint32, TypeSint32, TypeReal32:
		return 32
	}
	return 64
}

// Datetime is a CIM datetime (DMTF DSP0004 §5.2.4): either a point in time
// or, when IsInterval is set, an interval. In WS-Man it travels as a
// cim:Datetime (xs:dateTime) or cim:Interval (xs:duration) element
// (DSP0230 §9.2.7).
type Datetime struct {
	Time       time.Time
	Interval   time.Duration
	IsInterval bool
}

// Value is a typed CIM value, scalar or array; V == nil means NULL.
//
// V holds, by Type: uint8..uint64 → uint8..uint64; sint8..sint64 →
// int8..int64; real32/64 → float32/float64; boolean → bool; char16 → rune;
// string → string; datetime → Datetime; reference → ObjectPath; instance →
// *Instance. Arrays hold []T of the same Go types ([]uint16, []string,
// []ObjectPath, []*Instance, ...).
type Value struct {
	Type  Type
	Array bool
	V     any
}

// IsNull reports whether v is NULL.
func (v Value) IsNull() bool { return v.V == nil }

// Null returns a NULL scalar of type t.
func Null(t Type) Value { return Value{Type: t} }

// NullArray returns a NULL array of type t.
func NullArray(t Type) Value { return Value{Type: t, Array: true} }

// Uint8 returns a uint8 value.
func Uint8(x uint8) Value { return Value{Type: TypeUint8, V: x} }

// Sint8 returns a sint8 value.
func Sint8(x int8) Value { return Value{Type: TypeSint8, V: x} }

// Uint16 returns a uint16 value.
func Uint16(x uint16) Value { return Value{Type: TypeUint16, V: x} }

// Sint16 returns a sint16 value.
func Sint16(x int16) Value { return Value{Type: TypeSint16, V: x} }

// Uint32 returns a uint32 value.
func Uint32(x uint32) Value { return Value{Type: TypeUint32, V: x} }

// Sint32 returns a sint32 value.
func Sint32(x int32) Value { return Value{Type: TypeSint32, V: x} }

// Uint64 returns a uint64 value.
func Uint64(x uint64) Value { return Value{Type: TypeUint64, V: x} }

// Sint64 returns a sint64 value.
func Sint64(x int64) Value { return Value{Type: TypeSint64, V: x} }

// Real32 returns a real32 value.
func Real32(x float32) Value { return Value{Type: TypeReal32, V: x} }

// Real64 returns a real64 value.
func Real64(x float64) Value { return Value{Type: TypeReal64, V: x} }

// Bool returns a boolean value.
func Bool(x bool) Value { return Value{Type: TypeBoolean, V: x} }

// Char16 returns a char16 value.
func Char16(x rune) Value { return Value{Type: TypeChar16, V: x} }

// String returns a string value.
func String(s string) Value { return Value{Type: TypeString, V: s} }

// DatetimeValue returns a datetime value.
func DatetimeValue(d Datetime) Value { return Value{Type: TypeDatetime, V: d} }

// TimeValue returns a datetime value holding the point in time t.
func TimeValue(t time.Time) Value { return DatetimeValue(Datetime{Time: t}) }

// IntervalValue returns a datetime value holding the interval d.
func IntervalValue(d time.Duration) Value {
	return DatetimeValue(Datetime{Interval: d, IsInterval: true})
}

// Ref returns a reference value.
func Ref(p ObjectPath) Value { return Value{Type: TypeReference, V: p} }

// Embedded returns an embedded-instance value; a nil i gives NULL.
func Embedded(i *Instance) Value {
	if i == nil {
		return Null(TypeInstance)
	}
	return Value{Type: TypeInstance, V: i}
}

// Uint16s returns a uint16 array value; a nil slice gives a NULL array.
func Uint16s(x []uint16) Value { return arrayValue(TypeUint16, x) }

// Uint32s returns a uint32 array value; a nil slice gives a NULL array.
func Uint32s(x []uint32) Value { return arrayValue(TypeUint32, x) }

// Uint64s returns a uint64 array value; a nil slice gives a NULL array.
func Uint64s(x []uint64) Value { return arrayValue(TypeUint64, x) }

// Strings returns a string array value; a nil slice gives a NULL array.
func Strings(x []string) Value { return arrayValue(TypeString, x) }

// Refs returns a reference array value; a nil slice gives a NULL array.
func Refs(x []ObjectPath) Value { return arrayValue(TypeReference, x) }

// Embeddeds returns an embedded-instance array value; a nil slice gives a
// NULL array.
func Embeddeds(x []*Instance) Value { return arrayValue(TypeInstance, x) }

// Array returns an array value of type t from a slice of the matching Go
// type (see [Value]); a nil slice gives a NULL array. It panics when the
// slice type does not match t, which is a programming error.
func Array[T any](t Type, x []T) Value {
	if !sliceMatches(t, any(x)) {
		panic(fmt.Sprintf("cimmodel: %T is not a %s array", x, t))
	}
	return arrayValue(t, x)
}

func arrayValue[T any](t Type, x []T) Value {
	if x == nil {
		return NullArray(t)
	}
	return Value{Type: t, Array: true, V: x}
}

func sliceMatches(t Type, s any) bool {
	switch s.(type) {
	case []uint8:
		return t == TypeUint8
	case []int8:
		return t == TypeSint8
	case []uint16:
		return t == TypeUint16
	case []int16:
		return t == TypeSint16
	case []uint32:
		return t == TypeUint32
	case []int32:
		return t == TypeSint32 || t == TypeChar16
	case []uint64:
		return t == TypeUint64
	case []int64:
		return t == TypeSint64
	case []float32:
		return t == TypeReal32
	case []float64:
		return t == TypeReal64
	case []bool:
		return t == TypeBoolean
	case []string:
		return t == TypeString
	case []Datetime:
		return t == TypeDatetime
	case []ObjectPath:
		return t == TypeReference
	case []*Instance:
		return t == TypeInstance
	}
	return false
}

func scalarMatches(t Type, x any) bool {
	switch x.(type) {
	case uint8:
		return t == TypeUint8
	case int8:
		return t == TypeSint8
	case uint16:
		return t == TypeUint16
	case int16:
		return t == TypeSint16
	case uint32:
		return t == TypeUint32
	case int32:
		return t == TypeSint32 || t == TypeChar16
	case uint64:
		return t == TypeUint64
	case int64:
		return t == TypeSint64
	case float32:
		return t == TypeReal32
	case float64:
		return t == TypeReal64
	case bool:
		return t == TypeBoolean
	case string:
		return t == TypeString
	case Datetime:
		return t == TypeDatetime
	case ObjectPath:
		return t == TypeReference
	case *Instance:
		return t == TypeInstance
	}
	return false
}

// Valid reports whether V holds the Go type that Type and Array call for
// (or nil).
func (v Value) Valid() bool {
	if !v.Type.valid() {
		return false
	}
	if v.V == nil {
		return true
	}
	if v.Array {
		return sliceMatches(v.Type, v.V)
	}
	return scalarMatches(v.Type, v.V)
}

// Len returns the number of elements of an array value, 0 for NULL, and 1
// for a non-NULL scalar.
func (v Value) Len() int {
	if v.V == nil {
		return 0
	}
	if !v.Array {
		return 1
	}
	return len(v.elems())
}

// Elems returns the elements of an array as scalar values of the same type
// (nil for NULL); for a scalar it returns the value itself.
func (v Value) Elems() []Value {
	if v.V == nil {
		return nil
	}
	if !v.Array {
		return []Value{v}
	}
	es := v.elems()
	out := make([]Value, len(es))
	for i, e := range es {
		out[i] = Value{Type: v.Type, V: e}
	}
	return out
}

func (v Value) elems() []any {
	switch s := v.V.(type) {
	case []uint8:
		return toAny(s)
	case []int8:
		return toAny(s)
	case []uint16:
		return toAny(s)
	case []int16:
		return toAny(s)
	case []uint32:
		return toAny(s)
	case []int32:
		return toAny(s)
	case []uint64:
		return toAny(s)
	case []int64:
		return toAny(s)
	case []float32:
		return toAny(s)
	case []float64:
		return toAny(s)
	case []bool:
		return toAny(s)
	case []string:
		return toAny(s)
	case []Datetime:
		return toAny(s)
	case []ObjectPath:
		return toAny(s)
	case []*Instance:
		return toAny(s)
	}
	return nil
}

func toAny[T any](s []T) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// arrayOf builds an array value of type t from scalar elements, which must
// hold t's Go type.
func arrayOf(t Type, elems []any) Value {
	var s any
	switch t {
	case TypeUint8:
		s = fromAny[uint8](elems)
	case TypeSint8:
		s = fromAny[int8](elems)
	case TypeUint16:
		s = fromAny[uint16](elems)
	case TypeSint16:
		s = fromAny[int16](elems)
	case TypeUint32:
		s = fromAny[uint32](elems)
	case TypeSint32, TypeChar16:
		s = fromAny[int32](elems)
	case TypeUint64:
		s = fromAny[uint64](elems)
	case TypeSint64:
		s = fromAny[int64](elems)
	case TypeReal32:
		s = fromAny[float32](elems)
	case TypeReal64:
		s = fromAny[float64](elems)
	case TypeBoolean:
		s = fromAny[bool](elems)
	case TypeString:
		s = fromAny[string](elems)
	case TypeDatetime:
		s = fromAny[Datetime](elems)
	case TypeReference:
		s = fromAny[ObjectPath](elems)
	case TypeInstance:
		s = fromAny[*Instance](elems)
	}
	return Value{Type: t, Array: true, V: s}
}

func fromAny[T any](elems []any) []T {
	out := make([]T, len(elems))
	for i, e := range elems {
		out[i], _ = e.(T)
	}
	return out
}

// AsUint64 returns an unsigned or non-negative signed integer scalar as a
// uint64; ok is false for NULL, arrays, other types and negative numbers.
func (v Value) AsUint64() (uint64, bool) {
	if v.Array {
		return 0, false
	}
	switch x := v.V.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8, int16, int32, int64:
		n, _ := v.AsInt64()
		if n < 0 {
			return 0, false
		}
		return uint64(n), true
	}
	return 0, false
}

// AsInt64 returns an integer scalar as an int64; ok is false for NULL,
// arrays, other types and uint64 values above math.MaxInt64.
func (v Value) AsInt64() (int64, bool) {
	if v.Array {
		return 0, false
	}
	switch x := v.V.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8, uint16, uint32:
		n, _ := v.AsUint64()
		return int64(n), true
	case uint64:
		if x > 1<<63-1 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// AsFloat64 returns a numeric scalar as a float64.
func (v Value) AsFloat64() (float64, bool) {
	if v.Array {
		return 0, false
	}
	switch x := v.V.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if n, ok := v.AsInt64(); ok {
		return float64(n), true
	}
	if n, ok := v.AsUint64(); ok {
		return float64(n), true
	}
	return 0, false
}

// AsString returns a string scalar; ok is false otherwise.
func (v Value) AsString() (string, bool) {
	s, ok := v.V.(string)
	return s, ok && !v.Array
}

// AsBool returns a boolean scalar.
func (v Value) AsBool() (bool, bool) {
	b, ok := v.V.(bool)
	return b, ok && !v.Array
}

// AsDatetime returns a datetime scalar.
func (v Value) AsDatetime() (Datetime, bool) {
	d, ok := v.V.(Datetime)
	return d, ok && !v.Array
}

// AsRef returns a reference scalar.
func (v Value) AsRef() (ObjectPath, bool) {
	p, ok := v.V.(ObjectPath)
	return p, ok && !v.Array
}

// AsInstance returns an embedded-instance scalar.
func (v Value) AsInstance() (*Instance, bool) {
	i, ok := v.V.(*Instance)
	return i, ok && !v.Array && i != nil
}

// AsStrings returns a string array.
func (v Value) AsStrings() ([]string, bool) {
	s, ok := v.V.([]string)
	return s, ok && v.Array
}

// AsUint16s returns a uint16 array.
func (v Value) AsUint16s() ([]uint16, bool) {
	s, ok := v.V.([]uint16)
	return s, ok && v.Array
}

// AsRefs returns a reference array.
func (v Value) AsRefs() ([]ObjectPath, bool) {
	s, ok := v.V.([]ObjectPath)
	return s, ok && v.Array
}

// AsInstances returns an embedded-instance array.
func (v Value) AsInstances() ([]*Instance, bool) {
	s, ok := v.V.([]*Instance)
	return s, ok && v.Array
}

// String returns the value's text as the codec writes it (arrays as
// "{a,b}", NULL as "NULL", references as their canonical path); for logs.
func (v Value) String() string {
	if v.V == nil {
		return "NULL"
	}
	if !v.Array {
		return scalarDisplay(v.Type, v.V)
	}
	s := "{"
	for i, e := range v.elems() {
		if i > 0 {
			s += ","
		}
		s += scalarDisplay(v.Type, e)
	}
	return s + "}"
}

func scalarDisplay(t Type, x any) string {
	switch x := x.(type) {
	case ObjectPath:
		return x.String()
	case *Instance:
		if x == nil {
			return "NULL"
		}
		return "instance of " + x.className()
	}
	s, _ := formatScalar(t, x)
	return s
}

// Equal reports whether v and w have the same type, shape and contents
// (references by [ObjectPath.Equal], embedded instances property by
// property).
func (v Value) Equal(w Value) bool {
	if v.Type != w.Type || v.Array != w.Array || (v.V == nil) != (w.V == nil) {
		return false
	}
	if v.V == nil {
		return true
	}
	if !v.Array {
		return scalarEqual(v.V, w.V)
	}
	a, b := v.elems(), w.elems()
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !scalarEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func scalarEqual(a, b any) bool {
	switch x := a.(type) {
	case ObjectPath:
		y, ok := b.(ObjectPath)
		return ok && x.Equal(y)
	case *Instance:
		y, ok := b.(*Instance)
		return ok && x.Equal(y)
	case Datetime:
		y, ok := b.(Datetime)
		if !ok || x.IsInterval != y.IsInterval {
			return false
		}
		if x.IsInterval {
			return x.Interval == y.Interval
		}
		return x.Time.Equal(y.Time)
	case float32:
		y, ok := b.(float32)
		return ok && (x == y || (x != x && y != y))
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || (x != x && y != y))
	}
	return a == b
}
