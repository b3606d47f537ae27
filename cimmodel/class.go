package cimmodel

import (
	"context"
	"iter"
	"strconv"
	"strings"
)

// Qualifier is a CIM qualifier the model does not interpret itself
// (DSP0004 §5.6), such as Units or Deprecated; it is carried for
// documentation and for clients that list class declarations.
type Qualifier struct {
	Name  string
	Value Value
}

// Property declares a property of a class (DSP0004 §5.1.2.7). Key, Required
// and Write are the qualifiers of those names; RefClass is the class a
// reference property points to; EmbeddedClass is the EmbeddedInstance
// qualifier of a string (or instance) property; ValueMap and Values are the
// qualifiers of those names, in DMTF notation; MaxLen (in characters) 0
// means unbounded.
type Property struct {
	Name                 string
	Type                 Type
	Array                bool
	Key, Required, Write bool
	RefClass             string
	EmbeddedClass        string
	ValueMap, Values     []string
	MaxLen               int
	Description          string
	Qualifiers           []Qualifier
}

// embedded reports whether values of p are embedded instances.
func (p Property) embedded() bool { return p.Type == TypeInstance || p.EmbeddedClass != "" }

// valueType is the Type that values of p carry: TypeInstance for embedded
// instances declared as strings.
func (p Property) valueType() Type {
	if p.embedded() {
		return TypeInstance
	}
	return p.Type
}

// Parameter declares a method parameter (DSP0004 §5.1.2.9). ValueMap and
// Values follow DMTF notation: single values ("6"), ranges ("9..0x7FFF",
// "0x8000.."); a range whose Values text is "DMTF Reserved" or "Method
// Reserved" is not allowed. Min and Max, when set, bound integer values.
type Parameter struct {
	Name              string
	Type              Type
	Array             bool
	In, Out, Required bool
	RefClass          string
	EmbeddedClass     string
	ValueMap, Values  []string
	Min, Max          *int64
	Description       string
}

func (p Parameter) embedded() bool { return p.Type == TypeInstance || p.EmbeddedClass != "" }

func (p Parameter) valueType() Type {
	if p.embedded() {
		return TypeInstance
	}
	return p.Type
}

// Method declares a method (DSP0004 §5.1.2.8): its return type (usually
// uint32) and return-value map, its parameters in declared order, and the
// Go function that implements it. A nil Func makes the method unavailable
// (StatusMethodNotAvailable).
type Method struct {
	Name                         string
	ReturnType                   Type
	ReturnValueMap, ReturnValues []string
	Params                       []Parameter
	Func                         MethodFunc
	Description                  string
	Qualifiers                   []Qualifier
}

