// Package soap owns the SOAP 1.2 envelope as WS-Management clients send it:
// decoding (UTF-8 or UTF-16, hostile-input limits, WS-Addressing and
// WS-Management headers, mustUnderstand), building replies and faults, and
// serialising them in the request's encoding.
// It knows nothing of CIM, HTTP, authentication or what an action means; the
// wsman package maps actions to operations and errors to faults.
//
// # Parsing
//
// [Parse] returns an [*Envelope] with a typed [Header] and the first body
// element as an etree element. It rejects DTDs and entity declarations,
// processing instructions other than the XML declaration, nesting deeper than
// [MaxDepth] and more than [MaxElements] elements. Errors are
// [*ParseError] (malformed input), [*VersionMismatchError] (not SOAP 1.2) and
// [*MustUnderstandError] (a mandatory header this package does not process).
// Parse decodes the header's blocks as the scanner reads them and builds
// etree nodes only for the envelope, s:Header, s:Body and what the body
// holds (and a wsman:SelectorSet, whose EPR selectors are elements), so a
// request's header costs no tree; the result is what decoding the whole
// tree gave (envscan.go).
// [ReadTokens] runs the same scanner, with the same checks, limits and
// errors, without building a tree: it hands each element's name, attributes
// and text, borrowed from the input, to its caller (the client package reads
// answers with it).
//
// # Replies
//
// [NewResponse] starts a reply with the addressing headers Windows writes
// (Action, MessageID, To, RelatesTo, in that order) and the namespace
// prefixes of [Prefixes]. [Fault.Message] builds a fault envelope the way
// WinRM does. [Message.Bytes] serialises in UTF-8 or UTF-16 with a BOM.
//
// # Concurrency
//
// Parse is safe for concurrent use. A [Message] is not; build it in one
// goroutine.
package soap
