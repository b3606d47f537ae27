package client

import (
	"errors"
	"fmt"
)

var (
	// ErrUnauthorized means the server refused the credentials (HTTP 401).
	ErrUnauthorized = errors.New("client: authentication failed (HTTP 401): check the user name and password")
	// ErrUnreachable means no HTTP exchange took place: the address does not
	// answer, refuses connections, or the TLS handshake failed.
	ErrUnreachable = errors.New("client: server unreachable")
	// ErrProtocol means the server answered something that is not the
	// expected WS-Management message.
	ErrProtocol = errors.New("client: unexpected answer")
)

// Fault is a SOAP fault the server answered with.
type Fault struct {
	// Code is the SOAP fault code, e.g. "s:Sender".
	Code string
	// Subcode is the local name of the fault subcode, e.g.
	// "DestinationUnreachable" or "InvalidSelectors".
	Subcode string
	// Reason is the s:Reason text.
	Reason string
	// WSManCode is the numeric code of the Microsoft f:WSManFault detail,
	// 0 when absent.
	WSManCode uint32
	// Message is the f:Message text of the detail, "" when absent.
	Message string
	// HTTPStatus is the status the fault came with (500 or 400).
	HTTPStatus int
}

// Error returns the subcode and the most specific text the fault carries.
func (f *Fault) Error() string {
	text := f.Reason
	if f.Message != "" {
		text = f.Message
	}
	if f.Subcode == "" {
		return fmt.Sprintf("client: fault %s: %s", f.Code, text)
	}
	return fmt.Sprintf("client: fault %s: %s", f.Subcode, text)
}
