package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// Options tune a Client; the zero value works.
type Options struct {
	// Auth is how the client logs on (default AuthBasic when a user is
	// given).
	Auth Auth
	// Insecure skips the verification of the server's TLS certificate
	// (self-signed certificates).
	Insecure bool
	// CAFile is a PEM file of the certificates that may sign the server's
	// (default: the system's).
	CAFile string
	// CertFile and KeyFile are the PEM client certificate and its key, for
	// AuthCertificate.
	CertFile, KeyFile string
	// Krb5Config, CCache and SPN tune AuthKerberos: the Kerberos
	// configuration (default KRB5_CONFIG, else /etc/krb5.conf), the
	// credential cache (default KRB5CCNAME, else /tmp/krb5cc_UID) and the
	// service principal (default HTTP/host of the URL).
	Krb5Config, CCache, SPN string
	// Timeout bounds one HTTP exchange and is sent as the
	// wsman:OperationTimeout (default 60 s).
	Timeout time.Duration
	// MaxEnvelopeSize is sent as wsman:MaxEnvelopeSize (default 512000).
	MaxEnvelopeSize int
	// HTTPClient replaces the HTTP client New builds (the TLS settings and
	// Timeout are then ignored).
	HTTPClient *http.Client
}

// Client talks WS-Management to one endpoint. It is safe for concurrent use;
// Negotiate and Kerberos logons send one request at a time, on one
// connection.
type Client struct {
	url, user, password string
	basic               string // the Authorization header of Basic logons
	timeout             time.Duration
	maxEnvelope         int
	http                *http.Client
	auth                Auth
	opts                Options
	// err is Open's error, returned by every call of a client New made.
	err error

	// mu serializes the exchanges of a connection-bound logon.
	mu       sync.Mutex
	loggedOn bool
	sess     sealer // the NTLM session over plain HTTP, nil otherwise
	krb      *krbclient.Client
}

// DefaultTimeout is the operation timeout when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// New returns a client of the endpoint url (e.g.
// "http://127.0.0.1:5985/wsman") that logs on as opts.Auth says (Basic
// when user is not empty, by default). An error in the options (a CA or
// certificate file that cannot be read) is returned by every call; Open
// returns it at once.
func New(url, user, password string, opts Options) *Client {
	c, err := Open(url, user, password, opts)
	c.err = err
	return c
}

// Open is New returning the options' error at once, with a client.
func Open(url, user, password string, opts Options) (*Client, error) {
	c := &Client{url: url, user: user, password: password, timeout: opts.Timeout, maxEnvelope: opts.MaxEnvelopeSize,
		auth: opts.Auth, opts: opts}
	if c.auth == "" {
		c.auth = AuthBasic
	}
	c.opts.Auth = c.auth
	c.basic = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxEnvelope <= 0 {
		c.maxEnvelope = 512000
	}
	c.http = opts.HTTPClient
	var err error
	if c.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig, err = tlsConfig(c.opts)
		if c.auth == AuthNegotiate || c.auth == AuthKerberos {
			// The logon belongs to the connection.
			tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = 1, 1
		}
		c.http = &http.Client{Transport: tr, Timeout: c.timeout + 10*time.Second}
	}
	if err == nil && c.auth == AuthCertificate && !strings.HasPrefix(url, "https://") {
		err = errors.New("client: certificate authentication needs an https:// URL")
	}
	if err == nil && c.auth == AuthNegotiate && user == "" {
		err = errors.New("client: Negotiate authentication needs a user name")
	}
	return c, err
}

// request is an outgoing envelope, written as text as it is built: the
// header (newRequest, then selectors), then the body (openBody, elements,
// then bytes closes it). What it writes is what an etree of the same
// elements serialised to (AppendEscaped's escaping, an element without
// content as <tag/>), as the client wrote requests before.
type request struct {
	b      []byte
	inBody bool // the header is closed and the body open
	// identify marks an Identify, which a client without credentials sends
	// with the header WSMANIDENTIFY: unauthenticated ([MS-WSMV] 3.1.4.1.23).
	identify bool
}

