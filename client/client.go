package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"github.com/replicad/replicad/soap"
)

// Options tune a Client; the zero value works.
type Options struct {
	// Insecure skips the verification of the server's TLS certificate
	// (self-signed certificates).
	Insecure bool
	// Timeout bounds one HTTP exchange and is sent as the
	// wsman:OperationTimeout (default 60 s).
	Timeout time.Duration
	// MaxEnvelopeSize is sent as wsman:MaxEnvelopeSize (default 512000).
	MaxEnvelopeSize int
	// HTTPClient replaces the HTTP client New builds (Insecure and Timeout
	// are then ignored).
	HTTPClient *http.Client
}

// Client talks WS-Management to one endpoint. It is safe for concurrent use.
type Client struct {
	url, user, password string
	timeout             time.Duration
	maxEnvelope         int
	http                *http.Client
}

// DefaultTimeout is the operation timeout when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// New returns a client of the endpoint url (e.g.
// "http://127.0.0.1:5985/wsman") that authenticates with Basic when user is
// not empty.
func New(url, user, password string, opts Options) *Client {
	c := &Client{url: url, user: user, password: password, timeout: opts.Timeout, maxEnvelope: opts.MaxEnvelopeSize}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxEnvelope <= 0 {
		c.maxEnvelope = 512000
	}
	c.http = opts.HTTPClient
	if c.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if opts.Insecure {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by --insecure
		}
		c.http = &http.Client{Transport: tr, Timeout: c.timeout + 10*time.Second}
	}
	return c
}

// URL returns the endpoint address.
func (c *Client) URL() string { return c.url }

// request is an outgoing envelope.
type request struct {
	doc  *etree.Document
	head *etree.Element
	body *etree.Element
	// identify marks an Identify, which a client without credentials sends
	// with the header WSMANIDENTIFY: unauthenticated ([MS-WSMV] 3.1.4.1.23).
	identify bool
}

// newRequest starts an envelope with the addressing and WS-Management
// headers WinRM clients send: To, ResourceURI (when not empty), ReplyTo,
// Action, MaxEnvelopeSize, MessageID, Locale, OperationTimeout.
func (c *Client) newRequest(action, resourceURI string) *request {
	doc := etree.NewDocument()
	env := doc.CreateElement("s:Envelope")
	env.CreateAttr("xmlns:s", soap.NSEnvelope)
	env.CreateAttr("xmlns:a", soap.NSAddressing)
	env.CreateAttr("xmlns:w", soap.NSWSMan)
	h := env.CreateElement("s:Header")
	h.CreateElement("a:To").SetText(c.url)
	if resourceURI != "" {
		ru := h.CreateElement("w:ResourceURI")
		ru.CreateAttr("s:mustUnderstand", "true")
		ru.SetText(resourceURI)
	}
	h.CreateElement("a:ReplyTo").CreateElement("a:Address").SetText(soap.AddressAnonymous)
	if action != "" {
		a := h.CreateElement("a:Action")
		a.CreateAttr("s:mustUnderstand", "true")
		a.SetText(action)
	}
	mes := h.CreateElement("w:MaxEnvelopeSize")
	mes.CreateAttr("s:mustUnderstand", "true")
	mes.SetText(strconv.Itoa(c.maxEnvelope))
	h.CreateElement("a:MessageID").SetText("uuid:" + strings.ToUpper(uuid.NewString()))
	loc := h.CreateElement("w:Locale")
	loc.CreateAttr("xml:lang", "en-US")
	loc.CreateAttr("s:mustUnderstand", "false")
	h.CreateElement("w:OperationTimeout").SetText(soap.FormatDuration(c.timeout))
	body := env.CreateElement("s:Body")
	return &request{doc: doc, head: h, body: body}
}

// selectors adds a wsman:SelectorSet to the request headers.
func (r *request) selectors(sels []selector) {
	if len(sels) == 0 {
		return
	}
	ss := r.head.CreateElement("w:SelectorSet")
	for _, s := range sels {
		e := ss.CreateElement("w:Selector")
		e.CreateAttr("Name", s.name)
		if s.ref != nil {
			s.ref.WriteEPR(e.CreateElement("a:EndpointReference"), "")
			continue
		}
		e.SetText(s.value)
	}
}

// roundTrip posts r and returns the parsed answer. A SOAP fault comes back
// as a *Fault error.
func (c *Client) roundTrip(ctx context.Context, r *request) (*soap.Envelope, error) {
	data, err := r.doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("client: encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.Header.Set("User-Agent", "replicactl")
	switch {
	case c.user != "":
		req.SetBasicAuth(c.user, c.password)
	case r.identify:
		req.Header.Set("WSMANIDENTIFY", "unauthenticated")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("client: %s: %w", c.url, ctx.Err())
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, c.url, unwrapURLError(err))
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: read answer: %w", ErrUnreachable, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, ErrUnauthorized
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, fmt.Errorf("%w: HTTP %d with an empty body", ErrProtocol, resp.StatusCode)
	}
	env, err := soap.Parse(out)
	if err != nil {
		return nil, fmt.Errorf("%w: HTTP %d: %w", ErrProtocol, resp.StatusCode, err)
	}
	if f := parseFault(env.Body); f != nil {
		f.HTTPStatus = resp.StatusCode
		return nil, f
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d", ErrProtocol, resp.StatusCode)
	}
	return env, nil
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the
// method and address.
func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// parseFault returns the fault in body, or nil when body is no s:Fault.
func parseFault(body *etree.Element) *Fault {
	if body == nil || body.Tag != "Fault" || body.NamespaceURI() != soap.NSEnvelope {
		return nil
	}
	f := &Fault{}
	if code := childLocal(body, "Code"); code != nil {
		f.Code = strings.TrimSpace(textOf(childLocal(code, "Value")))
		if sub := childLocal(code, "Subcode"); sub != nil {
			v := strings.TrimSpace(textOf(childLocal(sub, "Value")))
			if i := strings.IndexByte(v, ':'); i >= 0 {
				v = v[i+1:]
			}
			f.Subcode = v
		}
	}
	if reason := childLocal(body, "Reason"); reason != nil {
		f.Reason = strings.TrimSpace(textOf(childLocal(reason, "Text")))
	}
	if detail := childLocal(body, "Detail"); detail != nil {
		if wf := childLocal(detail, "WSManFault"); wf != nil {
			n, _ := strconv.ParseUint(wf.SelectAttrValue("Code", "0"), 10, 32)
			f.WSManCode = uint32(n)
			if msg := childLocal(wf, "Message"); msg != nil {
				f.Message = strings.TrimSpace(msg.Text())
			}
		}
	}
	return f
}

// childLocal returns the first child element of e with local name local.
func childLocal(e *etree.Element, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == local {
			return c
		}
	}
	return nil
}

func textOf(e *etree.Element) string {
	if e == nil {
		return ""
	}
	return e.Text()
}
