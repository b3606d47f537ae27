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
// NTLM and Kerberos are not implemented; use Basic over HTTPS, or over plain
// HTTP on loopback where the server allows it.
package client
