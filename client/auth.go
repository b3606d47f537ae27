package client

import (
	"context"
	"crypto"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strings"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
)

// Auth names how a Client logs on.
type Auth string

// The logons a Client can make, as the other WinRM clients name them.
const (
	// AuthBasic sends the user name and password with every request
	// (over HTTPS, or plain HTTP where the server allows it).
	AuthBasic Auth = "basic"
	// AuthNegotiate logs the connection on with NTLM (user name and
	// password) and, over plain HTTP, seals every message with the
	// logon's session keys ([MS-WSMV] 2.2.9.1.1), as pywinrm does.
	AuthNegotiate Auth = "negotiate"
	// AuthKerberos logs the connection on with a Kerberos service ticket
	// got with the ticket-granting ticket of the user's credential cache
	// (KRB5CCNAME, as kinit leaves it), mutual authentication required,
	// and over plain HTTP seals every message with RFC 4121 Wrap tokens.
	AuthKerberos Auth = "kerberos"
	// AuthCertificate logs on with a TLS client certificate
	// (Options.CertFile and KeyFile) over HTTPS.
	AuthCertificate Auth = "certificate"
)

// ParseAuth returns the Auth named s ("" is AuthBasic).
func ParseAuth(s string) (Auth, error) {
	switch a := Auth(strings.ToLower(s)); a {
	case "":
		return AuthBasic, nil
	case AuthBasic, AuthNegotiate, AuthKerberos, AuthCertificate:
		return a, nil
	}
	return "", fmt.Errorf("client: unknown authentication %q (want basic, negotiate, kerberos or certificate)", s)
}

// certificateAuthorization is the Authorization header of a certificate
// logon ([MS-WSMV] 2.2.9.1; WinRM and pywinrm send it).
const certificateAuthorization = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"

// ErrCertificate means the server's TLS certificate could not be verified.
var ErrCertificate = errors.New("client: the server's TLS certificate is not trusted")

// tlsConfig builds the TLS settings of opts: the CA file, verification
// off with Insecure, the client certificate.
func tlsConfig(opts Options) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: opts.Insecure} //nolint:gosec // asked for by --insecure
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("client: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client: CA file %s holds no PEM certificate", opts.CAFile)
		}
		cfg.RootCAs = pool
	}
	if opts.Auth == AuthCertificate {
		if opts.CertFile == "" || opts.KeyFile == "" {
			return nil, errors.New("client: certificate authentication needs a certificate file and a key file")
		}
		pair, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// tlsError returns err marked with ErrCertificate when it is a failure to
// verify the server's certificate, nil otherwise.
func tlsError(url string, err error) error {
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid) {
		return fmt.Errorf("%w: %s: %w", ErrCertificate, url, unwrapURLError(err))
	}
	return nil
}

// kerberosClient returns a gokrb5 client with the user's credential cache:
// Options.CCache, else KRB5CCNAME, else /tmp/krb5cc_UID; and the Kerberos
// configuration Options.Krb5Config, else KRB5_CONFIG, else /etc/krb5.conf.
func kerberosClient(opts Options) (*krbclient.Client, error) {
	confPath := opts.Krb5Config
	if confPath == "" {
		confPath, _, _ = strings.Cut(os.Getenv("KRB5_CONFIG"), ":")
	}
	if confPath == "" {
		confPath = "/etc/krb5.conf"
	}
	cfg, err := krbconfig.Load(confPath)
	if err != nil {
		return nil, fmt.Errorf("client: Kerberos configuration %s: %w", confPath, err)
	}
	cc := opts.CCache
	if cc == "" {
		cc = os.Getenv("KRB5CCNAME")
	}
	if cc == "" {
		cc = fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid())
	}
	if kind, path, ok := strings.Cut(cc, ":"); ok {
		if kind != "FILE" {
			return nil, fmt.Errorf("client: credential cache %s: only FILE: caches are read", cc)
		}
		cc = path
	}
	cache, err := credentials.LoadCCache(cc)
	if err != nil {
		return nil, fmt.Errorf("client: credential cache %s (run kinit): %w", cc, err)
	}
	cl, err := krbclient.NewFromCCache(cache, cfg, krbclient.DisablePAFXFAST(true))
	if err != nil {
		return nil, fmt.Errorf("client: credential cache %s: %w", cc, err)
	}
	return cl, nil
}

