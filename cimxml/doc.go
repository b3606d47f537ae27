// Package cimxml owns replicad's CIM-XML endpoint: CIM operations over HTTP
// (DMTF DSP0200 1.3) in the CIM-XML encoding (DSP0201 2.3), on POST /cimom,
// as SMI-S clients speak it: libstoragemgmt's SMI-S plugin, the Windows
// Storage Service (Register-SmisProvider), pywbem and sblim wbemcli.
// It knows nothing of volumes, jobs or replicas: like package wsman it asks
// a cimmodel.Registry for classes, instances and method calls, and turns
// errors into CIM status codes.
//
// # How a request travels
//
// Server.ServeHTTP checks the method, path and CIMOperation header,
// authenticates the caller through the WS-Management server's Basic
// authenticator (the same users, roles, failed-logon limiter and budget of
// logons being checked as /wsman; see wsman.Server.AuthenticateBasic),
// caps and reads the body, and hands it to ParseRequest (request.go), which
// reads it with soap.ParseXML's strict reader (no DTD or entities, depth
// and element limits) into a Request: one IMETHODCALL (an intrinsic
// operation) or METHODCALL (an extrinsic method) with its namespace, target
// and parameters. serve dispatches on the operation's name to ops.go
// (instances, classes, associations, queries, methods), or pull.go (the
// DSP0200 1.3 pull operations), and encode.go writes the answer. An error
// becomes an <ERROR CODE DESCRIPTION> with a DSP0200 status code in one
// place (errors.go); a request that cannot be read at all gets HTTP 400 with
// the CIMError header DSP0200 §7.3 names.
//
// # Roles
//
// A reader may run the operations that read (GetInstance, the
// enumerations, associations, queries, GetClass and the pull operations);
// InvokeMethod, ModifyInstance, CreateInstance and DeleteInstance need an
// admin (CIM_ERR_ACCESS_DENIED), as with WS-Management.
package cimxml
