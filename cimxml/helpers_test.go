package cimxml_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/cimxml"
	"github.com/replicad/replicad/users"
)

const testNS = "test/ns"

// things is an in-memory provider of T_Thing.
type things struct {
	mu    sync.Mutex
	class *cimmodel.Class
	items map[string]*cimmodel.Instance
}

func (p *things) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for id := range p.items {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []*cimmodel.Instance
	for _, id := range ids {
		out = append(out, p.items[id].Copy())
	}
	return out, nil
}

func (p *things) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, _ := path.Key("ID")
	s, _ := id.AsString()
	if inst, ok := p.items[s]; ok {
		return inst.Copy(), nil
	}
	return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "no thing %q", s)
}

func (p *things) ModifyInstance(ctx context.Context, path cimmodel.ObjectPath, changes *cimmodel.Instance) (*cimmodel.Instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, _ := path.Key("ID")
	s, _ := id.AsString()
	inst := p.items[s]
	for k, v := range changes.Values {
		inst.Set(k, v)
	}
	return inst.Copy(), nil
}

func (p *things) DeleteInstance(ctx context.Context, path cimmodel.ObjectPath) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, _ := path.Key("ID")
	s, _ := id.AsString()
	delete(p.items, s)
	return nil
}

// thingTime is every thing's When: nanoseconds, more than CIM-XML's
// microseconds carry.
var thingTime = time.Date(2026, 12, 3, 12, 0, 0, 123456789, time.UTC)

func (p *things) add(id string, size uint64) {
	p.items[id] = cimmodel.NewInstance(p.class).Set("ID", cimmodel.String(id)).Set("Size", cimmodel.Uint64(size)).
		Set("Tags", cimmodel.Strings([]string{"a", "b"})).Set("When", cimmodel.TimeValue(thingTime))
}

type links struct {
	class  *cimmodel.Class
	things *things
}

func (l *links) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	all, _ := l.things.EnumerateInstances(ctx)
	var out []*cimmodel.Instance
	for i := 1; i < len(all); i++ {
		out = append(out, cimmodel.NewInstance(l.class).Set("A", cimmodel.Ref(all[0].Path())).Set("B", cimmodel.Ref(all[i].Path())))
	}
	return out, nil
}

func (l *links) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	all, _ := l.EnumerateInstances(ctx)
	for _, inst := range all {
		if inst.Path().Equal(path) {
			return inst, nil
		}
	}
	return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "no link")
}

// env is a cimxml server on a small registry: T_Thing (key ID, Size
// writable, Tags), T_Link (A → the first thing, B → each other thing) and
// T_Thing.Combine, a static method taking references, arrays and an
// embedded instance. Users: admin/pw (admin), reader/pw (reader).
type env struct {
	t      testing.TB
	reg    *cimmodel.Registry
	things *things
	srv    *cimxml.Server
	url    string
	calls  []cimmodel.Args
	// block, when set, holds every Combine call until it is closed;
	// started is told of each call that waits.
	block, started chan struct{}
}

type fakeAuth struct{ u *users.File }

func (a fakeAuth) AuthenticateBasic(r *http.Request) (string, error) {
	name, pw, ok := r.BasicAuth()
	if !ok {
		return "", errors.New("no credentials")
	}
	// Not bcrypt per request (wsman's authenticator is tested in wsman):
	// the test users all have the password "pw".
	if !a.u.Has(name) || pw != "pw" {
		return "", errors.New("wrong user name or password")
	}
	return name, nil
}

