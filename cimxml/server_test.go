package cimxml_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

func TestInstanceOperations(t *testing.T) {
	e := newEnv(t)
	rsp := e.call("EnumerateInstances", iparam("ClassName", className("T_Thing"))+
		iparam("PropertyList", `<VALUE.ARRAY><VALUE>Size</VALUE></VALUE.ARRAY>`))
	named := rsp.FindElements("IRETURNVALUE/VALUE.NAMEDINSTANCE")
	if len(named) != 5 {
		t.Fatalf("EnumerateInstances: %d instances, want 5", len(named))
	}
	inst := named[1].SelectElement("INSTANCE")
	if got := valueOf(inst, "Size"); got != "200" {
		t.Errorf("t2 Size %q, want 200", got)
	}
	if got := valueOf(inst, "Tags"); got != "<absent>" {
		t.Errorf("PropertyList [Size] still wrote Tags %q", got)
	}
	if kv := named[1].FindElement("INSTANCENAME/KEYBINDING[@NAME='ID']/KEYVALUE"); kv == nil || kv.Text() != "t2" {
		t.Errorf("INSTANCENAME of the second instance: %v", kv)
	}

	names := e.call("EnumerateInstanceNames", iparam("ClassName", className("T_Thing"))).FindElements("IRETURNVALUE/INSTANCENAME")
	if len(names) != 5 {
		t.Errorf("EnumerateInstanceNames: %d, want 5", len(names))
	}

	got := e.call("GetInstance", iparam("InstanceName", thingName("t3"))).FindElement("IRETURNVALUE/INSTANCE")
	if got == nil || valueOf(got, "Size") != "300" || valueOf(got, "Tags") != "a,b" {
		t.Errorf("GetInstance t3: %v", got)
	}
	if code := errorCode(e.call("GetInstance", iparam("InstanceName", thingName("nope")))); code != 6 {
		t.Errorf("GetInstance of a missing instance: CODE %d, want 6 (CIM_ERR_NOT_FOUND)", code)
	}

	mod := `<VALUE.NAMEDINSTANCE>` + thingName("t1") + `<INSTANCE CLASSNAME="T_Thing"><PROPERTY NAME="ID" TYPE="string"><VALUE>t1</VALUE></PROPERTY>` +
		`<PROPERTY NAME="Size" TYPE="uint64"><VALUE>999</VALUE></PROPERTY></INSTANCE></VALUE.NAMEDINSTANCE>`
	if rsp := e.call("ModifyInstance", iparam("ModifiedInstance", mod)); errorCode(rsp) != 0 || rsp.SelectElement("IRETURNVALUE") != nil {
		t.Errorf("ModifyInstance answered %v", rsp)
	}
	if got := e.things.items["t1"].Get("Size").V; got != uint64(999) {
		t.Errorf("after ModifyInstance Size = %v, want 999", got)
	}
	// The whole instance sent back, as wbemcli's mi does: the read-only
	// When at CIM-XML's microseconds is no change; a different When is.
	whole := func(when string) string {
		return `<VALUE.NAMEDINSTANCE>` + thingName("t2") + `<INSTANCE CLASSNAME="T_Thing"><PROPERTY NAME="ID" TYPE="string"><VALUE>t2</VALUE></PROPERTY>` +
			`<PROPERTY NAME="Size" TYPE="uint64"><VALUE>7</VALUE></PROPERTY><PROPERTY.ARRAY NAME="Tags" TYPE="string"><VALUE.ARRAY><VALUE>a</VALUE>` +
			`<VALUE>b</VALUE></VALUE.ARRAY></PROPERTY.ARRAY><PROPERTY NAME="When" TYPE="datetime"><VALUE>` + when + `</VALUE></PROPERTY></INSTANCE></VALUE.NAMEDINSTANCE>`
	}
	if code := errorCode(e.call("ModifyInstance", iparam("ModifiedInstance", whole("20261203120000.123456+000")))); code != 0 {
		t.Errorf("ModifyInstance of the whole instance as read: CODE %d", code)
	}
	if got := e.things.items["t2"].Get("Size").V; got != uint64(7) {
		t.Errorf("after ModifyInstance t2 Size = %v, want 7", got)
	}
	if code := errorCode(e.call("ModifyInstance", iparam("ModifiedInstance", whole("20261203120001.000000+000")))); code != 4 {
		t.Errorf("ModifyInstance changing the read-only When: CODE %d, want 4", code)
	}
	if code := errorCode(e.callAs("reader", "ModifyInstance", iparam("ModifiedInstance", mod))); code != 2 {
		t.Errorf("ModifyInstance by a reader: CODE %d, want 2 (CIM_ERR_ACCESS_DENIED)", code)
	}
	if code := errorCode(e.callAs("reader", "GetInstance", iparam("InstanceName", thingName("t1")))); code != 0 {
		t.Errorf("GetInstance by a reader: CODE %d, want 0", code)
	}

	if code := errorCode(e.call("DeleteInstance", iparam("InstanceName", thingName("t5")))); code != 0 {
		t.Errorf("DeleteInstance: CODE %d", code)
	}
	if _, ok := e.things.items["t5"]; ok {
		t.Error("t5 still there after DeleteInstance")
	}
}

