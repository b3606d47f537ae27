// Package ntlm owns the server side of NTLM as MS-NLMP defines it: it parses
// NEGOTIATE and AUTHENTICATE messages, writes the CHALLENGE, verifies an
// NTLMv2 response against a user's NT hash, derives the session keys and
// seals, unseals, signs and verifies messages with them.
// It knows nothing of HTTP, SPNEGO or where the NT hashes are kept: the
// caller frames the messages and looks users up.
//
// # What is accepted
//
// Only NTLMv2 with extended session security is accepted; NTLMv1, LM and
// anonymous logons are refused, and so is a client that does not negotiate
// 128-bit session keys (NTLMSSP_NEGOTIATE_128, in NEGOTIATE and again in
// AUTHENTICATE, whose flags no MIC may protect), as Windows' default
// "Require 128-bit encryption" does. When the client's blob says it sent a MIC
// (MsvAvFlags bit 0x2) the MIC must match. A Server answers one handshake:
// the server challenge is used for one AUTHENTICATE message only, so an
// AUTHENTICATE message replayed against a later handshake fails.
package ntlm
