package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/replicad/replicad/cimmodel"
)

// recorder is an HTTP transport that keeps the body of each request and
// answers with answer.
type recorder struct {
	sent   [][]byte
	answer []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	r.sent = append(r.sent, body)
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/soap+xml;charset=UTF-8"}},
		Body: io.NopCloser(bytes.NewReader(r.answer)), ContentLength: int64(len(r.answer)), Request: req}, nil
}

var messageIDPattern = regexp.MustCompile(`uuid:[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}`)

// TestRequestsMatchTree checks that each operation sends, byte for byte,
// what the etree builder it replaced wrote (the MessageID aside, which must
// be a fresh version-4 UUID in capitals each time): selectors of every
// kind, text that needs escaping, empty values, NULL, reference and array
// arguments, both filters.
func TestRequestsMatchTree(t *testing.T) {
	const odd = "a&b<c>d'e\"f\r\ng\x01h\u00e9\xff"
	ref := cimmodel.ObjectPath{Namespace: "root/cimv2", Class: "CIM_X", Keys: []cimmodel.KeyBinding{
		{Name: "Name", Value: cimmodel.String(odd)}, {Name: "Empty", Value: cimmodel.String("")}}}
	target := cimmodel.ObjectPath{Namespace: "root/cimv2/storage/iscsitarget", Class: "MSISCSITARGET_Service", Keys: []cimmodel.KeyBinding{
		{Name: "Name", Value: cimmodel.String("svc")}, {Name: "Ref", Value: cimmodel.Ref(ref)}, {Name: "E", Value: cimmodel.String("")}}}
	rec := &recorder{}
	c := New("http://h:5985/wsman?x=<&>", "u", "p", Options{HTTPClient: &http.Client{Transport: rec}, MaxEnvelopeSize: 153600})
	ctx := context.Background()
	var want [][]byte

	rec.answer = []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><IdentifyResponse/></s:Body></s:Envelope>`)
	c.Identify(ctx)
	want = append(want, refIdentifyRequest(c, "ID"))

	rec.answer = []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`)
	for _, p := range []cimmodel.ObjectPath{target, ref, {Namespace: "root/x", Class: "Y"}} {
		c.Get(ctx, p)
		want = append(want, refTransferRequest(c, "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", p, "ID"))
		c.Delete(ctx, p)
		want = append(want, refTransferRequest(c, "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete", p, "ID"))
	}

	// An Enumerate answered with a context, then a Pull answered with the
	// end of the sequence.
	enumerate := []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><s:Body>` +
		`<n:EnumerateResponse><n:EnumerationContext>ctx&amp;1</n:EnumerationContext></n:EnumerateResponse></s:Body></s:Envelope>`)
	pull := []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><s:Body>` +
		`<n:PullResponse><n:EndOfSequence/></n:PullResponse></s:Body></s:Envelope>`)
	for _, e := range []struct {
		namespace, class string
		opts             EnumerateOptions
	}{
		{"root/cimv2", "CIM_StorageVolume", EnumerateOptions{}},
		{"root/cimv2/storage/iscsitarget", "MSISCSITARGET_StorageVolume", EnumerateOptions{MaxElements: 5}},
		{"root/cimv2", "*", EnumerateOptions{WQL: "SELECT * FROM X WHERE Name = '" + odd + "'"}},
		{"root/cimv2", "*", EnumerateOptions{Association: &cimmodel.AssociationFilter{Object: target, AssociationClassName: "A", Role: "R", ResultClassName: odd}}},
		{"", "*", EnumerateOptions{Association: &cimmodel.AssociationFilter{Object: ref, Instances: true, ResultRole: "Q"}}},
	} {
		sent := len(rec.sent)
		c.http.Transport = &sequence{rec: rec, answers: [][]byte{enumerate, pull}}
		if _, err := c.Enumerate(ctx, e.namespace, e.class, e.opts); err != nil {
			t.Fatalf("Enumerate %s: %v", e.class, err)
		}
		if len(rec.sent) != sent+2 {
			t.Fatalf("Enumerate %s sent %d requests, want 2", e.class, len(rec.sent)-sent)
		}
		c.http.Transport = rec
		max := e.opts.MaxElements
		if max == 0 {
			max = 100
		}
		want = append(want, refEnumerateRequest(c, e.namespace, e.class, e.opts, "ID"),
			refPullRequest(c, cimmodel.ResourceURI(e.namespace, e.class), "ctx&1", max, "ID"))
	}

	rec.answer = []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`)
	for _, args := range [][]Arg{
		nil,
		{Text("ElementName", odd), Uint("Size", 1<<20), Text("Empty", ""), Text("Array", "1", "", "3"), {Name: "Gone", Null: true},
			Ref("Pool", ref, target), {Name: "None"}},
	} {
		c.Invoke(ctx, target, "CreateOrModifyElementFromStoragePool", args)
		want = append(want, refInvokeRequest(c, target, "CreateOrModifyElementFromStoragePool", args, "ID"))
	}

	if len(rec.sent) != len(want) {
		t.Fatalf("%d requests sent, want %d", len(rec.sent), len(want))
	}
	ids := map[string]bool{}
	for i, got := range rec.sent {
		id := messageIDPattern.Find(got)
		if i > 0 && (id == nil || ids[string(id)]) {
			t.Errorf("request %d: MessageID %q, want a fresh UUID in capitals:\n%s", i, id, got)
		}
		ids[string(id)] = true
		norm := messageIDPattern.ReplaceAll(got, []byte("ID"))
		if !bytes.Equal(norm, want[i]) {
			t.Errorf("request %d differs from the tree's:\n got %s\nwant %s", i, norm, want[i])
		}
	}
	if !strings.Contains(string(rec.sent[0]), "<s:Header/>") {
		t.Errorf("Identify has headers: %s", rec.sent[0])
	}
}

// sequence answers the requests it sees with answers in turn, recording
// them in rec.
type sequence struct {
	rec     *recorder
	answers [][]byte
}

func (s *sequence) RoundTrip(req *http.Request) (*http.Response, error) {
	s.rec.answer, s.answers = s.answers[0], s.answers[1:]
	return s.rec.RoundTrip(req)
}