func TestErrorsAreCIMStatuses(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, op, ns, params string
		code                 int
	}{
		{"unknown namespace", "EnumerateInstances", "no/such", iparam("ClassName", className("T_Thing")), 3},
		{"unknown class", "EnumerateInstances", testNS, iparam("ClassName", className("T_None")), 5},
		{"missing ClassName", "EnumerateInstances", testNS, "", 4},
		{"unknown parameter", "EnumerateInstances", testNS, iparam("ClassName", className("T_Thing")) + iparam("Bogus", "<VALUE>1</VALUE>"), 4},
		{"bad key", "GetInstance", testNS, iparam("InstanceName", `<INSTANCENAME CLASSNAME="T_Thing"><KEYBINDING NAME="Nope"><KEYVALUE>x</KEYVALUE></KEYBINDING></INSTANCENAME>`), 4},
		{"unsupported operation", "CreateClass", testNS, "", 7},
		{"bad query", "ExecQuery", testNS, iparam("QueryLanguage", "<VALUE>WQL</VALUE>") + iparam("Query", "<VALUE>SELECT FROM</VALUE>"), 15},
		{"query language", "ExecQuery", testNS, iparam("QueryLanguage", "<VALUE>XPath</VALUE>") + iparam("Query", "<VALUE>x</VALUE>"), 14},
		{"unknown class in GetClass", "GetClass", testNS, iparam("ClassName", className("T_None")), 6},
		{"pull of no context", "PullInstancesWithPath", testNS, iparam("EnumerationContext", "<VALUE>nope</VALUE>") + iparam("MaxObjectCount", "<VALUE>1</VALUE>"), 21},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := e.post("admin", tt.op, intrinsic(tt.op, tt.ns, tt.params))
			if status != http.StatusOK {
				t.Fatalf("HTTP %d", status)
			}
			rsp := response(t, body, "IMETHODRESPONSE")
			if got := errorCode(rsp); got != tt.code {
				t.Errorf("CODE %d, want %d\n%s", got, tt.code, body)
			}
			if e := rsp.FindElement("ERROR"); e == nil {
				return
			} else if d := e.SelectAttrValue("DESCRIPTION", ""); d == "" || strings.Contains(d, "cimmodel:") {
				t.Errorf("DESCRIPTION %q: want a message for the client, not a Go error string", d)
			}
		})
	}
}

func TestAssociationsAndQueries(t *testing.T) {
	e := newEnv(t)
	obj := iparam("ObjectName", thingName("t1"))
	assoc := e.call("Associators", obj+iparam("AssocClass", className("T_Link"))+iparam("ResultRole", "<VALUE>B</VALUE>"))
	if n := len(assoc.FindElements("IRETURNVALUE/VALUE.OBJECTWITHPATH")); n != 4 {
		t.Errorf("Associators of t1: %d, want 4", n)
	}
	names := e.call("AssociatorNames", obj).FindElements("IRETURNVALUE/OBJECTPATH/INSTANCEPATH")
	if len(names) != 4 || names[0].FindElement("NAMESPACEPATH/HOST").Text() != "testhost" {
		t.Errorf("AssociatorNames of t1: %d paths", len(names))
	}
	if ns := names[0].FindElements("NAMESPACEPATH/LOCALNAMESPACEPATH/NAMESPACE"); len(ns) != 2 || ns[1].SelectAttrValue("NAME", "") != "ns" {
		t.Errorf("AssociatorNames' namespace path: %v", ns)
	}
	refs := e.call("References", iparam("ObjectName", thingName("t3")))
	if n := len(refs.FindElements("IRETURNVALUE/VALUE.OBJECTWITHPATH")); n != 1 {
		t.Errorf("References of t3: %d, want 1", n)
	}
	if n := len(e.call("ReferenceNames", obj+iparam("Role", "<VALUE>B</VALUE>")).FindElements("IRETURNVALUE/OBJECTPATH")); n != 0 {
		t.Errorf("ReferenceNames of t1 as B: %d, want 0", n)
	}
	for _, lang := range []string{"WQL", "DMTF:CQL"} {
		q := e.call("ExecQuery", iparam("QueryLanguage", "<VALUE>"+lang+"</VALUE>")+
			iparam("Query", "<VALUE>SELECT Size FROM T_Thing WHERE Size &gt; 250</VALUE>"))
		if n := len(q.FindElements("IRETURNVALUE/VALUE.OBJECTWITHPATH")); n != 3 {
			t.Errorf("%s query: %d, want 3", lang, n)
		}
	}
}

