package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
// HTTP/localhost and HTTP/elsewhere (random keys), writes the keytab of
// HTTP/localhost to DIR/http.keytab, and runs krb5kdc on a free port of
// 127.0.0.1 until the test ends.
func startKDC(t *testing.T) *kdc {
	t.Helper()
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
  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
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
	run("kadmin.local", "-r", testRealm, "-q", "ktadd -k "+filepath.Join(dir, "http.keytab")+" HTTP/localhost")

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

// TestKerberosPywinrmSealed runs testdata/pywinrm/sealed_kerberos.py: pywinrm's
// kerberos transport, whose requests-kerberos requires mutual
// authentication, over plain HTTP with message encryption 'always' (MIT
// gss_wrap_iov through Debian's pykerberos), against a daemon that refuses
// unsealed messages over HTTP (--allow-unencrypted=false).
func TestKerberosPywinrmSealed(t *testing.T) {
	requirePywinrm(t)
	requireClient(t, "python3-requests-kerberos and kinit (krb5-user)", func() error {
		if _, err := exec.LookPath("kinit"); err != nil {
			return err
		}
		return exec.Command("/usr/bin/python3", "-c", "import requests_kerberos, kerberos").Run()
	})
	k := startKDC(t)
	dataDir, _ := prepareUsers(t, map[string]string{"alice": "admin"})
	d := startDaemon(t, dataDir, "--keytab", filepath.Join(k.dir, "http.keytab"), "--kerberos-principal", "HTTP/localhost",
		"--allow-unencrypted=false")
	_, port, _ := net.SplitHostPort(d.addr)
	cmd := exec.Command("/usr/bin/python3", "testdata/pywinrm/sealed_kerberos.py", "http://localhost:"+port+"/wsman")
	cmd.Env = k.kinit(t, "alice", "alice-krb")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("sealed_kerberos.py: %v\n%s\n%s\n%s", err, out, stderr, d.logText())
	}
	var got struct {
		Reply      string
		Encryption bool
		Exchanges  []struct {
			Status                         int
			Request, RequestBody           string
			Reply, ReplyBody, Authenticate string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("sealed_kerberos.py output: %v\n%s", err, out)
	}
	if !got.Encryption || !strings.Contains(got.Reply, "EnumerationContext") {
		t.Errorf("encryption %v, reply %q; want a sealed session and an EnumerateResponse", got.Encryption, got.Reply)
	}
	// The logon's answer carries the AP-REP (requests-kerberos checked it,
	// or the script would have failed with a MutualAuthenticationError).
	sealed := 0
	for i, x := range got.Exchanges {
		if x.Status != 200 {
			continue
		}
		if i == 0 && !strings.HasPrefix(x.Authenticate, "Negotiate ") {
			t.Errorf("first 200: WWW-Authenticate %q, want the final Negotiate token", x.Authenticate)
		}
		if x.RequestBody == "" {
			continue // the empty POST that sets the session up
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
	if sealed == 0 {
		t.Errorf("no sealed exchange among %+v", got.Exchanges)
	}
}
