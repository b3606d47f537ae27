package integration

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
)

// Attacks without a password (issue 14 items 6, 7, 8, 12, 13), against the
// real daemon. Each prints a RELIABILITY line for scripts/reliability.sh.

// peakRSSKiB reads the daemon's VmHWM from /proc.
func (d *daemon) peakRSSKiB() int64 {
	d.t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		d.t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				d.t.Fatal(err)
			}
			return kib
		}
	}
	d.t.Fatal("no VmHWM in /proc status")
	return 0
}

// dialFrom connects to addr from the loopback address src (any of 127/8).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func negotiateHeader() string {
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	return "NTLM " + base64.StdEncoding.EncodeToString(neg)
}

// TestPreauthMemoryNegotiateFlood: 64 anonymous requests at once, each
// with an NTLM NEGOTIATE token and a 4 MiB body, keep the daemon's peak
// resident memory under 100 MB (it reached 1.08 GB for 16 when a NEGOTIATE
// raised the body limit to 4 MiB).
func TestPreauthMemoryNegotiateFlood(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	before := d.peakRSSKiB()
	const clients, size = 64, 4 << 20
	body := bytes.Repeat([]byte("<x>0123456789abcdef</x>"), size/23+1)[:size]
	var wg sync.WaitGroup
	statuses := make(chan int, clients)
	start := make(chan struct{})
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", d.addr)
			if err != nil {
				statuses <- -1
				return
			}
			defer c.Close()
			<-start
			go func() { // the daemon stops reading: the write may fail
				fmt.Fprintf(c, "POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n", negotiateHeader(), size)
				c.Write(body)
			}()
			c.SetReadDeadline(time.Now().Add(2 * time.Minute))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				statuses <- -2
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	peak := d.peakRSSKiB()
	t.Logf("RELIABILITY preauth_memory clients=%d body_mib=4 rss_before_kib=%d peak_rss_kib=%d answers=%v", clients, before, peak, counts)
	if peak > 100*1000 {
		t.Errorf("peak RSS %d KiB after %d anonymous 4 MiB NEGOTIATE requests, want under 100 MB", peak, clients)
	}
	if counts[401] == 0 {
		t.Errorf("answers %v, want 401 challenges", counts)
	}
	requireDaemonAnswers(t, d)
}

// TestPreauthSlowConnections: 64 connections that announce a 4 MiB body
// and never send it (half anonymous, half with an NTLM NEGOTIATE) do not
// keep an administrator from logging on with NTLM or Basic.
func TestPreauthSlowConnections(t *testing.T) {
	t.Parallel()
	dataDir, pw := prepareUsers(t, nil)
	d := startDaemon(t, dataDir)
	for i := 0; i < 64; i++ {
		c := dialFrom(t, "127.0.0.2", d.addr)
		auth := ""
		if i%2 == 1 {
			auth = "Authorization: " + negotiateHeader() + "\r\n"
		}
		fmt.Fprintf(c, "POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n%sContent-Length: 4194304\r\n\r\n<s:Envelope", auth)
	}
	// The slow requests reach the handler within a moment; the daemon
	// gives their bodies 10 s.
	time.Sleep(time.Second)
	body := enumerateEnvelope(d.url(), uriReplService, "")
	_, ntlmStatus := newNTLMConn(t, d.url()).handshake("admin", pw, body)
	basicStatus, reply := d.post("admin", pw, []byte(body), "")
	t.Logf("RELIABILITY preauth_slow slow_connections=64 admin_ntlm_status=%d admin_basic_status=%d", ntlmStatus, basicStatus)
	if ntlmStatus != 200 {
		t.Errorf("administrator's NTLM logon during the attack: %d, want 200", ntlmStatus)
	}
	if basicStatus != 200 {
		t.Errorf("administrator's Basic request during the attack: %d, want 200\n%.500s", basicStatus, reply)
	}
}

