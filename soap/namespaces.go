package soap

// XML namespaces of SOAP 1.2 and the WS-* specifications that WS-Management
// (DMTF DSP0226) and its Windows extensions (MS-WSMV) use.
const (
	NSEnvelope       = "http://www.w3.org/2003/05/soap-envelope"
	NSAddressing     = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	NSWSMan          = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	NSEnumeration    = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
	NSTransfer       = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
	NSIdentity       = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
	NSMicrosoft      = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
	NSCIMBinding     = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
	NSWSManFault     = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
	NSXSI            = "http://www.w3.org/2001/XMLSchema-instance"
	NSXSD            = "http://www.w3.org/2001/XMLSchema"
	NSCIMCommon      = "http://schemas.dmtf.org/wbem/wscim/1/common"
	NSXML            = "http://www.w3.org/XML/1998/namespace"
	AddressAnonymous = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
)

// Prefixes are the namespace prefixes Windows writes in its answers; replies use
// them so that golden files compare with Windows' own messages.
var Prefixes = map[string]string{
	NSEnvelope:    "s",
	NSAddressing:  "a",
	NSWSMan:       "w",
	NSEnumeration: "n",
	NSTransfer:    "x",
	NSIdentity:    "wsmid",
	NSMicrosoft:   "p",
	NSCIMBinding:  "b",
	NSWSManFault:  "f",
	NSXSI:         "xsi",
	NSCIMCommon:   "cim",
}

// FaultDetailPrefix is the start of every wsman:FaultDetail URI (DSP0226
// section 14.6), e.g. FaultDetailPrefix+"/InvalidValue".
const FaultDetailPrefix = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail"

// prefixFor returns the prefix replies use for ns, or "" when Prefixes has
// none.
func prefixFor(ns string) string { return Prefixes[ns] }
