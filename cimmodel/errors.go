package cimmodel

import (
	"errors"
	"fmt"
)

// Status is a CIM status code (DMTF DSP0200 §2.2 table 4, DSP0223). The wsman
// package maps each to a SOAP fault.
type Status int

// CIM status codes used by the registry.
const (
	StatusFailed             Status = 1  // CIM_ERR_FAILED: unspecified error
	StatusAccessDenied       Status = 2  // CIM_ERR_ACCESS_DENIED
	StatusInvalidNamespace   Status = 3  // CIM_ERR_INVALID_NAMESPACE: no such namespace
	StatusInvalidParameter   Status = 4  // CIM_ERR_INVALID_PARAMETER: bad keys, malformed parameters
	StatusInvalidClass       Status = 5  // CIM_ERR_INVALID_CLASS: no such class
	StatusNotFound           Status = 6  // CIM_ERR_NOT_FOUND: no such instance
	StatusNotSupported       Status = 7  // CIM_ERR_NOT_SUPPORTED: the provider cannot do this operation
	StatusAlreadyExists      Status = 11 // CIM_ERR_ALREADY_EXISTS
	StatusNoSuchProperty     Status = 12 // CIM_ERR_NO_SUCH_PROPERTY
	StatusTypeMismatch       Status = 13 // CIM_ERR_TYPE_MISMATCH
	StatusInvalidQuery       Status = 15 // CIM_ERR_INVALID_QUERY: WQL syntax or semantic error
	StatusMethodNotAvailable Status = 16 // CIM_ERR_METHOD_NOT_AVAILABLE
	StatusMethodNotFound     Status = 17 // CIM_ERR_METHOD_NOT_FOUND: no such method on the class
)

var statusNames = map[Status]string{
	StatusFailed:             "CIM_ERR_FAILED",
	StatusAccessDenied:       "CIM_ERR_ACCESS_DENIED",
	StatusInvalidNamespace:   "CIM_ERR_INVALID_NAMESPACE",
	StatusInvalidParameter:   "CIM_ERR_INVALID_PARAMETER",
	StatusInvalidClass:       "CIM_ERR_INVALID_CLASS",
	StatusNotFound:           "CIM_ERR_NOT_FOUND",
	StatusNotSupported:       "CIM_ERR_NOT_SUPPORTED",
	StatusAlreadyExists:      "CIM_ERR_ALREADY_EXISTS",
	StatusNoSuchProperty:     "CIM_ERR_NO_SUCH_PROPERTY",
	StatusTypeMismatch:       "CIM_ERR_TYPE_MISMATCH",
	StatusInvalidQuery:       "CIM_ERR_INVALID_QUERY",
	StatusMethodNotAvailable: "CIM_ERR_METHOD_NOT_AVAILABLE",
	StatusMethodNotFound:     "CIM_ERR_METHOD_NOT_FOUND",
}

// String returns the DSP0200 symbolic name, e.g. "CIM_ERR_NOT_FOUND".
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("CIM_ERR_%d", int(s))
}

// Error is a CIM operation error: a status code, a message for humans and
// the underlying cause, if any.
type Error struct {
	Status  Status
	Message string
	Err     error
}

// Errorf returns an *Error with the given status and a formatted message.
// A %w verb in format also sets Err.
func Errorf(status Status, format string, args ...any) *Error {
	e := fmt.Errorf(format, args...)
	return &Error{Status: status, Message: e.Error(), Err: errors.Unwrap(e)}
}

// Error returns "cimmodel: <STATUS>: <message>".
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if msg == "" {
		return "cimmodel: " + e.Status.String()
	}
	return "cimmodel: " + e.Status.String() + ": " + msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// StatusOf returns the status of the first *Error in err's chain, or
// StatusFailed when there is none (and 0 for a nil err).
func StatusOf(err error) Status {
	if err == nil {
		return 0
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Status
	}
	return StatusFailed
}

// InvalidParameterError is the second channel of [Registry.Invoke] when the
// router answers a call itself with ReturnValue 5 (Invalid Parameter, the
// common DMTF method return code): a value outside the parameter's ValueMap or
// Min/Max range, or a Required parameter missing or NULL. Param is the
// declared parameter name, Reason says what was wrong, in words a client can
// read (wsman puts it into a log line or a WSManFault-like message).
type InvalidParameterError struct {
	Param  string
	Reason string
}

// Error returns "cimmodel: invalid parameter <Param>: <Reason>".
func (e *InvalidParameterError) Error() string {
	return "cimmodel: invalid parameter " + e.Param + ": " + e.Reason
}

// ReturnInvalidParameter is the method return value the router answers with
// when an input parameter violates its ValueMap, range or Required qualifier
// (DMTF's common "Invalid Parameter" return code).
const ReturnInvalidParameter uint32 = 5

// ExtendedStatusParam is the out-parameter in which a method that refuses a
// call (a ReturnValue other than 0 and 4096) says why: a CIM_Error embedded
// instance, as Windows' Storage Management API methods return it in their
// [out, EmbeddedInstance("MSFT_StorageExtendedStatus")] String
// ExtendedStatus. The ReturnValue stays what the method's ValueMap says, so
// clients that read only the return value are unaffected; the others read
// ExtendedStatus.Message.
const ExtendedStatusParam = "ExtendedStatus"

// ExtendedStatusParameter declares the ExtendedStatus out-parameter with
// embedded class errorClass (CIM_Error or a subclass).
func ExtendedStatusParameter(errorClass string) Parameter {
	return Parameter{Name: ExtendedStatusParam, Type: TypeInstance, Out: true, EmbeddedClass: errorClass}
}

// NewCIMError returns an instance of c (CIM_Error or a subclass, DSP1054's
// Interop/CIM_Error.mof) carrying message for a client to read, with
// status as its CIMStatusCode. errorType is CIM_Error.ErrorType (1 Other, 4
// Software Error, 9 Unavailable Resource Error, 10 Unsupported Operation
// Error ...) and messageID its MessageID, defined by [ErrorOwner]. message
// must not carry server-internal details (file paths): the client sees it.
func NewCIMError(c *Class, status Status, errorType uint16, messageID, message string) *Instance {
	return NewInstance(c).
		Set("ErrorType", Uint16(errorType)).
		Set("OwningEntity", String(ErrorOwner)).
		Set("MessageID", String(messageID)).
		Set("Message", String(message)).
		Set("PerceivedSeverity", Uint16(2)). // Low: the call was refused, nothing broke
		Set("CIMStatusCode", Uint32(uint32(status))).
		Set("CIMStatusCodeDescription", String(status.String()))
}

// ErrorOwner is the OwningEntity of the CIM_Error instances replicad
// returns: the entity that defines their MessageIDs.
const ErrorOwner = "replicad"

// MessageIDInvalidParameter is the MessageID of the CIM_Error the method
// router returns with ReturnValue 5 for a parameter that breaks its
// declaration.
const MessageIDInvalidParameter = "REPLICAD1005"
