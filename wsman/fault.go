package wsman

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// Windows' WS-Management error codes (wsmerror.h, included by winerror.h:
// ERROR_WSMAN_*), carried in the f:WSManFault Code attribute, and WMI codes
// for provider errors. Clients test some by number (pypsrp and PowerShell
// read 2150858843 as "no such shell/instance").
const (
	codeResourceNotFound        = 2150858752 // 0x80338000 ERROR_WSMAN_RESOURCE_NOT_FOUND
	codeInvalidActionURI        = 2150858753 // 0x80338001 ERROR_WSMAN_INVALID_ACTIONURI
	codeVersionMismatch         = 2150858765 // 0x8033800D ERROR_WSMAN_SOAP_VERSION_MISMATCH
	codeInvalidMessageHeader    = 2150858767 // 0x8033800F ERROR_WSMAN_INVALID_MESSAGE_INFORMATION_HEADER
	codeMustUnderstand          = 2150858768 // 0x80338010 ERROR_WSMAN_SOAP_FAULT_MUST_UNDERSTAND
	codeActionNotSupported      = 2150858771 // 0x80338013 ERROR_WSMAN_ACTION_NOT_SUPPORTED
	codeFilterDialectUnavail    = 2150858777 // 0x80338019 ERROR_WSMAN_ENUMERATE_FILTER_DIALECT_REQUESTED_UNAVAILABLE
	codeCannotProcessFilter     = 2150858778 // 0x8033801A ERROR_WSMAN_ENUMERATE_CANNOT_PROCESS_FILTER
	codeInvalidEnumContext      = 2150858779 // 0x8033801B ERROR_WSMAN_ENUMERATE_INVALID_ENUMERATION_CONTEXT
	codeOperationTimedOut       = 2150858793 // 0x80338029 ERROR_WSMAN_OPERATION_TIMEDOUT
	codeAlreadyExists           = 2150858803 // 0x80338033 ERROR_WSMAN_ALREADY_EXISTS
	codeEncodingLimit           = 2150858805 // 0x80338035 ERROR_WSMAN_ENCODING_LIMIT
	codeInvalidParameter        = 2150858810 // 0x8033803A ERROR_WSMAN_INVALID_PARAMETER
	codeInvalidResourceURI      = 2150858811 // 0x8033803B ERROR_WSMAN_INVALID_RESOURCE_URI
	codeInvalidSelectors        = 2150858813 // 0x8033803D ERROR_WSMAN_INVALID_SELECTORS
	codeQuotaLimit              = 2150858815 // 0x8033803F ERROR_WSMAN_QUOTA_LIMIT
	codeSchemaValidation        = 2150858817 // 0x80338041 ERROR_WSMAN_SCHEMA_VALIDATION_ERROR
	codeUnsupportedFeature      = 2150858818 // 0x80338042 ERROR_WSMAN_UNSUPPORTED_FEATURE
	codeInvalidXML              = 2150858819 // 0x80338043 ERROR_WSMAN_INVALID_XML
	codeInsufficientSelectors   = 2150858842 // 0x8033805A ERROR_WSMAN_INSUFFCIENT_SELECTORS (sic)
	codeMinEnvelopeSize         = 2150858878 // 0x8033807E ERROR_WSMAN_MIN_ENVELOPE_SIZE
	codeUnexpectedSelectors     = 2150858843 // 0x8033805B ERROR_WSMAN_UNEXPECTED_SELECTORS
	codeInvalidURIWMIEnumWQL    = 2150859003 // 0x803380FB ERROR_WSMAN_INVALID_URI_WMI_ENUM_WQL
	codeAccessDenied            = 5          // ERROR_ACCESS_DENIED
	codeWBEMFailed              = 2147749889 // 0x80041001 WBEM_E_FAILED
	faultDetailPrefix           = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"
	faultDetailInvalidValue     = faultDetailPrefix + "InvalidValue"
	faultDetailMaxEnvelopeSize  = faultDetailPrefix + "MaxEnvelopeSize"
	faultDetailInvalidResource  = faultDetailPrefix + "InvalidResourceURI"
	faultDetailInsufficientSels = faultDetailPrefix + "InsufficientSelectors"
	faultDetailUnexpectedSels   = faultDetailPrefix + "UnexpectedSelectors"
	faultDetailFilterDialect    = faultDetailPrefix + "FilterDialectRequestedUnavailable"
	faultDetailReadOnly         = faultDetailPrefix + "ReadOnly"
	faultDetailMinEnvelope      = faultDetailPrefix + "MinimumEnvelopeLimit"
)

