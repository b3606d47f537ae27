package integration

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/uuid"
	"github.com/masterzen/winrm"
	wsoap "github.com/masterzen/winrm/soap"
)

const (
	nsAddressing  = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsWSMan       = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsEnumeration = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
	nsIdentity    = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
	nsFault       = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"

	actionEnumerate = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
	actionPull      = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
	actionGet       = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"

	iscsiNamespace  = "root/cimv2/storage/iscsitarget"
	uriReplService  = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/MSISCSITARGET_ReplicationService"
	uriDMTFReplServ = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ReplicationService"
)

// masterzen is a github.com/masterzen/winrm client: its HTTP transport
// (Basic authentication) and its soap message builder.
type masterzen struct {
	client    *winrm.Client
	transport winrm.Transporter
	url       string
}

func newMasterzen(t *testing.T, d *daemon, user, password string) *masterzen {
	t.Helper()
	host, port, err := net.SplitHostPort(d.addr)
	if err != nil {
		t.Fatal(err)
	}
	var p int
	fmt.Sscan(port, &p)
	endpoint := winrm.NewEndpoint(host, p, false, false, nil, nil, nil, 0)
	params := winrm.NewParameters("PT60S", "en-US", 153600)
	transport := winrm.NewClientWithDial(d.dialer().Dial)
	params.TransportDecorator = func() winrm.Transporter { return transport }
	client, err := winrm.NewClientWithParameters(endpoint, user, password, params)
	if err != nil {
		t.Fatal(err)
	}
	return &masterzen{client: client, transport: transport, url: d.url()}
}

// message starts a request the way masterzen/winrm builds its own.
func (m *masterzen) message(action, resourceURI string, options ...*wsoap.HeaderOption) *wsoap.SoapMessage {
	msg := wsoap.NewMessage()
	h := msg.Header().
		To(m.url).
		ReplyTo("http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous").
		MaxEnvelopeSize(153600).
		Id("uuid:" + strings.ToUpper(uuid.NewString())).
		Locale("en-US").
		Timeout("PT60S").
		Action(action).
		ResourceURI(resourceURI)
	for _, o := range options {
		h.AddOption(o)
	}
	h.Build()
	return msg
}

// send posts msg and parses the reply; a fault comes back as an error
// holding the fault XML.
func (m *masterzen) send(t *testing.T, msg *wsoap.SoapMessage) (*etree.Document, error) {
	t.Helper()
	body, err := m.transport.Post(m.client, msg)
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(body); err != nil {
		t.Fatalf("reply is not XML: %v\n%s", err, body)
	}
	// masterzen's transport hands a fault back as a normal body (its Post
	// loses the HTTP 500), so look for one.
	if find(doc.Root(), "http://www.w3.org/2003/05/soap-envelope", "Fault") != nil {
		return doc, fmt.Errorf("SOAP fault: %s", body)
	}
	return doc, nil
}

// find returns the first element with namespace ns and local name under e.
func find(e *etree.Element, ns, local string) *etree.Element {
	if e == nil {
		return nil
	}
	if e.Tag == local && e.NamespaceURI() == ns {
		return e
	}
	for _, c := range e.ChildElements() {
		if f := find(c, ns, local); f != nil {
			return f
		}
	}
	return nil
}

func findAll(e *etree.Element, local string) []*etree.Element {
	var out []*etree.Element
	if e == nil {
		return out
	}
	if e.Tag == local {
		out = append(out, e)
	}
	for _, c := range e.ChildElements() {
		out = append(out, findAll(c, local)...)
	}
	return out
}

func TestAuthenticationFailure(t *testing.T) {
	t.Parallel()
	d := sharedDaemon(t)
	m := newMasterzen(t, d, "admin", "not-the-password")
	_, err := m.send(t, m.message(actionEnumerate, uriReplService))
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("enumerate with a wrong password: err = %v, want an HTTP 401", err)
	}
	// No credentials at all: 401 with a Basic challenge.
	status, _ := d.post("", "", []byte(enumerateEnvelope(d.url(), uriReplService, "")), "")
	if status != 401 {
		t.Errorf("enumerate without credentials: status %d, want 401", status)
	}
	refused := d.waitLogs("wsman authentication refused", 2)
	if len(refused) < 2 {
		t.Fatalf("got %d 'authentication refused' log lines, want 2\n%s", len(refused), d.logText())
	}
	if refused[0]["user"] != "admin" {
		t.Errorf("log names user %v, want admin", refused[0]["user"])
	}
	if strings.Contains(d.logText(), "not-the-password") {
		t.Errorf("the log contains the password")
	}
}

