package integration

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/masterzen/simplexml/dom"
	"github.com/masterzen/winrm"
	wsoap "github.com/masterzen/winrm/soap"
)

// Issue 16 items 2 and 3: channel binding of NTLM logons over HTTPS, and
// client certificate logons, with pywinrm (Debian python3-winrm with
// requests-ntlm and ntlm-auth) as the client.

// certPyInput is pyInput with the certificate transport's files and
// pywinrm's send_cbt.
type certPyInput struct {
	Endpoint          string   `json:"endpoint"`
	Transport         string   `json:"transport"`
	Username          string   `json:"username,omitempty"`
	Password          string   `json:"password,omitempty"`
	MessageEncryption string   `json:"message_encryption"`
	Messages          []string `json:"messages"`
	CertPEM           string   `json:"cert_pem,omitempty"`
	CertKeyPEM        string   `json:"cert_key_pem,omitempty"`
	SendCBT           *bool    `json:"send_cbt,omitempty"`
}

// pywinrmWith runs testdata/clients/pywinrm_client.py as pywinrm does, with
// in as its input.
func pywinrmWith(t *testing.T, in certPyInput) pyOutput {
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
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REQUESTS_CA_BUNDLE=") && !strings.HasPrefix(kv, "CURL_CA_BUNDLE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "OPENSSL_CONF="+conf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pywinrm client: %v\n%s", err, stderr.String())
	}
	var got pyOutput
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("pywinrm client output: %v\n%s", err, out)
	}
	return got
}

// refused reports whether pywinrm's first message was answered 401.
func refused(out pyOutput) bool {
	return len(out.Replies) > 0 && out.Replies[0].Status == 401
}

// statuses lists the replies' statuses, for messages.
func statuses(out pyOutput) []int {
	var s []int
	for _, r := range out.Replies {
		s = append(s, r.Status)
	}
	return s
}

// testCert is a certificate with its key, written as PEM files.
type testCert struct {
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	certFile string
	keyFile  string
}

var certSerial int64

// makeCert issues a certificate from tmpl, signed by ca (self-signed when
// nil), and writes it and its key to dir.
func makeCert(t *testing.T, dir, name string, tmpl *x509.Certificate, ca *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	certSerial++
	tmpl.SerialNumber = big.NewInt(certSerial)
	if tmpl.Subject.CommonName == "" {
		tmpl.Subject = pkix.Name{CommonName: name}
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCert{cert: cert, key: key, certFile: filepath.Join(dir, name+".pem"), keyFile: filepath.Join(dir, name+".key")}
	if err := os.WriteFile(c.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// upnExtension is a subjectAltName holding upn as a Microsoft UPN
// (otherName 1.3.6.1.4.1.311.20.2.3), as Windows' enrollment writes it.
func upnExtension(t *testing.T, upn string) pkix.Extension {
	t.Helper()
	str, err := asn1.MarshalWithParams(upn, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	other, err := asn1.Marshal(struct {
		Type  asn1.ObjectIdentifier
		Value asn1.RawValue
	}{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3},
		asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: str}})
	if err != nil {
		t.Fatal(err)
	}
	other[0] = 0xa0 // otherName is [0] IMPLICIT in GeneralName
	san, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: other})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: san}
}

// clientTmpl is a client certificate's template.
func clientTmpl(from, to time.Time, upn string, eku ...x509.ExtKeyUsage) func(t *testing.T) *x509.Certificate {
	return func(t *testing.T) *x509.Certificate {
		tmpl := &x509.Certificate{NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku}
		if upn != "" {
			tmpl.ExtraExtensions = []pkix.Extension{upnExtension(t, upn)}
		}
		return tmpl
	}
}

// replicadUser runs `replicad user ARGS --data-dir dataDir`.
func replicadUser(t *testing.T, dataDir string, args ...string) (string, error) {
	t.Helper()
	requireDaemon(t)
	out, err := exec.Command(binary, append(append([]string{"user"}, args...), "--data-dir", dataDir)...).CombinedOutput()
	return string(out), err
}