// faultKind names each row of the fault table. Operation code returns a
// *protocolError carrying one of these; everything else is classified by
// classify.
type faultKind int

const (
	faultInternal faultKind = iota
	faultMalformed
	faultMustUnderstand
	faultVersionMismatch
	faultInvalidHeader // a:InvalidMessageInformationHeader
	faultActionNotSupported
	faultDestinationUnreachable // unknown resource URI or class
	faultNotFound               // selectors match no instance
	faultInvalidSelectors       // selectors that cannot be read (bad value, duplicate)
	faultUnexpectedSelectors    // a selector the class does not have
	faultInsufficientSelectors  // a key without its selector
	faultEncodingLimit
	faultMinEnvelopeSize // MaxEnvelopeSize below 8192
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
	faultRefused // a provider refused an intrinsic operation, saying why (RefusalMessage)
)

// faultRow is one row of the table: what the client sees for a kind of error.
type faultRow struct {
	code     string // soap Code value
	subcode  xml.Name
	action   string
	reason   string
	wsCode   uint32
	detail   string // wsman:FaultDetail URI, optional
	noDetail bool   // Windows writes no s:Detail for this fault
	// source says where the row comes from: a Windows answer captured in a
	// public repository, wsmerror.h, or a specification; "not established"
	// marks what no public source showed. Captured Windows faults the tests
	// compare with are in testdata/windows-faults (SOURCES.md there).
	source string
}

var (
	wsmanName = func(local string) xml.Name { return xml.Name{Space: soap.NSWSMan, Local: local} }
	wsaName   = func(local string) xml.Name { return xml.Name{Space: soap.NSAddressing, Local: local} }
	wsenName  = func(local string) xml.Name { return xml.Name{Space: soap.NSEnumeration, Local: local} }
)

// Sources named by the table's rows.
const (
	srcWsmerror   = "wsmerror.h (winerror.h's ERROR_WSMAN_* block; search-index file id 3356264962): code, reason text and, where its comment names them, code/subcode"
	srcPypsrpMIH  = "Windows answer to OperationTimeout PT-1S, pypsrp tests/tests_pypsrp/responses/test_psrp_is_alive_other_wsman_error.yml"
	srcPypsrpMU   = "Windows s:MustUnderstand fault with s:NotUnderstood, pypsrp tests/tests_pypsrp/test_wsman.py test_raise_native_wsman_fault"
	srcPypsrpSels = "Windows UnexpectedSelectors fault, pypsrp tests/tests_pypsrp/responses/test_psrp_is_alive_invalid_selectors.yml and test_winrs_bad_cmd_id.yml"
	srcPypsrpIE   = "Windows w:InternalError (s:Receiver, wsman fault action), pypsrp tests/tests_pypsrp/responses/test_winrs_no_cmd_shell.yml"
	srcWinRbWQL   = "Windows answer to a WQL query naming an unknown class, WinRb/WinRM tests/spec/stubs/responses/soap_fault_v1.xml and soap_fault_v2.xml"
	srcOMINotFnd  = "Windows Server 2012 R2 answer to a Get of a missing Win32_Process, microsoft/omi parser test TestInnerMessageFaultResponse (search-index file id 66962276)"
	srcTimedOut   = "Windows w:TimedOut, masterzen/winrm fixture_test.go operationTimeoutResponse (soap/testdata/faults/windows-timedout.xml)"
)

