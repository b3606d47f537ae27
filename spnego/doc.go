// Package spnego owns the SPNEGO token framing of RFC 4178 as MS-SPNG uses it
// for HTTP Negotiate: it parses the client's NegTokenInit (inside the GSS-API
// InitialContextToken) and NegTokenResp, and writes the server's NegTokenResp.
// It knows nothing of the mechanisms inside (NTLM, Kerberos) nor of HTTP: it
// only unwraps and wraps their tokens.
package spnego