// TestPywinrmCertificateLogon logs on with pywinrm's certificate
// transport (TLS client certificate plus the https/mutual Authorization
// header): a certificate mapped by itself and one mapped by issuer and
// UPN log on as their users; unmapped, expired and non-clientAuth
// certificates are refused, and so is a mapping removed with --remove.
func TestPywinrmCertificateLogon(t *testing.T) {
	t.Parallel()
	dataDir, _ := prepareUsers(t, map[string]string{"certuser": "admin", "carol": "admin"})
	dir := t.TempDir()
	now := time.Now()
	from, to := now.Add(-time.Hour), now.Add(24*time.Hour)
	clientAuth := x509.ExtKeyUsageClientAuth
	self := makeCert(t, dir, "self", clientTmpl(from, to, "", clientAuth)(t), nil)
	unmapped := makeCert(t, dir, "unmapped", clientTmpl(from, to, "", clientAuth)(t), nil)
	ca := makeCert(t, dir, "ca", &x509.Certificate{NotBefore: from, NotAfter: to, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil)
	byUPN := makeCert(t, dir, "carol", clientTmpl(from, to, "carol@EXAMPLE.TEST", clientAuth)(t), ca)
	otherUPN := makeCert(t, dir, "mallory", clientTmpl(from, to, "mallory@example.test", clientAuth)(t), ca)
	expired := makeCert(t, dir, "expired", clientTmpl(now.Add(-48*time.Hour), now.Add(-24*time.Hour), "carol@example.test", clientAuth)(t), ca)
	serverOnly := makeCert(t, dir, "server-only", clientTmpl(from, to, "carol@example.test", x509.ExtKeyUsageServerAuth)(t), ca)

	if out, err := replicadUser(t, dataDir, "cert", "certuser", self.certFile); err != nil {
		t.Fatalf("replicad user cert: %v\n%s", err, out)
	}
	if out, err := replicadUser(t, dataDir, "cert", "carol", ca.certFile, "--upn", "carol@example.test"); err != nil {
		t.Fatalf("replicad user cert --upn: %v\n%s", err, out)
	}
	// Mapping a certificate that could not log on is refused up front.
	if out, err := replicadUser(t, dataDir, "cert", "certuser", serverOnly.certFile); err == nil || !strings.Contains(out, "Client Authentication") {
		t.Errorf("mapping a server-only certificate: %v\n%s", err, out)
	}
	if out, err := replicadUser(t, dataDir, "list"); err != nil || !strings.Contains(out, "certificate sha256:") || !strings.Contains(out, "upn carol@example.test") {
		t.Errorf("replicad user list: %v\n%s", err, out)
	}

	d := startTLSDaemon(t, dataDir, "--allow-unencrypted=false")
	url := "https://" + d.tlsAddr() + "/wsman"
	logon := func(c *testCert) pyOutput {
		t.Helper()
		return pywinrmWith(t, certPyInput{Endpoint: url, Transport: "certificate", MessageEncryption: "auto",
			CertPEM: c.certFile, CertKeyPEM: c.keyFile, Messages: wsmanMessages(url)})
	}
	for _, tt := range []struct {
		name string
		cert *testCert
		user string
	}{
		{"mapped by the certificate", self, "certuser"},
		{"mapped by issuer and UPN", byUPN, "carol"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := logon(tt.cert)
			pyChecks(t, out)
			if !loggedUser(d, tt.user) {
				t.Errorf("no access log line for user %s\n%s", tt.user, d.logText())
			}
		})
	}
	for _, tt := range []struct {
		name string
		cert *testCert
	}{
		{"unmapped", unmapped},
		{"issuer mapped, other UPN", otherUPN},
		{"expired", expired},
		{"not for client authentication", serverOnly},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if out := logon(tt.cert); !refused(out) {
				t.Errorf("statuses %v, want 401", statuses(out))
			}
		})
	}
	d.stop()

	if out, err := replicadUser(t, dataDir, "cert", "certuser", "--remove"); err != nil || !strings.Contains(out, "removed 1") {
		t.Fatalf("replicad user cert --remove: %v\n%s", err, out)
	}
	d = startTLSDaemon(t, dataDir, "--allow-unencrypted=false")
	url = "https://" + d.tlsAddr() + "/wsman"
	if out := logon(self); !refused(out) {
		t.Errorf("removed mapping: statuses %v, want 401", statuses(out))
	}
	pyChecks(t, logon(byUPN))
}