// envelopeStart opens every request.
const envelopeStart = `<s:Envelope xmlns:s="` + soap.NSEnvelope + `" xmlns:a="` + soap.NSAddressing + `" xmlns:w="` + soap.NSWSMan + `">`

// newRequest starts an envelope with the addressing and WS-Management
// headers WinRM clients send: To, ResourceURI (when not empty), ReplyTo,
// Action, MaxEnvelopeSize, MessageID, Locale, OperationTimeout.
func (c *Client) newRequest(action, resourceURI string) *request {
	b := make([]byte, 0, 1024)
	b = append(b, envelopeStart+"<s:Header>"...)
	b = soap.AppendTextElement(b, "a:To", c.url)
	if resourceURI != "" {
		b = append(b, `<w:ResourceURI s:mustUnderstand="true">`...)
		b = soap.AppendEscaped(b, resourceURI)
		b = append(b, "</w:ResourceURI>"...)
	}
	b = append(b, "<a:ReplyTo><a:Address>"+soap.AddressAnonymous+"</a:Address></a:ReplyTo>"...)
	if action != "" {
		b = append(b, `<a:Action s:mustUnderstand="true">`...)
		b = soap.AppendEscaped(b, action)
		b = append(b, "</a:Action>"...)
	}
	b = append(b, `<w:MaxEnvelopeSize s:mustUnderstand="true">`...)
	b = strconv.AppendInt(b, int64(c.maxEnvelope), 10)
	b = append(b, "</w:MaxEnvelopeSize><a:MessageID>"...)
	b = soap.AppendID(b)
	b = append(b, `</a:MessageID><w:Locale xml:lang="en-US" s:mustUnderstand="false"/>`...)
	b = soap.AppendTextElement(b, "w:OperationTimeout", soap.FormatDuration(c.timeout))
	return &request{b: b}
}

// selectors adds a wsman:SelectorSet to the request headers.
func (r *request) selectors(sels []selector) {
	if len(sels) == 0 {
		return
	}
	r.b = append(r.b, "<w:SelectorSet>"...)
	for _, s := range sels {
		r.b = append(r.b, `<w:Selector Name="`...)
		r.b = soap.AppendEscaped(r.b, s.name)
		switch {
		case s.ref != nil:
			r.b = append(r.b, `"><a:EndpointReference>`...)
			r.b = cimmodel.AppendEPR(r.b, *s.ref, "", cimmodel.EPRNative)
			r.b = append(r.b, "</a:EndpointReference></w:Selector>"...)
		case s.value == "":
			r.b = append(r.b, `"/>`...)
		default:
			r.b = append(r.b, `">`...)
			r.b = soap.AppendEscaped(r.b, s.value)
			r.b = append(r.b, "</w:Selector>"...)
		}
	}
	r.b = append(r.b, "</w:SelectorSet>"...)
}

// openBody closes the header and opens the body, with the namespace
// declaration decl (` xmlns:p="uri"`, or "").
func (r *request) openBody(decl string) {
	r.b = append(r.b, "</s:Header><s:Body"...)
	r.b = append(r.b, decl...)
	r.b = append(r.b, '>')
	r.inBody = true
}

// bytes ends the envelope and returns it.
func (r *request) bytes() []byte {
	if !r.inBody {
		return append(r.b, "</s:Header><s:Body/></s:Envelope>"...)
	}
	return append(r.b, "</s:Body></s:Envelope>"...)
}

// roundTrip posts r and returns the answer read and the first element of
// its body (none for an empty body); release the reply when done. A SOAP
// fault comes back as a *Fault error.
func (c *Client) roundTrip(ctx context.Context, r *request) (*reply, int32, error) {
	if c.err != nil {
		return nil, none, c.err
	}
	status, out, err := c.exchange(ctx, r.bytes(), r.identify)
	if err != nil {
		if ctx.Err() != nil {
			return nil, none, fmt.Errorf("client: %s: %w", c.url, ctx.Err())
		}
		return nil, none, err
	}
	if status == http.StatusUnauthorized {
		return nil, none, ErrUnauthorized
	}
	return parseAnswer(status, out)
}

