package integration

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	bin "encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	krbclient "github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	gspnego "github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/masterzen/winrm"
	wsoap "github.com/masterzen/winrm/soap"
)

const testRealm = "REPLICAD.TEST"

// kdc is a real MIT Kerberos KDC (Debian krb5-kdc) with its realm in a
// temporary folder.
type kdc struct {
	dir, krb5conf string
	env           []string
}

// startKDC creates the realm, the principals alice (password alice-krb) and
// HTTP/localhost, WSMAN/localhost and HTTP/elsewhere (random keys), writes
// the keytab of HTTP/localhost and WSMAN/localhost to DIR/http.keytab, and runs krb5kdc on a free port of
// 127.0.0.1 until the test ends.
func startKDC(t *testing.T) *kdc {
	t.Helper()
	requireDaemon(t)
	for _, tool := range []string{"krb5kdc", "kdb5_util", "kadmin.local"} {
		requireClient(t, "MIT Kerberos KDC (krb5-kdc, krb5-admin-server)", func() error {
			if _, err := exec.LookPath(tool); err == nil {
				return nil
			}
			_, err := os.Stat("/usr/sbin/" + tool)
			return err
		})
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	k := &kdc{dir: dir, krb5conf: filepath.Join(dir, "krb5.conf")}
	krb5 := fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 dns_lookup_realm = false
 dns_lookup_kdc = false
 rdns = false
 udp_preference_limit = 1
 default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
 default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
 permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
[realms]
 %[1]s = {
  kdc = 127.0.0.1:%[2]d
 }
[domain_realm]
 localhost = %[1]s
`, testRealm, port)
	kdcConf := fmt.Sprintf(`[kdcdefaults]
 kdc_listen = 127.0.0.1:%[2]d
 kdc_tcp_listen = 127.0.0.1:%[2]d
[realms]
 %[1]s = {
  database_name = %[3]s/principal
  key_stash_file = %[3]s/stash
  acl_file = %[3]s/kadm5.acl
  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal aes256-cts-hmac-sha1-96:onlyrealm
  max_life = 1h
 }
[logging]
 kdc = FILE:%[3]s/kdc.log
`, testRealm, port, dir)
	for name, content := range map[string]string{"krb5.conf": krb5, "kdc.conf": kdcConf, "kadm5.acl": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	k.env = append(os.Environ(), "KRB5_CONFIG="+k.krb5conf, "KRB5_KDC_PROFILE="+filepath.Join(dir, "kdc.conf"))
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = k.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run("kdb5_util", "create", "-s", "-r", testRealm, "-P", "master-"+fmt.Sprint(port))
	run("kadmin.local", "-r", testRealm, "-q", "addprinc -pw alice-krb alice")
	run("kadmin.local", "-r", testRealm, "-q", "addprinc -randkey HTTP/localhost")
	run("kadmin.local", "-r", testRealm, "-q", "addprinc -randkey HTTP/elsewhere")
	run("kadmin.local", "-r", testRealm, "-q", "addprinc -randkey WSMAN/localhost")
	run("kadmin.local", "-r", testRealm, "-q", "ktadd -k "+filepath.Join(dir, "http.keytab")+" HTTP/localhost WSMAN/localhost")
	// HTTP/twin and WSMAN/twin share one key, as two SPNs of one account do
	// in a domain (a salt of the realm alone, and one password); twin.keytab
	// holds HTTP/twin only, as ktpass writes one name.
	for _, p := range []string{"HTTP/twin", "WSMAN/twin"} {
		run("kadmin.local", "-r", testRealm, "-q", "addprinc -e aes256-cts-hmac-sha1-96:onlyrealm -pw twin-account-key "+p)
	}
	run("kadmin.local", "-r", testRealm, "-q", "ktadd -norandkey -k "+filepath.Join(dir, "twin.keytab")+" HTTP/twin")

	cmd := exec.Command("krb5kdc", "-n", "-r", testRealm, "-P", filepath.Join(dir, "kdc.pid"))
	cmd.Env = k.env
	if err := cmd.Start(); err != nil {
		t.Fatalf("krb5kdc: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "kdc.log"))
			t.Fatalf("krb5kdc does not listen on %d: %v\n%s", port, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return k
}

// kerberosClient is masterzen/winrm's Kerberos transport (gokrb5) asking
// the KDC for a ticket to spn.
func kerberosClient(t *testing.T, k *kdc, d *daemon, user, password, spn string) *masterzen {
	t.Helper()
	_, port, _ := net.SplitHostPort(d.addr)
	var p int
	fmt.Sscan(port, &p)
	m, _ := masterzenClient(t, "localhost:"+port, false, user, password, func() winrm.Transporter {
		return winrm.NewClientKerberos(&winrm.Settings{
			WinRMUsername: user, WinRMPassword: password, WinRMHost: "localhost", WinRMPort: p, WinRMProto: "http",
			KrbRealm: testRealm, KrbConfig: k.krb5conf, KrbSpn: spn,
		})
	})
	return m
}

func TestKerberosWithKDC(t *testing.T) {
	t.Parallel()
	k := startKDC(t)
	dataDir, _ := prepareUsers(t, map[string]string{"alice": "admin"})
	d := startDaemon(t, dataDir, "--keytab", filepath.Join(k.dir, "http.keytab"), "--kerberos-principal", "HTTP/localhost")

	t.Run("masterzen", func(t *testing.T) {
		m := kerberosClient(t, k, d, "alice", "alice-krb", "HTTP/localhost")
		masterzenCalls(t, m)
		lines := d.waitLogs("wsman", 2)
		if len(lines) < 2 || lines[len(lines)-1]["user"] != "alice" {
			t.Errorf("access log %v, want lines for alice", lines)
		}
	})
	t.Run("ticket for another service", func(t *testing.T) {
		m := kerberosClient(t, k, d, "alice", "alice-krb", "HTTP/elsewhere")
		enum := m.message(actionEnumerate, uriReplService)
		enum.CreateBodyElement("Enumerate", wsoap.DOM_NS_ENUM)
		if _, err := m.send(t, enum); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("ticket for HTTP/elsewhere: err = %v, want 401", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		m := kerberosClient(t, k, d, "alice", "not-alice", "HTTP/localhost")
		enum := m.message(actionEnumerate, uriReplService)
		enum.CreateBodyElement("Enumerate", wsoap.DOM_NS_ENUM)
		if _, err := m.send(t, enum); err == nil {
			t.Errorf("Kerberos logon with a wrong password succeeded")
		}
	})
	if !d.waitText("Kerberos ticket is for another service: ticket for HTTP/elsewhere@" + testRealm) {
		t.Errorf("no log line naming the refused ticket's service\n%s", d.logText())
	}
}

// kinit gets user's TGT into a ccache of its own and returns the
// environment that uses it.
func (k *kdc) kinit(t *testing.T, user, password string) []string {
	t.Helper()
	env := append(append([]string{}, k.env...), "KRB5CCNAME=FILE:"+filepath.Join(k.dir, "ccache-"+user))
	cmd := exec.Command("kinit", user+"@"+testRealm)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit %s: %v\n%s", user, err, out)
	}
	return env
}

// pywinrmKerberosOutput is what testdata/pywinrm/sealed_kerberos.py prints.
type pywinrmKerberosOutput struct {
	Reply      string
	Encryption bool
	Exchanges  []struct {
		Status                         int
		Request, RequestBody           string
		Reply, ReplyBody, Authenticate string
	}
}

// runPywinrmKerberos runs sealed_kerberos.py against url with alice's
// ccache and the message_encryption mode given.
func runPywinrmKerberos(t *testing.T, k *kdc, d *daemon, url, mode string) pywinrmKerberosOutput {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", "testdata/pywinrm/sealed_kerberos.py", url, mode)
	// pywinrm 0.3.0 lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE override
	// server_cert_validation='ignore' (as in auth_test.go).
	for _, kv := range k.kinit(t, "alice", "alice-krb") {
		if !strings.HasPrefix(kv, "REQUESTS_CA_BUNDLE=") && !strings.HasPrefix(kv, "CURL_CA_BUNDLE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("sealed_kerberos.py: %v\n%s\n%s\n%s", err, out, stderr, d.logText())
	}
	var got pywinrmKerberosOutput
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("sealed_kerberos.py output: %v\n%s", err, out)
	}
	if !strings.Contains(got.Reply, "EnumerationContext") {
		t.Errorf("reply %q, want an EnumerateResponse", got.Reply)
	}
	// The logon's answer carries the AP-REP (requests-kerberos checked it,
	// or the script would have failed with a MutualAuthenticationError).
	for _, x := range got.Exchanges {
		if x.Status == 200 {
			if !strings.HasPrefix(x.Authenticate, "Negotiate ") {
				t.Errorf("first 200: WWW-Authenticate %q, want the final Negotiate token", x.Authenticate)
			}
			break
		}
	}
	return got
}

// TestKerberosPywinrm runs testdata/pywinrm/sealed_kerberos.py: pywinrm's
// kerberos transport, whose requests-kerberos requires mutual
// authentication, over plain HTTP with message encryption 'always' (MIT
// gss_wrap_iov through Debian's pykerberos) against a daemon that refuses
// unsealed messages over HTTP (--allow-unencrypted=false), and over HTTPS
// unsealed.
func TestKerberosPywinrm(t *testing.T) {
	t.Parallel()
	requirePywinrm(t)
	requireClient(t, "python3-requests-kerberos and kinit (krb5-user)", func() error {
		if _, err := exec.LookPath("kinit"); err != nil {
			return err
		}
		return exec.Command("/usr/bin/python3", "-c", "import requests_kerberos, kerberos").Run()
	})
	k := startKDC(t)
	dataDir, _ := prepareUsers(t, map[string]string{"alice": "admin"})
	d := startTLSDaemon(t, dataDir, "--keytab", filepath.Join(k.dir, "http.keytab"), "--kerberos-principal", "HTTP/localhost",
		"--allow-unencrypted=false")
	t.Run("sealed over HTTP", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(d.addr)
		got := runPywinrmKerberos(t, k, d, "http://localhost:"+port+"/wsman", "always")
		sealed := 0
		for _, x := range got.Exchanges {
			if x.Status != 200 || x.RequestBody == "" { // the empty POST that sets the session up
				continue
			}
			sealed++
			for _, ct := range []string{x.Request, x.Reply} {
				if !strings.HasPrefix(ct, "multipart/encrypted") || !strings.Contains(ct, "HTTP-SPNEGO-session-encrypted") {
					t.Errorf("Content-Type %q, want multipart/encrypted HTTP-SPNEGO-session-encrypted", ct)
				}
			}
			if strings.Contains(x.RequestBody+x.ReplyBody, "Envelope") {
				t.Errorf("a SOAP envelope in clear on the wire: %q / %q", x.RequestBody, x.ReplyBody)
			}
		}
		if !got.Encryption || sealed == 0 {
			t.Errorf("encryption %v, no sealed exchange among %+v", got.Encryption, got.Exchanges)
		}
	})
	t.Run("HTTPS", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(d.tlsAddr())
		got := runPywinrmKerberos(t, k, d, "https://localhost:"+port+"/wsman", "auto")
		if got.Encryption {
			t.Errorf("pywinrm sealed over HTTPS with message_encryption='auto'")
		}
	})
}

// krbGoClient is a WinRM client built on gokrb5 that logs on with mutual
// authentication and seals with RFC 4121 Wrap tokens of its own making
// (the IOV layout of [MS-KILE] 3.4.5.4.1), on one kept-alive connection.
type krbGoClient struct {
	t          *testing.T
	url        string
	http       *http.Client
	scheme     string // "Kerberos" (raw token) or "Negotiate" (SPNEGO)
	sessionKey types.EncryptionKey
	auth       types.Authenticator
	subkey     types.EncryptionKey // the acceptor's, from the AP-REP
	sendSeq    uint64
	recvSeq    uint64
}

// newKrbGoClient gets alice's ticket for spn from the KDC.
func newKrbGoClient(t *testing.T, k *kdc, url, scheme, spn string) (*krbGoClient, messages.Ticket) {
	t.Helper()
	cfg, err := config.Load(k.krb5conf)
	if err != nil {
		t.Fatal(err)
	}
	cl := krbclient.NewWithPassword("alice", testRealm, "alice-krb", cfg, krbclient.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		t.Fatalf("gokrb5 login: %v", err)
	}
	tkt, key, err := cl.GetServiceTicket(spn)
	if err != nil {
		t.Fatalf("ticket for %s: %v", spn, err)
	}
	c := &krbGoClient{t: t, url: url, scheme: scheme, sessionKey: key,
		http: &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}}
	c.auth, err = types.NewAuthenticator(testRealm, cl.Credentials.CName())
	if err != nil {
		t.Fatal(err)
	}
	et, _ := crypto.GetEtype(key.KeyType)
	if err := c.auth.GenerateSeqNumberAndSubKey(key.KeyType, et.GetKeyByteSize()); err != nil {
		t.Fatal(err)
	}
	// RFC 4121 4.1.1 checksum: Lgth 16, no channel binding, mutual |
	// sequence | confidentiality | integrity.
	ck := make([]byte, 24)
	bin.LittleEndian.PutUint32(ck, 16)
	bin.LittleEndian.PutUint32(ck[20:], gssapi.ContextFlagMutual|gssapi.ContextFlagSequence|gssapi.ContextFlagConf|gssapi.ContextFlagInteg)
	c.auth.Cksum = types.Checksum{CksumType: chksumtype.GSSAPI, Checksum: ck}
	c.sendSeq = uint64(c.auth.SeqNumber)
	return c, tkt
}

func (c *krbGoClient) post(header map[string]string, body []byte) *http.Response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp
}

// logon sends the AP-REQ and checks the AP-REP of the answer: encrypted
// with the session key, ctime and cusec of our authenticator, an acceptor
// subkey. It returns the final WWW-Authenticate value.
func (c *krbGoClient) logon(tkt messages.Ticket) string {
	c.t.Helper()
	resp := c.sendAPReq(tkt)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	final := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("logon: %d %q", resp.StatusCode, final)
	}
	return c.checkAPRep(final)
}

// sendAPReq posts the AP-REQ for tkt with an empty body.
func (c *krbGoClient) sendAPReq(tkt messages.Ticket) *http.Response {
	c.t.Helper()
	apReq, err := messages.NewAPReq(tkt, c.sessionKey, c.auth)
	if err != nil {
		c.t.Fatal(err)
	}
	types.SetFlag(&apReq.APOptions, flags.APOptionMutualRequired)
	reqBytes, err := apReq.Marshal()
	if err != nil {
		c.t.Fatal(err)
	}
	oid, _ := asn1.Marshal(gssapi.OIDKRB5.OID())
	token := asn1tools.AddASNAppTag(append(append(oid, 0x01, 0x00), reqBytes...), 0)
	if c.scheme == "Negotiate" {
		init := gspnego.SPNEGOToken{Init: true, NegTokenInit: gspnego.NegTokenInit{
			MechTypes: []asn1.ObjectIdentifier{gssapi.OIDKRB5.OID()}, MechTokenBytes: token}}
		if token, err = init.Marshal(); err != nil {
			c.t.Fatal(err)
		}
	}
	return c.post(map[string]string{"Authorization": c.scheme + " " + base64.StdEncoding.EncodeToString(token)}, nil)
}

// checkAPRep checks the final token and takes the acceptor subkey and
// sequence number from it.
func (c *krbGoClient) checkAPRep(final string) string {
	c.t.Helper()
	scheme, enc, _ := strings.Cut(final, " ")
	raw, err := base64.StdEncoding.DecodeString(enc)
	if scheme != c.scheme || err != nil {
		c.t.Fatalf("final WWW-Authenticate %q, want %s with a token", final, c.scheme)
	}
	if c.scheme == "Negotiate" {
		var resp gspnego.SPNEGOToken
		if err := resp.Unmarshal(raw); err != nil || !resp.Resp {
			c.t.Fatalf("final token is no NegTokenResp: %v", err)
		}
		r := resp.NegTokenResp
		if r.NegState != 0 || !r.SupportedMech.Equal(gssapi.OIDKRB5.OID()) {
			c.t.Errorf("NegTokenResp negState %v supportedMech %v, want accept-completed and Kerberos", r.NegState, r.SupportedMech)
		}
		raw = r.ResponseToken
	}
	var kt gspnego.KRB5Token
	if err := kt.Unmarshal(raw); err != nil || !kt.IsAPRep() {
		c.t.Fatalf("final token is no AP-REP: %v", err)
	}
	plain, err := crypto.DecryptEncPart(kt.APRep.EncPart, c.sessionKey, keyusage.AP_REP_ENCPART)
	if err != nil {
		c.t.Fatalf("AP-REP does not decrypt with the session key: %v", err)
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		c.t.Fatal(err)
	}
	if !part.CTime.Equal(c.auth.CTime.Truncate(time.Second)) || part.Cusec != c.auth.Cusec || len(part.Subkey.KeyValue) == 0 {
		c.t.Fatalf("EncAPRepPart ctime %v cusec %d subkey %d bytes; want %v, %d and an acceptor subkey",
			part.CTime, part.Cusec, len(part.Subkey.KeyValue), c.auth.CTime, c.auth.Cusec)
	}
	c.subkey, c.recvSeq = part.Subkey, uint64(part.SequenceNumber)
	return final
}

// wrap seals msg as the initiator with the acceptor subkey: the header
// part (token header + the rotated ciphertext's head) and the data part.
func (c *krbGoClient) wrap(msg []byte, seq uint64) (header, data []byte) {
	c.t.Helper()
	hdr := []byte{0x05, 0x04, 0x06, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // Sealed | AcceptorSubkey
	bin.BigEndian.PutUint64(hdr[8:], seq)
	et, _ := crypto.GetEtype(c.subkey.KeyType)
	_, ct, err := et.EncryptMessage(c.subkey.KeyValue, append(append([]byte{}, msg...), hdr...), 24) // KG-USAGE-INITIATOR-SEAL
	if err != nil {
		c.t.Fatal(err)
	}
	rrc := 16 + et.GetHMACBitLength()/8
	rotated := append(append([]byte{}, ct[len(ct)-rrc:]...), ct[:len(ct)-rrc]...)
	hdr[7] = byte(rrc)
	split := len(rotated) - len(msg)
	return append(hdr, rotated[:split]...), rotated[split:]
}

// unwrap checks and opens the acceptor's token.
func (c *krbGoClient) unwrap(header, data []byte) []byte {
	c.t.Helper()
	tok := append(append([]byte{}, header...), data...)
	if len(tok) < 16 || tok[0] != 0x05 || tok[1] != 0x04 || tok[2] != 0x07 {
		c.t.Fatalf("reply token header %x, want 05 04 with SentByAcceptor | Sealed | AcceptorSubkey", tok[:min(16, len(tok))])
	}
	if seq := bin.BigEndian.Uint64(tok[8:16]); seq != c.recvSeq {
		c.t.Errorf("reply SND_SEQ %d, want %d (the AP-REP's, counting on)", seq, c.recvSeq)
	}
	c.recvSeq++
	rrc := int(bin.BigEndian.Uint16(tok[6:8]))
	ct := tok[16:]
	ct = append(append([]byte{}, ct[rrc:]...), ct[:rrc]...)
	plain, err := crypto.DecryptMessage(ct, c.subkey, 22) // KG-USAGE-ACCEPTOR-SEAL
	if err != nil {
		c.t.Fatalf("reply does not unseal with the acceptor subkey: %v", err)
	}
	return plain[:len(plain)-16]
}

// sealedPost sends msg sealed under protocol and returns the status and
// the unsealed reply ("" when the answer is not sealed).
func (c *krbGoClient) sealedPost(protocol string, msg []byte, seq uint64) (int, string) {
	c.t.Helper()
	header, data := c.wrap(msg, seq)
	var b bytes.Buffer
	fmt.Fprintf(&b, "--Encrypted Boundary\r\n\tContent-Type: %s\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n", protocol, len(msg))
	bin.Write(&b, bin.LittleEndian, uint32(len(header)))
	b.Write(header)
	b.Write(data)
	b.WriteString("--Encrypted Boundary--\r\n")
	resp := c.post(map[string]string{"Content-Type": `multipart/encrypted;protocol="` + protocol + `";boundary="Encrypted Boundary"`}, b.Bytes())
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return resp.StatusCode, ""
	}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, `protocol="`+protocol+`"`) {
		c.t.Fatalf("reply Content-Type %q, want multipart/encrypted under %s", ct, protocol)
	}
	// --Encrypted Boundary\r\n<headers>--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n<len><header><data>--Encrypted Boundary--\r\n
	parts := bytes.SplitN(body, []byte("--Encrypted Boundary\r\n"), 3)
	if len(parts) != 3 {
		c.t.Fatalf("reply body %q is not two MIME parts", body)
	}
	payload := bytes.TrimPrefix(parts[2], []byte("\tContent-Type: application/octet-stream\r\n"))
	payload = bytes.TrimSuffix(payload, []byte("--Encrypted Boundary--\r\n"))
	n := bin.LittleEndian.Uint32(payload)
	return resp.StatusCode, string(c.unwrap(payload[4:4+n], payload[4+n:]))
}

// TestKerberosGoClientSealed logs on with a gokrb5 client of the test's,
// raw under the Kerberos scheme (HTTP-Kerberos-session-encrypted) and in
// SPNEGO under Negotiate (HTTP-SPNEGO-session-encrypted), with tickets for
// HTTP/localhost and WSMAN/localhost, and seals requests and unseals
// replies both ways against a daemon that refuses unsealed messages over
// HTTP.
func TestKerberosGoClientSealed(t *testing.T) {
	t.Parallel()
	k := startKDC(t)
	dataDir, _ := prepareUsers(t, map[string]string{"alice": "admin"})
	d := startDaemon(t, dataDir, "--keytab", filepath.Join(k.dir, "http.keytab"), "--kerberos-principal", "HTTP/localhost",
		"--allow-unencrypted=false")
	_, port, _ := net.SplitHostPort(d.addr)
	url := "http://localhost:" + port + "/wsman"
	enum := []byte(enumerateEnvelope(url, uriReplService, ""))
	for _, c := range []struct{ scheme, spn, protocol string }{
		{"Kerberos", "HTTP/localhost", "application/HTTP-Kerberos-session-encrypted"},
		{"Negotiate", "HTTP/localhost", "application/HTTP-SPNEGO-session-encrypted"},
		{"Kerberos", "WSMAN/localhost", "application/HTTP-Kerberos-session-encrypted"},
	} {
		t.Run(c.scheme+" "+c.spn, func(t *testing.T) {
			cl, tkt := newKrbGoClient(t, k, url, c.scheme, c.spn)
			cl.logon(tkt)
			seq := cl.sendSeq
			for i := uint64(0); i < 2; i++ {
				status, reply := cl.sealedPost(c.protocol, enum, seq+i)
				if status != http.StatusOK || !strings.Contains(reply, "EnumerateResponse") {
					t.Fatalf("sealed Enumerate %d: %d %q", i, status, reply)
				}
			}
			// A replayed token (an old sequence number) ends the logon.
			if status, _ := cl.sealedPost(c.protocol, enum, seq); status != http.StatusUnauthorized {
				t.Errorf("replayed sequence number: %d, want 401", status)
			}
		})
	}
	t.Run("unsealed over HTTP", func(t *testing.T) {
		cl, tkt := newKrbGoClient(t, k, url, "Kerberos", "HTTP/localhost")
		cl.logon(tkt)
		resp := cl.post(map[string]string{"Content-Type": "application/soap+xml;charset=UTF-8"}, enum)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("unsealed Enumerate after a Kerberos logon over HTTP: %d, want 401", resp.StatusCode)
		}
	})
	if !d.waitText("sequence number") {
		t.Errorf("no log line for the replayed token\n%s", d.logText())
	}
}

// TestKerberosChannelBinding logs on over HTTPS under --channel-binding
// strict with the gokrb5 client: the authenticator checksum's Bnd
// (RFC 4121 4.1.1.2) holding the MD5 of the channel bindings with the
// tls-server-end-point of the daemon's certificate (RFC 5929) is accepted,
// a wrong one and none are refused.
func TestKerberosChannelBinding(t *testing.T) {
	t.Parallel()
	k := startKDC(t)
	dataDir, _ := prepareUsers(t, map[string]string{"alice": "admin"})
	d := startTLSDaemon(t, dataDir, "--keytab", filepath.Join(k.dir, "http.keytab"), "--kerberos-principal", "HTTP/localhost",
		"--allow-unencrypted=false", "--channel-binding", "strict")
	_, port, _ := net.SplitHostPort(d.tlsAddr())
	url := "https://localhost:" + port + "/wsman"
	tlsClient := func(c *krbGoClient) {
		c.http = &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	probe, _ := newKrbGoClient(t, k, url, "Negotiate", "HTTP/localhost")
	tlsClient(probe)
	resp := probe.post(nil, nil)
	resp.Body.Close()
	cert := resp.TLS.PeerCertificates[0]
	var h hash.Hash = sha256.New()
	switch cert.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		h = sha512.New384()
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		h = sha512.New()
	}
	h.Write(cert.Raw)
	app := append([]byte("tls-server-end-point:"), h.Sum(nil)...)
	cb := make([]byte, 16, 20+len(app))
	cb = bin.LittleEndian.AppendUint32(cb, uint32(len(app)))
	good := md5.Sum(append(cb, app...))
	enum := []byte(enumerateEnvelope(url, uriReplService, ""))
	for _, c := range []struct {
		name string
		bnd  []byte
		want int
	}{
		{"correct binding", good[:], http.StatusOK},
		{"wrong binding", bytes.Repeat([]byte{7}, 16), http.StatusUnauthorized},
		{"no binding", make([]byte, 16), http.StatusUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, tkt := newKrbGoClient(t, k, url, "Negotiate", "HTTP/localhost")
			tlsClient(cl)
			copy(cl.auth.Cksum.Checksum[4:20], c.bnd)
			resp := cl.sendAPReq(tkt)
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("logon: %d, want %d", resp.StatusCode, c.want)
			}
			if c.want != http.StatusOK {
				return
			}
			cl.checkAPRep(resp.Header.Get("WWW-Authenticate"))
			resp = cl.post(map[string]string{"Content-Type": "application/soap+xml;charset=UTF-8"}, enum)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "EnumerateResponse") {
				t.Errorf("Enumerate over HTTPS after the logon: %d %.300s", resp.StatusCode, body)
			}
		})
	}
	if !d.waitText("channel binding (strict)") {
		t.Errorf("no log line for the refused binding\n%s", d.logText())
	}
}

// TestKerberosServiceTwin: a keytab with HTTP/twin only, as ktpass writes
// it, accepts a ticket for WSMAN/twin, the other SPN of the same account
// (same key), and refuses one for HTTP/localhost, naming it.
func TestKerberosServiceTwin(t *testing.T) {
	t.Parallel()
	k := startKDC(t)
	dataDir, _ := prepareUsers(t, map[string]string{"alice": "admin"})
	d := startDaemon(t, dataDir, "--keytab", filepath.Join(k.dir, "twin.keytab"), "--allow-unencrypted=false")
	_, port, _ := net.SplitHostPort(d.addr)
	url := "http://localhost:" + port + "/wsman"
	cl, tkt := newKrbGoClient(t, k, url, "Negotiate", "WSMAN/twin")
	cl.logon(tkt)
	if status, reply := cl.sealedPost("application/HTTP-SPNEGO-session-encrypted", []byte(enumerateEnvelope(url, uriReplService, "")), cl.sendSeq); status != http.StatusOK || !strings.Contains(reply, "EnumerateResponse") {
		t.Errorf("sealed Enumerate with a WSMAN/twin ticket: %d %q", status, reply)
	}
	other, tkt := newKrbGoClient(t, k, url, "Negotiate", "HTTP/localhost")
	resp := other.sendAPReq(tkt)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("ticket for HTTP/localhost against twin.keytab: %d, want 401", resp.StatusCode)
	}
	if !d.waitText("ticket for HTTP/localhost@" + testRealm + ", this server accepts HTTP/twin, WSMAN/twin") {
		t.Errorf("no log line naming the refused ticket and the accepted names\n%s", d.logText())
	}
}
