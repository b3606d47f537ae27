package soap

import (
	"encoding/xml"
	"errors"
	"fmt"
)

// Sentinel errors wrapped by [*ParseError], so that callers can tell the
// reason with errors.Is.
var (
	// ErrMalformed means the input is not well-formed XML.
	ErrMalformed = errors.New("soap: malformed XML")
	// ErrEncoding means the input is not valid UTF-8 or UTF-16, or declares
	// an encoding other than those.
	ErrEncoding = errors.New("soap: unsupported or invalid character encoding")
	// ErrDTD means the input carries a DTD, entity declaration or other
	// directive; they are refused outright (billion laughs, external entities).
	ErrDTD = errors.New("soap: DTD and entity declarations are not allowed")
	// ErrProcInst means the input carries a processing instruction other than
	// the XML declaration, which SOAP 1.2 forbids.
	ErrProcInst = errors.New("soap: processing instructions are not allowed")
	// ErrTooDeep means elements nest deeper than MaxDepth.
	ErrTooDeep = errors.New("soap: elements nested too deeply")
	// ErrTooManyElements means the input has more than MaxElements elements.
	ErrTooManyElements = errors.New("soap: too many elements")
	// ErrTooManyAttributes means an element has more than MaxAttributes
	// attributes.
	ErrTooManyAttributes = errors.New("soap: too many attributes on one element")
	// ErrNotEnvelope means the document is not a SOAP envelope of the
	// expected shape (root, Header, Body).
	ErrNotEnvelope = errors.New("soap: not a SOAP envelope")
	// ErrDuplicateHeader means a header that may appear once appears twice.
	ErrDuplicateHeader = errors.New("soap: duplicate header")
	// ErrHeaderValue means a header value cannot be decoded (MaxEnvelopeSize,
	// OperationTimeout, mustUnderstand, a selector without Name, ...).
	ErrHeaderValue = errors.New("soap: invalid header value")
	// ErrMinEnvelopeSize means wsman:MaxEnvelopeSize asks for less than
	// MinEnvelopeSize octets ([MS-WSMV] 3.1.4.1.7: an EncodingLimit fault).
	ErrMinEnvelopeSize = errors.New("soap: MaxEnvelopeSize below the minimum")
	// ErrUnsupportedFeature means a header asks for what WS-Management
	// services need not do; ParseError.Header names it ([MS-WSMV] 3.1.4.1.8
	// and 3.1.4.1.9: wsman:Locale or wsmv:DataLocale marked mustUnderstand).
	ErrUnsupportedFeature = errors.New("soap: header asks for an unsupported feature")
)

// MinEnvelopeSize is the smallest wsman:MaxEnvelopeSize a request may ask
// for (DSP0226 6.2, which [MS-WSMV] 3.1.4.1.7 makes a MUST).
const MinEnvelopeSize = 8192

// ParseError reports input that [Parse] cannot accept. Err is one of the
// package's sentinel errors, possibly wrapping the underlying decoder error;
// Reason says what was wrong in words a fault may carry.
type ParseError struct {
	Reason string
	Err    error
	// Header names the header block whose value or repetition was refused
	// (the zero Name when the fault is not in one header), and Value is its
	// text as sent, so that a fault can say which header was wrong.
	Header xml.Name
	Value  string
	// MessageID is the request's wsa:MessageID when it could be read before
	// or beside the error, so that the fault can relate to it.
	MessageID string
}

// Error implements error.
func (e *ParseError) Error() string {
	if e.Err == nil {
		return "soap: " + e.Reason
	}
	return fmt.Sprintf("soap: %s: %v", e.Reason, e.Err)
}

// Unwrap returns the sentinel (and through it the cause).
func (e *ParseError) Unwrap() error { return e.Err }

func parseErr(sentinel error, format string, args ...any) *ParseError {
	return &ParseError{Reason: fmt.Sprintf(format, args...), Err: sentinel}
}

func parseErrWrap(sentinel, cause error, format string, args ...any) *ParseError {
	return &ParseError{Reason: fmt.Sprintf(format, args...), Err: fmt.Errorf("%w: %w", sentinel, cause)}
}

// MustUnderstandError reports a header block marked mustUnderstand="true" (or
// "1") that this package does not process; SOAP 1.2 requires a
// env:MustUnderstand fault.
type MustUnderstandError struct {
	Header xml.Name
	// Prefix is the prefix the request wrote the header with, for the
	// fault's s:NotUnderstood qname.
	Prefix string
	// MessageID is the request's wsa:MessageID, when it could be read.
	MessageID string
}

// Error implements error.
func (e *MustUnderstandError) Error() string {
	return fmt.Sprintf("soap: header {%s}%s marked mustUnderstand is not understood", e.Header.Space, e.Header.Local)
}

// VersionMismatchError reports an envelope in a namespace other than SOAP
// 1.2's (for instance SOAP 1.1); SOAP 1.2 requires a env:VersionMismatch
// fault.
type VersionMismatchError struct {
	Namespace string
	// MessageID is the request's wsa:MessageID, when it could be read.
	MessageID string
}

// Error implements error.
func (e *VersionMismatchError) Error() string {
	return fmt.Sprintf("soap: envelope namespace %q is not SOAP 1.2", e.Namespace)
}

// RequestMessageID returns the wsa:MessageID of the request that err, an
// error of [Parse], refused, or "" when it could not be read (the XML was
// not well-formed, or the request had none). A fault answering err relates
// to it (wsa:RelatesTo), as Windows' faults do.
func RequestMessageID(err error) string {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe.MessageID
	}
	var mu *MustUnderstandError
	if errors.As(err, &mu) {
		return mu.MessageID
	}
	var vm *VersionMismatchError
	if errors.As(err, &vm) {
		return vm.MessageID
	}
	return ""
}

// setMessageID records id on err when err is one of the package's errors.
func setMessageID(err error, id string) {
	var pe *ParseError
	var mu *MustUnderstandError
	var vm *VersionMismatchError
	switch {
	case errors.As(err, &pe):
		pe.MessageID = id
	case errors.As(err, &mu):
		mu.MessageID = id
	case errors.As(err, &vm):
		vm.MessageID = id
	}
}
