package wsman

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// Windows' WS-Management error codes (winerror.h, ERROR_WSMAN_*), carried in
// the f:WSManFault Code attribute, and WMI codes for provider errors.
const (
	codeResourceNotFound        = 2150858752 // ERROR_WSMAN_RESOURCE_NOT_FOUND
	codeInvalidActionURI        = 2150858753 // ERROR_WSMAN_INVALID_ACTIONURI
	codeDestinationUnreachable  = 2150858770 // ERROR_WSMAN_DESTINATION_UNREACHABLE
	codeFilterDialectUnavail    = 2150858777 // ERROR_WSMAN_ENUMERATE_FILTER_DIALECT_REQUESTED_UNAVAILABLE
	codeCannotProcessFilter     = 2150858778 // ERROR_WSMAN_ENUMERATE_CANNOT_PROCESS_FILTER
	codeInvalidEnumContext      = 2150858779 // ERROR_WSMAN_ENUMERATE_INVALID_ENUMERATION_CONTEXT
	codeOperationTimedOut       = 2150858793 // ERROR_WSMAN_OPERATION_TIMEDOUT
	codeAlreadyExists           = 2150858803 // ERROR_WSMAN_ALREADY_EXISTS
	codeEncodingLimit           = 2150858805 // ERROR_WSMAN_ENCODING_LIMIT
	codeInvalidParameter        = 2150858810 // ERROR_WSMAN_INVALID_PARAMETER
	codeInvalidResourceURI      = 2150858811 // ERROR_WSMAN_INVALID_RESOURCE_URI
	codeInvalidSelectors        = 2150858813 // ERROR_WSMAN_INVALID_SELECTORS
	codeQuotaLimit              = 2150858815 // ERROR_WSMAN_QUOTA_LIMIT
	codeSchemaValidation        = 2150858817 // ERROR_WSMAN_SCHEMA_VALIDATION_ERROR
	codeUnsupportedFeature      = 2150858818 // ERROR_WSMAN_UNSUPPORTED_FEATURE
	codeInvalidXML              = 2150858819 // ERROR_WSMAN_INVALID_XML
	codeInvalidHeader           = 2150859035 // ERROR_WSMAN_INVALID_HEADER
	codeInvalidURIWMIEnumWQL    = 2150859003 // ERROR_WSMAN_INVALID_URI_WMI_ENUM_WQL
	codeAccessDenied            = 5          // ERROR_ACCESS_DENIED
	codeWBEMFailed              = 2147749889 // WBEM_E_FAILED 0x80041001
	faultDetailPrefix           = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"
	faultDetailInvalidValue     = faultDetailPrefix + "InvalidValue"
	faultDetailMaxEnvelopeSize  = faultDetailPrefix + "MaxEnvelopeSize"
	faultDetailInvalidResource  = faultDetailPrefix + "InvalidResourceURI"
	faultDetailInsufficientSels = faultDetailPrefix + "InsufficientSelectors"
	faultDetailUnexpectedSels   = faultDetailPrefix + "UnexpectedSelectors"
	faultDetailFilterDialect    = faultDetailPrefix + "FilterDialectRequestedUnavailable"
	faultDetailReadOnly         = faultDetailPrefix + "ReadOnly"
)

// faultKind names each row of the fault table. Operation code returns a
// *protocolError carrying one of these; everything else is classified by
// faultFor.
type faultKind int

const (
	faultInternal faultKind = iota
	faultMalformed
	faultMustUnderstand
	faultVersionMismatch
	faultActionNotSupported
	faultDestinationUnreachable // unknown resource URI or class
	faultNotFound               // selectors match no instance
	faultInvalidSelectors
	faultEncodingLimit
	faultInvalidEnumerationContext
	faultCannotProcessFilter
	faultFilterDialectUnavailable
	faultAccessDenied
	faultInvalidParameter
	faultNotSupported
	faultAlreadyExists
	faultTimedOut
	faultQuotaLimit
	faultSchemaValidation
)

// faultRow is one row of the table: what the client sees for a kind of error.
type faultRow struct {
	code    string // soap Code value
	subcode xml.Name
	action  string
	reason  string
	wsCode  uint32
	detail  string // wsman:FaultDetail URI, optional
}

