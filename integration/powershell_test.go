package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// replay posts a message of testdata/powershell with its placeholders
// filled in and returns the parsed answer; the status must be 200.
func replay(t *testing.T, d *daemon, name string, vars map[string]string) *etree.Element {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "powershell", name))
	if err != nil {
		t.Fatal(err)
	}
	msg := string(raw)
	for k, v := range vars {
		msg = strings.ReplaceAll(msg, "{{"+k+"}}", v)
	}
	if i := strings.Index(msg, "{{"); i >= 0 {
		t.Fatalf("%s: placeholder %s left unfilled", name, msg[i:i+12])
	}
	code, body := d.post(d.user, d.password, []byte(msg), "")
	if code != 200 {
		t.Fatalf("%s: HTTP %d, want 200\n%s", name, code, body)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(body); err != nil {
		t.Fatalf("%s: answer is not XML: %v", name, err)
	}
	b := doc.FindElement("/Envelope/Body")
	if b == nil || len(b.ChildElements()) != 1 {
		t.Fatalf("%s: answer without one body element:\n%s", name, body)
	}
	return b.ChildElements()[0]
}

// dmtfClassURI prefixes the resource URIs the CIM cmdlets use (nsWSMan and
// nsAddressing come from winrm_test.go).
const dmtfClassURI = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"

// items checks an optimized EnumerateResponse the way the MI client reads
// it (w:Items of w:Item, each an instance of class with xsi:type
// p:<class>_Type and an a:EndpointReference, then w:EndOfSequence) and
// returns the instance elements.
func items(t *testing.T, name string, resp *etree.Element, class string) []*etree.Element {
	t.Helper()
	if resp.Tag != "EnumerateResponse" {
		t.Fatalf("%s: answer %s, want EnumerateResponse", name, resp.Tag)
	}
	var its *etree.Element
	end := false
	for _, c := range resp.ChildElements() {
		if c.NamespaceURI() == nsWSMan && c.Tag == "Items" {
			its = c
		}
		if c.NamespaceURI() == nsWSMan && c.Tag == "EndOfSequence" {
			end = true
		}
	}
	if its == nil || !end {
		t.Fatalf("%s: want wsman:Items and wsman:EndOfSequence in one EnumerateResponse", name)
	}
	var out []*etree.Element
	for _, it := range its.ChildElements() {
		if it.Tag != "Item" || it.NamespaceURI() != nsWSMan || len(it.ChildElements()) != 2 {
			t.Fatalf("%s: item %s with %d children, want wsman:Item with an instance and its EPR", name, it.Tag, len(it.ChildElements()))
		}
		inst, epr := it.ChildElements()[0], it.ChildElements()[1]
		if inst.Tag != class {
			t.Errorf("%s: instance of %s, want %s", name, inst.Tag, class)
		}
		if typ := inst.SelectAttrValue("xsi:type", ""); !strings.HasSuffix(typ, ":"+class+"_Type") {
			t.Errorf("%s: xsi:type %q, want p:%s_Type", name, typ, class)
		}
		if epr.Tag != "EndpointReference" || epr.NamespaceURI() != nsAddressing || epr.FindElement("ReferenceParameters/SelectorSet") == nil {
			t.Errorf("%s: second child %s, want a:EndpointReference with selectors", name, epr.Tag)
		}
		out = append(out, inst)
	}
	return out
}

func childText(e *etree.Element, local string) string {
	for _, c := range e.ChildElements() {
		if c.Tag == local {
			return strings.TrimSpace(c.Text())
		}
	}
	return ""
}

