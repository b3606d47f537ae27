// Package client owns the client side of WS-Management as replicad speaks it:
// building Identify, Get, Enumerate/Pull, Invoke and Delete requests, sending
// them over HTTP(S) with Basic authentication, and reading the answers and
// faults back into plain Go values (generic CIM instances, object paths,
// method outputs). It knows nothing of replicad's classes, of the server's
// registry or of how the answers are shown; replicactl builds on it.
//
// Instances are decoded without class declarations: every property is kept
// as text (or as an object path, for references, or as a nested instance,
// for embedded instances), in document order.
//
// Requests are written as text as they are built (client.go, ops.go).
// Answers are read with soap's strict token reader into a flat list of
// elements, whose names and text are substrings of the answer: the strings
// of what is decoded share the answer's bytes (reply.go). An envelope whose
// header is not the usual To, Action, MessageID and RelatesTo is checked by
// soap.Parse too, so that a refusal is Parse's. The tree-based decoder this
// replaced is the reference of the tests (reference_test.go).
//
// Logons (Options.Auth, auth.go): Basic; Negotiate with NTLM, whose
// connection-bound logon seals every message over plain HTTP as pywinrm
// does ([MS-WSMV] 2.2.9.1.1; ntlm.go, sealing.go); Kerberos with a service
// ticket from the user's credential cache (gokrb5), mutual authentication
// required, sealed over plain HTTP with RFC 4121 Wrap tokens (kerberos.go);
// and a TLS client certificate with the https/mutual Authorization
// header. The server's certificate is verified against the system's roots
// or Options.CAFile unless Options.Insecure.
package client
