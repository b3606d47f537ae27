package provider

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/volumes"
)

// A refused call answers its return value and, beside it, says why: the
// ExtendedStatus out-parameter holds a CIM_Error whose Message is the
// reason (docs/powershell.md, "Why a call was refused"). Clients that read
// only ReturnValue see what they always saw.

// CIM_Error.ErrorType values used for refusals (Interop/CIM_Error.mof).
const (
	errorTypeSoftware    uint16 = 4  // Software Error
	errorTypeUnavailable uint16 = 9  // Unavailable Resource Error
	errorTypeUnsupported uint16 = 10 // Unsupported Operation Error
)

// probableCauseCapacity is CIM_Error.ProbableCause 50, Storage Capacity
// Problem.
const probableCauseCapacity uint16 = 50

// messageInternal is the whole reason given for an error no table knows:
// its detail (paths, system errors) stays in the daemon's log.
const messageInternal = "internal error; the server's log has the details"

// declareExtendedStatus adds the ExtendedStatus out-parameter (a CIM_Error)
// to every method of classes that answers a uint32 return value and does
// not declare it yet.
func declareExtendedStatus(classes []*cimmodel.Class) {
	for _, c := range classes {
		for _, m := range c.Methods {
			if m.Func == nil || (m.ReturnType != cimmodel.TypeUint32 && m.ReturnType != 0) {
				continue
			}
			if _, ok := m.Param(cimmodel.ExtendedStatusParam); ok {
				continue
			}
			m.Params = append(m.Params, cimmodel.ExtendedStatusParameter(cimErrorClassName))
		}
	}
}

// refusal answers code with a CIM_Error saying msg in ExtendedStatus;
// status is its CIMStatusCode. msg is shown to the client as it is.
func (p *Provider) refusal(code uint32, status cimmodel.Status, msg string) cimmodel.Result {
	res := cimmodel.Result{ReturnValue: code}
	c := p.class(cimErrorClassName)
	if c == nil {
		return res
	}
	errorType := errorTypeSoftware
	switch code {
	case returnNotSupported:
		errorType = errorTypeUnsupported
	case returnInUse:
		errorType = errorTypeUnavailable
	}
	inst := cimmodel.NewCIMError(c, status, errorType, refusalMessageID(code), msg)
	res.Out = map[string]cimmodel.Value{cimmodel.ExtendedStatusParam: cimmodel.Embedded(inst)}
	return res
}

// refusalErr is refusal for a domain error: its CIMStatusCode is the one
// error table's (errorStatus), the message is method's name and the
// domain's reason (clientMessage: no package prefixes, no server folders),
// or messageInternal when no row of the table names err. A lack of space is
// an Unavailable Resource, Storage Capacity Problem.
func (p *Provider) refusalErr(method string, code uint32, err error) cimmodel.Result {
	status, known := errorStatus(err)
	msg := messageInternal
	if known {
		msg = scrubPaths(clientMessage(err))
	}
	res := p.refusal(code, status, method+": "+msg)
	if errors.Is(err, volumes.ErrNoSpace) || errors.Is(err, volumes.ErrOverCommit) {
		if inst, ok := res.Out[cimmodel.ExtendedStatusParam].AsInstance(); ok {
			inst.Set("ErrorType", cimmodel.Uint16(errorTypeUnavailable)).
				Set("ProbableCause", cimmodel.Uint16(probableCauseCapacity))
		}
	}
	return res
}

// refusalMessageID is the MessageID of a refusal with return value code:
// REPLICAD1 and the code in three digits below 1000 (REPLICAD1005 for
// Invalid Parameter, as the method router gives), REPLICAD and the code
// from 1000 on (REPLICAD4097).
func refusalMessageID(code uint32) string {
	if code < 1000 {
		return fmt.Sprintf("REPLICAD1%03d", code)
	}
	return fmt.Sprintf("REPLICAD%d", code)
}

// statusOfCode is the CIMStatusCode of a refusal whose error no table
// names: Not Supported, Invalid Parameter, or Failed.
func statusOfCode(code uint32) cimmodel.Status {
	switch code {
	case returnNotSupported:
		return cimmodel.StatusNotSupported
	case returnInvalidParameter:
		return cimmodel.StatusInvalidParameter
	}
	return cimmodel.StatusFailed
}

// absPath matches an absolute file path of two or more components that
// clientMessage left (a path outside the pools).
var absPath = regexp.MustCompile(`(^|[\s"'(=])/[^\s"':,;)]+/[^\s"':,;)]+`)

// scrubPaths replaces absolute paths in msg by "(path)": a refusal's reason
// never shows the server's folders.
func scrubPaths(msg string) string {
	return absPath.ReplaceAllString(msg, "${1}(path)")
}
