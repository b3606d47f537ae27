package provider

// refusedError is a domain error the provider refuses an intrinsic
// operation for (Delete, Put), with the reason a client may read: wsman
// answers it as a refusal fault carrying the message (s:Reason and
// f:Message), logged as a refusal, instead of a generic InternalError
// logged as an ERROR (wsman/fault.go, faultRefused).
type refusedError struct {
	msg string
	err error
}

func (e *refusedError) Error() string { return e.err.Error() }

func (e *refusedError) Unwrap() error { return e.err }

// RefusalMessage is the reason for the client: the domain's message without
// package prefixes or server folders.
func (e *refusedError) RefusalMessage() string { return e.msg }
