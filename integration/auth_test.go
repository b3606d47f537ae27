package integration

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
	"github.com/masterzen/simplexml/dom"
	"github.com/masterzen/winrm"
	wsoap "github.com/masterzen/winrm/soap"
)

// The tests below drive the daemon with real WinRM clients: pywinrm (NTLM
// with HTTP-SPNEGO message encryption over HTTP, Basic over HTTPS) and
// masterzen/winrm (NTLM, Basic over HTTPS).

const identifyEnvelope = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>`

// openSSLLegacy enables OpenSSL 3's legacy provider for the Python client:
// python3-ntlm-auth computes the NT hash with hashlib's MD4, which Debian's
// OpenSSL 3 only offers through that provider.
const openSSLLegacy = `openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
`

type pyInput struct {
	Endpoint          string   `json:"endpoint"`
	Transport         string   `json:"transport"`
	Username          string   `json:"username"`
	Password          string   `json:"password"`
	MessageEncryption string   `json:"message_encryption"`
	Messages          []string `json:"messages"`
	Tamper            *int     `json:"tamper,omitempty"`
	KerberosHost      string   `json:"kerberos_hostname_override,omitempty"`
}

type pyOutput struct {
	Encrypted bool `json:"encrypted"`
	Replies   []struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"replies"`
	ContentTypes []string `json:"content_types"`
}

// pywinrm runs testdata/clients/pywinrm_client.py with /usr/bin/python3.
func pywinrm(t *testing.T, in pyInput, env ...string) pyOutput {
	t.Helper()
	requireClient(t, "pywinrm (python3-winrm)", func() error {
		return exec.Command("/usr/bin/python3", "-c", "import winrm, requests_ntlm").Run()
	})
	conf := filepath.Join(t.TempDir(), "openssl.cnf")
	if err := os.WriteFile(conf, []byte(openSSLLegacy), 0o600); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(in)
	cmd := exec.Command("/usr/bin/python3", "testdata/clients/pywinrm_client.py")
	cmd.Stdin = bytes.NewReader(raw)
	// pywinrm 0.3.0 lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE override
	// server_cert_validation='ignore', so they are left out.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REQUESTS_CA_BUNDLE=") && !strings.HasPrefix(kv, "CURL_CA_BUNDLE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, "OPENSSL_CONF="+conf), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pywinrm client: %v\n%s", err, stderr.String())
	}
	var res pyOutput
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("pywinrm client output %q: %v\n%s", out, err, stderr.String())
	}
	return res
}

