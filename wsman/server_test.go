package wsman_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	"go.uber.org/zap/zaptest"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
	"github.com/replicad/replicad/soap/soaptest"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/wsman"
)

var update = flag.Bool("update", false, "rewrite the golden replies under testdata/exchanges")

const (
	testNS     = "root/test"
	widgetURI  = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/Test_Widget"
	testUser   = "admin"
	testPass   = "correct horse"
	otherUser  = "other"
	otherPass  = "battery staple"
	nsEnvelope = "http://www.w3.org/2003/05/soap-envelope"
)

// widgets serves n instances of Test_Widget, named w00, w01, ...
type widgets struct {
	class *cimmodel.Class
	n     int
	calls atomic.Int32
}

func (w *widgets) instance(i int) *cimmodel.Instance {
	return cimmodel.NewInstance(w.class).
		Set("Name", cimmodel.String(fmt.Sprintf("w%02d", i))).
		Set("Size", cimmodel.Uint64(uint64(i)*512)).
		Set("ElementName", cimmodel.String(fmt.Sprintf("widget %d", i)))
}

func (w *widgets) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	out := make([]*cimmodel.Instance, w.n)
	for i := range out {
		out[i] = w.instance(i)
	}
	return out, nil
}

func (w *widgets) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	for i := 0; i < w.n; i++ {
		if inst := w.instance(i); inst.Path().Equal(path) {
			return inst, nil
		}
	}
	return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "no widget %s", path)
}

// newTestServer serves a registry with one class, Test_Widget (key Name),
// with n instances and a method Frob(Count uint16 Required 1..10, out Echo).
func newTestServer(t testing.TB, n int) (*httptest.Server, *widgets) {
	srv, w, _ := newTestServerWith(t, n)
	return srv, w
}

// clock is a settable time source for expiry tests.
type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d)) }

func newTestServerWith(t testing.TB, n int) (*httptest.Server, *widgets, *wsman.Server) {
	t.Helper()
	reg := cimmodel.NewRegistry()
	w := &widgets{n: n}
	w.class = &cimmodel.Class{Name: "Test_Widget", Namespace: testNS,
		Properties: []cimmodel.Property{
			{Name: "Name", Type: cimmodel.TypeString, Key: true},
			{Name: "Size", Type: cimmodel.TypeUint64},
			{Name: "ElementName", Type: cimmodel.TypeString, Write: true},
		},
		Methods: []*cimmodel.Method{{
			Name: "Frob", ReturnType: cimmodel.TypeUint32,
			Params: []cimmodel.Parameter{
				{Name: "Count", Type: cimmodel.TypeUint16, In: true, Required: true,
					ValueMap: []string{"1", "2", "3", "4..0x7FFF"}, Values: []string{"One", "Two", "Three", "DMTF Reserved"}},
				{Name: "Echo", Type: cimmodel.TypeString, Out: true},
			},
			Func: func(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
				w.calls.Add(1)
				c, _ := in.Get("Count")
				n, _ := c.AsUint64()
				return cimmodel.Result{Out: map[string]cimmodel.Value{"Echo": cimmodel.String(strings.Repeat("frob ", int(n)))}}, nil
			},
		}},
		Provider: w,
	}
	if err := reg.Register(w.class); err != nil {
		t.Fatal(err)
	}
	s := wsman.NewServer(reg, loadTestUsers(t))
	if _, fuzzing := t.(*testing.F); !fuzzing { // a fuzz target may not log through f
		s.Logger = zaptest.NewLogger(t)
	}
	s.AllowUnencrypted = true
	s.Machine = "test-host"
	s.Limits.MaxEnumerationsPerUser = 3
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, w, s
}

// testUsers is a users file (and its companion) with testUser and
// otherUser at bcrypt's default cost, hashed once for the package: each
// hash costs about a second under the race detector, and every server
// needs the same two.
var testUsers = sync.OnceValues(func() (files map[string][]byte, err error) {
	dir, err := os.MkdirTemp("", "wsman-users-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var u users.File
	if err := u.Set(testUser, testPass); err != nil {
		return nil, err
	}
	if err := u.Set(otherUser, otherPass); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "users")
	if err := u.Save(path); err != nil {
		return nil, err
	}
	files = map[string][]byte{}
	for _, p := range []string{path, users.MetaPath(path)} {
		if files[filepath.Base(p)], err = os.ReadFile(p); err != nil {
			return nil, err
		}
	}
	return files, nil
})

