package soap

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// SOAP 1.2 fault codes (SOAP 1.2 part 1 section 5.4.6), written with the s
// prefix replies declare.
const (
	CodeSender          = "s:Sender"
	CodeReceiver        = "s:Receiver"
	CodeMustUnderstand  = "s:MustUnderstand"
	CodeVersionMismatch = "s:VersionMismatch"
	CodeDataEncoding    = "s:DataEncodingUnknown"
)

// Fault is a SOAP 1.2 fault as WinRM writes it: s:Code/s:Value with an
// optional s:Subcode/s:Value, s:Reason/s:Text with xml:lang, and an
// s:Detail holding an optional wsman:FaultDetail URI and the Microsoft
// f:WSManFault element (MS-WSMV 2.2.4.43).
type Fault struct {
	// Code is one of the Code constants, e.g. CodeSender.
	Code string
	// Subcode is the fault subcode, e.g. {NSAddressing,
	// "DestinationUnreachable"}; omitted when Local is empty.
	Subcode xml.Name
	// Reason is the human-readable s:Reason/s:Text.
	Reason string
	// Action is the wsa:Action of the fault message. When empty it follows
	// the subcode's namespace: ActionFaultAddressing for wsa,
	// ActionFaultEnumeration for wsen, ActionFaultWSMan otherwise.
	Action string
	// Detail is the f:WSManFault detail, omitted when nil.
	Detail *WSManFault
	// FaultDetail is an optional wsman:FaultDetail URI, e.g.
	// FaultDetailPrefix+"/InvalidValue".
	FaultDetail string
	// NotUnderstood, for a MustUnderstand fault, names the header that was
	// not understood; it is reported in a s:NotUnderstood header block (SOAP
	// 1.2 part 1 section 5.4.8).
	NotUnderstood *xml.Name
	// NotUnderstoodPrefix is the prefix the request wrote that header with;
	// the qname uses it, as Windows does (e.g. qname="wsman:ResourceUri"),
	// unless it is empty, the fault's own "s" or reserved ("xml..."), when
	// "nu" is used.
	NotUnderstoodPrefix string
}

// WSManFault is the detail Windows adds to its faults.
type WSManFault struct {
	// Code is the Windows error code, e.g. 2150858752 for a wrong resource
	// URI.
	Code uint32
	// Machine is the name of the machine that faulted.
	Machine string
	// Message is the text of f:Message.
	Message string
	// ProviderFault, when non-nil, is copied into f:Message after the text
	// (an f:ProviderFault element carrying the provider's error).
	ProviderFault *etree.Element
}

// Error implements error: the code, subcode and reason.
func (f *Fault) Error() string {
	if f.Subcode.Local == "" {
		return fmt.Sprintf("soap: fault %s: %s", f.Code, f.Reason)
	}
	return fmt.Sprintf("soap: fault %s/{%s}%s: %s", f.Code, f.Subcode.Space, f.Subcode.Local, f.Reason)
}

// action returns the fault message's wsa:Action.
func (f *Fault) action() string {
	if f.Action != "" {
		return f.Action
	}
	switch f.Subcode.Space {
	case NSAddressing:
		return ActionFaultAddressing
	case NSEnumeration:
		return ActionFaultEnumeration
	}
	return ActionFaultWSMan
}

// Message builds the fault envelope replying to req (which may be nil when
// the request could not be parsed): the headers of [NewResponse] with the
// fault's action, then s:Fault in the body.
func (f *Fault) Message(req *Header) *Message {
	m := NewResponse(req, f.action())
	lang := m.Lang()
	if f.NotUnderstood != nil {
		nu := m.Header().CreateElement("s:NotUnderstood")
		if f.NotUnderstood.Space == "" {
			nu.CreateAttr("qname", f.NotUnderstood.Local)
		} else {
			p := f.NotUnderstoodPrefix
			if lp := strings.ToLower(p); lp == "" || lp == "s" || strings.HasPrefix(lp, "xml") {
				p = "nu"
			}
			nu.CreateAttr("qname", p+":"+f.NotUnderstood.Local)
			nu.CreateAttr("xmlns:"+p, f.NotUnderstood.Space)
		}
	}
	fault := m.Body().CreateElement("s:Fault")
	code := fault.CreateElement("s:Code")
	code.CreateElement("s:Value").SetText(f.Code)
	if f.Subcode.Local != "" {
		sub := code.CreateElement("s:Subcode")
		sub.CreateElement("s:Value").SetText(m.NS(f.Subcode.Space, f.Subcode.Local))
	}
	reason := fault.CreateElement("s:Reason").CreateElement("s:Text")
	reason.CreateAttr("xml:lang", lang)
	reason.SetText(f.Reason)
	if f.Detail == nil && f.FaultDetail == "" {
		return m
	}
	detail := fault.CreateElement("s:Detail")
	if f.FaultDetail != "" {
		detail.CreateElement(m.NS(NSWSMan, "FaultDetail")).SetText(f.FaultDetail)
	}
	if d := f.Detail; d != nil {
		wf := detail.CreateElement("f:WSManFault")
		wf.CreateAttr("xmlns:f", NSWSManFault)
		wf.CreateAttr("Code", strconv.FormatUint(uint64(d.Code), 10))
		wf.CreateAttr("Machine", d.Machine)
		msg := wf.CreateElement("f:Message")
		msg.SetText(d.Message)
		if d.ProviderFault != nil {
			msg.AddChild(d.ProviderFault.Copy())
		}
	}
	return m
}
