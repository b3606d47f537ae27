package wsman_test

import (
	"bytes"
	"context"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
	"go.uber.org/zap/zaptest"
	"golang.org/x/crypto/bcrypt"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/ntlm"
	"github.com/replicad/replicad/spnego"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/wsman"
)

const readerUser, readerPass = "viewer", "viewer-pw"

// newAuthServer serves the widgets of newTestServerWith with users admin
// (admin) and viewer (reader), Server.ConnContext wired as the daemon does,
// and a settable clock.
func newAuthServer(t *testing.T, configure func(*wsman.Server)) (*httptest.Server, *widgets, *clock) {
	t.Helper()
	return newAuthServerWith(t, configure, nil)
}

// newAuthServerWith is newAuthServer with the widgets' methods replaced
// when methods is not nil.
func newAuthServerWith(t *testing.T, configure func(*wsman.Server), methods []*cimmodel.Method) (*httptest.Server, *widgets, *clock) {
	t.Helper()
	_, w, _ := newTestServerWith(t, 3)
	if methods == nil {
		methods = w.class.Methods
	}
	reg := cimmodel.NewRegistry()
	// A class belongs to one registry: register a fresh copy.
	class := cimmodel.Class{Name: w.class.Name, Namespace: w.class.Namespace,
		Properties: w.class.Properties, Methods: methods, Provider: w.class.Provider}
	w.class = &class
	if err := reg.Register(&class); err != nil {
		t.Fatal(err)
	}
	u := fastUsers(t, map[string]string{testUser: testPass, readerUser: readerPass}, map[string]string{readerUser: "reader"})
	c := &clock{}
	c.Advance(time.Duration(time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC).UnixNano()))
	s := wsman.NewServer(reg, u)
	s.Logger = zaptest.NewLogger(t)
	s.Now = c.Now
	s.AllowUnencrypted = true
	if configure != nil {
		configure(s)
	}
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config.ConnContext = s.ConnContext
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, w, c
}

// fastUsers writes a users file and its companion with cheap bcrypt hashes
// (cost 4) and loads it, as the daemon would.
func fastUsers(t *testing.T, passwords, roles map[string]string) *users.File {
	t.Helper()
	var file, meta strings.Builder
	for name, pw := range passwords {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&file, "%s:%s\n", name, h)
		role := roles[name]
		if role == "" {
			role = "admin"
		}
		nt := ntlm.NTHash(pw)
		fmt.Fprintf(&meta, "%s:%s:%x\n", name, role, nt)
	}
	path := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(users.MetaPath(path), []byte(meta.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := users.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// conn is one client connection (the transport keeps a single one).
type conn struct {
	t   *testing.T
	c   *http.Client
	url string
}

func newConn(t *testing.T, srv *httptest.Server) *conn {
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return &conn{t: t, c: &http.Client{Transport: tr}, url: srv.URL + "/wsman"}
}

func (c *conn) post(auth string, body []byte) (int, http.Header, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// ntlmLogon runs the raw NTLM handshake (as go-ntlmssp and requests-ntlm
// send it) with body and returns the final status.
func (c *conn) ntlmLogon(scheme, user, password string, body []byte) int {
	c.t.Helper()
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	status, hdr, _ := c.post(scheme+" "+b64(neg), body)
	if status != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), scheme+" ") {
		c.t.Fatalf("NEGOTIATE: %d %q, want 401 with a %s challenge", status, hdr.Get("WWW-Authenticate"), scheme)
	}
	ch, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(hdr.Get("WWW-Authenticate"), scheme+" "))
	auth, err := ntlmssp.ProcessChallenge(ch, user, password)
	if err != nil {
		c.t.Fatal(err)
	}
	status, _, _ = c.post(scheme+" "+b64(auth), body)
	return status
}