func (a fakeAuth) LogName(name string) string { return name }

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, reg: cimmodel.NewRegistry()}
	thing := &cimmodel.Class{Name: "T_Thing", Namespace: testNS, Properties: []cimmodel.Property{
		{Name: "ID", Type: cimmodel.TypeString, Key: true},
		{Name: "Size", Type: cimmodel.TypeUint64, Write: true},
		{Name: "Tags", Type: cimmodel.TypeString, Array: true},
		{Name: "When", Type: cimmodel.TypeDatetime},
	}}
	thing.Methods = []*cimmodel.Method{{Name: "Combine", ReturnType: cimmodel.TypeUint32, Params: []cimmodel.Parameter{
		{Name: "Things", Type: cimmodel.TypeReference, Array: true, In: true, RefClass: "T_Thing"},
		{Name: "One", Type: cimmodel.TypeReference, In: true, RefClass: "T_Thing"},
		{Name: "Names", Type: cimmodel.TypeString, Array: true, In: true},
		{Name: "Mode", Type: cimmodel.TypeUint16, In: true, ValueMap: []string{"2", "3"}},
		{Name: "Setting", Type: cimmodel.TypeString, In: true, EmbeddedClass: "T_Thing"},
		{Name: "Result", Type: cimmodel.TypeReference, Out: true, RefClass: "T_Thing"},
		{Name: "Count", Type: cimmodel.TypeUint32, Out: true},
	}, Func: func(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
		if e.block != nil {
			e.started <- struct{}{}
			<-e.block
		}
		e.calls = append(e.calls, in)
		n := uint32(0)
		if v, ok := in.Get("Things"); ok {
			n = uint32(v.Len())
		}
		out := map[string]cimmodel.Value{"Count": cimmodel.Uint32(n)}
		if v, ok := in.Get("One"); ok && !v.IsNull() {
			out["Result"] = v
		}
		return cimmodel.Result{ReturnValue: 0, Out: out}, nil
	}}}
	e.things = &things{class: thing, items: map[string]*cimmodel.Instance{}}
	thing.Provider = e.things
	link := &cimmodel.Class{Name: "T_Link", Namespace: testNS, Association: true, Properties: []cimmodel.Property{
		{Name: "A", Type: cimmodel.TypeReference, Key: true, RefClass: "T_Thing"},
		{Name: "B", Type: cimmodel.TypeReference, Key: true, RefClass: "T_Thing"},
	}}
	link.Provider = &links{class: link, things: e.things}
	for _, c := range []*cimmodel.Class{thing, link} {
		if err := e.reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range []string{"t1", "t2", "t3", "t4", "t5"} {
		e.things.add(id, uint64(i+1)*100)
	}
	u, err := users.Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"admin", "reader"} {
		if err := u.Set(name, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.SetRole("reader", users.RoleReader); err != nil {
		t.Fatal(err)
	}
	e.srv = cimxml.NewServer(e.reg, fakeAuth{u}, u)
	e.srv.Host = "testhost"
	ts := httptest.NewServer(e.srv.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL + cimxml.Path
	return e
}

// post sends body as user and returns the HTTP status, the CIMError
// header and the body.
func (e *env) post(user, method string, body string) (int, string, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
	req.Header.Set("CIMOperation", "MethodCall")
	if method != "" {
		req.Header.Set("CIMMethod", method)
	}
	if user != "" {
		req.SetBasicAuth(user, "pw")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("CIMError"), string(out)
}

// call sends an intrinsic operation with the IPARAMVALUEs params (raw
// XML) as admin and returns the parsed IMETHODRESPONSE.
func (e *env) call(op, params string) *etree.Element {
	e.t.Helper()
	return e.callAs("admin", op, params)
}

func (e *env) callAs(user, op, params string) *etree.Element {
	e.t.Helper()
	status, cimErr, body := e.post(user, op, intrinsic(op, testNS, params))
	if status != http.StatusOK {
		e.t.Fatalf("%s: HTTP %d CIMError %q\n%s", op, status, cimErr, body)
	}
	return response(e.t, body, "IMETHODRESPONSE")
}

func intrinsic(op, ns, params string) string {
	var nsXML strings.Builder
	for _, part := range strings.Split(ns, "/") {
		fmt.Fprintf(&nsXML, `<NAMESPACE NAME="%s"/>`, part)
	}
	return `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>` +
		`<IMETHODCALL NAME="` + op + `"><LOCALNAMESPACEPATH>` + nsXML.String() + `</LOCALNAMESPACEPATH>` + params +
		`</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
}

func response(t testing.TB, body, tag string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes([]byte(body)); err != nil {
		t.Fatalf("answer is not XML: %v\n%s", err, body)
	}
	rsp := doc.FindElement("/CIM/MESSAGE/SIMPLERSP/" + tag)
	if rsp == nil || doc.FindElement("/CIM/MESSAGE").SelectAttrValue("ID", "") != "1001" {
		t.Fatalf("no %s in an answer to message 1001:\n%s", tag, body)
	}
	return rsp
}

// errorCode returns the CODE of rsp's ERROR, 0 when it has none.
func errorCode(rsp *etree.Element) int {
	e := rsp.SelectElement("ERROR")
	if e == nil {
		return 0
	}
	var n int
	fmt.Sscan(e.SelectAttrValue("CODE", ""), &n)
	return n
}

func className(name string) string { return `<CLASSNAME NAME="` + name + `"/>` }

func thingName(id string) string {
	return `<INSTANCENAME CLASSNAME="T_Thing"><KEYBINDING NAME="ID"><KEYVALUE VALUETYPE="string">` + id + `</KEYVALUE></KEYBINDING></INSTANCENAME>`
}

func iparam(name, inner string) string {
	return `<IPARAMVALUE NAME="` + name + `">` + inner + `</IPARAMVALUE>`
}

func valueOf(e *etree.Element, prop string) string {
	for _, p := range e.ChildElements() {
		if p.SelectAttrValue("NAME", "") == prop {
			var b bytes.Buffer
			for _, v := range p.FindElements(".//VALUE") {
				if b.Len() > 0 {
					b.WriteByte(',')
				}
				b.WriteString(v.Text())
			}
			return b.String()
		}
	}
	return "<absent>"
}