func TestClasses(t *testing.T) {
	e := newEnv(t)
	c := e.call("GetClass", iparam("ClassName", className("T_Thing"))+iparam("LocalOnly", "<VALUE>FALSE</VALUE>"))
	if m := c.FindElement("IRETURNVALUE/CLASS/METHOD[@NAME='Combine']/PARAMETER.REFARRAY[@NAME='Things']"); m == nil {
		t.Errorf("GetClass: no Combine with its reference array parameter")
	}
	names := e.call("EnumerateClassNames", iparam("DeepInheritance", "<VALUE>TRUE</VALUE>")).FindElements("IRETURNVALUE/CLASSNAME")
	if len(names) != 2 {
		t.Errorf("EnumerateClassNames: %d, want 2", len(names))
	}
}

// Pull: an Open answers MaxObjectCount items and a context; Pulls walk the
// rest until EndOfSequence; the context is then gone, and a reader cannot
// pull another user's context.
func TestPullOperations(t *testing.T) {
	e := newEnv(t)
	rsp := e.call("OpenEnumerateInstances", iparam("ClassName", className("T_Thing"))+iparam("MaxObjectCount", "<VALUE>2</VALUE>"))
	items, ctx, eos := pullParts(t, rsp)
	if items != 2 || ctx == "" || eos {
		t.Fatalf("Open: %d items, context %q, end %v", items, ctx, eos)
	}
	if code := errorCode(e.callAs("reader", "PullInstancesWithPath", iparam("EnumerationContext", "<VALUE>"+ctx+"</VALUE>")+
		iparam("MaxObjectCount", "<VALUE>10</VALUE>"))); code != 21 {
		t.Errorf("another user's Pull: CODE %d, want 21", code)
	}
	total := items
	for !eos {
		rsp = e.call("PullInstancesWithPath", iparam("EnumerationContext", "<VALUE>"+ctx+"</VALUE>")+iparam("MaxObjectCount", "<VALUE>2</VALUE>"))
		items, ctx, eos = pullParts(t, rsp)
		total += items
	}
	if total != 5 {
		t.Errorf("pulled %d instances, want 5", total)
	}
	paths := e.call("OpenEnumerateInstancePaths", iparam("ClassName", className("T_Thing"))+iparam("MaxObjectCount", "<VALUE>100</VALUE>"))
	if n := len(paths.FindElements("IRETURNVALUE/INSTANCEPATH")); n != 5 {
		t.Errorf("OpenEnumerateInstancePaths: %d paths, want 5", n)
	}
	rsp = e.call("OpenAssociatorInstances", iparam("InstanceName", thingName("t1"))+iparam("MaxObjectCount", "<VALUE>1</VALUE>"))
	_, ctx, _ = pullParts(t, rsp)
	if code := errorCode(e.call("CloseEnumeration", iparam("EnumerationContext", "<VALUE>"+ctx+"</VALUE>"))); code != 0 {
		t.Errorf("CloseEnumeration: CODE %d", code)
	}
	if code := errorCode(e.call("PullInstancesWithPath", iparam("EnumerationContext", "<VALUE>"+ctx+"</VALUE>")+
		iparam("MaxObjectCount", "<VALUE>1</VALUE>"))); code != 21 {
		t.Errorf("Pull after Close: CODE %d, want 21", code)
	}
}

func pullParts(t *testing.T, rsp *etree.Element) (items int, ctx string, eos bool) {
	t.Helper()
	if c := errorCode(rsp); c != 0 {
		t.Fatalf("pull answered CODE %d", c)
	}
	items = len(rsp.FindElements("IRETURNVALUE/VALUE.INSTANCEWITHPATH"))
	if v := rsp.FindElement("PARAMVALUE[@NAME='EnumerationContext']/VALUE"); v != nil {
		ctx = v.Text()
	}
	v := rsp.FindElement("PARAMVALUE[@NAME='EndOfSequence']/VALUE")
	if v == nil {
		t.Fatal("no EndOfSequence")
	}
	return items, ctx, v.Text() == "TRUE"
}