// TestPowerShellCmdlets replays the messages of New-CimSession,
// Get-CimInstance (class and query), Get-CimAssociatedInstance and
// Invoke-CimMethod CreateGroupReplica (testdata/powershell, see SOURCES.md)
// and checks the answers have the shape the MI client parses; the replica's
// images must appear on disk.
func TestPowerShellCmdlets(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	c := ctl{t: t, bin: buildReplicactl(t), d: d}
	c.must("volume", "create", "ps1", "--size", "2M")
	c.must("volume", "create", "ps2", "--size", "1M")
	c.must("group", "create", "psg", "ps1", "ps2")
	var groups []struct {
		InstanceID string `json:"instanceId"`
	}
	if err := json.Unmarshal([]byte(c.must("group", "list", "--output", "json")), &groups); err != nil || len(groups) != 1 {
		t.Fatalf("group list: %v (%d groups), want 1", err, len(groups))
	}
	var svcs []struct{ Properties map[string]any }
	if err := json.Unmarshal([]byte(c.must("enumerate", "MSISCSITARGET_ReplicationService", "--output", "json")), &svcs); err != nil || len(svcs) != 1 {
		t.Fatalf("replication service: %v", err)
	}
	system, _ := svcs[0].Properties["SystemName"].(string)
	vars := map[string]string{"TO": d.url(), "GROUP": groups[0].InstanceID, "SYSTEM": system}

	t.Run("New-CimSession", func(t *testing.T) {
		resp := replay(t, d, "new-cimsession-identify.xml", vars)
		if resp.Tag != "IdentifyResponse" || childText(resp, "ProtocolVersion") != nsWSMan {
			t.Errorf("answer %s with ProtocolVersion %q, want IdentifyResponse with %s", resp.Tag, childText(resp, "ProtocolVersion"), nsWSMan)
		}
	})
	t.Run("Get-CimInstance", func(t *testing.T) {
		vols := items(t, "get-ciminstance-volumes", replay(t, d, "get-ciminstance-volumes.xml", vars), "MSISCSITARGET_StorageVolume")
		if len(vols) != 2 {
			t.Errorf("got %d volumes, want 2", len(vols))
		}
	})
	t.Run("Get-CimInstance -Query", func(t *testing.T) {
		vols := items(t, "get-ciminstance-query", replay(t, d, "get-ciminstance-query.xml", vars), "MSISCSITARGET_StorageVolume")
		if len(vols) != 1 || childText(vols[0], "ElementName") != "ps1" {
			t.Errorf("got %d volumes, want only ps1", len(vols))
		}
	})
	t.Run("Get-CimAssociatedInstance", func(t *testing.T) {
		vols := items(t, "get-cimassociatedinstance-members", replay(t, d, "get-cimassociatedinstance-members.xml", vars), "MSISCSITARGET_StorageVolume")
		var names []string
		for _, v := range vols {
			names = append(names, childText(v, "ElementName"))
		}
		if strings.Join(names, ",") != "ps1,ps2" {
			t.Errorf("group members %v, want [ps1 ps2]", names)
		}
	})
	t.Run("Invoke-CimMethod", func(t *testing.T) {
		out := replay(t, d, "invoke-cimmethod-creategroupreplica.xml", vars)
		wantNS := dmtfClassURI + "MSISCSITARGET_ReplicationService"
		if out.Tag != "CreateGroupReplica_OUTPUT" || out.NamespaceURI() != wantNS {
			t.Fatalf("answer {%s}%s, want {%s}CreateGroupReplica_OUTPUT", out.NamespaceURI(), out.Tag, wantNS)
		}
		if rv := childText(out, "ReturnValue"); rv != "4096" {
			t.Fatalf("ReturnValue %s, want 4096 (job started)", rv)
		}
		var jobID string
		for _, sel := range out.FindElements("Job/ReferenceParameters/SelectorSet/Selector") {
			if sel.SelectAttrValue("Name", "") == "InstanceID" {
				jobID = strings.TrimSpace(sel.Text())
			}
		}
		if jobID == "" {
			t.Fatal("no Job EPR with an InstanceID selector in the output")
		}
		vars["JOB"] = jobID
		deadline := time.Now().Add(60 * time.Second)
		for {
			job := replay(t, d, "get-ciminstance-job.xml", vars)
			if job.Tag != "MSISCSITARGET_ConcreteJob" || !strings.HasSuffix(job.SelectAttrValue("xsi:type", ""), ":MSISCSITARGET_ConcreteJob_Type") {
				t.Fatalf("Get answered %s, want an MSISCSITARGET_ConcreteJob instance with its xsi:type", job.Tag)
			}
			if state := childText(job, "JobState"); state == "7" {
				break
			} else if state == "8" || state == "9" || state == "10" || time.Now().After(deadline) {
				t.Fatalf("JobState %s (%s), want 7 Completed", state, childText(job, "ErrorDescription"))
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, f := range []string{"psrel_1.img", "psrel_2.img"} {
			if _, err := os.Stat(filepath.Join(d.dataDir, "pools", "default", f)); err != nil {
				t.Errorf("replica image: %v", err)
			}
		}
	})
}

// classURI is the resource URI of class declarations the MI client uses
// for Get-CimClass (wsman/class.go).
const classURI = "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*"

// validCIMXML validates a <CLASS> against DSP0201's DTD (DSP0203 2.4.0, in
// wsman/testdata/dtd) with xmllint, DERIVATION (Microsoft's extension,
// not in the DTD) removed.
func validCIMXML(t *testing.T, class *etree.Element) {
	t.Helper()
	c := class.Copy()
	c.RemoveAttr("DERIVATION")
	doc := etree.NewDocument()
	doc.SetRoot(c)
	f := filepath.Join(t.TempDir(), "class.xml")
	if err := doc.WriteToFile(f); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("xmllint", "--noout", "--dtdvalid", "../wsman/testdata/dtd/DSP0203_2.4.0.dtd", f).CombinedOutput(); err != nil {
		t.Errorf("CLASS %s is not valid DSP0201: %v\n%s", class.SelectAttrValue("NAME", ""), err, out)
	}
}

// qualifier returns the QUALIFIER named name (case-insensitive) of e.
func qualifier(e *etree.Element, name string) *etree.Element {
	for _, q := range e.SelectElements("QUALIFIER") {
		if strings.EqualFold(q.SelectAttrValue("NAME", ""), name) {
			return q
		}
	}
	return nil
}

// declared returns the child of e of one of tags whose NAME is name.
func declared(e *etree.Element, name string, tags ...string) *etree.Element {
	for _, c := range e.ChildElements() {
		if c.SelectAttrValue("NAME", "") == name && slices.Contains(tags, c.Tag) {
			return c
		}
	}
	return nil
}

// TestPowerShellGetCimClass replays what Get-CimClass sends (the MI
// client's class retrieval, testdata/powershell/get-cimclass*.xml, see
// SOURCES.md) against the real daemon: the declarations come from the
// class registry with inheritance, methods, parameters and the qualifiers
// the MI client reads, each valid DSP0201.
func TestPowerShellGetCimClass(t *testing.T) {
	t.Parallel()
	requireClient(t, "xmllint", lookPath("xmllint"))
	d := sharedDaemon(t)
	vars := map[string]string{"TO": d.url(), "CLASS": "MSISCSITARGET_ReplicationService"}

	t.Run("Get-CimClass", func(t *testing.T) {
		c := replay(t, d, "get-cimclass.xml", vars)
		if c.Tag != "CLASS" || c.SelectAttrValue("NAME", "") != "MSISCSITARGET_ReplicationService" ||
			c.SelectAttrValue("SUPERCLASS", "") != "CIM_ReplicationService" {
			t.Fatalf("answer %s NAME=%q SUPERCLASS=%q, want CLASS MSISCSITARGET_ReplicationService : CIM_ReplicationService",
				c.Tag, c.SelectAttrValue("NAME", ""), c.SelectAttrValue("SUPERCLASS", ""))
		}
		if der := c.SelectAttrValue("DERIVATION", ""); !strings.HasPrefix(der, "CIM_ReplicationService,") {
			t.Errorf("DERIVATION %q, want the superclasses nearest first", der)
		}
		for _, k := range []string{"SystemCreationClassName", "SystemName", "CreationClassName", "Name"} {
			p := declared(c, k, "PROPERTY")
			if p == nil || qualifier(p, "key") == nil || p.SelectAttrValue("PROPAGATED", "") != "true" || p.SelectAttrValue("CLASSORIGIN", "") == "" {
				t.Errorf("key %s: want an inherited PROPERTY (PROPAGATED, CLASSORIGIN) with the key qualifier", k)
			}
		}
		m := declared(c, "CreateGroupReplica", "METHOD")
		if m == nil || m.SelectAttrValue("TYPE", "") != "uint32" || qualifier(m, "ValueMap") == nil {
			t.Fatal("no METHOD CreateGroupReplica TYPE=uint32 with its return ValueMap")
		}
		if p := declared(m, "RelationshipName", "PARAMETER"); p == nil || p.SelectAttrValue("TYPE", "") != "string" || qualifier(p, "in") == nil {
			t.Error("RelationshipName: want PARAMETER TYPE=string with the in qualifier")
		}
		if p := declared(m, "SyncType", "PARAMETER"); p == nil || p.SelectAttrValue("TYPE", "") != "uint16" ||
			qualifier(p, "ValueMap") == nil || qualifier(p, "Values") == nil {
			t.Error("SyncType: want PARAMETER TYPE=uint16 with ValueMap and Values")
		}
		if p := declared(m, "SourceGroup", "PARAMETER.REFERENCE"); p == nil || p.SelectAttrValue("REFERENCECLASS", "") != "CIM_ReplicationGroup" {
			t.Error("SourceGroup: want PARAMETER.REFERENCE REFERENCECLASS=CIM_ReplicationGroup")
		}
		if p := declared(m, "Job", "PARAMETER.REFERENCE"); p == nil || qualifier(p, "out") == nil || qualifier(p, "in") != nil {
			t.Error("Job: want an out-only PARAMETER.REFERENCE")
		}
		validCIMXML(t, c)
	})

	t.Run("Get-CimClass -ClassName MSISCSITARGET_*", func(t *testing.T) {
		resp := replay(t, d, "get-cimclass-enumerate.xml", vars)
		var classes []*etree.Element
		for {
			end := false
			for _, c := range resp.ChildElements() {
				switch c.Tag {
				case "Items":
					classes = append(classes, c.ChildElements()...)
				case "EndOfSequence":
					end = true
				}
			}
			ctx := strings.TrimSpace(childText(resp, "EnumerationContext"))
			if end || ctx == "" || len(classes) > 1000 {
				break
			}
			pull := envelopeHead + header(d.url(), actionPull, classURI, "") +
				`<s:Body><n:Pull><n:EnumerationContext>` + ctx + `</n:EnumerationContext><n:MaxElements>100</n:MaxElements></n:Pull></s:Body></s:Envelope>`
			code, body := d.post(d.user, d.password, []byte(pull), "")
			doc := etree.NewDocument()
			if code != 200 || doc.ReadFromString(body) != nil {
				t.Fatalf("Pull: HTTP %d\n%s", code, body)
			}
			resp = doc.FindElement("/Envelope/Body").ChildElements()[0]
		}
		seen := map[string]bool{}
		var ours []string
		for _, c := range classes {
			name, super := c.SelectAttrValue("NAME", ""), c.SelectAttrValue("SUPERCLASS", "")
			if c.Tag != "CLASS" || name == "" {
				t.Fatalf("item %s NAME=%q, want CLASS", c.Tag, name)
			}
			if super != "" && !seen[super] {
				t.Errorf("%s comes before its superclass %s", name, super)
			}
			seen[name] = true
			if strings.HasPrefix(name, "MSISCSITARGET_") {
				ours = append(ours, name)
			}
			validCIMXML(t, c)
		}
		for _, want := range []string{"MSISCSITARGET_ReplicationService", "MSISCSITARGET_StorageVolume", "MSISCSITARGET_ReplicationGroup", "MSISCSITARGET_ConcreteJob"} {
			if !seen[want] {
				t.Errorf("class %s missing from the enumeration (%d classes: %v)", want, len(classes), ours)
			}
		}
	})
}

// TestPowerShellInvokeOnClass replays the Invoke-CimMethod -ClassName
// sequence (the class fetched, then the method invoked on the class):
// the invocation on the class creates the replica.
func TestPowerShellInvokeOnClass(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	vars := map[string]string{"TO": d.url(), "CLASS": "MSISCSITARGET_ReplicationService"}
	c := ctl{t: t, bin: buildReplicactl(t), d: d}
	c.must("volume", "create", "cn1", "--size", "1M")
	c.must("group", "create", "cng", "cn1")
	var groups []struct {
		InstanceID string `json:"instanceId"`
	}
	if err := json.Unmarshal([]byte(c.must("group", "list", "--output", "json")), &groups); err != nil || len(groups) != 1 {
		t.Fatalf("group list: %v (%d groups), want 1", err, len(groups))
	}
	vars["GROUP"], vars["REL"] = groups[0].InstanceID, "cnrel"
	// The MI client fetches the class to type the arguments, then invokes on the class.
	if cls := replay(t, d, "get-cimclass.xml", vars); declared(cls, "CreateGroupReplica", "METHOD") == nil {
		t.Fatal("the class fetched first has no CreateGroupReplica")
	}
	out := replay(t, d, "invoke-cimmethod-classname-creategroupreplica.xml", vars)
	if out.Tag != "CreateGroupReplica_OUTPUT" {
		t.Fatalf("answer %s, want CreateGroupReplica_OUTPUT", out.Tag)
	}
	if rv := childText(out, "ReturnValue"); rv != "4096" && rv != "0" {
		t.Fatalf("ReturnValue %s, want 0 or 4096", rv)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(d.dataDir, "pools", "default", "cnrel_1.img")); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("replica image: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// psInstance writes inst (an instance element of a Get answer) the way the
// MI client serialises a CimInstance in a Put body (OMI's
// Unix/wsman/samples/Put2.xml): <p0:Class xsi:type="p0:Class_Type"> in the
// DMTF resource URI's namespace, one element per property. set replaces
// property values; nils become xsi:nil="true".
func psInstance(inst *etree.Element, class string, set map[string]string, nils ...string) string {
	out := etree.NewElement("p0:" + class)
	out.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
	out.CreateAttr("xmlns:p0", dmtfClassURI+class)
	out.CreateAttr("xmlns:cim", "http://schemas.dmtf.org/wbem/wscim/1/common")
	out.CreateAttr("xsi:type", "p0:"+class+"_Type")
	for _, c := range inst.ChildElements() {
		e := c.Copy()
		e.Space = "p0"
		v, replace := set[c.Tag]
		null := slices.Contains(nils, c.Tag)
		if replace || null {
			for _, k := range e.ChildElements() {
				e.RemoveChild(k)
			}
			e.RemoveAttr("xsi:nil")
			e.SetText(v)
		}
		if null {
			e.CreateAttr("xsi:nil", "true")
		}
		out.AddChild(e)
	}
	doc := etree.NewDocument()
	doc.SetRoot(out)
	s, _ := doc.WriteToString()
	return s
}

// TestPowerShellSetCimInstance replays Set-CimInstance on a job
// (testdata/powershell/set-ciminstance-job.xml: OMI's recorded MI-client
// Put with replicad's class and keys) against the real daemon. The body is
// the whole instance as Get gave it, as PowerShell sends it, with a
// read-only property nil; only the property named in
// __MIInstanceModifiedPropertiesList (DeleteOnCompletion) changes. Naming a
// read-only property (JobState) with a new value is refused with
// w:InvalidParameter, and nothing changes. On the way, the EPRs of the
// associated instances and of the method's Job keep __cimnamespace.
func TestPowerShellSetCimInstance(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	c := ctl{t: t, bin: buildReplicactl(t), d: d}
	c.must("volume", "create", "ps1", "--size", "1M")
	c.must("volume", "create", "ps2", "--size", "1M")
	c.must("group", "create", "psg", "ps1", "ps2")
	var groups []struct {
		InstanceID string `json:"instanceId"`
	}
	if err := json.Unmarshal([]byte(c.must("group", "list", "--output", "json")), &groups); err != nil || len(groups) != 1 {
		t.Fatalf("group list: %v (%d groups), want 1", err, len(groups))
	}
	var svcs []struct{ Properties map[string]any }
	if err := json.Unmarshal([]byte(c.must("enumerate", "MSISCSITARGET_ReplicationService", "--output", "json")), &svcs); err != nil || len(svcs) != 1 {
		t.Fatalf("replication service: %v", err)
	}
	system, _ := svcs[0].Properties["SystemName"].(string)
	vars := map[string]string{"TO": d.url(), "GROUP": groups[0].InstanceID, "SYSTEM": system}
	// EPRs answering the cmdlets' DMTF-addressed requests keep the
	// namespace (__cimnamespace, DMTF URI): the method's Job reference and
	// the associated instances' EPRs.
	keepsNamespace := func(what string, epr *etree.Element, class string) {
		t.Helper()
		if u := strings.TrimSpace(epr.FindElement("ReferenceParameters/ResourceURI").Text()); u != dmtfClassURI+class {
			t.Errorf("%s: EPR resource URI %s, want %s", what, u, dmtfClassURI+class)
		}
		ns := ""
		for _, sel := range epr.FindElements("ReferenceParameters/SelectorSet/Selector") {
			if sel.SelectAttrValue("Name", "") == "__cimnamespace" {
				ns = strings.TrimSpace(sel.Text())
			}
		}
		if ns != "root/cimv2/storage/iscsitarget" {
			t.Errorf("%s: EPR __cimnamespace %q, want root/cimv2/storage/iscsitarget", what, ns)
		}
	}
	members := replay(t, d, "get-cimassociatedinstance-members.xml", vars)
	eprs := members.FindElements("Items/Item/EndpointReference")
	if len(eprs) != 2 {
		t.Fatalf("Get-CimAssociatedInstance: %d EPRs, want 2", len(eprs))
	}
	for _, epr := range eprs {
		keepsNamespace("Get-CimAssociatedInstance", epr, "MSISCSITARGET_StorageVolume")
	}
	out := replay(t, d, "invoke-cimmethod-creategroupreplica.xml", vars)
	jobEPR := out.FindElement("Job")
	if jobEPR == nil {
		t.Fatalf("no Job in %s", out.Tag)
	}
	keepsNamespace("CreateGroupReplica Job", jobEPR, "MSISCSITARGET_ConcreteJob")
	for _, sel := range out.FindElements("Job/ReferenceParameters/SelectorSet/Selector") {
		if sel.SelectAttrValue("Name", "") == "InstanceID" {
			vars["JOB"] = strings.TrimSpace(sel.Text())
		}
	}
	if vars["JOB"] == "" {
		t.Fatalf("no job from CreateGroupReplica")
	}
	var job *etree.Element
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		job = replay(t, d, "get-ciminstance-job.xml", vars)
		if state := childText(job, "JobState"); state == "7" {
			break
		} else if state == "8" || state == "9" || state == "10" || time.Now().After(deadline) {
			t.Fatalf("JobState %s, want 7 Completed", state)
		}
	}
	flipped := map[string]string{"true": "false", "false": "true"}[childText(job, "DeleteOnCompletion")]
	if flipped == "" || childText(job, "ErrorDescription") == "" && childText(job, "JobStatus") == "" {
		t.Fatalf("job without DeleteOnCompletion or JobStatus: %v", job)
	}

	vars["MODIFIED"] = "DeleteOnCompletion"
	vars["INSTANCE"] = psInstance(job, "MSISCSITARGET_ConcreteJob", map[string]string{"DeleteOnCompletion": flipped}, "JobStatus")
	put := replay(t, d, "set-ciminstance-job.xml", vars)
	if put.Tag != "MSISCSITARGET_ConcreteJob" || childText(put, "DeleteOnCompletion") != flipped {
		t.Fatalf("Put answered %s with DeleteOnCompletion %q, want the job with %s", put.Tag, childText(put, "DeleteOnCompletion"), flipped)
	}
	after := replay(t, d, "get-ciminstance-job.xml", vars)
	if childText(after, "DeleteOnCompletion") != flipped || childText(after, "JobStatus") != childText(job, "JobStatus") {
		t.Errorf("after Set-CimInstance: DeleteOnCompletion %q JobStatus %q, want %s and %q unchanged",
			childText(after, "DeleteOnCompletion"), childText(after, "JobStatus"), flipped, childText(job, "JobStatus"))
	}

	vars["MODIFIED"] = "JobState"
	vars["INSTANCE"] = psInstance(after, "MSISCSITARGET_ConcreteJob", map[string]string{"JobState": "2"})
	raw, _ := os.ReadFile(filepath.Join("testdata", "powershell", "set-ciminstance-job.xml"))
	msg := string(raw)
	for k, v := range vars {
		msg = strings.ReplaceAll(msg, "{{"+k+"}}", v)
	}
	code, body := d.post(d.user, d.password, []byte(msg), "")
	if code != 500 || !strings.Contains(body, "<s:Value>w:InvalidParameter</s:Value>") || !strings.Contains(body, "JobState") {
		t.Errorf("changing the read-only JobState: HTTP %d, want 500 w:InvalidParameter naming JobState:\n%s", code, body)
	}
	if st := childText(replay(t, d, "get-ciminstance-job.xml", vars), "JobState"); st != "7" {
		t.Errorf("JobState %s after a refused Put, want 7", st)
	}
}
