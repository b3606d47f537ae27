package wsman_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/replicad/replicad/wsman"
)

// countingBody counts what the handler reads of a request body.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	k, err := b.ReadCloser.Read(p)
	b.n.Add(int64(k))
	return k, err
}

// observed returns a configure function that sends the server's log to an
// observer, and the observer.
func observed() (func(*wsman.Server), *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return func(s *wsman.Server) { s.Logger = zap.New(core) }, logs
}

// TestNegotiateLegBodyIsNotRead: a NEGOTIATE leg carrying 4 MiB gets its
// CHALLENGE with at most the drained prefix of the body read, none of it
// kept or parsed; the AUTHENTICATE leg's body is read after the token
// verified.
func TestNegotiateLegBodyIsNotRead(t *testing.T) {
	var read atomic.Int64
	var s *wsman.Server
	srv, _, _ := newAuthServer(t, func(srv *wsman.Server) { s = srv })
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = countingBody{r.Body, &read}
		s.ServeHTTP(w, r)
	})
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	raw, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	go func() { // the server stops reading: the write may fail
		fmt.Fprintf(raw, "POST /wsman HTTP/1.1\r\nHost: x\r\nAuthorization: NTLM %s\r\nContent-Length: %d\r\n\r\n", b64(neg), 4<<20)
		raw.Write(bytes.Repeat([]byte("<x/>"), 1<<20))
	}()
	resp, err := http.ReadResponse(bufio.NewReader(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "NTLM ") {
		t.Fatalf("NEGOTIATE with 4 MiB: %d %q, want 401 with a challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if n := read.Load(); n > 256<<10+1 {
		t.Errorf("the server read %d bytes of a NEGOTIATE leg's body, want at most the 256 KiB drained", n)
	}
	c := newConn(t, srv)
	// A small body keeps the connection for the AUTHENTICATE leg, whose
	// body is served.
	if status := c.ntlmLogon("NTLM", testUser, testPass, enumerate("")); status != 200 {
		t.Errorf("logon with the body on every leg: %d, want 200", status)
	}
}

// slowConn opens a connection that announces a body and sends none, and
// returns once the server is reading it.
func slowConn(t *testing.T, addr, auth string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if auth != "" {
		auth = "Authorization: " + auth + "\r\n"
	}
	fmt.Fprintf(c, "POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n%sContent-Length: 4194304\r\n\r\n<s:Envelope", auth)
	return c
}

// TestSlowAnonymousConnectionsLeaveSlots: connections that announce a body
// and never send it, more than there are request slots, do not keep an
// administrator from logging on (Basic or NTLM).
func TestSlowAnonymousConnectionsLeaveSlots(t *testing.T) {
	var s *wsman.Server
	var entered atomic.Int64
	srv, _, _ := newAuthServer(t, func(srv *wsman.Server) {
		srv.Limits.MaxConcurrentRequests = 4
		srv.Limits.MaxUnauthenticatedRequests = 2
		srv.Limits.PreAuthTimeout = time.Minute // the slow ones outlive the test
		s = srv
	})
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Add(1)
		s.ServeHTTP(w, r)
	})
	addr := srv.Listener.Addr().String()
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	for i := 0; i < 8; i++ {
		auth := ""
		if i%2 == 1 {
			auth = "NTLM " + b64(neg)
		}
		slowConn(t, addr, auth)
	}
	for entered.Load() < 8 {
		time.Sleep(5 * time.Millisecond)
	}
	if status, body := post(t, srv, testUser, testPass, enumerate("")); status != 200 {
		t.Errorf("Basic logon while 8 slow connections are open: %d %.300s, want 200", status, body)
	}
	if status := newConn(t, srv).ntlmLogon("Negotiate", testUser, testPass, enumerate("")); status != 200 {
		t.Errorf("NTLM logon while 8 slow connections are open: %d, want 200", status)
	}
}

// refusals counts the log's authentication refusals by reason: checked
// (a wrong password) or limited (refused unchecked).
func refusals(logs *observer.ObservedLogs) (checked, limited int) {
	for _, e := range logs.FilterMessage("wsman authentication refused").All() {
		reason, _ := e.ContextMap()["reason"].(string)
		switch {
		case strings.Contains(reason, "wrong user name or password"):
			checked++
		case strings.Contains(reason, "too many failed logons"), strings.Contains(reason, "too many logons in progress"):
			limited++
		}
	}
	return checked, limited
}