// loadTestUsers loads a copy of testUsers of the test's own, as the daemon
// loads its users file.
func loadTestUsers(t testing.TB) *users.File {
	t.Helper()
	files, err := testUsers()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	u, err := users.Load(filepath.Join(dir, "users"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func post(t testing.TB, srv *httptest.Server, user, pass string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/wsman", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// volatile are the elements whose text changes on every run.
var volatile = []string{"MessageID", "EnumerationContext", "Machine"}

// TestExchanges replays each testdata/exchanges/<case>/request.xml and
// compares the reply with response.xml (go test -update rewrites them).
func TestExchanges(t *testing.T) {
	srv, _ := newTestServer(t, 3)
	dirs, err := filepath.Glob("testdata/exchanges/*/request.xml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no exchanges: %v", err)
	}
	for _, req := range dirs {
		dir := filepath.Dir(req)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			req, err := os.ReadFile(filepath.Join(dir, "request.xml"))
			if err != nil {
				t.Fatal(err)
			}
			status, reply := post(t, srv, testUser, testPass, req)
			got, err := soaptest.Canonical(reply, volatile...)
			if err != nil {
				t.Fatalf("reply (status %d) is not XML: %v\n%s", status, err, reply)
			}
			got = fmt.Sprintf("<!-- HTTP %d -->\n%s", status, got)
			golden := filepath.Join(dir, "response.xml")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if d := soaptest.Diff(got, string(want)); d != "" {
				t.Errorf("reply differs from %s:\n%s", golden, d)
			}
		})
	}
}

func parse(t testing.TB, b []byte) *etree.Element {
	t.Helper()
	utf8, _, err := soap.DecodeText(b) // replies come in the request's encoding
	if err != nil {
		t.Fatalf("reply encoding: %v", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(utf8); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b)
	}
	return doc.Root()
}

func find(e *etree.Element, local string) *etree.Element {
	if e == nil {
		return nil
	}
	if e.Tag == local {
		return e
	}
	for _, c := range e.ChildElements() {
		if f := find(c, local); f != nil {
			return f
		}
	}
	return nil
}

func count(e *etree.Element, local string) int {
	if e == nil {
		return 0
	}
	n := 0
	if e.Tag == local {
		n++
	}
	for _, c := range e.ChildElements() {
		n += count(c, local)
	}
	return n
}

// subcode returns the fault subcode of a reply, "" when it is no fault.
func subcode(t testing.TB, b []byte) string {
	t.Helper()
	f := find(parse(t, b), "Fault")
	if f == nil {
		return ""
	}
	sub := find(f, "Subcode")
	if sub == nil {
		return find(find(f, "Code"), "Value").Text()
	}
	return find(sub, "Value").Text()
}

const envHead = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:To>http://localhost/wsman</a:To><w:ResourceURI s:mustUnderstand="true">` + widgetURI + `</w:ResourceURI><a:ReplyTo><a:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><a:MessageID>uuid:00000000-0000-0000-0000-000000000001</a:MessageID>`

func enumerate(body string) []byte {
	return []byte(envHead + `<a:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action></s:Header><s:Body><n:Enumerate>` + body + `</n:Enumerate></s:Body></s:Envelope>`)
}

func pull(ctx string, max int) []byte {
	return []byte(envHead + `<a:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull</a:Action></s:Header><s:Body><n:Pull><n:EnumerationContext>` + ctx + `</n:EnumerationContext><n:MaxElements>` + fmt.Sprint(max) + `</n:MaxElements></n:Pull></s:Body></s:Envelope>`)
}

func release(ctx string) []byte {
	return []byte(envHead + `<a:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release</a:Action></s:Header><s:Body><n:Release><n:EnumerationContext>` + ctx + `</n:EnumerationContext></n:Release></s:Body></s:Envelope>`)
}

func TestPullPagesThroughEveryInstance(t *testing.T) {
	srv, _ := newTestServer(t, 7)
	_, reply := post(t, srv, testUser, testPass, enumerate(""))
	ctx := find(parse(t, reply), "EnumerationContext").Text()
	seen := 0
	for page := 0; page < 10; page++ {
		status, reply := post(t, srv, testUser, testPass, pull(ctx, 3))
		if status != 200 {
			t.Fatalf("pull %d: status %d\n%s", page, status, reply)
		}
		root := parse(t, reply)
		seen += count(root, "Test_Widget")
		if find(root, "EndOfSequence") != nil {
			break
		}
		ctx = find(root, "EnumerationContext").Text()
	}
	if seen != 7 {
		t.Errorf("pulled %d widgets, want 7", seen)
	}
}

func TestEnumerationContexts(t *testing.T) {
	srv, _ := newTestServer(t, 5)
	open := func(user, pass string) string {
		status, reply := post(t, srv, user, pass, enumerate(""))
		if status != 200 {
			return subcode(t, reply)
		}
		return find(parse(t, reply), "EnumerationContext").Text()
	}
	var ctxs []string
	for i := 0; i < 3; i++ {
		ctxs = append(ctxs, open(testUser, testPass))
	}
	if got := open(testUser, testPass); got != "w:QuotaLimit" {
		t.Errorf("fourth open enumeration of one user: got %q, want the w:QuotaLimit fault", got)
	}
	if got := open(otherUser, otherPass); strings.Contains(got, ":") && !strings.HasPrefix(got, "uuid:") {
		t.Errorf("another user is limited by the first user's contexts: %s", got)
	}
	// Another user cannot pull or release my context.
	if _, reply := post(t, srv, otherUser, otherPass, pull(ctxs[0], 1)); subcode(t, reply) != "n:InvalidEnumerationContext" {
		t.Errorf("pull of another user's context: got %q, want n:InvalidEnumerationContext", subcode(t, reply))
	}
	// Release frees a slot.
	if status, reply := post(t, srv, testUser, testPass, release(ctxs[0])); status != 200 {
		t.Fatalf("release: %d %s", status, reply)
	}
	if _, reply := post(t, srv, testUser, testPass, release(ctxs[0])); subcode(t, reply) != "n:InvalidEnumerationContext" {
		t.Errorf("second release: got %q, want n:InvalidEnumerationContext", subcode(t, reply))
	}
	if got := open(testUser, testPass); !strings.HasPrefix(got, "uuid:") {
		t.Errorf("open after release: got %q, want a context", got)
	}
}

func TestEnumerationContextsExpire(t *testing.T) {
	srv, _, s := newTestServerWith(t, 4)
	var c clock
	c.Advance(time.Duration(time.Now().UnixNano()))
	s.Now = c.Now
	_, reply := post(t, srv, testUser, testPass, enumerate(""))
	ctx := find(parse(t, reply), "EnumerationContext").Text()
	c.Advance(s.Limits.EnumerationExpiry - time.Second)
	status, reply := post(t, srv, testUser, testPass, pull(ctx, 1))
	if status != 200 {
		t.Fatalf("pull before expiry: %d %s", status, subcode(t, reply))
	}
	ctx = find(parse(t, reply), "EnumerationContext").Text()
	c.Advance(s.Limits.EnumerationExpiry + time.Second)
	if _, reply := post(t, srv, testUser, testPass, pull(ctx, 1)); subcode(t, reply) != "n:InvalidEnumerationContext" {
		t.Errorf("pull after expiry: got %q, want n:InvalidEnumerationContext", subcode(t, reply))
	}
}

func TestMaxEnvelopeSizeSplitsItems(t *testing.T) {
	srv, _ := newTestServer(t, 40)
	// About 700 bytes of envelope and ~330 bytes a widget: 8192 bytes hold
	// some widgets, not 40; the rest stays for Pull.
	req := bytes.Replace(enumerate(`<w:OptimizeEnumeration/><w:MaxElements>40</w:MaxElements>`),
		[]byte("</a:MessageID>"), []byte(`</a:MessageID><w:MaxEnvelopeSize s:mustUnderstand="true">8192</w:MaxEnvelopeSize>`), 1)
	status, reply := post(t, srv, testUser, testPass, req)
	if status != 200 {
		t.Fatalf("status %d\n%s", status, reply)
	}
	if len(reply) > 8192 {
		t.Errorf("reply is %d bytes, over the MaxEnvelopeSize of 8192", len(reply))
	}
	root := parse(t, reply)
	got := count(root, "Test_Widget")
	if got == 0 || got >= 40 {
		t.Errorf("first reply holds %d widgets, want some but not all 40", got)
	}
	// About 22 fit: a reply filled by the item size, not cut to half (20).
	if got <= 20 {
		t.Errorf("first reply holds %d widgets, want the reply filled (more than 20 fit)", got)
	}
	if find(root, "EndOfSequence") != nil {
		t.Errorf("EndOfSequence although widgets remain")
	}
	// One widget cannot fit in 300 bytes: EncodingLimit.
	tiny := bytes.Replace(req, []byte(">8192<"), []byte(">300<"), 1)
	if _, reply := post(t, srv, testUser, testPass, tiny); subcode(t, reply) != "w:EncodingLimit" {
		t.Errorf("tiny MaxEnvelopeSize: got %q, want w:EncodingLimit", subcode(t, reply))
	}
}

func TestInvokeChecksParametersBeforeTheMethodRuns(t *testing.T) {
	srv, w := newTestServer(t, 2)
	invoke := func(params string) []byte {
		return []byte(envHead + `<a:Action s:mustUnderstand="true">` + widgetURI + `/Frob</a:Action><w:SelectorSet><w:Selector Name="Name">w01</w:Selector></w:SelectorSet></s:Header><s:Body><p:Frob_INPUT xmlns:p="` + widgetURI + `">` + params + `</p:Frob_INPUT></s:Body></s:Envelope>`)
	}
	tests := []struct {
		name, params, wantFault, wantReturn string
	}{
		{"valid", `<p:Count>2</p:Count>`, "", "0"},
		{"missing required", ``, "", "5"},
		{"reserved value", `<p:Count>9</p:Count>`, "", "5"},
		{"not a number", `<p:Count>many</p:Count>`, "w:InvalidParameter", ""},
		{"unknown parameter", `<p:Count>1</p:Count><p:Bogus>1</p:Bogus>`, "w:InvalidParameter", ""},
		{"out parameter sent", `<p:Count>1</p:Count><p:Echo>x</p:Echo>`, "w:InvalidParameter", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.calls.Load()
			_, reply := post(t, srv, testUser, testPass, invoke(tt.params))
			if got := subcode(t, reply); got != tt.wantFault {
				t.Fatalf("fault %q, want %q\n%s", got, tt.wantFault, reply)
			}
			ran := w.calls.Load() != before
			if tt.wantFault != "" {
				if ran {
					t.Errorf("Frob ran although the request was refused")
				}
				return
			}
			if rv := find(parse(t, reply), "ReturnValue"); rv == nil || rv.Text() != tt.wantReturn {
				t.Errorf("ReturnValue %v, want %s\n%s", rv, tt.wantReturn, reply)
			}
			if ran != (tt.wantReturn == "0") {
				t.Errorf("Frob ran = %v, want %v", ran, tt.wantReturn == "0")
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	srv, _ := newTestServer(t, 1)
	for _, tt := range []struct {
		name, user, pass string
		want             int
	}{
		{"right", testUser, testPass, 200},
		{"wrong password", testUser, "nope", 401},
		{"unknown user", "mallory", testPass, 401},
		{"no credentials", "", "", 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/wsman", bytes.NewReader(enumerate(`<w:OptimizeEnumeration/>`)))
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == 401 && resp.Header.Get("WWW-Authenticate") != `Basic realm="WSMAN"` {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Only Identify goes without credentials, and only with a small body.
	big := []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body><wsmid:Identify xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">` + strings.Repeat(" ", 64<<10) + `</wsmid:Identify></s:Body></s:Envelope>`)
	if status, _ := post(t, srv, "", "", big); status != 401 {
		t.Errorf("unauthenticated 64 KiB Identify: status %d, want 401", status)
	}
}

// FuzzServeHTTP feeds arbitrary bodies to an authenticated endpoint: every
// answer is 200 with a SOAP envelope or 500 with a SOAP fault, never a bare
// error page, and the server keeps answering.
func FuzzServeHTTP(f *testing.F) {
	seeds, _ := filepath.Glob("../soap/testdata/envelopes/*.xml")
	ex, _ := filepath.Glob("testdata/exchanges/*/request.xml")
	for _, p := range append(seeds, ex...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(enumerate(`<w:OptimizeEnumeration/>`))
	f.Add(pull("uuid:x", 2))
	srv, _ := newTestServer(f, 3)
	f.Fuzz(func(t *testing.T, body []byte) {
		status, reply := post(t, srv, testUser, testPass, body)
		switch status {
		case 200, 500:
		default:
			t.Fatalf("status %d for body %q", status, body)
		}
		root := parse(t, reply)
		if root == nil || root.Tag != "Envelope" || root.NamespaceURI() != nsEnvelope {
			t.Fatalf("reply is not a SOAP envelope: %q", reply)
		}
		if status == 500 && find(root, "Fault") == nil {
			t.Fatalf("500 without a fault: %q", reply)
		}
	})
}
