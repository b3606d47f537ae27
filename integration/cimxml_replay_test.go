package integration

import (
	"crypto/md5"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// A replay of the CIM-XML conversation libstoragemgmt's SMI-S plugin
// (smispy) has with a provider, each request written as pywbem writes it
// and each answer read by the rules those two read it with; the sources
// (files and functions of libstoragemgmt de4a7771 and pywbem 3d1e8c3a) are
// in testdata/cimxml/SOURCES.md.

// pywbemClient sends requests the way pywbem's WBEMConnection does.
type pywbemClient struct {
	t        *testing.T
	url      string
	user, pw string
}

// pywbemNS is pywbem's LOCALNAMESPACEPATH: one NAMESPACE per "/" part.
func pywbemNS(ns string) string {
	var b strings.Builder
	b.WriteString("<LOCALNAMESPACEPATH>")
	for _, part := range strings.Split(ns, "/") {
		fmt.Fprintf(&b, `<NAMESPACE NAME="%s"/>`, part)
	}
	b.WriteString("</LOCALNAMESPACEPATH>")
	return b.String()
}

// pywbemInstanceName is CIMInstanceName.tocimxml() for string keys
// (KEYVALUE with VALUETYPE and TYPE, as pywbem 1.x writes it); with a
// namespace it is a LOCALINSTANCEPATH, as pywbem sends method targets and
// references to paths it received with a namespace.
func pywbemInstanceName(p wirePath, local bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<INSTANCENAME CLASSNAME="%s">`, p.class)
	for _, k := range p.keys {
		fmt.Fprintf(&b, `<KEYBINDING NAME="%s"><KEYVALUE VALUETYPE="string" TYPE="string">%s</KEYVALUE></KEYBINDING>`, k[0], xmlText(k[1]))
	}
	b.WriteString("</INSTANCENAME>")
	if !local {
		return b.String()
	}
	return "<LOCALINSTANCEPATH>" + pywbemNS(p.ns) + b.String() + "</LOCALINSTANCEPATH>"
}

func xmlText(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}

// do posts one request with pywbem's headers (CIMObject URL-encoded as
// DSP0200 §7.4 asks) and checks the answer as pywbem's _cim_http and
// _imethodcall do: HTTP 200, CIMOperation MethodResponse, no CIMError,
// an XML body whose MESSAGE echoes ID 1001 and holds a response to method.
func (c *pywbemClient) do(method, object, body, tag string) *etree.Element {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.url, strings.NewReader(`<?xml version="1.0" encoding="utf-8" ?>`+"\n"+
		`<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>`+body+`</SIMPLEREQ></MESSAGE></CIM>`))
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth(c.user, c.pw)
	req.Header.Set("Content-type", `application/xml; charset="utf-8"`)
	req.Header.Set("CIMOperation", "MethodCall")
	req.Header.Set("CIMMethod", method)
	req.Header.Set("CIMObject", url.QueryEscape(object))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("CIMOperation") != "MethodResponse" || resp.Header.Get("CIMError") != "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
		c.t.Fatalf("%s: HTTP %d, CIMOperation %q, CIMError %q, Content-Type %q\n%s", method, resp.StatusCode,
			resp.Header.Get("CIMOperation"), resp.Header.Get("CIMError"), resp.Header.Get("Content-Type"), raw)
	}
	cimxmlValid(c.t, method, raw)
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		c.t.Fatalf("%s: answer is not XML: %v", method, err)
	}
	msg := doc.FindElement("/CIM/MESSAGE")
	if msg == nil || msg.SelectAttrValue("ID", "") != "1001" || doc.Root().SelectAttrValue("CIMVERSION", "") != "2.0" {
		c.t.Fatalf("%s: no MESSAGE 1001 in\n%s", method, raw)
	}
	rsp := msg.FindElement("SIMPLERSP/" + tag)
	if rsp == nil || rsp.SelectAttrValue("NAME", "") != method {
		c.t.Fatalf("%s: no %s NAME=%s in\n%s", method, tag, method, raw)
	}
	if e := rsp.SelectElement("ERROR"); e != nil {
		c.t.Fatalf("%s: CIMError %s: %s", method, e.SelectAttrValue("CODE", ""), e.SelectAttrValue("DESCRIPTION", ""))
	}
	return rsp
}

// cimxmlValid validates a CIM-XML answer against DSP0201's DTD (DSP0203
// 2.4.0, wsman/testdata/dtd) with xmllint: element order, required
// attributes (KEYVALUE's TYPE, PARAMVALUE's NAME, …) and content models.
func cimxmlValid(t *testing.T, method string, raw []byte) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "answer.xml")
	if err := os.WriteFile(f, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("xmllint", "--noout", "--dtdvalid", "../wsman/testdata/dtd/DSP0203_2.4.0.dtd", f).CombinedOutput(); err != nil {
		t.Errorf("%s: the answer is not valid DSP0201: %v\n%s", method, err, out)
	}
}

func (c *pywbemClient) imethod(method, ns, params string) *etree.Element {
	c.t.Helper()
	return c.do(method, ns, `<IMETHODCALL NAME="`+method+`">`+pywbemNS(ns)+params+`</IMETHODCALL>`, "IMETHODRESPONSE")
}

func pyParam(name, inner string) string {
	return `<IPARAMVALUE NAME="` + name + `">` + inner + `</IPARAMVALUE>`
}
func pyClass(name string) string { return `<CLASSNAME NAME="` + name + `"/>` }
func pyBool(b bool) string {
	if b {
		return "<VALUE>TRUE</VALUE>"
	}
	return "<VALUE>FALSE</VALUE>"
}
func pyList(names ...string) string {
	s := "<VALUE.ARRAY>"
	for _, n := range names {
		s += "<VALUE>" + n + "</VALUE>"
	}
	return s + "</VALUE.ARRAY>"
}

// wirePath is an instance path read from an answer.
type wirePath struct {
	ns, class string
	keys      [][2]string
}

// wireInstance is an instance as pywbem's tupleparse gives it: scalar
// properties as text, arrays as lists, and its path.
type wireInstance struct {
	path   wirePath
	props  map[string]string
	arrays map[string][]string
}

// readPath reads INSTANCENAME (namespace def), LOCALINSTANCEPATH or
// INSTANCEPATH, which pywbem accepts in each place.
func readPath(e *etree.Element, def string) wirePath {
	p := wirePath{ns: def}
	name := e
	if e.Tag != "INSTANCENAME" {
		var parts []string
		for _, n := range e.FindElements(".//LOCALNAMESPACEPATH/NAMESPACE") {
			parts = append(parts, n.SelectAttrValue("NAME", ""))
		}
		p.ns = strings.Join(parts, "/")
		name = e.SelectElement("INSTANCENAME")
	}
	p.class = name.SelectAttrValue("CLASSNAME", "")
	for _, kb := range name.SelectElements("KEYBINDING") {
		p.keys = append(p.keys, [2]string{kb.SelectAttrValue("NAME", ""), kb.SelectElement("KEYVALUE").Text()})
	}
	return p
}

func readInstance(e *etree.Element, path wirePath) wireInstance {
	inst := wireInstance{path: path, props: map[string]string{}, arrays: map[string][]string{}}
	for _, p := range e.ChildElements() {
		name := p.SelectAttrValue("NAME", "")
		switch p.Tag {
		case "PROPERTY":
			if v := p.SelectElement("VALUE"); v != nil {
				inst.props[name] = v.Text()
			}
		case "PROPERTY.ARRAY":
			if va := p.SelectElement("VALUE.ARRAY"); va != nil {
				inst.arrays[name] = []string{}
				for _, v := range va.SelectElements("VALUE") {
					inst.arrays[name] = append(inst.arrays[name], v.Text())
				}
			}
		}
	}
	return inst
}

// namedInstances reads EnumerateInstances' VALUE.NAMEDINSTANCEs; pywbem
// gives their paths the request's namespace.
func namedInstances(rsp *etree.Element, ns string) []wireInstance {
	var out []wireInstance
	for _, n := range rsp.FindElements("IRETURNVALUE/VALUE.NAMEDINSTANCE") {
		out = append(out, readInstance(n.SelectElement("INSTANCE"), readPath(n.SelectElement("INSTANCENAME"), ns)))
	}
	return out
}

// objectsWithPath reads Associators' VALUE.OBJECTWITHPATHs (pywbem takes
// the namespace from each INSTANCEPATH).
func objectsWithPath(rsp *etree.Element) []wireInstance {
	var out []wireInstance
	for _, n := range rsp.FindElements("IRETURNVALUE/VALUE.OBJECTWITHPATH") {
		out = append(out, readInstance(n.SelectElement("INSTANCE"), readPath(n.SelectElement("INSTANCEPATH"), "")))
	}
	return out
}

// lsmVersion is smis_common._profile_spec_ver_to_num.
func lsmVersion(s string) int {
	parts := strings.Split(s, ".")
	if len(parts) == 2 {
		parts = append(parts, "0")
	}
	if len(parts) != 3 {
		return -1
	}
	n := 0
	for _, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil {
			return -1
		}
		n = n*1000 + v
	}
	return n
}

func TestCIMXMLReplaySmispy(t *testing.T) {
	t.Parallel()
	requireClient(t, "xmllint (libxml2-utils)", lookPath("xmllint"))
	dataDir := t.TempDir()
	replWriteImage(t, dataDir, "lsmsrc", 4<<20, 64<<10, 1<<20)
	d := startDaemon(t, dataDir, "--cimxml-listen", "127.0.0.1:0")
	c := &pywbemClient{t: t, url: "http://" + cimxmlAddr(t, d) + "/cimom", user: d.user, pw: d.password}

	// _profile_register_load: the first interop namespace with profiles;
	// SNIA (11) ones only; the highest version per name; Array ≥ 1.4.
	var array *wireInstance
	profiles := map[string]string{}
	for _, ns := range []string{"interop", "root/interop", "root/PG_Interop"} {
		rsp := c.imethod("EnumerateInstances", ns, pyParam("ClassName", pyClass("CIM_RegisteredProfile"))+
			pyParam("LocalOnly", pyBool(false))+pyParam("PropertyList", pyList("RegisteredName", "RegisteredVersion", "RegisteredOrganization")))
		rps := namedInstances(rsp, ns)
		for i, rp := range rps {
			if rp.props["RegisteredOrganization"] != "11" {
				continue
			}
			name, ver := rp.props["RegisteredName"], rp.props["RegisteredVersion"]
			if old, ok := profiles[name]; ok && lsmVersion(old) >= lsmVersion(ver) {
				continue
			}
			profiles[name] = ver
			if name == "Array" {
				array = &rps[i]
			}
		}
		if len(rps) > 0 {
			break
		}
	}
	if array == nil || lsmVersion(profiles["Array"]) < lsmVersion("1.4") {
		t.Fatalf("no SNIA Array profile at 1.4 or later: %v", profiles)
	}
	for _, name := range []string{"Block Services", "Replication Services"} {
		if lsmVersion(profiles[name]) < lsmVersion("1.4") {
			t.Errorf("profile %s: %q", name, profiles[name])
		}
	}

	// _vendor_namespace and smis_sys.root_cim_sys: the Array profile's
	// conformant CIM_ComputerSystem, and its namespace for the rest.
	names := c.imethod("AssociatorNames", array.path.ns, pyParam("ObjectName", pywbemInstanceName(array.path, false))+
		pyParam("AssocClass", pyClass("CIM_ElementConformsToProfile"))+pyParam("ResultClass", pyClass("CIM_ComputerSystem")))
	paths := names.FindElements("IRETURNVALUE/OBJECTPATH/INSTANCEPATH")
	if len(paths) != 1 {
		t.Fatalf("Array → CIM_ComputerSystem: %d paths, want 1", len(paths))
	}
	vendorNS := readPath(paths[0], "").ns
	if vendorNS != cimNS {
		t.Fatalf("vendor namespace %q, want %q", vendorNS, cimNS)
	}
	syss := objectsWithPath(c.imethod("Associators", array.path.ns, pyParam("ObjectName", pywbemInstanceName(array.path, false))+
		pyParam("AssocClass", pyClass("CIM_ElementConformsToProfile"))+pyParam("ResultClass", pyClass("CIM_ComputerSystem"))+
		pyParam("PropertyList", pyList("Name"))))
	if len(syss) != 1 || syss[0].props["Name"] == "" {
		t.Fatalf("root_cim_sys: %v", syss)
	}
	sysID := syss[0].props["Name"]

	// _cim_srv_of_sys_id: the replication service whose SystemName is
	// the system's id, and its capabilities (smis_cap).
	var rs *wireInstance
	svcs := namedInstances(c.imethod("EnumerateInstances", vendorNS, pyParam("ClassName", pyClass("CIM_ReplicationService"))+
		pyParam("LocalOnly", pyBool(false))+pyParam("PropertyList", pyList("SystemName"))), vendorNS)
	for i := range svcs {
		if svcs[i].props["SystemName"] == sysID {
			rs = &svcs[i]
		}
	}
	if rs == nil {
		t.Fatalf("no CIM_ReplicationService with SystemName %q in %v", sysID, svcs)
	}
	caps := objectsWithPath(c.imethod("Associators", vendorNS, pyParam("ObjectName", pywbemInstanceName(rs.path, false))+
		pyParam("AssocClass", pyClass("CIM_ElementCapabilities"))+pyParam("ResultClass", pyClass("CIM_ReplicationServiceCapabilities"))))
	if len(caps) == 0 {
		t.Fatal("no CIM_ReplicationServiceCapabilities")
	}
	actions := append(caps[0].arrays["SupportedAsynchronousActions"], caps[0].arrays["SupportedSynchronousActions"]...)
	if !containsString(actions, "2") {
		t.Errorf("CreateElementReplica (2) not in the supported actions %v: smispy offers no VOLUME_REPLICATE", actions)
	}

	// volume_replicate: CreateElementReplica(ElementName, SyncType,
	// SourceElement, WaitForCopyState=4), Mode not sent, pywbem's typed
	// PARAMVALUEs with the source as a LOCALINSTANCEPATH. And as
	// tools/smiscli's BlockMgmt sends it: a snapshot, Mode 3, TargetPool.
	vols := namedInstances(c.imethod("EnumerateInstances", vendorNS, pyParam("ClassName", pyClass("CIM_StorageVolume"))+
		pyParam("LocalOnly", pyBool(false))), vendorNS)
	var src *wireInstance
	for i := range vols {
		if vols[i].props["ElementName"] == "lsmsrc" {
			src = &vols[i]
		}
	}
	if src == nil {
		t.Fatal("no volume lsmsrc")
	}
	ref := func(p wirePath) string {
		return `<VALUE.REFERENCE>` + pywbemInstanceName(p, true) + `</VALUE.REFERENCE>`
	}
	smispyReplicate(t, c, vendorNS, rs.path, "lsmcopy",
		`<PARAMVALUE NAME="ElementName" PARAMTYPE="string"><VALUE>lsmcopy</VALUE></PARAMVALUE>`+
			`<PARAMVALUE NAME="SyncType" PARAMTYPE="uint16"><VALUE>8</VALUE></PARAMVALUE>`+
			`<PARAMVALUE NAME="SourceElement" PARAMTYPE="reference">`+ref(src.path)+`</PARAMVALUE>`+
			`<PARAMVALUE NAME="WaitForCopyState" PARAMTYPE="uint16"><VALUE>4</VALUE></PARAMVALUE>`)
	replSameImage(t, dataDir, "lsmsrc", "lsmcopy")
	pools := namedInstances(c.imethod("EnumerateInstances", vendorNS, pyParam("ClassName", pyClass("CIM_StoragePool"))+
		pyParam("LocalOnly", pyBool(false))), vendorNS)
	if len(pools) == 0 {
		t.Fatal("no CIM_StoragePool")
	}
	smispyReplicate(t, c, vendorNS, rs.path, "lsmsnap",
		`<PARAMVALUE NAME="ElementName" PARAMTYPE="string"><VALUE>lsmsnap</VALUE></PARAMVALUE>`+
			`<PARAMVALUE NAME="SyncType" PARAMTYPE="uint16"><VALUE>7</VALUE></PARAMVALUE>`+
			`<PARAMVALUE NAME="Mode" PARAMTYPE="uint16"><VALUE>3</VALUE></PARAMVALUE>`+
			`<PARAMVALUE NAME="SourceElement" PARAMTYPE="reference">`+ref(src.path)+`</PARAMVALUE>`+
			`<PARAMVALUE NAME="TargetPool" PARAMTYPE="reference">`+ref(pools[0].path)+`</PARAMVALUE>`)
	replSameImage(t, dataDir, "lsmsrc", "lsmsnap")

	// pywbem's IterEnumerateInstances: OpenEnumerateInstances, then
	// PullInstancesWithPath until EndOfSequence.
	got := 0
	rsp := c.imethod("OpenEnumerateInstances", vendorNS, pyParam("ClassName", pyClass("CIM_StorageVolume"))+
		pyParam("MaxObjectCount", "<VALUE>1</VALUE>"))
	for {
		got += len(rsp.FindElements("IRETURNVALUE/VALUE.INSTANCEWITHPATH"))
		eos := rsp.FindElement("PARAMVALUE[@NAME='EndOfSequence']/VALUE")
		ctx := rsp.FindElement("PARAMVALUE[@NAME='EnumerationContext']/VALUE")
		if eos == nil || (strings.ToLower(eos.Text()) != "true" && ctx == nil) {
			t.Fatal("pull answer without EndOfSequence, or without EnumerationContext before the end")
		}
		if strings.ToLower(eos.Text()) == "true" {
			break
		}
		rsp = c.imethod("PullInstancesWithPath", vendorNS, pyParam("EnumerationContext", "<VALUE>"+ctx.Text()+"</VALUE>")+
			pyParam("MaxObjectCount", "<VALUE>1</VALUE>"))
	}
	if got != 3 {
		t.Errorf("pulled %d volumes, want 3 (lsmsrc, lsmcopy, lsmsnap)", got)
	}
}

// smispyReplicate invokes CreateElementReplica with params on the
// replication service rs and follows the answer as smis_common.invoke_method
// and invoke_method_wait do: 0 → the TargetElement out-parameter, read with
// GetInstance; 4096 → the job, found by md5 of its InstanceID in an
// enumeration of CIM_ConcreteJob and polled (JobState 2/3/4 running; 7 is
// success only with OperationalStatus' first two {2, 17}), then exactly
// one CIM_StorageVolume affected by it, and the job deleted unless
// DeleteOnCompletion; anything else is an error.
func smispyReplicate(t *testing.T, c *pywbemClient, ns string, rs wirePath, name, params string) {
	t.Helper()
	rsp := c.do("CreateElementReplica", ns, `<METHODCALL NAME="CreateElementReplica">`+pywbemInstanceName(rs, true)+params+
		`</METHODCALL>`, "METHODRESPONSE")
	rv := rsp.FindElement("RETURNVALUE/VALUE")
	if rv == nil || rsp.ChildElements()[0].Tag != "RETURNVALUE" {
		t.Fatal("no RETURNVALUE first in the METHODRESPONSE")
	}
	var vol wireInstance
	switch rv.Text() {
	case "0":
		ref := rsp.FindElement("PARAMVALUE[@NAME='TargetElement']/VALUE.REFERENCE")
		if ref == nil {
			t.Fatal("0 without a TargetElement")
		}
		p := readPath(ref.ChildElements()[0], ns)
		got := c.imethod("GetInstance", p.ns, pyParam("InstanceName", pywbemInstanceName(p, false)))
		vol = readInstance(got.FindElement("IRETURNVALUE/INSTANCE"), p)
	case "4096":
		ref := rsp.FindElement("PARAMVALUE[@NAME='Job']/VALUE.REFERENCE")
		if ref == nil {
			t.Fatal("4096 without a Job reference")
		}
		vol = smispyWaitJob(t, c, ns, readPath(ref.ChildElements()[0], ns))
	default:
		t.Fatalf("CreateElementReplica returned %s: smispy reports a plugin bug", rv.Text())
	}
	if vol.props["ElementName"] != name || vol.path.class == "" {
		t.Fatalf("replica %v, want ElementName %q", vol.props, name)
	}
}

func smispyWaitJob(t *testing.T, c *pywbemClient, ns string, jobPath wirePath) wireInstance {
	t.Helper()
	jobID := fmt.Sprintf("%x", md5.Sum([]byte(jobPath.keys[0][1])))
	deadline := time.Now().Add(2 * time.Minute)
	var job *wireInstance
	for {
		job = nil
		jobs := namedInstances(c.imethod("EnumerateInstances", ns, pyParam("ClassName", pyClass("CIM_ConcreteJob"))+
			pyParam("LocalOnly", pyBool(false))+pyParam("PropertyList", pyList("InstanceID", "JobState", "PercentComplete",
			"ErrorDescription", "OperationalStatus", "DeleteOnCompletion"))), ns)
		for i := range jobs {
			if fmt.Sprintf("%x", md5.Sum([]byte(jobs[i].props["InstanceID"]))) == jobID {
				job = &jobs[i]
			}
		}
		if job == nil {
			t.Fatalf("job %v not in the enumeration of CIM_ConcreteJob", jobPath)
		}
		if s := job.props["JobState"]; s != "2" && s != "3" && s != "4" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still running: %v", job.props)
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := job.arrays["OperationalStatus"]
	if job.props["JobState"] != "7" || len(st) < 2 || !(st[0] == "2" && st[1] == "17" || st[0] == "17" && st[1] == "2") {
		t.Fatalf("job ended as %v %v: smispy reports an error", job.props, st)
	}
	affected := objectsWithPath(c.imethod("Associators", ns, pyParam("ObjectName", pywbemInstanceName(jobPath, false))+
		pyParam("AssocClass", pyClass("CIM_AffectedJobElement"))+pyParam("ResultClass", pyClass("CIM_StorageVolume"))))
	if len(affected) != 1 {
		t.Fatalf("%d volumes affected by the job, want exactly 1", len(affected))
	}
	if job.props["DeleteOnCompletion"] != "true" {
		c.imethod("DeleteInstance", ns, pyParam("InstanceName", pywbemInstanceName(jobPath, false)))
	}
	return affected[0]
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
