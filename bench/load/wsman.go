package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"
)

// WS-Management names used by the load mix.
const (
	nsSOAP       = "http://www.w3.org/2003/05/soap-envelope"
	nsWSMan      = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsEnum       = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
	actionEnum   = nsEnum + "/Enumerate"
	actionPull   = nsEnum + "/Pull"
	actionGet    = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
	uriWMI       = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/"
	uriService   = uriWMI + "MSISCSITARGET_ReplicationService"
	uriVolume    = uriWMI + "MSISCSITARGET_StorageVolume"
	quotaSubcode = "QuotaLimit"
)

const envelopeHead = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
	`xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">`

const identifyEnvelope = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ` +
	`xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>`

// errQuota marks a request the daemon shed with a QuotaLimit fault.
var errQuota = errors.New("load: QuotaLimit fault")

// epr is an endpoint reference: resource URI and simple selectors.
type epr struct {
	uri       string
	selectors [][2]string
}

func (e epr) selectorSet() string {
	var b strings.Builder
	b.WriteString(`<w:SelectorSet>`)
	for _, s := range e.selectors {
		fmt.Fprintf(&b, `<w:Selector Name="%s">%s</w:Selector>`, html.EscapeString(s[0]), html.EscapeString(s[1]))
	}
	b.WriteString(`</w:SelectorSet>`)
	return b.String()
}

// param writes e as the reference parameter name of an Invoke.
func (e epr) param(name string) string {
	return fmt.Sprintf(`<p:%s><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>`+
		`<a:ReferenceParameters><w:ResourceURI>%s</w:ResourceURI>%s</a:ReferenceParameters></p:%s>`,
		name, html.EscapeString(e.uri), e.selectorSet(), name)
}

func header(to, action, resourceURI, extra string) string {
	return fmt.Sprintf(`<s:Header><a:To>%s</a:To><w:ResourceURI s:mustUnderstand="true">%s</w:ResourceURI>`+
		`<a:ReplyTo><a:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>`+
		`<a:Action s:mustUnderstand="true">%s</a:Action><w:MaxEnvelopeSize s:mustUnderstand="true">512000</w:MaxEnvelopeSize>`+
		`<a:MessageID>uuid:%s</a:MessageID><w:OperationTimeout>PT60.000S</w:OperationTimeout>%s</s:Header>`,
		html.EscapeString(to), html.EscapeString(resourceURI), html.EscapeString(action), uuid.NewString(), extra)
}

// client sends WS-Management requests to one endpoint.
type client struct {
	http     *http.Client
	url      string
	user     string
	password string
}

// post sends an envelope and returns the parsed reply; a fault is an
// error (errQuota for QuotaLimit).
func (c *client) post(ctx context.Context, envelope string, auth bool) (*etree.Document, error) {
	return c.postBody(ctx, strings.NewReader(envelope), int64(len(envelope)), auth)
}

// slowReader yields nothing for its delay, then EOF: between the halves of
// a body it keeps a request (and the daemon's slot) open, as a slow client
// on a poor link does.
type slowReader struct {
	delay time.Duration
	done  bool
}

func (r *slowReader) Read([]byte) (int, error) {
	if !r.done {
		time.Sleep(r.delay)
		r.done = true
	}
	return 0, io.EOF
}

// postSlow sends envelope in two halves delay apart.
func (c *client) postSlow(ctx context.Context, envelope string, delay time.Duration) (*etree.Document, error) {
	half := len(envelope) / 2
	body := io.MultiReader(strings.NewReader(envelope[:half]), &slowReader{delay: delay}, strings.NewReader(envelope[half:]))
	return c.postBody(ctx, body, int64(len(envelope)), true)
}

func (c *client) postBody(ctx context.Context, body io.Reader, size int64, auth bool) (*etree.Document, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, body)
	if err != nil {
		return nil, fmt.Errorf("load: request: %w", err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	if auth {
		req.SetBasicAuth(c.user, c.password)
	} else {
		// An Identify without credentials must ask for it ([MS-WSMV] 3.1.4.1.23).
		req.Header.Set("WSMANIDENTIFY", "unauthenticated")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("load: POST: %w", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("load: read reply: %w", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(reply); err != nil {
		return nil, fmt.Errorf("load: HTTP %d, reply is not XML: %w", resp.StatusCode, err)
	}
	if fault := find(doc.Root(), nsSOAP, "Fault"); fault != nil {
		if bytes.Contains(reply, []byte(quotaSubcode)) {
			return nil, errQuota
		}
		return nil, fmt.Errorf("load: HTTP %d fault: %s", resp.StatusCode, strings.Join(strings.Fields(fault.FindElement("//Text").Text()), " "))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("load: HTTP %d without a fault", resp.StatusCode)
	}
	return doc, nil
}

// find returns the first descendant of e (or e) with namespace ns and tag.
func find(e *etree.Element, ns, tag string) *etree.Element {
	if e == nil {
		return nil
	}
	if e.Tag == tag && e.NamespaceURI() == ns {
		return e
	}
	for _, k := range e.ChildElements() {
		if f := find(k, ns, tag); f != nil {
			return f
		}
	}
	return nil
}

func (c *client) identify(ctx context.Context) error {
	doc, err := c.post(ctx, identifyEnvelope, false)
	if err != nil {
		return err
	}
	if doc.FindElement("//IdentifyResponse") == nil {
		return errors.New("load: Identify: no IdentifyResponse")
	}
	return nil
}

func getEnvelope(to string, e epr) string {
	return envelopeHead + header(to, actionGet, e.uri, e.selectorSet()) + `<s:Body/></s:Envelope>`
}

func (c *client) get(ctx context.Context, e epr) error {
	return checkGet(c.post(ctx, getEnvelope(c.url, e), true))
}

// getSlow is a Get whose body arrives in two halves delay apart.
func (c *client) getSlow(ctx context.Context, e epr, delay time.Duration) error {
	return checkGet(c.postSlow(ctx, getEnvelope(c.url, e), delay))
}

func checkGet(doc *etree.Document, err error) error {
	if err != nil {
		return err
	}
	if body := find(doc.Root(), nsSOAP, "Body"); body == nil || len(body.ChildElements()) != 1 {
		return errors.New("load: Get: no instance in the reply")
	}
	return nil
}

// enumeratePull enumerates uri one item per message (Enumerate, then Pull
// until EndOfSequence) and returns the EPRs.
func (c *client) enumeratePull(ctx context.Context, uri string) ([]epr, error) {
	doc, err := c.post(ctx, envelopeHead+header(c.url, actionEnum, uri, "")+
		`<s:Body><n:Enumerate><w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode></n:Enumerate></s:Body></s:Envelope>`, true)
	if err != nil {
		return nil, err
	}
	var out []epr
	for i := 0; i < 1000; i++ {
		if find(doc.Root(), nsWSMan, "EndOfSequence") != nil || find(doc.Root(), nsEnum, "EndOfSequence") != nil {
			return out, nil
		}
		ctxElem := find(doc.Root(), nsEnum, "EnumerationContext")
		if ctxElem == nil {
			return nil, errors.New("load: enumeration without context or EndOfSequence")
		}
		doc, err = c.post(ctx, envelopeHead+header(c.url, actionPull, uri, "")+
			`<s:Body><n:Pull><n:EnumerationContext>`+html.EscapeString(ctxElem.Text())+
			`</n:EnumerationContext><n:MaxElements>1</n:MaxElements></n:Pull></s:Body></s:Envelope>`, true)
		if err != nil {
			return nil, err
		}
		out = append(out, eprsOf(doc)...)
	}
	return nil, errors.New("load: enumeration did not end in 1000 pulls")
}

// eprsOf reads the EPRs of the items of a Pull reply.
func eprsOf(doc *etree.Document) []epr {
	var out []epr
	items := find(doc.Root(), nsEnum, "Items")
	if items == nil {
		return nil
	}
	for _, item := range items.ChildElements() {
		uri := find(item, nsWSMan, "ResourceURI")
		set := find(item, nsWSMan, "SelectorSet")
		if uri == nil || set == nil {
			continue
		}
		e := epr{uri: strings.TrimSpace(uri.Text())}
		for _, s := range set.ChildElements() {
			e.selectors = append(e.selectors, [2]string{s.SelectAttrValue("Name", ""), strings.TrimSpace(s.Text())})
		}
		out = append(out, e)
	}
	return out
}

// invokeCandidates invokes GetAvailableTargetElements, a read-only method,
// and requires ReturnValue 0.
func (c *client) invokeCandidates(ctx context.Context, service, volume epr) error {
	const method = "GetAvailableTargetElements"
	env := envelopeHead + header(c.url, service.uri+"/"+method, service.uri, service.selectorSet()) +
		fmt.Sprintf(`<s:Body><p:%s_INPUT xmlns:p="%s" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">%s<p:SyncType>8</p:SyncType></p:%s_INPUT></s:Body></s:Envelope>`,
			method, html.EscapeString(service.uri), volume.param("SourceElement"), method)
	doc, err := c.post(ctx, env, true)
	if err != nil {
		return err
	}
	rv := doc.FindElement("//" + method + "_OUTPUT/ReturnValue")
	if rv == nil {
		return fmt.Errorf("load: %s: no ReturnValue", method)
	}
	if v := strings.TrimSpace(rv.Text()); v != "0" {
		return fmt.Errorf("load: %s: ReturnValue %s, want 0", method, v)
	}
	return nil
}