func TestEnumerateAndPullWithMasterzen(t *testing.T) {
	t.Parallel()
	d := sharedDaemon(t)
	m := newMasterzen(t, d, d.user, d.password)

	// Plain WS-Enumeration: the context first, items through Pull.
	msg := m.message(actionEnumerate, uriReplService)
	msg.CreateBodyElement("Enumerate", wsoap.DOM_NS_ENUM)
	doc, err := m.send(t, msg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := find(doc.Root(), nsEnumeration, "EnumerationContext")
	if ctx == nil || ctx.Text() == "" {
		t.Fatalf("EnumerateResponse without an EnumerationContext:\n%s", docString(doc))
	}
	if find(doc.Root(), nsWSMan, "Items") != nil {
		t.Errorf("plain Enumerate answered items; they belong to Pull")
	}

	pull := m.message(actionPull, uriReplService)
	body := pull.CreateBodyElement("Pull", wsoap.DOM_NS_ENUM)
	pull.CreateElement(body, "EnumerationContext", wsoap.DOM_NS_ENUM).SetContent(ctx.Text())
	pull.CreateElement(body, "MaxElements", wsoap.DOM_NS_ENUM).SetContent("10")
	doc, err = m.send(t, pull)
	if err != nil {
		t.Fatal(err)
	}
	items := find(doc.Root(), nsEnumeration, "Items")
	if items == nil || len(items.ChildElements()) != 1 {
		t.Fatalf("PullResponse items: want exactly one instance\n%s", docString(doc))
	}
	inst := items.ChildElements()[0]
	if inst.Tag != "MSISCSITARGET_ReplicationService" || inst.NamespaceURI() != uriReplService {
		t.Errorf("item is {%s}%s, want {%s}MSISCSITARGET_ReplicationService", inst.NamespaceURI(), inst.Tag, uriReplService)
	}
	for _, k := range []string{"SystemCreationClassName", "SystemName", "CreationClassName", "Name"} {
		if e := find(inst, uriReplService, k); e == nil || e.Text() == "" {
			t.Errorf("instance has no key %s", k)
		}
	}
	if find(doc.Root(), nsEnumeration, "EndOfSequence") == nil {
		t.Errorf("PullResponse without EndOfSequence after the only instance")
	}

	// The context is used up: another Pull gets InvalidEnumerationContext.
	again := m.message(actionPull, uriReplService)
	body = again.CreateBodyElement("Pull", wsoap.DOM_NS_ENUM)
	again.CreateElement(body, "EnumerationContext", wsoap.DOM_NS_ENUM).SetContent(ctx.Text())
	_, err = m.send(t, again)
	if err == nil || !strings.Contains(err.Error(), "InvalidEnumerationContext") {
		t.Errorf("Pull of a finished context: err = %v, want an InvalidEnumerationContext fault", err)
	}
}

// TestEnumerateParentClassDMTF enumerates the DMTF parent class with
// __cimnamespace, OptimizeEnumeration and EnumerateObjectAndEPR, as the CIM
// cmdlets do, and gets the MSISCSITARGET_ subclass instance with its EPR.
func TestEnumerateParentClassDMTF(t *testing.T) {
	t.Parallel()
	d := sharedDaemon(t)
	m := newMasterzen(t, d, d.user, d.password)
	msg := m.message(actionEnumerate, uriDMTFReplServ, wsoap.NewHeaderOption("__cimnamespace", iscsiNamespace))
	body := msg.CreateBodyElement("Enumerate", wsoap.DOM_NS_ENUM)
	msg.CreateElement(body, "OptimizeEnumeration", wsoap.DOM_NS_WSMAN_DMTF)
	msg.CreateElement(body, "MaxElements", wsoap.DOM_NS_WSMAN_DMTF).SetContent("32000")
	msg.CreateElement(body, "EnumerationMode", wsoap.DOM_NS_WSMAN_DMTF).SetContent("EnumerateObjectAndEPR")
	doc, err := m.send(t, msg)
	if err != nil {
		t.Fatal(err)
	}
	items := find(doc.Root(), nsWSMan, "Items")
	if items == nil {
		t.Fatalf("no w:Items\n%s", docString(doc))
	}
	got := findAll(items, "Item")
	if len(got) != 1 {
		t.Fatalf("got %d w:Item, want 1\n%s", len(got), docString(doc))
	}
	if find(got[0], uriReplService, "MSISCSITARGET_ReplicationService") == nil {
		t.Errorf("item holds no MSISCSITARGET_ReplicationService instance")
	}
	epr := find(got[0], nsAddressing, "EndpointReference")
	if epr == nil || find(epr, nsWSMan, "SelectorSet") == nil {
		t.Errorf("item has no EPR with a SelectorSet")
	}
	if find(doc.Root(), nsWSMan, "EndOfSequence") == nil {
		t.Errorf("no w:EndOfSequence")
	}
}

func TestGetBySelectors(t *testing.T) {
	t.Parallel()
	d := sharedDaemon(t)
	// First learn the instance's keys through an optimized enumeration.
	status, body := d.post(d.user, d.password, []byte(enumerateEnvelope(d.url(), uriReplService,
		`<w:OptimizeEnumeration/><w:MaxElements>10</w:MaxElements>`)), "")
	if status != 200 {
		t.Fatalf("enumerate: %d\n%s", status, body)
	}
	doc := etree.NewDocument()
	doc.ReadFromString(body)
	inst := find(doc.Root(), uriReplService, "MSISCSITARGET_ReplicationService")
	if inst == nil {
		t.Fatalf("no instance\n%s", body)
	}
	keys := map[string]string{}
	for _, k := range []string{"SystemCreationClassName", "SystemName", "CreationClassName", "Name"} {
		keys[k] = find(inst, uriReplService, k).Text()
	}

	status, body = d.post(d.user, d.password, []byte(getEnvelope(d.url(), uriReplService, keys)), "")
	if status != 200 {
		t.Fatalf("Get: status %d\n%s", status, body)
	}
	doc = etree.NewDocument()
	doc.ReadFromString(body)
	got := find(doc.Root(), uriReplService, "MSISCSITARGET_ReplicationService")
	if got == nil {
		t.Fatalf("Get answered no instance\n%s", body)
	}
	if n := find(got, uriReplService, "Name").Text(); n != keys["Name"] {
		t.Errorf("Name = %q, want %q", n, keys["Name"])
	}
	if a := find(doc.Root(), nsAddressing, "Action"); a == nil || a.Text() != actionGet+"Response" {
		t.Errorf("wsa:Action of the reply is not GetResponse")
	}
}

func docString(doc *etree.Document) string {
	doc.Indent(2)
	s, _ := doc.WriteToString()
	return s
}
