package soap

// WS-Transfer, WS-Enumeration and fault actions as WS-Management uses them
// (DMTF DSP0226 sections 7, 8 and 14; MS-WSMV 3.1.4). Identify has no action:
// it is recognised by its body element wsmid:Identify (DSP0226 section 11).
// A CIM method's action is "<resource URI>/<method>" and its answer's
// "<resource URI>/<method>Response" (DSP0227 section 8).
const (
	ActionGet               = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
	ActionGetResponse       = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse"
	ActionPut               = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put"
	ActionPutResponse       = "http://schemas.xmlsoap.org/ws/2004/09/transfer/PutResponse"
	ActionCreate            = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	ActionCreateResponse    = "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse"
	ActionDelete            = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	ActionDeleteResponse    = "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse"
	ActionEnumerate         = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
	ActionEnumerateResponse = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse"
	ActionPull              = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
	ActionPullResponse      = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/PullResponse"
	ActionRelease           = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release"
	ActionReleaseResponse   = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/ReleaseResponse"

	// ActionFaultWSMan is the action of faults with a wsman: subcode.
	ActionFaultWSMan = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
	// ActionFaultAddressing is the action of faults with a wsa: subcode
	// (DestinationUnreachable, ActionNotSupported, ...).
	ActionFaultAddressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault"
	// ActionFaultEnumeration is the action of faults with a wsen: subcode
	// (InvalidEnumerationContext, ...).
	ActionFaultEnumeration = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/fault"
)