// Param returns the parameter named name (case-insensitive).
func (m *Method) Param(name string) (Parameter, bool) {
	for _, p := range m.Params {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Parameter{}, false
}

// returnType is the method's declared return type, uint32 when none is set.
func (m *Method) returnType() Type {
	if m.ReturnType == 0 {
		return TypeUint32
	}
	return m.ReturnType
}

// appendReturnValue appends v as the method's return type writes it: a
// signed type's value is the uint32's bits read as an int32.
func (m *Method) appendReturnValue(b []byte, v uint32) []byte {
	if m.returnType().isSigned() {
		return strconv.AppendInt(b, int64(int32(v)), 10)
	}
	return strconv.AppendUint(b, uint64(v), 10)
}

// outputs yields each out parameter of m that res sets to a non-NULL value,
// in declared order, with its value.
func (m *Method) outputs(res Result) iter.Seq2[Parameter, Value] {
	return func(yield func(Parameter, Value) bool) {
		for _, p := range m.Params {
			if !p.Out {
				continue
			}
			if v, ok := Args(res.Out).Get(p.Name); ok && !v.IsNull() && !yield(p, v) {
				return
			}
		}
	}
}

// MethodFunc implements a method. target is the object path the method was
// invoked on (without keys for a static method); in holds the in-parameters
// present in the request, already checked against the declaration. A
// returned error becomes a fault; method-level failures are return values in
// Result.
type MethodFunc func(ctx context.Context, target ObjectPath, in Args) (Result, error)

// Args are the in-parameters present in a request, by exact declared name;
// a parameter sent as xsi:nil is present with a NULL value.
type Args map[string]Value

// Get returns the parameter named name (case-insensitive).
func (a Args) Get(name string) (Value, bool) {
	if v, ok := a[name]; ok {
		return v, true
	}
	for k, v := range a {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return Value{}, false
}

// Result is what a method returns: its return value and out-parameters by
// declared name. Out-parameters are encoded in declared order; NULL or
// absent ones are omitted.
type Result struct {
	ReturnValue uint32
	Out         map[string]Value
}

// Class declares a CIM class. Properties and Methods are the class's own;
// the [Registry] resolves inherited ones (a subclass may override a property
// or method by name). Provider serves the instances of exactly this class
// and is nil for abstract classes or classes without instances.
type Class struct {
	Name, Superclass, Namespace, Description string
	Association, Abstract                    bool
	Properties                               []Property
	Methods                                  []*Method
	Provider                                 InstanceProvider
	Qualifiers                               []Qualifier

	// Set by Registry.Register.
	reg      *Registry
	super    *Class
	subs     []*Class
	fam      []*Class // c and its subclasses, depth first in registration order (Registry.family)
	effProps []Property
	effMeths []*Method
	propIdx  map[string]int // effProps by declared name: exact lookups skip the scan
	// valuesHint is the most values an instance of c has had (atomic):
	// NewInstance sizes the Values map by it, so that setting them does
	// not grow the map step by step.
	valuesHint int32
}

// property returns the effective property named name (case-insensitive).
// Before registration only own properties are known.
func (c *Class) property(name string) (Property, bool) {
	props := c.effProps
	if c.reg == nil {
		props = c.Properties
	} else if i, ok := c.propIdx[name]; ok {
		return props[i], true
	}
	for _, p := range props {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Property{}, false
}

// propertyName returns the declared name of c's property name
// (case-insensitive), or name when c has no such property.
func (c *Class) propertyName(name string) string {
	if c.reg != nil {
		if _, ok := c.propIdx[name]; ok {
			return name
		}
	}
	if p, ok := c.property(name); ok {
		return p.Name
	}
	return name
}

// props returns the effective properties (own ones before registration).
func (c *Class) props() []Property {
	if c.reg == nil {
		return c.Properties
	}
	return c.effProps
}

// isA reports whether c is ancestor or one of its subclasses (names compare
// case-insensitively).
func (c *Class) isA(ancestor string) bool {
	for x := c; x != nil; x = x.super {
		if strings.EqualFold(x.Name, ancestor) {
			return true
		}
		if x.super == nil && x.Superclass != "" && x.reg == nil && strings.EqualFold(x.Superclass, ancestor) {
			return true
		}
	}
	return false
}

// InstanceProvider serves the instances of exactly one concrete class (not
// its subclasses: the registry handles those). Implementations must be safe
// for concurrent use.
type InstanceProvider interface {
	// EnumerateInstances returns every instance of the class.
	EnumerateInstances(ctx context.Context) ([]*Instance, error)
	// GetInstance returns the instance at path, whose keys the registry has
	// converted to their declared types, or *Error{Status: StatusNotFound}
	// when there is none. Its callers only read it: a provider may give
	// several requests the same (frozen) instance.
	GetInstance(ctx context.Context, path ObjectPath) (*Instance, error)
}

// InstanceModifier is implemented by providers whose instances can be
// changed (WS-Transfer Put). changes holds only Write properties; the
// provider returns the instance as it now is.
type InstanceModifier interface {
	ModifyInstance(ctx context.Context, path ObjectPath, changes *Instance) (*Instance, error)
}

// InstanceDeleter is implemented by providers whose instances can be
// deleted (WS-Transfer Delete).
type InstanceDeleter interface {
	DeleteInstance(ctx context.Context, path ObjectPath) error
}

// InstanceCreator is implemented by providers that create instances
// (WS-Transfer Create); it returns the new instance's path.
type InstanceCreator interface {
	CreateInstance(ctx context.Context, inst *Instance) (ObjectPath, error)
}