func TestNTLMLogonIsBoundToTheConnection(t *testing.T) {
	for _, scheme := range []string{"Negotiate", "NTLM"} {
		t.Run(scheme, func(t *testing.T) {
			srv, _, clk := newAuthServer(t, func(s *wsman.Server) { s.Auth.SessionIdle = time.Minute })
			c := newConn(t, srv)
			body := enumerate(`<w:OptimizeEnumeration/>`)
			if status := c.ntlmLogon(scheme, testUser, testPass, body); status != 200 {
				t.Fatalf("logon: status %d, want 200", status)
			}
			if status, _, _ := c.post("", body); status != 200 {
				t.Errorf("next request on the connection: %d, want 200", status)
			}
			if status, _, _ := newConn(t, srv).post("", body); status != 401 {
				t.Errorf("request on another connection: %d, want 401", status)
			}
			clk.Advance(2 * time.Minute)
			if status, _, _ := c.post("", body); status != 401 {
				t.Errorf("request after the idle expiry: %d, want 401", status)
			}
			if status := c.ntlmLogon(scheme, testUser, testPass, body); status != 200 {
				t.Errorf("new logon after expiry: %d, want 200", status)
			}
		})
	}
}

func TestNTLMWrongPassword(t *testing.T) {
	srv, _, _ := newAuthServer(t, nil)
	c := newConn(t, srv)
	if status := c.ntlmLogon("Negotiate", testUser, "wrong", enumerate("")); status != 401 {
		t.Errorf("wrong password: %d, want 401", status)
	}
	if status := c.ntlmLogon("Negotiate", "nobody", testPass, enumerate("")); status != 401 {
		t.Errorf("unknown user: %d, want 401", status)
	}
	if status := c.ntlmLogon("Negotiate", testUser, testPass, enumerate("")); status != 200 {
		t.Errorf("right password on the same connection afterwards: %d, want 200", status)
	}
	// User names are case-insensitive for NTLM, as on Windows.
	if status := newConn(t, srv).ntlmLogon("Negotiate", strings.ToUpper(readerUser), readerPass, enumerate("")); status != 200 {
		t.Errorf("upper-case user name: %d, want 200", status)
	}
}

// TestSPNEGOWrappedNTLM sends NTLM inside SPNEGO, as PowerShell and
// pyspnego do.
func TestSPNEGOWrappedNTLM(t *testing.T) {
	srv, _, _ := newAuthServer(t, nil)
	c := newConn(t, srv)
	body := enumerate("")
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	init := spnego.MarshalInit([]asn1OID{spnego.OIDNTLM}, neg)
	status, hdr, _ := c.post("Negotiate "+b64(init), body)
	if status != 401 {
		t.Fatalf("NegTokenInit: %d, want 401", status)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(hdr.Get("WWW-Authenticate"), "Negotiate "))
	resp, err := spnego.ParseResp(raw)
	if err != nil {
		t.Fatalf("answer to NegTokenInit is no NegTokenResp: %v", err)
	}
	if resp.NegState != spnego.AcceptIncomplete || !resp.SupportedMech.Equal(spnego.OIDNTLM) || !bytes.HasPrefix(resp.ResponseToken, []byte("NTLMSSP\x00\x02")) {
		t.Fatalf("NegTokenResp = %+v, want accept-incomplete, NTLM, a CHALLENGE", resp)
	}
	auth, err := ntlmssp.ProcessChallenge(resp.ResponseToken, testUser, testPass)
	if err != nil {
		t.Fatal(err)
	}
	status, hdr, _ = c.post("Negotiate "+b64((&spnego.Resp{NegState: -1, ResponseToken: auth}).Marshal()), body)
	if status != 200 {
		t.Fatalf("NegTokenResp with AUTHENTICATE: %d, want 200", status)
	}
	raw, _ = base64.StdEncoding.DecodeString(strings.TrimPrefix(hdr.Get("WWW-Authenticate"), "Negotiate "))
	if final, err := spnego.ParseResp(raw); err != nil || final.NegState != spnego.AcceptCompleted {
		t.Errorf("final token %q: %+v, %v, want accept-completed", hdr.Get("WWW-Authenticate"), final, err)
	}
}

