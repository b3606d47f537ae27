// Package cimmodel owns the CIM metamodel replicad serves: classes with their
// properties and methods, typed values, object paths and endpoint references,
// the instance and method-parameter XML codec WinRM speaks (DMTF DSP0230,
// DSP0227, MS-WSMV), the class registry with inheritance, the association and
// WQL filters, and the method router. It knows nothing of HTTP, of SOAP
// envelopes beyond soap's namespace constants and Selector, of replicad's domain (volumes,
// jobs, replicas) or of the iSCSI target classes, which another package
// declares with this API.
//
// # Classes and the registry
//
// A [Class] declares its own properties and methods; a [Registry] links each
// class to its superclass when it is registered and resolves inherited
// properties and methods (a subclass may override either by name). Register
// every class at start-up; afterwards the registry is safe for concurrent use.
// A registered class must not be registered in a second registry.
//
// # Values
//
// A [Value] is a typed CIM value (scalar or array, or NULL). Object paths
// ([ObjectPath]) are class names plus key bindings; on the wire they are
// WS-Addressing endpoint references ([AppendEPR], [ParseEPR]).
//
// # Codec
//
// [AppendInstance] writes instances in the WS-CIM XML form (DSP0230) as
// text, straight into a reply's buffer, and [DecodeInstance] reads them;
// [EncodeInstance] and [ObjectPath.WriteEPR] give the same elements as a
// tree, for callers that build one. [AppendOutput] writes a method's
// output message. [ParseCIMXMLInstance] and [EncodeCIMXMLInstance] handle
// the DSP0201 CIM-XML text form that embedded-instance string parameters
// use. cimxml.go also holds the
// model-level pieces of CIM-XML operations (DSP0200) that package cimxml
// speaks: object paths in every DSP0201 form ([ParseCIMXMLPath],
// [WriteCIMXMLInstancePath]), typed values, PropertyList filtering, the
// METHODRESPONSE output ([EncodeCIMXMLOutput]) and [Registry.InvokeCIMXML],
// the method router fed with PARAMVALUEs.
//
// # Methods
//
// [Registry.Invoke] is the method router: it decodes and checks every input
// parameter against the declaration before the method's [MethodFunc] runs.
//
// # Filters
//
// [ParseAssociationFilter] reads the DSP0227 association filter that
// [Registry.Associators] and [Registry.References] evaluate; [ParseWQL]
// parses the WQL subset that [Registry.Query] runs (SELECT … FROM one class
// WHERE …).
//
// # Errors
//
// Operations return [*Error] carrying a CIM status code (DSP0200/DSP0223);
// the wsman package maps statuses to SOAP faults ([StatusOf] reads the
// status of any error). Parameter values the router answers itself with
// method return value 5 come with an [*InvalidParameterError] next to a
// valid [Result]. Malformed endpoint references and resource URIs wrap
// [ErrInvalidEPR] and [ErrInvalidResourceURI].
//
// # Files
//
// value.go and text.go hold types and their text forms; path.go and
// selectors.go object paths, resource URIs and EPRs; class.go and
// instance.go declarations and instances; registry.go the registry and its
// instance operations; codec.go the WS-CIM codec; cimxml.go the CIM-XML
// codec; router.go the method router; assoc.go and wql.go the filters.
package cimmodel