var (
	wsmanName = func(local string) xml.Name { return xml.Name{Space: soap.NSWSMan, Local: local} }
	wsaName   = func(local string) xml.Name { return xml.Name{Space: soap.NSAddressing, Local: local} }
	wsenName  = func(local string) xml.Name { return xml.Name{Space: soap.NSEnumeration, Local: local} }
)

// faultTable is the single map from error classes to SOAP faults (DSP0226
// §14, with the WSManFault codes Windows writes).
var faultTable = map[faultKind]faultRow{
	faultInternal: {soap.CodeReceiver, wsmanName("InternalError"), soap.ActionFaultWSMan,
		"The WS-Management service cannot process the request because of an internal error.", codeWBEMFailed, ""},
	faultMalformed: {soap.CodeSender, wsmanName("SchemaValidationError"), soap.ActionFaultWSMan,
		"The SOAP XML in the message does not match the corresponding XML schema definition.", codeInvalidXML, ""},
	faultMustUnderstand: {"s:MustUnderstand", xml.Name{}, soap.ActionFaultAddressing,
		"The WS-Management service cannot process a SOAP header in the request that is marked as mustUnderstand by the client.", codeInvalidHeader, ""},
	faultVersionMismatch: {"s:VersionMismatch", xml.Name{}, soap.ActionFaultAddressing,
		"The SOAP envelope is not in the SOAP 1.2 namespace.", codeInvalidXML, ""},
	faultActionNotSupported: {soap.CodeSender, wsaName("ActionNotSupported"), soap.ActionFaultAddressing,
		"The action is not supported by the service.", codeInvalidActionURI, ""},
	faultDestinationUnreachable: {soap.CodeSender, wsaName("DestinationUnreachable"), soap.ActionFaultAddressing,
		"The WS-Management service cannot process the request. The resource URI is not valid or names no class this service offers.", codeInvalidResourceURI, faultDetailInvalidResource},
	faultNotFound: {soap.CodeSender, wsaName("DestinationUnreachable"), soap.ActionFaultAddressing,
		"The WS-Management service cannot process the request. The service cannot find the resource identified by the resource URI and selectors.", codeResourceNotFound, ""},
	faultInvalidSelectors: {soap.CodeSender, wsmanName("InvalidSelectors"), soap.ActionFaultWSMan,
		"The WS-Management service cannot process the request because the request contained invalid selectors for the resource.", codeInvalidSelectors, ""},
	faultEncodingLimit: {soap.CodeSender, wsmanName("EncodingLimit"), soap.ActionFaultWSMan,
		"The WS-Management service cannot process the request because the envelope or one of its parts exceeds a limit.", codeEncodingLimit, faultDetailMaxEnvelopeSize},
	faultInvalidEnumerationContext: {soap.CodeReceiver, wsenName("InvalidEnumerationContext"), soap.ActionFaultEnumeration,
		"The WS-Management service cannot process the request because the enumeration context is not valid or has expired.", codeInvalidEnumContext, ""},
	faultCannotProcessFilter: {soap.CodeSender, wsenName("CannotProcessFilter"), soap.ActionFaultEnumeration,
		"The WS-Management service cannot process the filter.", codeCannotProcessFilter, ""},
	faultFilterDialectUnavailable: {soap.CodeSender, wsenName("FilterDialectRequestedUnavailable"), soap.ActionFaultEnumeration,
		"The requested filtering dialect is not supported.", codeFilterDialectUnavail, faultDetailFilterDialect},
	faultAccessDenied: {soap.CodeSender, wsmanName("AccessDenied"), soap.ActionFaultWSMan,
		"Access is denied.", codeAccessDenied, ""},
	faultInvalidParameter: {soap.CodeSender, wsmanName("InvalidParameter"), soap.ActionFaultWSMan,
		"The WS-Management service cannot process the request because a parameter for the operation is not valid.", codeInvalidParameter, faultDetailInvalidValue},
	faultNotSupported: {soap.CodeSender, wsmanName("UnsupportedFeature"), soap.ActionFaultWSMan,
		"The operation is not supported for this resource.", codeUnsupportedFeature, ""},
	faultAlreadyExists: {soap.CodeSender, wsmanName("AlreadyExists"), soap.ActionFaultWSMan,
		"The resource already exists.", codeAlreadyExists, ""},
	faultTimedOut: {soap.CodeReceiver, wsmanName("TimedOut"), soap.ActionFaultWSMan,
		"The WS-Management service cannot complete the operation within the time specified in OperationTimeout.", codeOperationTimedOut, ""},
	faultQuotaLimit: {soap.CodeSender, wsmanName("QuotaLimit"), soap.ActionFaultWSMan,
		"The WS-Management service is busy servicing other requests. Retry later.", codeQuotaLimit, ""},
	faultSchemaValidation: {soap.CodeSender, wsmanName("SchemaValidationError"), soap.ActionFaultWSMan,
		"The SOAP XML in the message does not match the corresponding XML schema definition.", codeSchemaValidation, ""},
}

