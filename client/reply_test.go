package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/replicad/replicad/soap"
)

// decoded is what each operation makes of one answer: Identify, Get, an
// Enumerate or Pull page, and Invoke of method.
type decoded struct {
	Identity Identity
	Get      *Instance
	Page     []*Instance
	End      bool
	Context  string
	Output   *Output
	// Errors by operation, "" for none; a fault is written out whole.
	IdentityErr, GetErr, EnumerateErr, PullErr, OutputErr string
}

// errText writes err for comparison: its text, and a fault's fields.
func errText(err error) string {
	if err == nil {
		return ""
	}
	var f *Fault
	if errors.As(err, &f) {
		return fmt.Sprintf("%v %+v", err, *f)
	}
	return err.Error()
}

// decodeAnswer decodes data with the reply reader as each operation does.
func decodeAnswer(status int, data []byte, method string) decoded {
	var d decoded
	r, b, err := parseAnswer(status, data)
	if err != nil {
		e := errText(err)
		return decoded{IdentityErr: e, GetErr: e, EnumerateErr: e, PullErr: e, OutputErr: e}
	}
	defer r.release()
	var gerr, eerr, perr, oerr, ierr error
	d.Identity, ierr = r.identity(b)
	if b == none {
		gerr = fmt.Errorf("%w: Get answered with an empty body", ErrProtocol)
	} else {
		d.Get, gerr = r.instance(b)
	}
	_, _, eerr = r.page(b, "Enumerate", new([]*Instance))
	d.End, d.Context, perr = r.page(b, "Pull", &d.Page)
	d.Output, oerr = r.output(b, method)
	d.IdentityErr, d.GetErr, d.EnumerateErr, d.PullErr, d.OutputErr = errText(ierr), errText(gerr), errText(eerr), errText(perr), errText(oerr)
	return d
}

// decodeAnswerByTree decodes data with the reference, the tree-based
// decoder.
func decodeAnswerByTree(status int, data []byte, method string) decoded {
	var d decoded
	env, err := refParseAnswer(status, data)
	if err != nil {
		e := errText(err)
		return decoded{IdentityErr: e, GetErr: e, EnumerateErr: e, PullErr: e, OutputErr: e}
	}
	var gerr, eerr, perr, oerr, ierr error
	d.Identity, ierr = refIdentity(env.Body)
	d.Get, gerr = refGet(env.Body)
	_, _, eerr = refPage(env.Body, "Enumerate", new([]*Instance))
	d.End, d.Context, perr = refPage(env.Body, "Pull", &d.Page)
	d.Output, oerr = refOutput(env.Body, method)
	d.IdentityErr, d.GetErr, d.EnumerateErr, d.PullErr, d.OutputErr = errText(ierr), errText(gerr), errText(eerr), errText(perr), errText(oerr)
	return d
}

// checkAgainstTree fails t unless the reply reader and the tree-based
// decoder make the same of data, answered with status, for every
// operation: the same values, or the same errors.
func checkAgainstTree(t *testing.T, status int, data []byte) {
	t.Helper()
	method := "M"
	if env, err := soap.Parse(data); err == nil && env.Body != nil {
		method, _ = strings.CutSuffix(env.Body.Tag, "_OUTPUT")
	}
	got := decodeAnswer(status, data, method)
	want := decodeAnswerByTree(status, data, method)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("HTTP %d answer %q:\nreply reader %s\ntree decoder %s", status, data, dump(got), dump(want))
	}
}

// dump writes d with the instances it points to.
func dump(d decoded) string {
	s := fmt.Sprintf("%+v", d)
	if d.Get != nil {
		s += fmt.Sprintf("\n  get %+v path %+v", *d.Get, d.Get.Path)
	}
	for _, i := range d.Page {
		s += fmt.Sprintf("\n  item %+v path %+v", *i, i.Path)
	}
	if d.Output != nil && d.Output.Params != nil {
		s += fmt.Sprintf("\n  output %+v", *d.Output.Params)
	}
	return s
}

// realAnswers returns the answers of the wsman exchanges (real server
// answers, some of Windows), the soap faults and envelopes, and the inputs
// of this package's fuzz corpus.
func realAnswers(tb testing.TB) [][]byte {
	var out [][]byte
	for _, glob := range []string{"../wsman/testdata/exchanges/*/*.xml", "../soap/testdata/faults/*.xml", "../soap/testdata/envelopes/*.xml",
		"testdata/fuzz/FuzzReplyMatchesTree/*"} {
		files, err := filepath.Glob(glob)
		if err != nil {
			tb.Fatal(err)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				tb.Fatal(err)
			}
			if strings.Contains(name, "/fuzz/") {
				out = append(out, corpusInputs(b)...)
				continue
			}
			out = append(out, b)
		}
	}
	return out
}

// corpusInputs returns the []byte values of a Go fuzz corpus file.
func corpusInputs(b []byte) [][]byte {
	var out [][]byte
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "[]byte("); ok {
			var s string
			if _, err := fmt.Sscanf(strings.TrimSuffix(v, ")"), "%q", &s); err == nil {
				out = append(out, []byte(s))
			}
		}
	}
	return out
}

const answerStart = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
	`xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration">`