// loggedUser reports whether the access log has (or gets within 10 s) a
// request line for user.
func loggedUser(d *daemon, user string) bool {
	// The log arrives through a pipe, after the reply: wait up to 10 s.
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, e := range d.logsWith("wsman") {
			if e["user"] == user && e["status"] != nil && e["status"] != float64(401) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tlsProxy terminates TLS with a certificate of its own and forwards each
// connection to backend over a new TLS connection, as a TLS-inspecting
// proxy (or an attacker relaying a logon) does: a client that binds its
// NTLM logon to the TLS channel binds it to the proxy's certificate.
func tlsProxy(t *testing.T, backend string) string {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	pc := makeCert(t, dir, "proxy", &x509.Certificate{NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"localhost"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}, nil)
	pair, err := tls.LoadX509KeyPair(pc.certFile, pc.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				b, err := tls.Dial("tcp", backend, &tls.Config{InsecureSkipVerify: true})
				if err != nil {
					return
				}
				defer b.Close()
				done := make(chan struct{}, 2)
				pipe := func(dst, src net.Conn) {
					io.Copy(dst, src)
					if cw, ok := dst.(interface{ CloseWrite() error }); ok {
						cw.CloseWrite()
					}
					done <- struct{}{}
				}
				go pipe(b, c)
				go pipe(c, b)
				<-done
				<-done
			}()
		}
	}()
	return ln.Addr().String()
}

// TestPywinrmNTLMChannelBinding runs pywinrm's NTLM over HTTPS against
// each --channel-binding level: directly (requests-ntlm binds the logon
// to replicad's certificate), without a binding (send_cbt=False), and
// through a TLS-terminating proxy (the binding is the proxy's
// certificate's). A wrong binding is refused under relaxed and strict, a
// missing one only under strict; none accepts all three.
func TestPywinrmNTLMChannelBinding(t *testing.T) {
	t.Parallel()
	no := false
	for _, tt := range []struct {
		level                       string
		direct, noBinding, viaProxy bool // accepted?
	}{
		{"none", true, true, true},
		{"relaxed", true, true, false},
		{"strict", true, false, false},
	} {
		t.Run(tt.level, func(t *testing.T) {
			dataDir, pw := prepareUsers(t, nil)
			d := startTLSDaemon(t, dataDir, "--allow-unencrypted=false", "--channel-binding", tt.level)
			direct := "https://" + d.tlsAddr() + "/wsman"
			proxied := "https://" + tlsProxy(t, d.tlsAddr()) + "/wsman"
			for _, c := range []struct {
				name   string
				url    string
				cbt    *bool
				accept bool
			}{
				{"correct binding", direct, nil, tt.direct},
				{"no binding", direct, &no, tt.noBinding},
				{"binding of a proxy's certificate", proxied, nil, tt.viaProxy},
			} {
				out := pywinrmWith(t, certPyInput{Endpoint: c.url, Transport: "ntlm", Username: "admin", Password: pw,
					MessageEncryption: "auto", SendCBT: c.cbt, Messages: wsmanMessages(c.url)})
				if c.accept {
					t.Run(c.name, func(t *testing.T) { pyChecks(t, out) })
				} else if !refused(out) {
					t.Errorf("%s: statuses %v, want 401", c.name, statuses(out))
				}
			}
			if tt.level != "none" && !d.waitText("channel binding") { // the log comes through a pipe, after the reply
				t.Errorf("no refusal logged with the channel binding reason\n%s", d.logText())
			}
		})
	}
}

// TestMasterzenNTLMWithoutBinding: masterzen/winrm's NTLM (go-ntlmssp)
// sends no channel binding, so over HTTPS it logs on under relaxed and is
// refused under strict.
func TestMasterzenNTLMWithoutBinding(t *testing.T) {
	t.Parallel()
	for _, level := range []string{"relaxed", "strict"} {
		t.Run(level, func(t *testing.T) {
			dataDir, pw := prepareUsers(t, nil)
			d := startTLSDaemon(t, dataDir, "--allow-unencrypted=false", "--channel-binding", level)
			m, _ := masterzenClient(t, d.tlsAddr(), true, "admin", pw, func() winrm.Transporter {
				return winrm.NewClientNTLMWithDial((&net.Dialer{}).Dial)
			})
			if level == "relaxed" {
				masterzenCalls(t, m)
				return
			}
			id := wsoap.NewMessage()
			id.Header().Build()
			id.CreateBodyElement("Identify", dom.Namespace{Prefix: "wsmid", Uri: nsIdentity})
			if _, err := m.send(t, id); err == nil || !strings.Contains(err.Error(), "401") {
				t.Errorf("Identify under strict without a binding: %v, want a 401", err)
			}
			if !d.waitText("the client sent no channel binding") {
				t.Errorf("refusal not logged with its reason\n%s", d.logText())
			}
		})
	}
}
