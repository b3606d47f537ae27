package cimxml

import (
	"context"
	"errors"
	"fmt"

	"github.com/replicad/replicad/cimmodel"
)

// CIM status codes of DSP0200 §2.2 that only the protocol layer answers
// (the model's are cimmodel.Status values).
const (
	statusInvalidOperationTimeout   cimmodel.Status = 20 // CIM_ERR_INVALID_OPERATION_TIMEOUT
	statusInvalidEnumerationContext cimmodel.Status = 21 // CIM_ERR_INVALID_ENUMERATION_CONTEXT
	statusFilteredNotSupported      cimmodel.Status = 25 // CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED
	statusContinueOnErrorNotSupp    cimmodel.Status = 26 // CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED
	statusServerLimitsExceeded      cimmodel.Status = 27 // CIM_ERR_SERVER_LIMITS_EXCEEDED
	statusQueryLanguageNotSupported cimmodel.Status = 14 // CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED
)

// cimErr returns a CIM error with status and a message for the client.
func cimErr(status cimmodel.Status, format string, args ...any) error {
	return cimmodel.Errorf(status, format, args...)
}

// statusOf returns the status and the client-facing description of err:
// the message of the first *cimmodel.Error in its chain; a timeout or an
// error without a CIM status is CIM_ERR_FAILED with a fixed text (its detail
// goes to the log, never to the client). internal reports the latter.
func statusOf(err error) (status cimmodel.Status, description string, internal bool) {
	var ce *cimmodel.Error
	if errors.As(err, &ce) {
		msg := ce.Message
		if msg == "" {
			msg = ce.Status.String()
		}
		return ce.Status, msg, false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return cimmodel.StatusFailed, "The operation did not finish within its time limit.", false
	}
	return cimmodel.StatusFailed, "Generic failure; the server log has the details.", true
}

// RequestError is a request that cannot be read as a CIM operation: it is
// answered with HTTP 400 (or 501 for a CIMProtocolVersion or multiple
// requests the server does not support) and a DSP0200 §7.3 CIMError
// header, since there is no message to carry an <ERROR>.
type RequestError struct {
	// CIMError is the CIMError header's value: "request-not-well-formed",
	// "request-not-valid", "unsupported-operation", "header-mismatch",
	// "unsupported-protocol-version" or "multiple-requests-unsupported".
	CIMError string
	// Reason says what was wrong, for the log.
	Reason string
	Err    error
}

// Error implements error.
func (e *RequestError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("cimxml: %s: %s: %v", e.CIMError, e.Reason, e.Err)
	}
	return "cimxml: " + e.CIMError + ": " + e.Reason
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

func badRequest(kind string, err error, format string, args ...any) *RequestError {
	return &RequestError{CIMError: kind, Reason: fmt.Sprintf(format, args...), Err: err}
}