func TestInvokeMethod(t *testing.T) {
	e := newEnv(t)
	ref := func(id string) string {
		return `<VALUE.REFERENCE><INSTANCEPATH><NAMESPACEPATH><HOST>h</HOST><LOCALNAMESPACEPATH><NAMESPACE NAME="test"/><NAMESPACE NAME="ns"/>` +
			`</LOCALNAMESPACEPATH></NAMESPACEPATH>` + thingName(id) + `</INSTANCEPATH></VALUE.REFERENCE>`
	}
	embedded := `&lt;INSTANCE CLASSNAME="T_Thing"&gt;&lt;PROPERTY NAME="ID" TYPE="string"&gt;&lt;VALUE&gt;e&lt;/VALUE&gt;&lt;/PROPERTY&gt;&lt;/INSTANCE&gt;`
	call := func(user, params string) (*etree.Element, int) {
		body := `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>` +
			`<METHODCALL NAME="Combine"><LOCALCLASSPATH><LOCALNAMESPACEPATH><NAMESPACE NAME="test"/><NAMESPACE NAME="ns"/></LOCALNAMESPACEPATH>` +
			className("T_Thing") + `</LOCALCLASSPATH>` + params + `</METHODCALL></SIMPLEREQ></MESSAGE></CIM>`
		status, _, out := e.post(user, "Combine", body)
		if status != http.StatusOK {
			t.Fatalf("HTTP %d\n%s", status, out)
		}
		rsp := response(t, out, "METHODRESPONSE")
		return rsp, errorCode(rsp)
	}
	rsp, code := call("admin", `<PARAMVALUE NAME="Things" PARAMTYPE="reference"><VALUE.REFARRAY>`+ref("t1")+ref("t2")+`</VALUE.REFARRAY></PARAMVALUE>`+
		`<PARAMVALUE NAME="One" PARAMTYPE="reference">`+ref("t3")+`</PARAMVALUE>`+
		`<PARAMVALUE NAME="Names" PARAMTYPE="string"><VALUE.ARRAY><VALUE>x</VALUE><VALUE>y</VALUE></VALUE.ARRAY></PARAMVALUE>`+
		`<PARAMVALUE NAME="Mode" PARAMTYPE="uint16"><VALUE>3</VALUE></PARAMVALUE>`+
		`<PARAMVALUE NAME="Setting" PARAMTYPE="string" EmbeddedObject="instance"><VALUE>`+embedded+`</VALUE></PARAMVALUE>`)
	if code != 0 {
		t.Fatalf("Combine: CODE %d", code)
	}
	if rv := rsp.FindElement("RETURNVALUE/VALUE"); rv == nil || rv.Text() != "0" || rsp.ChildElements()[0].Tag != "RETURNVALUE" {
		t.Errorf("RETURNVALUE missing or not first")
	}
	if c := rsp.FindElement("PARAMVALUE[@NAME='Count']/VALUE"); c == nil || c.Text() != "2" {
		t.Errorf("Count out-parameter: %v", c)
	}
	if r := rsp.FindElement("PARAMVALUE[@NAME='Result']/VALUE.REFERENCE//KEYVALUE"); r == nil || r.Text() != "t3" {
		t.Errorf("Result out-parameter: %v", r)
	}
	in := e.calls[len(e.calls)-1]
	if v, _ := in.Get("Setting"); v.IsNull() || v.Type.String() != "instance" {
		t.Errorf("Setting reached the method as %v", v)
	}
	if v, _ := in.Get("Names"); v.Len() != 2 {
		t.Errorf("Names reached the method as %v", v)
	}

	// A value outside the ValueMap is the method's ReturnValue 5, not an ERROR.
	rsp, code = call("admin", `<PARAMVALUE NAME="Mode" PARAMTYPE="uint16"><VALUE>9</VALUE></PARAMVALUE>`)
	if rv := rsp.FindElement("RETURNVALUE/VALUE"); code != 0 || rv == nil || rv.Text() != "5" {
		t.Errorf("Mode 9: CODE %d, ReturnValue %v", code, rv)
	}
	// A reference to another class, and a reader, are refused.
	if _, code = call("admin", `<PARAMVALUE NAME="One"><VALUE.REFERENCE><INSTANCENAME CLASSNAME="T_Link"/></VALUE.REFERENCE></PARAMVALUE>`); code != 4 {
		t.Errorf("a T_Link reference for One: CODE %d, want 4", code)
	}
	if _, code = call("reader", ""); code != 2 {
		t.Errorf("InvokeMethod by a reader: CODE %d, want 2", code)
	}
}