// TestConcurrentGuessesCountedBeforeTrying: 30 wrong passwords sent at
// once are checked at most MaxFailures times, and a connection logged on
// with NTLM from the same address keeps working throughout.
func TestConcurrentGuessesCountedBeforeTrying(t *testing.T) {
	logTo, logs := observed()
	// newTestServerWith's users have bcrypt's default cost, so that the
	// checks overlap; serve it with ConnContext for NTLM.
	_, _, s := newTestServerWith(t, 1)
	logTo(s)
	s.Auth.MaxFailures = 3
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config.ConnContext = s.ConnContext
	srv.Start()
	t.Cleanup(srv.Close)
	established := newConn(t, srv)
	if status := established.ntlmLogon("Negotiate", testUser, testPass, enumerate("")); status != 200 {
		t.Fatalf("logon: %d", status)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/wsman", bytes.NewReader(enumerate("")))
			req.SetBasicAuth(testUser, fmt.Sprintf("guess-%d", i))
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	close(start)
	wg.Wait()
	checked, limited := refusals(logs)
	if checked > 3 || checked+limited != 30 {
		t.Errorf("30 concurrent guesses: %d checked, %d refused unchecked; want at most 3 checked and the rest refused", checked, limited)
	}
	if status, _, _ := established.post("", enumerate("")); status != 200 {
		t.Errorf("established NTLM session after the guesses: %d, want 200", status)
	}
	if status, _ := post(t, srv, testUser, testPass, enumerate("")); status != 401 {
		t.Errorf("new logon from the guessing address: %d, want 401", status)
	}
}

// TestUnknownUserNamesRedacted: a password typed into the user field never
// reaches the log; a known user's name does.
func TestUnknownUserNamesRedacted(t *testing.T) {
	logTo, logs := observed()
	srv, _, _ := newAuthServer(t, logTo)
	const secret = "Tr0ub4dor&3-typed-as-user"
	post(t, srv, secret, "x", enumerate(""))
	newConn(t, srv).ntlmLogon("NTLM", secret, "x", enumerate(""))
	post(t, srv, testUser, "wrong", enumerate(""))
	var all strings.Builder
	for _, e := range logs.All() {
		fmt.Fprintf(&all, "%s %v\n", e.Message, e.ContextMap())
	}
	if strings.Contains(all.String(), secret) {
		t.Errorf("the log holds the unknown user name:\n%s", all.String())
	}
	if n := strings.Count(all.String(), "<unknown>"); n < 2 {
		t.Errorf("%d redacted names in the log, want 2 (Basic and NTLM):\n%s", n, all.String())
	}
	if !strings.Contains(all.String(), "user:"+testUser) {
		t.Errorf("the known user's failed logon does not name it:\n%s", all.String())
	}
}

// TestChunkedRequestClosesConnection: a request with Transfer-Encoding
// (here with a Content-Length too) is answered, then its connection closed.
func TestChunkedRequestClosesConnection(t *testing.T) {
	srv, _ := newTestServer(t, 1)
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body><wsmid:Identify xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"/></s:Body></s:Envelope>`
	fmt.Fprintf(c, "POST /wsman HTTP/1.1\r\nHost: x\r\nWSMANIDENTIFY: unauthenticated\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a kept-alive connection would wait for the next request
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(reply), "IdentifyResponse") {
		t.Errorf("TE+CL Identify: %d %.200s, want 200 IdentifyResponse", resp.StatusCode, reply)
	}
	if !resp.Close {
		t.Errorf("reply has no Connection: close")
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("connection after the reply: %v, want EOF", err)
	}
}

// TestClosedHandshakeGivesTicketBack: NEGOTIATE legs hold limiter tickets
// while their connection is open; when it closes without an AUTHENTICATE,
// the ticket comes back (Server.ConnState), so a flood of abandoned
// handshakes does not lock its address out.
func TestClosedHandshakeGivesTicketBack(t *testing.T) {
	var s *wsman.Server
	newAuthServer(t, func(srv *wsman.Server) {
		srv.Auth.MaxFailures = 2
		srv.Limits.PreAuthTimeout = 10 * time.Second
		s = srv
	})
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config.ConnContext = s.ConnContext
	srv.Config.ConnState = s.ConnState
	srv.Start()
	t.Cleanup(srv.Close)
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	for i := 0; i < 3; i++ {
		c := newConn(t, srv)
		status, hdr, _ := c.post("NTLM "+b64(neg), nil)
		if status != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "NTLM ") {
			t.Fatalf("NEGOTIATE %d after %d abandoned handshakes: %d %q, want a challenge", i, i, status, hdr.Get("WWW-Authenticate"))
		}
		c.c.CloseIdleConnections()
	}
}

// TestFailedNTLMLogonNamesDomain: a refused NTLM logon logs the domain the
// client sent (go-ntlmssp sends the target name of our challenge, REPLICAD) and the user
// only when it is one of ours.
func TestFailedNTLMLogonNamesDomain(t *testing.T) {
	logTo, logs := observed()
	srv, _, _ := newAuthServer(t, logTo)
	if status := newConn(t, srv).ntlmLogon("Negotiate", testUser, "wrong", enumerate("")); status != 401 {
		t.Fatalf("logon with a wrong password: %d, want 401", status)
	}
	refused := logs.FilterMessage("wsman authentication refused").All()
	if len(refused) != 1 {
		t.Fatalf("%d refusals logged, want 1", len(refused))
	}
	fields := refused[0].ContextMap()
	if fields["domain"] != "REPLICAD" || fields["user"] != testUser {
		t.Errorf("refusal logged user %q domain %q, want %q and REPLICAD", fields["user"], fields["domain"], testUser)
	}
}
