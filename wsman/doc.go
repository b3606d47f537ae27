// Package wsman owns replicad's WS-Management endpoint: POST /wsman, HTTP
// authentication, and the operations Identify, Get, Put, Delete,
// Enumerate/Pull/Release and Invoke, as DMTF DSP0226/DSP0227 and Microsoft
// MS-WSMV define them and Windows' WinRM service answers them.
// It knows nothing of volumes, jobs or replicas: it asks a cimmodel.Registry for
// instances and method calls, and turns errors into SOAP faults.
//
// # How a request travels
//
// Server.ServeHTTP authenticates the caller, caps the body, and calls serve,
// which parses the envelope (soap.Parse), resolves the resource URI and
// selectors into a class or an object path (resource.go), and dispatches on
// wsa:Action to one file per operation (identify.go, transfer.go,
// enumerate.go, invoke.go). serve returns either a reply message or an error;
// ServeHTTP is the only place that turns an error into a fault (fault.go) and
// writes it, and it writes one access log line per request.
//
// # Authentication and encryption
//
// auth.go decides who the caller is: Basic against the users file (over TLS,
// or plain HTTP when AllowUnencrypted), Negotiate/NTLM and Kerberos
// (negotiate.go, negotiate_kerberos.go), bound to the TCP connection through
// ConnContext. Over plain HTTP, encryption.go unseals and seals the
// HTTP-SPNEGO session-encrypted multipart bodies that pywinrm and PowerShell
// send (MS-WSMV 2.2.9.1). A reader may Get and Enumerate; everything else needs
// an admin (AccessDenied).
//
// # Limits
//
// Request bodies are capped (Limits.MaxBodyBytes; much lower before
// authentication), replies are held to the client's wsman:MaxEnvelopeSize and
// our own maximum, and each user may hold at most
// Limits.MaxEnumerationsPerUser open enumeration contexts, all users together
// Limits.MaxEnumerations within a memory budget of Limits.MaxEnumerationBytes,
// each expiring after Limits.EnumerationExpiry. The quotas are taken before
// any instance is enumerated; a context keeps object paths, and Pull fetches
// the instances again. Every long loop stops with the request's context
// (wsman:OperationTimeout, or the client gone).
package wsman