// sessionExchange posts data on the connection's logon (Negotiate or
// Kerberos), logging on first, and once more when the server no longer
// knows the logon (a new connection). Exchanges are serialized: the logon
// belongs to one connection and sealed messages travel in order.
func (c *Client) sessionExchange(ctx context.Context, data []byte) (int, []byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if !c.loggedOn {
			if err := c.logon(ctx); err != nil {
				return 0, nil, err
			}
		}
		body, ct := data, "application/soap+xml;charset=UTF-8"
		if c.sess != nil {
			var err error
			if body, ct, err = sealBody(data, c.sess); err != nil {
				return 0, nil, err
			}
		}
		req, err := c.newHTTPRequest(ctx, body, ct)
		if err != nil {
			return 0, nil, err
		}
		var reused bool
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		}))
		status, out, err := c.do(req, c.sess)
		if err != nil {
			c.loggedOn, c.sess = false, nil
			// A kept-alive connection the server had closed takes the logon
			// with it and fails the message before the server reads it: log
			// on again on a new connection and send it once more.
			if reused && attempt == 0 && errors.Is(err, ErrUnreachable) && ctx.Err() == nil {
				continue
			}
			return 0, nil, err
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			c.loggedOn, c.sess = false, nil
			continue
		}
		return status, out, nil
	}
}

// logon logs the connection on: NTLM for AuthNegotiate, a Kerberos AP-REQ
// for AuthKerberos (kerberos.go), each with a session that seals over plain
// HTTP. Like pywinrm, it sends the handshake with empty bodies.
func (c *Client) logon(ctx context.Context) error {
	if c.auth == AuthKerberos {
		return c.kerberosLogon(ctx)
	}
	neg := ntlmNegotiate()
	resp, err := c.negotiateLeg(ctx, neg)
	if err != nil {
		return err
	}
	value, ok := strings.CutPrefix(resp.Header.Get("WWW-Authenticate"), "Negotiate ")
	if resp.StatusCode != http.StatusUnauthorized || !ok {
		return fmt.Errorf("%w: HTTP %d without an NTLM challenge to Negotiate", ErrProtocol, resp.StatusCode)
	}
	challenge, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil {
		return fmt.Errorf("%w: NTLM challenge: %w", ErrProtocol, err)
	}
	auth, ntlmSess, err := ntlmAuthenticate(neg, challenge, c.user, c.password, peerBinding(resp))
	if err != nil {
		return err
	}
	if resp, err = c.negotiateLeg(ctx, auth); err != nil {
		return err
	}
	if err := logonAccepted(resp); err != nil {
		return err
	}
	c.setLoggedOn(ntlmSess)
	return nil
}

// negotiateLeg posts an empty body with "Authorization: Negotiate token" (no
// Authorization when token is nil) and returns the answer, its body drained.
func (c *Client) negotiateLeg(ctx context.Context, token []byte) (*http.Response, error) {
	req, err := c.newHTTPRequest(ctx, nil, "application/soap+xml;charset=UTF-8")
	if err != nil {
		return nil, err
	}
	if token != nil {
		req.Header.Set("Authorization", "Negotiate "+base64.StdEncoding.EncodeToString(token))
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp, nil
}

// logonAccepted tells whether the last leg of a logon was accepted.
func logonAccepted(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized:
		return ErrUnauthorized
	}
	return fmt.Errorf("%w: HTTP %d to the logon", ErrProtocol, resp.StatusCode)
}

// setLoggedOn records a finished logon and the session that seals its messages
// over plain HTTP (over HTTPS, TLS protects them).
func (c *Client) setLoggedOn(sess sealer) {
	c.loggedOn, c.sess = true, sess
	if strings.HasPrefix(c.url, "https://") {
		c.sess = nil
	}
}

// spn is the Kerberos service principal: Options.SPN, else HTTP/host.
func (c *Client) spn() string {
	if c.opts.SPN != "" {
		return c.opts.SPN
	}
	u, err := url.Parse(c.url)
	if err != nil {
		return "HTTP/localhost"
	}
	return "HTTP/" + u.Hostname()
}

// channelBinding returns the MD5 of the gss_channel_bindings_struct (RFC
// 2744 3.11, little-endian as SSPI and MIT lay it out) with no addresses
// and the RFC 5929 tls-server-end-point binding of cert: what NTLM's
// MsvAvChannelBindings and Kerberos' checksum Bnd carry, so that a server
// under strict channel binding (Extended Protection) accepts the logon.
func channelBinding(cert *x509.Certificate) []byte {
	h := crypto.SHA256
	switch cert.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		h = crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		h = crypto.SHA512
	}
	d := h.New()
	d.Write(cert.Raw)
	app := append([]byte("tls-server-end-point:"), d.Sum(nil)...)
	b := make([]byte, 16, 20+len(app))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(app)))
	sum := md5.Sum(append(b, app...))
	return sum[:]
}

// peerBinding returns the channel binding of the TLS connection resp came
// on, nil over plain HTTP.
func peerBinding(resp *http.Response) []byte {
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return nil
	}
	return channelBinding(resp.TLS.PeerCertificates[0])
}