// TestPreauthConcurrentGuesses: 63 wrong passwords sent at once are
// checked at most MaxFailures (10) times, and an NTLM session established
// from the same address keeps working.
func TestPreauthConcurrentGuesses(t *testing.T) {
	t.Parallel()
	dataDir, pw := prepareUsers(t, nil)
	d := startDaemon(t, dataDir)
	body := enumerateEnvelope(d.url(), uriReplService, "")
	established := newNTLMConn(t, d.url())
	if _, status := established.handshake("admin", pw, body); status != 200 {
		t.Fatalf("NTLM logon: %d, want 200", status)
	}
	const guesses = 63
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < guesses; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, d.url(), strings.NewReader(body))
			req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
			req.SetBasicAuth("admin", fmt.Sprintf("guess-%d", i))
			<-start
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	close(start)
	wg.Wait()
	refused := d.waitLogs("wsman authentication refused", guesses)
	checked := 0
	for _, e := range refused {
		if reason, _ := e["reason"].(string); strings.Contains(reason, "wrong user name or password") {
			checked++
		}
	}
	sessionStatus, _ := established.post("", body)
	t.Logf("RELIABILITY preauth_guesses guesses=%d checked=%d refused_unchecked=%d established_session_status=%d", guesses, checked, len(refused)-checked, sessionStatus)
	if checked > 10 {
		t.Errorf("%d of %d concurrent wrong passwords were checked, want at most 10", checked, guesses)
	}
	if len(refused) != guesses {
		t.Errorf("%d refusals logged, want %d", len(refused), guesses)
	}
	if sessionStatus != 200 {
		t.Errorf("established NTLM session during the guessing: %d, want 200", sessionStatus)
	}
}

// TestPreauthUserFieldRedacted: a password typed into the user field, with
// Basic or NTLM, is never logged.
func TestPreauthUserFieldRedacted(t *testing.T) {
	t.Parallel()
	dataDir, _ := prepareUsers(t, nil)
	d := startDaemon(t, dataDir)
	const secret = "S3cret-typed-into-the-user-field"
	body := enumerateEnvelope(d.url(), uriReplService, "")
	if status, _ := d.post(secret, "x", []byte(body), ""); status != 401 {
		t.Errorf("Basic with an unknown user: %d, want 401", status)
	}
	if _, status := newNTLMConn(t, d.url()).handshake(secret, "x", body); status != 401 {
		t.Errorf("NTLM with an unknown user: %d, want 401", status)
	}
	lines := d.waitLogs("wsman authentication refused", 2)
	t.Logf("RELIABILITY preauth_redaction refusals=%d secret_in_log=%v", len(lines), strings.Contains(d.logText(), secret))
	if strings.Contains(d.logText(), secret) {
		t.Errorf("the log holds the name typed:\n%s", d.logText())
	}
	if n := strings.Count(d.logText(), "<unknown>"); n < 2 {
		t.Errorf("%d redacted names logged, want 2\n%s", n, d.logText())
	}
}

// TestPreauthTLSCBCSuites: a TLS 1.2 client offering only a CBC-SHA1 suite
// is refused by default and accepted with --tls-compat.
func TestPreauthTLSCBCSuites(t *testing.T) {
	t.Parallel()
	cbc := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}}
	gcm := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
	handshake := func(addr string, cfg *tls.Config) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	def := startTLSDaemon(t, "")
	cbcDefault, gcmDefault := handshake(def.tlsAddr(), cbc), handshake(def.tlsAddr(), gcm)
	compat := startTLSDaemon(t, "", "--tls-compat")
	cbcCompat := handshake(compat.tlsAddr(), cbc)
	t.Logf("RELIABILITY preauth_tls cbc_default_refused=%v gcm_default_ok=%v cbc_compat_ok=%v", cbcDefault != nil, gcmDefault == nil, cbcCompat == nil)
	if cbcDefault == nil {
		t.Errorf("TLS 1.2 with CBC-SHA1 suites only: handshake succeeded, want it refused")
	}
	if gcmDefault != nil {
		t.Errorf("TLS 1.2 with AES-GCM: %v, want a handshake", gcmDefault)
	}
	if cbcCompat != nil {
		t.Errorf("TLS 1.2 with CBC-SHA1 suites and --tls-compat: %v, want a handshake", cbcCompat)
	}
}

// TestPreauthTransferEncodingAndLength: a request with both
// Transfer-Encoding and Content-Length is answered, then its connection
// closed.
func TestPreauthTransferEncodingAndLength(t *testing.T) {
	t.Parallel()
	d := sharedDaemon(t)
	c := dialFrom(t, d.source, d.addr)
	fmt.Fprintf(c, "POST /wsman HTTP/1.1\r\nHost: x\r\nWSMANIDENTIFY: unauthenticated\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(identifyEnvelope), identifyEnvelope)
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a kept-alive connection would wait for the next request
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	_, after := br.ReadByte()
	t.Logf("RELIABILITY preauth_te_cl status=%d connection_close=%v closed_after=%v", resp.StatusCode, resp.Close, after == io.EOF)
	if resp.StatusCode != 200 || !strings.Contains(string(reply), "IdentifyResponse") {
		t.Errorf("Identify with TE and CL: %d %.300s, want 200 IdentifyResponse", resp.StatusCode, reply)
	}
	if !resp.Close {
		t.Errorf("the reply does not say Connection: close")
	}
	if after != io.EOF {
		t.Errorf("after the reply: %v, want the connection closed (EOF)", after)
	}
}