func TestNegotiateNeedsConnContext(t *testing.T) {
	srv, _ := newTestServer(t, 1) // httptest server without ConnContext
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/wsman", bytes.NewReader(enumerate("")))
	req.Header.Set("Authorization", "Negotiate "+b64(neg))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("Negotiate without ConnContext: %d %q, want a plain 401 challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestReaderRole(t *testing.T) {
	srv, w, _ := newAuthServer(t, nil)
	frob := []byte(envHead + `<a:Action s:mustUnderstand="true">` + widgetURI + `/Frob</a:Action><w:SelectorSet><w:Selector Name="Name">w01</w:Selector></w:SelectorSet></s:Header><s:Body><p:Frob_INPUT xmlns:p="` + widgetURI + `"><p:Count>1</p:Count></p:Frob_INPUT></s:Body></s:Envelope>`)
	tests := []struct {
		name, user, pass string
		body             []byte
		wantStatus       int
		wantText         string
	}{
		{"reader enumerates", readerUser, readerPass, enumerate(`<w:OptimizeEnumeration/>`), 200, "EnumerateResponse"},
		{"reader may not invoke", readerUser, readerPass, frob, 500, "AccessDenied"},
		{"admin invokes", testUser, testPass, frob, 200, "Frob_OUTPUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, srv, tt.user, tt.pass, tt.body)
			if status != tt.wantStatus || !strings.Contains(string(body), tt.wantText) {
				t.Errorf("got %d %.300s, want %d with %s", status, body, tt.wantStatus, tt.wantText)
			}
		})
	}
	if n := w.calls.Load(); n != 1 {
		t.Errorf("Frob ran %d times, want 1 (the admin's call only)", n)
	}
}

func TestFailedLogonsAreRateLimited(t *testing.T) {
	srv, _, clk := newAuthServer(t, func(s *wsman.Server) {
		s.Auth.MaxFailures = 3
		s.Auth.FailureWindow = time.Minute
	})
	for i := 0; i < 3; i++ {
		if status, _ := post(t, srv, testUser, "wrong", enumerate("")); status != 401 {
			t.Fatalf("failure %d: %d, want 401", i, status)
		}
	}
	if status, _ := post(t, srv, testUser, testPass, enumerate("")); status != 401 {
		t.Errorf("right password while limited: %d, want 401", status)
	}
	clk.Advance(61 * time.Second)
	if status, _ := post(t, srv, testUser, testPass, enumerate("")); status != 200 {
		t.Errorf("right password after the window: %d, want 200", status)
	}
}

func TestEmptyAuthenticatedPost(t *testing.T) {
	srv, _, _ := newAuthServer(t, nil)
	c := newConn(t, srv)
	// pywinrm sets up its encrypted session with an empty POST.
	if status := c.ntlmLogon("Negotiate", testUser, testPass, nil); status != 200 {
		t.Errorf("empty POST with NTLM: %d, want 200", status)
	}
	status, hdr, body := c.post("", []byte{})
	if status != 200 || len(body) != 0 || hdr.Get("Content-Length") != "0" {
		t.Errorf("empty POST on the logged-on connection: %d %q, want 200 and no body", status, body)
	}
}

type asn1OID = asn1.ObjectIdentifier

func TestRequestsPerUserCapped(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	wait := &cimmodel.Method{Name: "Frob", ReturnType: cimmodel.TypeUint32,
		Func: func(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
			entered <- struct{}{}
			<-release
			return cimmodel.Result{}, nil
		}}
	srv, _, _ := newAuthServerWith(t, func(s *wsman.Server) { s.Auth.MaxRequestsPerUser = 1 }, []*cimmodel.Method{wait})
	frob := []byte(envHead + `<a:Action s:mustUnderstand="true">` + widgetURI + `/Frob</a:Action><w:SelectorSet><w:Selector Name="Name">w01</w:Selector></w:SelectorSet></s:Header><s:Body><p:Frob_INPUT xmlns:p="` + widgetURI + `"/></s:Body></s:Envelope>`)
	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/wsman", bytes.NewReader(frob))
		req.SetBasicAuth(testUser, testPass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- -1
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-entered
	status, body := post(t, srv, testUser, testPass, enumerate(""))
	if status != 500 || !strings.Contains(string(body), "QuotaLimit") {
		t.Errorf("second request while the first runs: %d %.300s, want 500 QuotaLimit", status, body)
	}
	if status, _ := post(t, srv, readerUser, readerPass, enumerate("")); status != 200 {
		t.Errorf("another user meanwhile: %d, want 200", status)
	}
	close(release)
	if got := <-first; got != 200 {
		t.Errorf("first request: %d, want 200", got)
	}
	if status, _ := post(t, srv, testUser, testPass, enumerate("")); status != 200 {
		t.Errorf("request after the first ended: %d, want 200", status)
	}
}
