package soap

import (
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Selector is one wsman:Selector of a wsman:SelectorSet (DSP0226 section
// 7.1, DSP0227 section 7.3).
type Selector struct {
	Name string
	// Value is the selector's text with surrounding white space removed; ""
	// when EPR is set.
	Value string
	// EPR is the wsa:EndpointReference element of a reference-valued
	// selector, else nil. It stays attached to the request document.
	EPR *etree.Element
}

// Option is one wsman:Option of a wsman:OptionSet (DSP0226 section 6.4).
type Option struct {
	Name, Value, Type string
	MustComply        bool
}

// Header is the decoded SOAP header of a request. Fields are zero when their
// header is absent; text values have surrounding white space removed.
type Header struct {
	To          string // wsa:To
	Action      string // wsa:Action
	MessageID   string // wsa:MessageID
	ReplyTo     string // wsa:ReplyTo/wsa:Address
	ResourceURI string // wsman:ResourceURI

	// Selectors are in document order; duplicates are kept for the caller
	// to refuse (wsman:InvalidSelectors, DuplicateSelectors).
	Selectors []Selector
	// Options are in document order; Windows repeats names for arrays.
	Options []Option
	// OptionSetMustComply is the mustUnderstand attribute of the
	// wsman:OptionSet header (DSP0226 section 6.4: every option must then be
	// honoured).
	OptionSetMustComply bool

	MaxEnvelopeSize  int           // bytes; 0 when absent
	OperationTimeout time.Duration // 0 when absent

	Locale     string // xml:lang of wsman:Locale
	DataLocale string // xml:lang of wsmv:DataLocale
	SessionID  string // wsmv:SessionId
}

// Selector returns the selector whose name matches name case-insensitively
// (DSP0226 says selector names are case-insensitive for WMI), and whether
// there is one. With duplicates it returns the first.
func (h *Header) Selector(name string) (Selector, bool) {
	for _, s := range h.Selectors {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Selector{}, false
}

// Option returns the first option whose name matches name
// case-insensitively, and whether there is one.
func (h *Header) Option(name string) (Option, bool) {
	for _, o := range h.Options {
		if strings.EqualFold(o.Name, name) {
			return o, true
		}
	}
	return Option{}, false
}

// roleNone is the SOAP 1.2 role no node assumes; headers targeted at it are
// never processed (SOAP 1.2 part 1 section 2.2).
const roleNone = "http://www.w3.org/2003/05/soap-envelope/role/none"

// decodeHeader fills h from the children of s:Header.
func decodeHeader(header *etree.Element, h *Header) error {
	var seen uint32 // the known headers met, by their handlerFor bit
	for c := range header.ChildElementsSeq() {
		name := xml.Name{Space: c.NamespaceURI(), Local: c.Tag}
		mustUnderstand, err := mustUnderstandOf(c)
		if err != nil {
			return err
		}
		if role, _ := envAttr(c, "role"); strings.TrimSpace(role) == roleNone {
			continue
		}
		if mustUnderstand && mustNotBeMandatory(name) {
			err := parseErr(ErrUnsupportedFeature, "%s is marked mustUnderstand", c.FullTag())
			err.Header = name
			return err
		}
		handler, bit, known := handlerFor(name)
		if !known {
			if mustUnderstand {
				return &MustUnderstandError{Header: name, Prefix: c.Space}
			}
			continue
		}
		if seen&bit != 0 {
			err := parseErr(ErrDuplicateHeader, "header %s appears more than once", c.FullTag())
			err.Header = name
			return err
		}
		seen |= bit
		if err := handler(c, h); err != nil {
			var pe *ParseError
			if errors.As(err, &pe) && pe.Header.Local == "" {
				pe.Header, pe.Value = name, text(c)
			}
			return err
		}
	}
	return nil
}

// envAttr returns the value of the attribute local in the SOAP envelope
// namespace, and whether e has one. An attribute of that local name without
// a prefix (as pywinrm and masterzen/winrm write mustUnderstand) is not
// SOAP's and is not returned.
func envAttr(e *etree.Element, local string) (string, bool) {
	for _, a := range e.Attr {
		if a.Key == local && a.Space != "" && a.NamespaceURI() == NSEnvelope {
			return a.Value, true
		}
	}
	return "", false
}

// mustUnderstandOf reads the SOAP 1.2 mustUnderstand attribute. An
// attribute named mustUnderstand without the envelope namespace (as pywinrm
// and masterzen/winrm write it) is not SOAP's and is ignored.
func mustUnderstandOf(e *etree.Element) (bool, error) {
	v, ok := envAttr(e, "mustUnderstand")
	if !ok {
		return false, nil
	}
	switch strings.TrimSpace(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	default:
		return false, parseErr(ErrHeaderValue, "mustUnderstand=%q on %s is not a boolean", v, e.FullTag())
	}
}

// mustNotBeMandatory reports the headers a client may not mark
// mustUnderstand, since a service cannot promise to honour them:
// wsman:Locale and wsmv:DataLocale ([MS-WSMV] 3.1.4.1.8, 3.1.4.1.9).
func mustNotBeMandatory(name xml.Name) bool {
	return name == xml.Name{Space: NSWSMan, Local: "Locale"} || name == xml.Name{Space: NSMicrosoft, Local: "DataLocale"}
}

type headerHandler func(e *etree.Element, h *Header) error

// ignoreHeader is the handler of headers understood and ignored.
func ignoreHeader(*etree.Element, *Header) error { return nil }

// handlerFor returns the handler of a header this package understands,
// and a bit of its own among the headers'. Headers it does not list fault
// when marked mustUnderstand; among them is wsman:FragmentTransfer, which
// replicad does not implement. The MS-WSMV operation tracking headers
// (OperationID, SequenceId) and wsman:RequestTotalItemsCountEstimate are
// understood and ignored.
func handlerFor(name xml.Name) (headerHandler, uint32, bool) {
	switch name.Space {
	case NSAddressing:
		switch name.Local {
		case "To":
			return func(e *etree.Element, h *Header) error { h.To = text(e); return nil }, 1 << 0, true
		case "Action":
			return func(e *etree.Element, h *Header) error { h.Action = text(e); return nil }, 1 << 1, true
		case "MessageID":
			return func(e *etree.Element, h *Header) error { h.MessageID = text(e); return nil }, 1 << 2, true
		case "ReplyTo":
			return decodeReplyTo, 1 << 3, true
		}
	case NSWSMan:
		switch name.Local {
		case "ResourceURI":
			return func(e *etree.Element, h *Header) error { h.ResourceURI = text(e); return nil }, 1 << 4, true
		case "SelectorSet":
			return decodeSelectorSet, 1 << 5, true
		case "OptionSet":
			return decodeOptionSet, 1 << 6, true
		case "MaxEnvelopeSize":
			return decodeMaxEnvelopeSize, 1 << 7, true
		case "OperationTimeout":
			return decodeOperationTimeout, 1 << 8, true
		case "Locale":
			return func(e *etree.Element, h *Header) error { h.Locale = e.SelectAttrValue("xml:lang", ""); return nil }, 1 << 9, true
		case "RequestTotalItemsCountEstimate":
			return ignoreHeader, 1 << 10, true
		}
	case NSMicrosoft:
		switch name.Local {
		case "DataLocale":
			return func(e *etree.Element, h *Header) error { h.DataLocale = e.SelectAttrValue("xml:lang", ""); return nil }, 1 << 11, true
		case "SessionId":
			return func(e *etree.Element, h *Header) error { h.SessionID = text(e); return nil }, 1 << 12, true
		case "OperationID":
			return ignoreHeader, 1 << 13, true
		case "SequenceId":
			return ignoreHeader, 1 << 14, true
		}
	}
	return nil, 0, false
}

func text(e *etree.Element) string { return strings.TrimSpace(e.Text()) }

func decodeReplyTo(e *etree.Element, h *Header) error {
	for c := range e.ChildElementsSeq() {
		if c.Tag == "Address" && c.NamespaceURI() == NSAddressing {
			h.ReplyTo = text(c)
			return nil
		}
	}
	return parseErr(ErrHeaderValue, "wsa:ReplyTo has no wsa:Address")
}

func decodeSelectorSet(e *etree.Element, h *Header) error {
	for c := range e.ChildElementsSeq() {
		if c.Tag != "Selector" || c.NamespaceURI() != NSWSMan {
			return parseErr(ErrHeaderValue, "unexpected %s in wsman:SelectorSet", c.FullTag())
		}
		name := c.SelectAttr("Name")
		if name == nil || name.Space != "" {
			return parseErr(ErrHeaderValue, "wsman:Selector without a Name attribute")
		}
		s := Selector{Name: name.Value}
		for k := range c.ChildElementsSeq() {
			if k.Tag == "EndpointReference" && k.NamespaceURI() == NSAddressing && s.EPR == nil {
				s.EPR = k
				continue
			}
			return parseErr(ErrHeaderValue, "unexpected %s in selector %q", k.FullTag(), s.Name)
		}
		if s.EPR == nil {
			s.Value = text(c)
		}
		h.Selectors = append(h.Selectors, s)
	}
	return nil
}

func decodeOptionSet(e *etree.Element, h *Header) error {
	mu, err := mustUnderstandOf(e)
	if err != nil {
		return err
	}
	h.OptionSetMustComply = mu
	for c := range e.ChildElementsSeq() {
		if c.Tag != "Option" || c.NamespaceURI() != NSWSMan {
			return parseErr(ErrHeaderValue, "unexpected %s in wsman:OptionSet", c.FullTag())
		}
		o := Option{
			Name:  c.SelectAttrValue("Name", ""),
			Type:  c.SelectAttrValue("Type", ""),
			Value: text(c),
		}
		if o.Name == "" {
			return parseErr(ErrHeaderValue, "wsman:Option without a Name attribute")
		}
		switch v := strings.TrimSpace(c.SelectAttrValue("MustComply", "false")); v {
		case "true", "1":
			o.MustComply = true
		case "false", "0":
		default:
			return parseErr(ErrHeaderValue, "MustComply=%q on option %q is not a boolean", v, o.Name)
		}
		h.Options = append(h.Options, o)
	}
	return nil
}

func decodeMaxEnvelopeSize(e *etree.Element, h *Header) error {
	if err := maxEnvelopeSize(text(e), h); err != nil {
		return err
	}
	return nil
}

// maxEnvelopeSize decodes the text of wsman:MaxEnvelopeSize into h.
func maxEnvelopeSize(v string, h *Header) *ParseError {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n <= 0 {
		return parseErr(ErrHeaderValue, "MaxEnvelopeSize %q is not a positive integer", v)
	}
	if n < MinEnvelopeSize {
		return parseErr(ErrMinEnvelopeSize, "MaxEnvelopeSize %d is below %d", n, MinEnvelopeSize)
	}
	h.MaxEnvelopeSize = int(n)
	return nil
}

func decodeOperationTimeout(e *etree.Element, h *Header) error {
	if err := operationTimeout(text(e), h); err != nil {
		return err
	}
	return nil
}

// operationTimeout decodes the text of wsman:OperationTimeout into h.
func operationTimeout(v string, h *Header) *ParseError {
	d, err := ParseDuration(v)
	if err != nil {
		return parseErrWrap(ErrHeaderValue, err, "OperationTimeout %q", v)
	}
	if d <= 0 {
		return parseErr(ErrHeaderValue, "OperationTimeout %q is not positive", v)
	}
	h.OperationTimeout = d
	return nil
}