// answerCorners are answers at the corners of the reply reader: headers it
// leaves to soap.Parse, names and namespaces that etree resolves in its own
// way, text split by comments, every kind of property.
var answerCorners = []string{
	answerStart + `<s:Header><a:Action s:mustUnderstand="true">x</a:Action><a:RelatesTo>y</a:RelatesTo></s:Header><s:Body/></s:Envelope>`,
	answerStart + `<s:Header><a:Action>x</a:Action><a:Action>x</a:Action></s:Header><s:Body/></s:Envelope>`,
	answerStart + `<s:Header><a:RelatesTo s:mustUnderstand="1">y</a:RelatesTo></s:Header><s:Body/></s:Envelope>`,
	answerStart + `<s:Header><a:RelatesTo s:mustUnderstand="maybe">y</a:RelatesTo></s:Header><s:Body/></s:Envelope>`,
	answerStart + `<s:Header><w:MaxEnvelopeSize>12</w:MaxEnvelopeSize></s:Header><s:Body/></s:Envelope>`,
	answerStart + `<s:Header><x:H xmlns:x="u" s:role="http://www.w3.org/2003/05/soap-envelope/role/none" s:mustUnderstand="true"/></s:Header><s:Body/></s:Envelope>`,
	answerStart + `<s:Body/><s:Header/></s:Envelope>`,
	answerStart + `text<s:Body/></s:Envelope>`,
	`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>`,
	`<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body><PullResponse><Items><Item xmlns="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><X xmlns="u"><A>1</A></X></Item></Items><EndOfSequence/></PullResponse></Body></Envelope>`,
	answerStart + `<s:Body><n:PullResponse><n:EnumerationContext> c<!-- x -->d </n:EnumerationContext><w:Items>` +
		`<p:C xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/C" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="p:D_Type">` +
		`<p:A>1</p:A><p:B xsi:nil="true"/><p:A>2</p:A><p:T><cim:Datetime xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common"> 2024-01-01T00:00:00Z </cim:Datetime></p:T>` +
		`<p:R><a:Address>x</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/E</w:ResourceURI>` +
		`<w:SelectorSet><w:Selector Name="K">v&amp;w</w:Selector><w:Selector Name="__cimnamespace">root\x</w:Selector></w:SelectorSet></a:ReferenceParameters></p:R>` +
		`<p:E><q:F xmlns:q="u2"><q:G>g</q:G></q:F></p:E><p:H xsi:type="p:H_Type"><p:I>i</p:I></p:H>` +
		`</p:C><a:EndpointReference><a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/C</w:ResourceURI></a:ReferenceParameters></a:EndpointReference>` +
		`</w:Items></n:PullResponse></s:Body></s:Envelope>`,
	answerStart + `<s:Body><n:PullResponse><w:Items><a:EndpointReference><a:ReferenceParameters><w:ResourceURI>http://x/*</w:ResourceURI></a:ReferenceParameters></a:EndpointReference></w:Items></n:PullResponse></s:Body></s:Envelope>`,
	answerStart + `<s:Body><n:PullResponse><w:Items><w:Item><a:EndpointReference/></w:Item></w:Items></n:PullResponse></s:Body></s:Envelope>`,
	answerStart + `<s:Body><p:M_OUTPUT xmlns:p="u"><p:ReturnValue>4096</p:ReturnValue><p:Job><a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/J</w:ResourceURI>` +
		`<w:SelectorSet><w:Selector Name="K"><a:EndpointReference><a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/L</w:ResourceURI></a:ReferenceParameters></a:EndpointReference></w:Selector></w:SelectorSet>` +
		`</a:ReferenceParameters></p:Job></p:M_OUTPUT></s:Body></s:Envelope>`,
	answerStart + `<s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:InvalidSelectors</s:Value></s:Subcode></s:Code>` +
		`<s:Reason><s:Text xml:lang="en-US">r</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="5"><f:Message>m</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`,
	`<a :xmlns="u" xmlns="v"/>`, ` `, `<a>`,
}

// TestReplyMatchesTree checks the reply reader against the tree-based
// decoder on every real answer and corner case, answered with 200 and 500.
func TestReplyMatchesTree(t *testing.T) {
	answers := realAnswers(t)
	if len(answers) < 20 {
		t.Fatalf("found %d answers, want the testdata's", len(answers))
	}
	for _, c := range answerCorners {
		answers = append(answers, []byte(c))
	}
	for _, a := range answers {
		checkAgainstTree(t, 200, a)
		checkAgainstTree(t, 500, a)
	}
}

// FuzzReplyMatchesTree checks that the reply reader makes of any answer
// what the tree-based decoder made of it: the same identity, instances,
// paths, enumeration context and output, or the same errors and faults.
func FuzzReplyMatchesTree(f *testing.F) {
	for _, a := range realAnswers(f) {
		f.Add(a, false)
	}
	for _, c := range answerCorners {
		f.Add([]byte(c), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, fault bool) {
		status := 200
		if fault {
			status = 500
		}
		checkAgainstTree(t, status, data)
	})
}

// TestReplyConcurrent checks that answers read at once (sharing the pool
// of replies and soap's scanners) decode as a lone read does; run it with
// -race.
func TestReplyConcurrent(t *testing.T) {
	var answers [][]byte
	var want []decoded
	for _, a := range realAnswers(t) {
		answers, want = append(answers, a), append(want, decodeAnswer(200, a, "M"))
	}
	errs := make(chan string, 8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 40 {
				i := (g*7 + round) % len(answers)
				if got := decodeAnswer(200, answers[i], "M"); !reflect.DeepEqual(got, want[i]) {
					errs <- "decoded differently from a lone read:\n" + dump(got) + "\nwant\n" + dump(want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