// protocolError is an error found by the protocol layer, with the fault kind
// to answer and a message for the client (never an internal error string).
type protocolError struct {
	kind    faultKind
	message string // shown in f:Message; "" → the row's reason
	detail  string // overrides the row's FaultDetail URI
	err     error  // internal cause, logged only
}

func (e *protocolError) Error() string {
	if e.err != nil {
		return fmt.Sprintf("%s: %v", e.message, e.err)
	}
	return e.message
}

func (e *protocolError) Unwrap() error { return e.err }

func protoErr(kind faultKind, format string, args ...any) *protocolError {
	return &protocolError{kind: kind, message: fmt.Sprintf(format, args...)}
}

// classify maps any error from serve to its fault row and the client-facing message.
func classify(err error) (faultKind, string, string) {
	var pe *protocolError
	if errors.As(err, &pe) {
		return pe.kind, pe.message, pe.detail
	}
	var mu *soap.MustUnderstandError
	if errors.As(err, &mu) {
		return faultMustUnderstand, fmt.Sprintf("The header %s:%s is marked mustUnderstand and is not understood.", mu.Header.Space, mu.Header.Local), ""
	}
	var vm *soap.VersionMismatchError
	if errors.As(err, &vm) {
		return faultVersionMismatch, "", ""
	}
	var parse *soap.ParseError
	if errors.As(err, &parse) {
		return faultMalformed, "The request is not a valid SOAP 1.2 envelope: " + parse.Reason, ""
	}
	var ce *cimmodel.Error
	if errors.As(err, &ce) {
		return cimFault(ce.Status), ce.Message, ""
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return faultTimedOut, "", ""
	}
	return faultInternal, "", ""
}

// cimFault maps a CIM status (DSP0200) to a fault kind.
func cimFault(s cimmodel.Status) faultKind {
	switch s {
	case cimmodel.StatusAccessDenied:
		return faultAccessDenied
	case cimmodel.StatusInvalidNamespace, cimmodel.StatusInvalidClass:
		return faultDestinationUnreachable
	case cimmodel.StatusNotFound:
		return faultNotFound
	case cimmodel.StatusInvalidParameter, cimmodel.StatusTypeMismatch, cimmodel.StatusNoSuchProperty:
		return faultInvalidParameter
	case cimmodel.StatusNotSupported:
		return faultNotSupported
	case cimmodel.StatusAlreadyExists:
		return faultAlreadyExists
	case cimmodel.StatusInvalidQuery:
		return faultCannotProcessFilter
	case cimmodel.StatusMethodNotFound, cimmodel.StatusMethodNotAvailable:
		return faultActionNotSupported
	default:
		return faultInternal
	}
}

// buildFault makes the soap.Fault for err. Faults travel with HTTP 500, as
// Windows sends them (DSP0226 §13).
func (s *Server) buildFault(err error) (*soap.Fault, faultKind) {
	kind, msg, detail := classify(err)
	row := faultTable[kind]
	if msg == "" {
		msg = row.reason
	}
	if detail == "" {
		detail = row.detail
	}
	return &soap.Fault{
		Code:        row.code,
		Subcode:     row.subcode,
		Reason:      row.reason,
		Action:      row.action,
		FaultDetail: detail,
		Detail:      &soap.WSManFault{Code: row.wsCode, Machine: s.Machine, Message: msg},
	}, kind
}