// exchange posts data as the client's logon requires and returns the
// status and the (unsealed) answer.
func (c *Client) exchange(ctx context.Context, data []byte, identify bool) (int, []byte, error) {
	if c.auth == AuthKerberos || (c.auth == AuthNegotiate && !(identify && c.user == "")) {
		return c.sessionExchange(ctx, data)
	}
	req, err := c.newHTTPRequest(ctx, data, "application/soap+xml;charset=UTF-8")
	if err != nil {
		return 0, nil, err
	}
	switch {
	case c.auth == AuthCertificate:
		req.Header.Set("Authorization", certificateAuthorization)
	case c.user != "":
		req.Header.Set("Authorization", c.basic) // as SetBasicAuth writes it
	case identify:
		req.Header.Set("WSMANIDENTIFY", "unauthenticated")
	}
	return c.do(req, nil)
}

// newHTTPRequest is a POST of body to the endpoint.
func (c *Client) newHTTPRequest(ctx context.Context, body []byte, contentType string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "replicactl")
	return req, nil
}

// send sends req; a failure is ErrUnreachable, or ErrCertificate when the
// server's certificate is not trusted.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		if terr := tlsError(c.url, err); terr != nil {
			return nil, terr
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, c.url, unwrapURLError(err))
	}
	return resp, nil
}

// do sends req and reads the answer, unsealing it with sess when sealed.
func (c *Client) do(req *http.Request, sess sealer) (int, []byte, error) {
	resp, err := c.send(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := readAnswer(resp)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: read answer: %w", ErrUnreachable, err)
	}
	if isSealed(resp.Header.Get("Content-Type")) {
		if sess == nil {
			return 0, nil, fmt.Errorf("%w: a sealed answer without a session", ErrProtocol)
		}
		if out, err = unsealBody(out, sess); err != nil {
			return 0, nil, err
		}
	}
	return resp.StatusCode, out, nil
}

// maxAnswer bounds the answer read, in bytes; answerPrealloc is the largest
// announced length read into a buffer of that length at once (a larger
// answer grows as it arrives, so that a server cannot make the client hold
// more than it has sent).
const (
	maxAnswer      = 64 << 20
	answerPrealloc = 1 << 20
)

// readAnswer reads resp's body, at most maxAnswer bytes, into a buffer of the
// body's announced length when there is one (the server sends it), so that
// an 8 KB answer is not read through a doubling buffer.
func readAnswer(resp *http.Response) ([]byte, error) {
	body := io.LimitReader(resp.Body, maxAnswer)
	if n := resp.ContentLength; n > 0 && n <= answerPrealloc {
		out := make([]byte, n)
		if _, err := io.ReadFull(body, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	return io.ReadAll(body)
}

// parseAnswer reads an answer other than 401, which the reply returned
// borrows: out must not change while the reply or what is decoded from it
// is in use. An envelope of a shape the reply does not check itself is
// checked by soap.Parse, so that it is refused with Parse's error.
func parseAnswer(status int, out []byte) (*reply, int32, error) {
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, none, fmt.Errorf("%w: HTTP %d with an empty body", ErrProtocol, status)
	}
	r, err := readReply(out)
	if err != nil {
		return nil, none, fmt.Errorf("%w: HTTP %d: %w", ErrProtocol, status, err)
	}
	body, plain := r.envelope()
	if !plain {
		if _, err := soap.Parse(out); err != nil {
			r.release()
			return nil, none, fmt.Errorf("%w: HTTP %d: %w", ErrProtocol, status, err)
		}
		body = r.body()
	}
	if f := r.fault(body); f != nil {
		r.release()
		f.HTTPStatus = status
		return nil, none, f
	}
	if status != http.StatusOK {
		r.release()
		return nil, none, fmt.Errorf("%w: HTTP %d", ErrProtocol, status)
	}
	return r, body, nil
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
