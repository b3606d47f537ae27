package cimmodel

import (
	"context"

	"github.com/beevik/etree"
)

// Query runs a WQL query against namespace.
func (r *Registry) Query(ctx context.Context, namespace, wql string) ([]*Instance, error) {
	return nil, &Error{Status: StatusNotSupported, Err: errNotImplemented}
}

// AssociationFilter is a DSP0227 §8.2 association filter.
type AssociationFilter struct {
	Object                                                  ObjectPath
	AssociationClassName, ResultClassName, Role, ResultRole string
	Instances                                               bool
}

// ParseAssociationFilter parses a wsman:Filter element.
func ParseAssociationFilter(e *etree.Element) (AssociationFilter, error) {
	return AssociationFilter{}, &Error{Status: StatusNotSupported, Err: errNotImplemented}
}

// Associators returns the instances associated with f.Object.
func (r *Registry) Associators(ctx context.Context, f AssociationFilter) ([]*Instance, error) {
	return nil, &Error{Status: StatusNotSupported, Err: errNotImplemented}
}

// References returns the association instances that refer to f.Object.
func (r *Registry) References(ctx context.Context, f AssociationFilter) ([]*Instance, error) {
	return nil, &Error{Status: StatusNotSupported, Err: errNotImplemented}
}

// Invoke is the method router.
func (r *Registry) Invoke(ctx context.Context, target ObjectPath, method string, input *etree.Element) (Result, *Method, error) {
	return Result{}, nil, &Error{Status: StatusNotSupported, Err: errNotImplemented}
}

// EncodeInstance appends inst to parent.
func EncodeInstance(parent *etree.Element, inst *Instance) *etree.Element {
	return nil
}

// EncodeOutput appends a method's output message to parent.
func EncodeOutput(parent *etree.Element, m *Method, resourceURI string, res Result) *etree.Element {
	return nil
}

// DecodeInstance decodes an instance element.
func DecodeInstance(r *Registry, namespace string, e *etree.Element) (*Instance, error) {
	return nil, &Error{Status: StatusNotSupported, Err: errNotImplemented}
}

// ParseCIMXMLInstance parses a DSP0201 INSTANCE.
func ParseCIMXMLInstance(r *Registry, namespace, s string) (*Instance, error) {
	return nil, &Error{Status: StatusNotSupported, Err: errNotImplemented}
}

// EncodeCIMXMLInstance writes a DSP0201 INSTANCE.
func EncodeCIMXMLInstance(inst *Instance) string { return "" }

// Query is a parsed WQL query.
type Query struct{}

// ParseWQL parses a WQL query.
func ParseWQL(q string) (*Query, error) {
	return nil, &Error{Status: StatusNotSupported, Err: errNotImplemented}
}