// prepareUsers writes DATA/users with admin (password known to the test,
// also in DATA/admin-password as startDaemon expects) and the extra users
// given as name → role, each with password name+"-pw" (--force: shorter than
// 12 characters), through the real
// `replicad user add`.
func prepareUsers(t *testing.T, extra map[string]string) (dataDir, adminPassword string) {
	t.Helper()
	requireDaemon(t)
	dataDir = t.TempDir()
	adminPassword = "Adm1n-" + strings.Repeat("x", 8)
	add := func(name, role, pw string) {
		cmd := exec.Command(binary, "user", "add", name, "--role", role, "--password-stdin", "--force", "--data-dir", dataDir)
		cmd.Stdin = strings.NewReader(pw + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("replicad user add %s: %v\n%s", name, err, out)
		}
	}
	add("admin", "admin", adminPassword)
	for name, role := range extra {
		add(name, role, name+"-pw")
	}
	if err := os.WriteFile(filepath.Join(dataDir, "admin-password"), []byte(adminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dataDir, adminPassword
}

// tlsAddr starts nothing: it returns the HTTPS address a daemon logged.
func (d *daemon) tlsAddr() string {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range d.logsWith("listening") {
			if e["scheme"] == "https" {
				return e["addr"].(string)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.t.Fatalf("no https listener logged\n%s", d.logText())
	return ""
}

// startTLSDaemon makes a certificate with `replicad cert` and starts a
// daemon with both listeners.
func startTLSDaemon(t *testing.T, dataDir string, extra ...string) *daemon {
	t.Helper()
	requireDaemon(t)
	certDir := t.TempDir()
	if out, err := exec.Command(binary, "cert", "--out", certDir, "--host", "replicad.test").CombinedOutput(); err != nil {
		t.Fatalf("replicad cert: %v\n%s", err, out)
	}
	args := append([]string{"--listen-tls", "127.0.0.1:0", "--tls-cert", filepath.Join(certDir, "cert.pem"), "--tls-key", filepath.Join(certDir, "key.pem")}, extra...)
	return startDaemon(t, dataDir, args...)
}

// wsmanMessages are the three calls each client makes: Identify, Enumerate
// of the replication service, and an Invoke of a method the service lacks
// on no instance, which must come back as a fault (InvalidSelectors or
// ActionNotSupported) through the same sealed channel.
func wsmanMessages(url string) []string {
	return []string{
		identifyEnvelope,
		enumerateEnvelope(url, uriReplService, ""),
		invokeEnvelope(url, uriReplService, "NoSuchMethod", nil, ""),
	}
}

// checkReplies checks the answers to wsmanMessages.
func checkReplies(t *testing.T, statuses []int, bodies []string) {
	t.Helper()
	want := []struct {
		status int
		text   string
	}{
		{200, "IdentifyResponse"},
		{200, "EnumerateResponse"},
		{500, "Fault"},
	}
	if len(statuses) != len(want) {
		t.Fatalf("got %d replies, want %d: %v", len(statuses), len(want), bodies)
	}
	for i, w := range want {
		if statuses[i] != w.status || !strings.Contains(bodies[i], w.text) {
			t.Errorf("reply %d: status %d, want %d with %s; body:\n%.600s", i, statuses[i], w.status, w.text, bodies[i])
		}
	}
}

func pyChecks(t *testing.T, out pyOutput) {
	t.Helper()
	var statuses []int
	var bodies []string
	for _, r := range out.Replies {
		statuses = append(statuses, r.Status)
		bodies = append(bodies, r.Body)
	}
	checkReplies(t, statuses, bodies)
}

func TestPywinrmNTLMEncrypted(t *testing.T) {
	t.Parallel()
	dataDir, pw := prepareUsers(t, nil)
	d := startDaemon(t, dataDir, "--allow-unencrypted=false")
	out := pywinrm(t, pyInput{Endpoint: d.url(), Transport: "ntlm", Username: "admin", Password: pw,
		MessageEncryption: "auto", Messages: wsmanMessages(d.url())})
	if !out.Encrypted {
		t.Fatalf("pywinrm did not set up message encryption")
	}
	pyChecks(t, out)
	for i, ct := range out.ContentTypes {
		if !strings.HasPrefix(ct, `multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted"`) {
			t.Errorf("reply %d Content-Type = %q, want multipart/encrypted HTTP-SPNEGO", i, ct)
		}
	}
	if len(out.ContentTypes) != 3 {
		t.Errorf("saw %d replies' Content-Type, want 3", len(out.ContentTypes))
	}
	lines := d.waitLogs("wsman", 2)
	if len(lines) < 2 || lines[len(lines)-1]["user"] != "admin" {
		t.Errorf("access log lines %v, want ones for user admin", lines)
	}
	if strings.Contains(d.logText(), pw) {
		t.Errorf("the log contains the password")
	}
}

func TestPywinrmBasicHTTPS(t *testing.T) {
	t.Parallel()
	dataDir, pw := prepareUsers(t, nil)
	d := startTLSDaemon(t, dataDir, "--allow-unencrypted=false")
	url := "https://" + d.tlsAddr() + "/wsman"
	out := pywinrm(t, pyInput{Endpoint: url, Transport: "ssl", Username: "admin", Password: pw,
		MessageEncryption: "auto", Messages: wsmanMessages(url)})
	if out.Encrypted {
		t.Errorf("pywinrm encrypted messages over HTTPS, want TLS only")
	}
	pyChecks(t, out)
	// The same Basic credentials over plain HTTP are refused.
	status, _ := d.post("admin", pw, []byte(enumerateEnvelope(d.url(), uriReplService, "")), "")
	if status != 401 {
		t.Errorf("Basic over HTTP with --allow-unencrypted=false: status %d, want 401", status)
	}
}

func TestPywinrmNTLMOverHTTPS(t *testing.T) {
	t.Parallel()
	dataDir, pw := prepareUsers(t, nil)
	d := startTLSDaemon(t, dataDir, "--allow-unencrypted=false")
	url := "https://" + d.tlsAddr() + "/wsman"
	// Over HTTPS pywinrm does not seal, and requests-ntlm adds channel
	// bindings to the AUTHENTICATE message, which the default --channel-binding
	// relaxed checks (certauth_test.go covers every level).
	out := pywinrm(t, pyInput{Endpoint: url, Transport: "ntlm", Username: "admin", Password: pw,
		MessageEncryption: "auto", Messages: wsmanMessages(url)})
	if out.Encrypted {
		t.Errorf("pywinrm sealed messages over HTTPS, want TLS only")
	}
	pyChecks(t, out)
}

// masterzenClient returns a masterzen/winrm client for url with the given
// transport decorator (nil: Basic).
func masterzenClient(t *testing.T, addr string, https bool, user, password string, decorator func() winrm.Transporter) (*masterzen, string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	endpoint := winrm.NewEndpoint(host, p, https, true, nil, nil, nil, 0)
	params := winrm.NewParameters("PT60S", "en-US", 153600)
	if decorator == nil {
		decorator = func() winrm.Transporter { return winrm.NewClientWithDial((&net.Dialer{}).Dial) }
	}
	transport := decorator()
	params.TransportDecorator = func() winrm.Transporter { return transport }
	client, err := winrm.NewClientWithParameters(endpoint, user, password, params)
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	url := scheme + "://" + addr + "/wsman"
	return &masterzen{client: client, transport: transport, url: url}, url
}

// masterzenCalls runs the three calls with m and checks them.
func masterzenCalls(t *testing.T, m *masterzen) {
	t.Helper()
	var statuses []int
	var bodies []string
	record := func(msg *wsoap.SoapMessage) {
		doc, err := m.send(t, msg)
		switch {
		case err != nil && (strings.Contains(err.Error(), "SOAP fault") || strings.Contains(err.Error(), "500") && strings.Contains(err.Error(), "Fault")):
			statuses, bodies = append(statuses, 500), append(bodies, err.Error())
		case err != nil:
			statuses, bodies = append(statuses, -1), append(bodies, err.Error())
		default:
			statuses, bodies = append(statuses, 200), append(bodies, docString(doc))
		}
	}
	id := wsoap.NewMessage()
	id.Header().Build()
	id.CreateBodyElement("Identify", dom.Namespace{Prefix: "wsmid", Uri: nsIdentity})
	record(id)
	enum := m.message(actionEnumerate, uriReplService)
	enum.CreateBodyElement("Enumerate", wsoap.DOM_NS_ENUM)
	record(enum)
	inv := m.message(uriReplService+"/NoSuchMethod", uriReplService)
	inv.CreateBodyElement("NoSuchMethod_INPUT", dom.Namespace{Prefix: "p", Uri: uriReplService})
	record(inv)
	checkReplies(t, statuses, bodies)
}

func TestMasterzenNTLM(t *testing.T) {
	t.Parallel()
	dataDir, pw := prepareUsers(t, nil)
	d := startDaemon(t, dataDir) // loopback: unencrypted messages allowed by default
	m, _ := masterzenClient(t, d.addr, false, "admin", pw, func() winrm.Transporter {
		return winrm.NewClientNTLMWithDial((&net.Dialer{}).Dial)
	})
	masterzenCalls(t, m)
	if n := len(d.waitLogs("wsman", 2)); n < 2 {
		t.Errorf("%d access log lines, want at least 2", n)
	}
}

func TestMasterzenBasicHTTPS(t *testing.T) {
	t.Parallel()
	dataDir, pw := prepareUsers(t, nil)
	d := startTLSDaemon(t, dataDir, "--allow-unencrypted=false")
	m, _ := masterzenClient(t, d.tlsAddr(), true, "admin", pw, nil)
	masterzenCalls(t, m)
}

func TestUnencryptedNTLMRefused(t *testing.T) {
	t.Parallel()
	dataDir, pw := prepareUsers(t, nil)
	d := startDaemon(t, dataDir, "--allow-unencrypted=false")
	m, _ := masterzenClient(t, d.addr, false, "admin", pw, func() winrm.Transporter {
		return winrm.NewClientNTLMWithDial((&net.Dialer{}).Dial)
	})
	enum := m.message(actionEnumerate, uriReplService)
	enum.CreateBodyElement("Enumerate", wsoap.DOM_NS_ENUM)
	if _, err := m.send(t, enum); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("unsealed NTLM Enumerate over HTTP: err = %v, want 401", err)
	}
	if !d.waitText("unencrypted message over HTTP refused") {
		t.Errorf("no log line says why\n%s", d.logText())
	}
}

func TestReaderRole(t *testing.T) {
	t.Parallel()
	dataDir, _ := prepareUsers(t, map[string]string{"viewer": "reader"})
	d := startDaemon(t, dataDir)
	out := pywinrm(t, pyInput{Endpoint: d.url(), Transport: "ntlm", Username: "viewer", Password: "viewer-pw",
		MessageEncryption: "auto", Messages: []string{
			enumerateEnvelope(d.url(), uriReplService, ""),
			invokeEnvelope(d.url(), uriReplService, "CreateGroupReplica", nil, ""),
		}})
	if len(out.Replies) != 2 {
		t.Fatalf("replies %+v, want 2", out.Replies)
	}
	if r := out.Replies[0]; r.Status != 200 || !strings.Contains(r.Body, "EnumerateResponse") {
		t.Errorf("reader Enumerate: %d %.300s, want 200 EnumerateResponse", r.Status, r.Body)
	}
	if r := out.Replies[1]; r.Status != 500 || !strings.Contains(r.Body, "AccessDenied") {
		t.Errorf("reader Invoke: %d %.600s, want 500 AccessDenied", r.Status, r.Body)
	}
}

func TestBadLogonsAndTampering(t *testing.T) {
	t.Parallel()
	dataDir, pw := prepareUsers(t, nil)
	d := startDaemon(t, dataDir)
	wrong := pywinrm(t, pyInput{Endpoint: d.url(), Transport: "ntlm", Username: "admin", Password: "wrong-" + pw,
		MessageEncryption: "auto", Messages: []string{identifyEnvelope}})
	if len(wrong.Replies) == 0 || wrong.Replies[0].Status != 401 {
		t.Errorf("NTLM with a wrong password: %+v, want 401", wrong.Replies)
	}
	one := 1
	tampered := pywinrm(t, pyInput{Endpoint: d.url(), Transport: "ntlm", Username: "admin", Password: pw,
		MessageEncryption: "auto", Messages: []string{identifyEnvelope, identifyEnvelope}, Tamper: &one})
	if len(tampered.Replies) != 2 || tampered.Replies[0].Status != 200 || tampered.Replies[1].Status != 401 {
		t.Errorf("tampered second message: %+v, want 200 then 401", tampered.Replies)
	}
	// The daemon still serves a fresh client.
	out := pywinrm(t, pyInput{Endpoint: d.url(), Transport: "ntlm", Username: "admin", Password: pw,
		MessageEncryption: "auto", Messages: wsmanMessages(d.url())})
	pyChecks(t, out)
	log := d.logText()
	for _, secret := range []string{pw, base64.StdEncoding.EncodeToString([]byte("admin:" + pw))} {
		if strings.Contains(log, secret) {
			t.Errorf("the log contains a secret (%.4s…)", secret)
		}
	}
	if !d.waitText("encrypted message refused") {
		t.Errorf("no log line for the tampered message\n%s", log)
	}
}

// ntlmConn is one TCP connection to the daemon speaking raw NTLM with
// go-ntlmssp, so that the test controls each message.
type ntlmConn struct {
	t      *testing.T
	client *http.Client
	url    string
}

func newNTLMConn(t *testing.T, url string) *ntlmConn {
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	t.Cleanup(tr.CloseIdleConnections)
	return &ntlmConn{t: t, client: &http.Client{Transport: tr}, url: url}
}

func (c *ntlmConn) post(auth string, body string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// handshake returns the AUTHENTICATE message it sent and the final status.
func (c *ntlmConn) handshake(user, password, body string) ([]byte, int) {
	c.t.Helper()
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	status, hdr := c.post("NTLM "+base64.StdEncoding.EncodeToString(neg), body)
	if status != 401 || !strings.HasPrefix(hdr, "NTLM ") {
		c.t.Fatalf("NEGOTIATE answered %d %q, want 401 with an NTLM challenge", status, hdr)
	}
	ch, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(hdr, "NTLM "))
	if err != nil {
		c.t.Fatal(err)
	}
	auth, err := ntlmssp.ProcessChallenge(ch, user, password)
	if err != nil {
		c.t.Fatal(err)
	}
	status, _ = c.post("NTLM "+base64.StdEncoding.EncodeToString(auth), body)
	return auth, status
}

func TestNTLMReplayAndTruncation(t *testing.T) {
	t.Parallel()
	dataDir, pw := prepareUsers(t, nil)
	d := startDaemon(t, dataDir)
	body := enumerateEnvelope(d.url(), uriReplService, "")
	first := newNTLMConn(t, d.url())
	auth, status := first.handshake("admin", pw, body)
	if status != 200 {
		t.Fatalf("handshake: status %d, want 200", status)
	}
	// Later requests on the same connection need no Authorization header.
	if status, _ := first.post("", body); status != 200 {
		t.Errorf("second request on the logged-on connection: %d, want 200", status)
	}
	// A new connection may not skip the handshake.
	second := newNTLMConn(t, d.url())
	if status, _ := second.post("", body); status != 401 {
		t.Errorf("request on a new connection without credentials: %d, want 401", status)
	}
	// The captured AUTHENTICATE, replayed against a new challenge.
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	second.post("NTLM "+base64.StdEncoding.EncodeToString(neg), body)
	if status, _ := second.post("NTLM "+base64.StdEncoding.EncodeToString(auth), body); status != 401 {
		t.Errorf("replayed AUTHENTICATE: %d, want 401", status)
	}
	// Truncated messages in both legs.
	third := newNTLMConn(t, d.url())
	for _, tok := range [][]byte{neg[:10], auth[:50], []byte("garbage")} {
		if status, _ := third.post("Negotiate "+base64.StdEncoding.EncodeToString(tok), body); status != 401 {
			t.Errorf("truncated token %x: %d, want 401", tok, status)
		}
	}
	if status, _ := third.post("Negotiate !!!not-base64", body); status != 401 {
		t.Errorf("token that is not base64: %d, want 401", status)
	}
	// The daemon still serves the first connection.
	if status, _ := first.post("", body); status != 200 {
		t.Errorf("first connection after the bad input: %d, want 200", status)
	}
}

// TestFailedLogonsRateLimited: ten wrong NTLM passwords for admin put
// (this address, admin) in backoff: admin's right password is then refused
// unchecked, over NTLM (whose NEGOTIATE, naming no user yet, still gets
// its challenge) and Basic, with a log line for the lockout; another user
// from the same address is not locked out.
func TestFailedLogonsRateLimited(t *testing.T) {
	t.Parallel()
	dataDir, pw := prepareUsers(t, map[string]string{"viewer": "reader"})
	d := startDaemon(t, dataDir)
	body := enumerateEnvelope(d.url(), uriReplService, "")
	c := newNTLMConn(t, d.url())
	for i := 0; i < 10; i++ {
		if _, status := c.handshake("admin", "wrong", body); status != 401 {
			t.Fatalf("wrong password %d: status %d, want 401", i, status)
		}
	}
	if _, status := newNTLMConn(t, d.url()).handshake("admin", pw, body); status != 401 {
		t.Errorf("NTLM with the right password after 10 failures: %d, want 401", status)
	}
	if status, _ := d.post("admin", pw, []byte(body), ""); status != 401 {
		t.Errorf("Basic with the right password after 10 failures: %d, want 401", status)
	}
	if status, _ := d.post("viewer", "viewer-pw", []byte(body), ""); status != 200 {
		t.Errorf("another user from the same address: %d, want 200", status)
	}
	if !d.waitText("too many failed logons") || !d.waitText(`"msg":"wsman logons throttled"`) {
		t.Errorf("no log lines for the lockout\n%s", d.logText())
	}
}

// waitText waits up to 10 s for text to appear in the log.
func (d *daemon) waitText(text string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.logText(), text) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