// Requests that are no CIM operation get HTTP 400/501 with the CIMError
// header, unauthenticated ones 401 with a Basic challenge, and nothing of
// their body reaches the answer.
func TestRequestErrors(t *testing.T) {
	e := newEnv(t)
	good := intrinsic("EnumerateInstanceNames", testNS, iparam("ClassName", className("T_Thing")))
	if status, _, _ := e.post("", "", good); status != http.StatusUnauthorized {
		t.Errorf("no credentials: HTTP %d, want 401", status)
	}
	if status, cimErr, _ := e.post("admin", "GetInstance", good); status != http.StatusBadRequest || cimErr != "header-mismatch" {
		t.Errorf("CIMMethod mismatch: HTTP %d CIMError %q", status, cimErr)
	}
	deep := strings.Repeat("<a>", 200) + strings.Repeat("</a>", 200)
	tests := []struct {
		name, body, cimErr string
		status             int
	}{
		{"entity", `<?xml version="1.0"?><!DOCTYPE CIM [<!ENTITY x "y">]><CIM>&x;</CIM>`, "request-not-well-formed", 400},
		{"external entity", `<!DOCTYPE CIM SYSTEM "file:///etc/passwd"><CIM/>`, "request-not-well-formed", 400},
		{"undefined entity", `<CIM>&lol;</CIM>`, "request-not-well-formed", 400},
		{"deep", `<CIM><MESSAGE ID="1" PROTOCOLVERSION="1.0">` + deep + `</MESSAGE></CIM>`, "request-not-valid", 400},
		{"not CIM", `<Envelope/>`, "request-not-valid", 400},
		{"protocol version", strings.Replace(good, `PROTOCOLVERSION="1.0"`, `PROTOCOLVERSION="2.0"`, 1), "unsupported-protocol-version", 501},
		{"multiple requests", `<CIM><MESSAGE ID="1" PROTOCOLVERSION="1.0"><MULTIREQ/></MESSAGE></CIM>`, "multiple-requests-unsupported", 501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, cimErr, body := e.post("admin", "", tt.body)
			if status != tt.status || cimErr != tt.cimErr || body != "" {
				t.Errorf("HTTP %d CIMError %q body %q, want %d %q and no body", status, cimErr, body, tt.status, tt.cimErr)
			}
		})
	}
	big := strings.Replace(good, "<SIMPLEREQ>", "<SIMPLEREQ>"+strings.Repeat(" ", 5<<20), 1)
	if status, cimErr, _ := e.post("admin", "", big); status != http.StatusBadRequest || cimErr != "request-not-valid" {
		t.Errorf("5 MiB body: HTTP %d CIMError %q", status, cimErr)
	}
	// And the server still answers.
	if rsp := e.call("EnumerateInstanceNames", iparam("ClassName", className("T_Thing"))); errorCode(rsp) != 0 {
		t.Error("no answer after the hostile requests")
	}
}

// One user's requests in progress are capped (Limits.MaxRequestsPerUser):
// past the cap 503, while another user is still served.
func TestRequestsPerUserCapped(t *testing.T) {
	e := newEnv(t)
	e.srv.Limits.MaxRequestsPerUser = 1 // read by every request; none has run yet
	e.block, e.started = make(chan struct{}), make(chan struct{}, 1)
	combine := `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>` +
		`<METHODCALL NAME="Combine"><LOCALCLASSPATH><LOCALNAMESPACEPATH><NAMESPACE NAME="test"/><NAMESPACE NAME="ns"/></LOCALNAMESPACEPATH>` +
		className("T_Thing") + `</LOCALCLASSPATH></METHODCALL></SIMPLEREQ></MESSAGE></CIM>`
	done := make(chan int, 1)
	go func() {
		status, _, _ := e.post("admin", "Combine", combine)
		done <- status
	}()
	<-e.started
	get := intrinsic("GetInstance", testNS, iparam("InstanceName", thingName("t1")))
	if status, _, _ := e.post("admin", "GetInstance", get); status != http.StatusServiceUnavailable {
		t.Errorf("admin's second request while one is in progress: HTTP %d, want 503", status)
	}
	if status, _, _ := e.post("reader", "GetInstance", get); status != http.StatusOK {
		t.Errorf("another user meanwhile: HTTP %d, want 200", status)
	}
	close(e.block)
	if status := <-done; status != http.StatusOK {
		t.Errorf("the blocked call: HTTP %d", status)
	}
	if status, _, _ := e.post("admin", "GetInstance", get); status != http.StatusOK {
		t.Errorf("admin after the call ended: HTTP %d, want 200", status)
	}
}