// faultTable is the single map from error classes to SOAP faults (DSP0226
// §14, [MS-WSMV] 3.1.4.x, with the codes and texts Windows writes). Every
// fault the server sends is built from one of these rows (buildFault).
var faultTable = map[faultKind]faultRow{
	faultInternal: {soap.CodeReceiver, wsmanName("InternalError"), soap.ActionFaultWSMan,
		"Generic failure", codeWBEMFailed, "", false,
		srcPypsrpIE + "; code and text of WMI's WBEM_E_FAILED ([MS-WMI] 2.2.11); never the internal error's own text"},
	faultMalformed: {soap.CodeSender, wsmanName("SchemaValidationError"), soap.ActionFaultWSMan,
		"The WS-Management service cannot process the request because the XML is invalid.", codeInvalidXML, "", false,
		srcWsmerror + " (ERROR_WSMAN_INVALID_XML); Windows' subcode for XML that is not well-formed: not established"},
	faultMustUnderstand: {soap.CodeMustUnderstand, xml.Name{}, soap.ActionFaultAddressing,
		"The WS-Management service cannot process a SOAP header in the request that is marked as mustUnderstand by the client.  This could be caused by the use of a version of the protocol which is not supported, or may be an incompatibility  between the client and server implementations.",
		codeMustUnderstand, "", true, srcPypsrpMU + "; SOAP 1.2 part 1 5.4.8"},
	faultVersionMismatch: {soap.CodeVersionMismatch, xml.Name{}, soap.ActionFaultAddressing,
		"The WS-Management service does not support the SOAP version specified in the request.", codeVersionMismatch, "", false,
		srcWsmerror + " (\"wsa, code=VersionMismatch\"); whether Windows adds s:Detail: not established"},
	faultInvalidHeader: {soap.CodeSender, wsaName("InvalidMessageInformationHeader"), soap.ActionFaultAddressing,
		"The WS-Management service cannot process the request. The request contains one or more invalid SOAP headers.", codeInvalidMessageHeader, "", false,
		srcPypsrpMIH},
	faultActionNotSupported: {soap.CodeSender, wsaName("ActionNotSupported"), soap.ActionFaultAddressing,
		"The WS-Management service does not support the action specified in the request.", codeActionNotSupported, "", false,
		srcWsmerror + " (ERROR_WSMAN_ACTION_NOT_SUPPORTED, \"wsa, code=Sender, subcode=ActionNotsupported\")"},
	faultDestinationUnreachable: {soap.CodeSender, wsaName("DestinationUnreachable"), soap.ActionFaultAddressing,
		"The WS-Management service cannot process the request. The resource URI is missing or it has an incorrect format.", codeInvalidResourceURI, faultDetailInvalidResource, false,
		srcWsmerror + " (ERROR_WSMAN_INVALID_RESOURCE_URI); shape as " + srcOMINotFnd + "; Windows' code for a WMI class that does not exist: not established"},
	faultNotFound: {soap.CodeSender, wsaName("DestinationUnreachable"), soap.ActionFaultAddressing,
		"The WS-Management service cannot process the request. The service cannot find the resource identified by the resource URI and selectors.", codeResourceNotFound, faultDetailInvalidResource, false,
		srcOMINotFnd},
	faultInvalidSelectors: {soap.CodeSender, wsmanName("InvalidSelectors"), soap.ActionFaultWSMan,
		"The WS-Management service cannot process the request because the selectors for the resource are not valid.", codeInvalidSelectors, "", false,
		srcWsmerror + " (ERROR_WSMAN_INVALID_SELECTORS, \"wsman, code=Sender, subcode=InvalidSelectors\")"},
	faultUnexpectedSelectors: {soap.CodeSender, wsmanName("InvalidSelectors"), soap.ActionFaultWSMan,
		"The WS-Management service cannot process the request because the request contained invalid selectors for the resource.", codeUnexpectedSelectors, faultDetailUnexpectedSels, false,
		srcPypsrpSels},
	faultInsufficientSelectors: {soap.CodeSender, wsmanName("InvalidSelectors"), soap.ActionFaultWSMan,
		"The WS-Management service cannot process the request because the request did not contain all required selectors.", codeInsufficientSelectors, faultDetailInsufficientSels, false,
		srcWsmerror + " (ERROR_WSMAN_INSUFFCIENT_SELECTORS); shape as the UnexpectedSelectors row, detail per DSP0226 14.6"},
	faultEncodingLimit: {soap.CodeSender, wsmanName("EncodingLimit"), soap.ActionFaultWSMan,
		"The WS-Management service cannot process the request because the encoding of the request exceeds an internal encoding limit. Reconfigure the client to send messages which fit the encoding limits of the service.", codeEncodingLimit, faultDetailMaxEnvelopeSize, false,
		srcWsmerror + " (ERROR_WSMAN_ENCODING_LIMIT, \"wsman, code=Sender, subcode=EncodingLimit\")"},
	faultMinEnvelopeSize: {soap.CodeSender, wsmanName("EncodingLimit"), soap.ActionFaultWSMan,
		"The WS-Management service cannot process the request because the envelope size in the request is too small.", codeMinEnvelopeSize, faultDetailMinEnvelope, false,
		"[MS-WSMV] 3.1.4.1.7 (EncodingLimit below 8192 octets, MUST); DSP0226 6.2 detail MinimumEnvelopeLimit; " + srcWsmerror + " (ERROR_WSMAN_MIN_ENVELOPE_SIZE); a captured Windows answer: not established"},
	faultInvalidEnumerationContext: {soap.CodeReceiver, wsenName("InvalidEnumerationContext"), soap.ActionFaultEnumeration,
		"The WS-Enumeration context in the enumeration is not valid. Enumeration may have been completed or canceled. You cannot use this enumeration context anymore. Start a new enumeration.", codeInvalidEnumContext, "", false,
		srcWsmerror + " (\"wsen, code=Receiver, subcode=InvalidEnumerationContext\")"},
	faultCannotProcessFilter: {soap.CodeSender, wsenName("CannotProcessFilter"), soap.ActionFaultEnumeration,
		"The data source could not process the filter. The filter might be missing or it might be invalid. Change the filter and try the request again.", codeCannotProcessFilter, "", false,
		srcWinRbWQL},
	faultFilterDialectUnavailable: {soap.CodeSender, wsenName("FilterDialectRequestedUnavailable"), soap.ActionFaultEnumeration,
		"The filter dialect (the type associated with the filter) was not supported for this resource. Change the filter dialect or remove it from the request and try the request again.", codeFilterDialectUnavail, faultDetailFilterDialect, false,
		srcWsmerror + " (\"wsen, code=Sender, subcode=FilterDialectRequestedUnavailable\")"},
	faultAccessDenied: {soap.CodeSender, wsmanName("AccessDenied"), soap.ActionFaultWSMan,
		"Access is denied.", codeAccessDenied, "", false,
		"DSP0226 14.6 wsman:AccessDenied with Win32 ERROR_ACCESS_DENIED (5), the code Windows puts in f:WSManFault for it; a captured Windows answer: not established"},
	faultInvalidParameter: {soap.CodeSender, wsmanName("InvalidParameter"), soap.ActionFaultWSMan,
		"The WS-Management service cannot process the request because a parameter for the operation is not valid.", codeInvalidParameter, faultDetailInvalidValue, false,
		srcWsmerror + " (ERROR_WSMAN_INVALID_PARAMETER); shape (detail InvalidValue) as pypsrp test_winrs_fail_poll_process.yml"},
	faultNotSupported: {soap.CodeSender, wsmanName("UnsupportedFeature"), soap.ActionFaultWSMan,
		"The WS-Management service does not support the specified feature. Remove the unsupported feature from the request and retry.", codeUnsupportedFeature, "", false,
		srcWsmerror + " (\"wsman, code=Sender, subcode=UnsupportedFeature\")"},
	faultAlreadyExists: {soap.CodeSender, wsmanName("AlreadyExists"), soap.ActionFaultWSMan,
		"The WS-Management service cannot create the resource because it already exists.", codeAlreadyExists, "", false,
		srcWsmerror + " (\"wsman, code=Sender, subcode=AlreadyExists\")"},
	faultTimedOut: {soap.CodeReceiver, wsmanName("TimedOut"), soap.ActionFaultWSMan,
		"The WS-Management service cannot complete the operation within the time specified in OperationTimeout.", codeOperationTimedOut, "", false,
		srcTimedOut},
	faultQuotaLimit: {soap.CodeSender, wsmanName("QuotaLimit"), soap.ActionFaultWSMan,
		"The WS-Management service is busy servicing other requests. Retry later.", codeQuotaLimit, "", false,
		srcWsmerror + " (\"wsman, code=Sender, subcode=QuotaLimit\")"},
	faultRefused: {soap.CodeReceiver, wsmanName("InternalError"), soap.ActionFaultWSMan,
		"The provider refused the operation.", codeWBEMFailed, "", false,
		"Windows' WinRM answers a WMI provider's failed operation with the shape of " + srcPypsrpIE +
			", the provider's WMI code in f:WSManFault and its error text in f:Message (which Remove-CimInstance shows); " +
			"here the reason is also the s:Reason text (pywinrm shows that); a captured Windows answer to a Delete of an in-use instance: not established"},
	faultSchemaValidation: {soap.CodeSender, wsmanName("SchemaValidationError"), soap.ActionFaultWSMan,
		"The SOAP XML in the message does not match the corresponding XML schema definition. Change the XML and retry.", codeSchemaValidation, "", false,
		srcWsmerror + " (\"wsman, code=Sender, subcode=SchemaValidationError\"); Windows answer in pypsrp test_wsman.py test_raise_wsman_fault_without_provider"},
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

// refusal is an error a provider gives for an intrinsic operation it
// refuses for a known reason (a volume in a replication relationship, a
// leased one): RefusalMessage is that reason in words a client may read. A
// StatusFailed *cimmodel.Error wrapping one is answered faultRefused with the
// message, not the generic InternalError, and logged as a refusal.
type refusal interface {
	error
	RefusalMessage() string
}

// classify maps any error from serve to its fault row and the client-facing message.
func classify(err error) (faultKind, string, string) {
	var pe *protocolError
	if errors.As(err, &pe) {
		return pe.kind, pe.message, pe.detail
	}
	var mu *soap.MustUnderstandError
	if errors.As(err, &mu) {
		return faultMustUnderstand, "", ""
	}
	var vm *soap.VersionMismatchError
	if errors.As(err, &vm) {
		return faultVersionMismatch, "", ""
	}
	var parse *soap.ParseError
	if errors.As(err, &parse) {
		return parseFault(parse)
	}
	var ce *cimmodel.Error
	if errors.As(err, &ce) {
		var rf refusal
		if ce.Status == cimmodel.StatusFailed && errors.As(err, &rf) {
			return faultRefused, rf.RefusalMessage(), ""
		}
		return cimFault(ce.Status), ce.Message, ""
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return faultTimedOut, "", ""
	}
	return faultInternal, "", ""
}

// operationTimeoutHeader is wsman:OperationTimeout, whose bad values Windows
// answers with a:InvalidMessageInformationHeader.
var operationTimeoutHeader = xml.Name{Space: soap.NSWSMan, Local: "OperationTimeout"}

// parseFault classifies an envelope soap.Parse refused: a repeated header
// or an OperationTimeout that is no positive duration is an invalid message
// information header (as Windows answers PT-1S), a MaxEnvelopeSize below
// 8192 an EncodingLimit, a mandatory Locale or DataLocale an
// UnsupportedFeature ([MS-WSMV] 3.1.4.1.7-9), anything else malformed.
func parseFault(pe *soap.ParseError) (faultKind, string, string) {
	switch {
	case errors.Is(pe, soap.ErrDuplicateHeader):
		return faultInvalidHeader, fmt.Sprintf("The WS-Management service cannot process the request. The header %s appears more than once.", pe.Header.Local), ""
	case errors.Is(pe, soap.ErrHeaderValue) && pe.Header == operationTimeoutHeader:
		return faultInvalidHeader, "The WS-Management service cannot process the request. The XML contains an invalid timeout field in the SOAP header: " + pe.Value + ".", ""
	case errors.Is(pe, soap.ErrMinEnvelopeSize):
		return faultMinEnvelopeSize, "", ""
	case errors.Is(pe, soap.ErrUnsupportedFeature):
		// [MS-WSMV] 3.1.4.1.8/9: UnsupportedFeature with the header's detail (Locale, DataLocale).
		return faultNotSupported, "The " + pe.Header.Local + " header cannot be marked mustUnderstand.", faultDetailPrefix + pe.Header.Local
	}
	return faultMalformed, "The request is not a valid SOAP 1.2 envelope: " + pe.Reason, ""
}

// wqlError turns the registry's answer to a WQL query naming a class it
// does not have into the enumeration fault Windows gives for it
// (n:CannotProcessFilter, with WMI's text in f:Message), rather than the
// DestinationUnreachable of a resource URI naming one.
func wqlError(err error) error {
	var ce *cimmodel.Error
	if errors.As(err, &ce) && ce.Status == cimmodel.StatusInvalidClass {
		return &protocolError{kind: faultCannotProcessFilter,
			message: "The specified class does not exist in the given namespace.", err: err}
	}
	return err
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

// buildFault makes the soap.Fault for err; it is the only place a fault's
// content is decided. Faults travel with HTTP 500, as Windows sends them
// (DSP0226 §13). An internal failure shows the client only the row's
// generic text: the error's own text (a file path, an errno) goes to the
// log, never into the fault.
func (s *Server) buildFault(err error) (*soap.Fault, faultKind) {
	kind, msg, detail := classify(err)
	row := faultTable[kind]
	if msg == "" || kind == faultInternal {
		msg = row.reason
	}
	if detail == "" {
		detail = row.detail
	}
	reason := row.reason
	if kind == faultRefused && msg != "" {
		reason = msg
	}
	f := &soap.Fault{
		Code:        row.code,
		Subcode:     row.subcode,
		Reason:      reason,
		Action:      row.action,
		FaultDetail: detail,
		Detail:      &soap.WSManFault{Code: row.wsCode, Machine: s.Machine, Message: msg},
	}
	if row.noDetail {
		f.FaultDetail, f.Detail = "", nil
	}
	var mu *soap.MustUnderstandError
	if errors.As(err, &mu) {
		f.NotUnderstood = &mu.Header
		f.NotUnderstoodPrefix = mu.Prefix
	}
	return f, kind
}
