package integration

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/masterzen/simplexml/dom"
	wsoap "github.com/masterzen/winrm/soap"
)

// Resource URIs of the replication classes (WMI form, §7 of
// cim-replication.md).
const (
	replWMI          = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/"
	replURIVolume    = replWMI + "MSISCSITARGET_StorageVolume"
	replURIJob       = replWMI + "MSISCSITARGET_ConcreteJob"
	replURIGroupSync = replWMI + "MSISCSITARGET_GroupSynchronized"
)

// replCIM drives replicad through masterzen/winrm's HTTP transport and Basic
// authentication, with envelopes laid out as Windows' WinRM client writes
// them (envelopes_test.go).
type replCIM struct {
	t *testing.T
	d *daemon
	m *masterzen
}

func newReplCIM(t *testing.T, d *daemon) *replCIM {
	return &replCIM{t: t, d: d, m: newMasterzen(t, d, d.user, d.password)}
}

// replToDOM copies an etree element (and its subtree) under parent as a
// masterzen/simplexml element, so that a hand-built envelope travels
// through masterzen's transport.
func replToDOM(parent *dom.Element, e *etree.Element) *dom.Element {
	n := dom.CreateElement(e.Tag)
	if parent != nil {
		parent.AddChild(n)
	}
	for _, a := range e.Attr {
		if a.Space == "xmlns" {
			n.DeclareNamespace(dom.Namespace{Prefix: a.Key, Uri: a.Value})
		}
	}
	if uri := e.NamespaceURI(); uri != "" {
		n.SetNamespace(e.Space, uri)
	}
	for _, a := range e.Attr {
		switch {
		case a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns"):
		case a.Space != "":
			n.SetAttr(a.Space+":"+a.Key, html.EscapeString(a.Value))
		default:
			n.SetAttr(a.Key, html.EscapeString(a.Value))
		}
	}
	kids := e.ChildElements()
	for _, k := range kids {
		replToDOM(n, k)
	}
	if len(kids) == 0 {
		if text := e.Text(); text != "" {
			n.SetContent(html.EscapeString(text))
		}
	}
	return n
}

// send posts a complete envelope through masterzen and returns the reply;
// a SOAP fault fails the test unless allowFault.
func (c *replCIM) send(envelope string, allowFault bool) (*etree.Document, error) {
	c.t.Helper()
	src := etree.NewDocument()
	if err := src.ReadFromString(envelope); err != nil {
		c.t.Fatalf("envelope: %v\n%s", err, envelope)
	}
	msg := wsoap.NewMessage()
	msg.Doc().SetRoot(replToDOM(nil, src.Root()))
	doc, err := c.m.send(c.t, msg)
	if err != nil && !allowFault {
		c.t.Fatalf("%v\nrequest:\n%s", err, envelope)
	}
	return doc, err
}

// replEPR is an endpoint reference from a reply: its resource URI and the
// w:SelectorSet element (selectors may nest EPRs).
type replEPR struct {
	uri       string
	selectors *etree.Element
}

func (r replEPR) String() string {
	doc := etree.NewDocument()
	doc.SetRoot(r.selectors.Copy())
	s, _ := doc.WriteToString()
	return r.uri + " " + s
}

// replParseEPR reads an EPR element (a:Address + a:ReferenceParameters).
func replParseEPR(t *testing.T, e *etree.Element) replEPR {
	t.Helper()
	uri := find(e, nsWSMan, "ResourceURI")
	set := find(e, nsWSMan, "SelectorSet")
	if uri == nil || set == nil {
		t.Fatalf("not an endpoint reference: %s", replElementText(e))
	}
	return replEPR{uri: strings.TrimSpace(uri.Text()), selectors: set}
}

func replElementText(e *etree.Element) string {
	doc := etree.NewDocument()
	doc.SetRoot(e.Copy())
	s, _ := doc.WriteToString()
	return s
}

// param writes a reference parameter holding r.
func (r replEPR) param(name string) string {
	return fmt.Sprintf(`<p:%s><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>`+
		`<a:ReferenceParameters><w:ResourceURI>%s</w:ResourceURI>%s</a:ReferenceParameters></p:%s>`,
		name, html.EscapeString(r.uri), replSelectorXML(r.selectors), name)
}

// replSelectorXML writes a SelectorSet with the w prefix of our envelopes.
func replSelectorXML(set *etree.Element) string {
	cp := set.Copy()
	var fix func(e *etree.Element)
	fix = func(e *etree.Element) {
		switch e.NamespaceURI() {
		case nsWSMan:
			e.Space = "w"
		case nsAddressing:
			e.Space = "a"
		}
		kept := e.Attr[:0]
		for _, a := range e.Attr {
			if a.Space != "xmlns" && !(a.Space == "" && a.Key == "xmlns") {
				kept = append(kept, a)
			}
		}
		e.Attr = kept
		for _, k := range e.ChildElements() {
			fix(k)
		}
	}
	fix(cp)
	doc := etree.NewDocument()
	doc.SetRoot(cp)
	s, _ := doc.WriteToString()
	return s
}

func replScalar(name, value string) string {
	return fmt.Sprintf("<p:%s>%s</p:%s>", name, html.EscapeString(value), name)
}

// invoke calls method on the instance r names and returns the OUTPUT
// element and its ReturnValue.
func (c *replCIM) invoke(r replEPR, method string, params ...string) (*etree.Element, int) {
	c.t.Helper()
	env := envelopeHead + header(c.d.url(), r.uri+"/"+method, r.uri, replSelectorXML(r.selectors)) +
		fmt.Sprintf(`<s:Body><p:%s_INPUT xmlns:p="%s">%s</p:%s_INPUT></s:Body></s:Envelope>`, method, html.EscapeString(r.uri), strings.Join(params, ""), method)
	doc, _ := c.send(env, false)
	out := find(doc.Root(), r.uri, method+"_OUTPUT")
	if out == nil {
		c.t.Fatalf("%s: no %s_OUTPUT in\n%s", method, method, docString(doc))
	}
	rv := find(out, r.uri, "ReturnValue")
	if rv == nil {
		c.t.Fatalf("%s: no ReturnValue", method)
	}
	n, err := strconv.Atoi(strings.TrimSpace(rv.Text()))
	if err != nil {
		c.t.Fatalf("%s: ReturnValue %q", method, rv.Text())
	}
	return out, n
}

// out returns the EPR out-parameter name of an OUTPUT element.
func (c *replCIM) out(output *etree.Element, name string) replEPR {
	c.t.Helper()
	for _, k := range output.ChildElements() {
		if k.Tag == name {
			return replParseEPR(c.t, k)
		}
	}
	c.t.Fatalf("no out-parameter %s in\n%s", name, replElementText(output))
	return replEPR{}
}

// get returns the instance r names (a fault is returned as an error).
func (c *replCIM) get(r replEPR) (*etree.Element, error) {
	c.t.Helper()
	env := envelopeHead + header(c.d.url(), actionGet, r.uri, replSelectorXML(r.selectors)) + `<s:Body/></s:Envelope>`
	doc, err := c.send(env, true)
	if err != nil {
		return nil, err
	}
	body := find(doc.Root(), "http://www.w3.org/2003/05/soap-envelope", "Body")
	if body == nil || len(body.ChildElements()) != 1 {
		c.t.Fatalf("Get: no instance in\n%s", docString(doc))
	}
	return body.ChildElements()[0], nil
}

func (c *replCIM) mustGet(r replEPR) *etree.Element {
	c.t.Helper()
	inst, err := c.get(r)
	if err != nil {
		c.t.Fatalf("Get %s: %v", r, err)
	}
	return inst
}

// enumerate returns every instance of resourceURI with its EPR.
func (c *replCIM) enumerate(resourceURI string) ([]*etree.Element, []replEPR) {
	c.t.Helper()
	return c.enumerateFiltered(resourceURI, "", "")
}

// enumerateFiltered enumerates with extra header elements (selectors) and
// an extra body (a filter).
func (c *replCIM) enumerateFiltered(resourceURI, headerExtra, filter string) ([]*etree.Element, []replEPR) {
	c.t.Helper()
	env := envelopeHead + header(c.d.url(), actionEnumerate, resourceURI, headerExtra) + `<s:Body><n:Enumerate>` +
		`<w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements><w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode>` +
		filter + `</n:Enumerate></s:Body></s:Envelope>`
	doc, _ := c.send(env, false)
	var insts []*etree.Element
	var eprs []replEPR
	for _, item := range findAll(find(doc.Root(), nsWSMan, "Items"), "Item") {
		kids := item.ChildElements()
		if len(kids) != 2 {
			c.t.Fatalf("item without instance and EPR: %s", replElementText(item))
		}
		insts = append(insts, kids[0])
		eprs = append(eprs, replParseEPR(c.t, kids[1]))
	}
	if find(doc.Root(), nsWSMan, "EndOfSequence") == nil {
		c.t.Fatalf("enumeration of %s did not end in one reply", resourceURI)
	}
	return insts, eprs
}

// replProp returns the text of property name of an instance element.
func replProp(inst *etree.Element, name string) string {
	for _, k := range inst.ChildElements() {
		if k.Tag == name {
			return strings.TrimSpace(k.Text())
		}
	}
	return ""
}

// replProps returns the texts of an array property.
func replProps(inst *etree.Element, name string) []string {
	var out []string
	for _, k := range inst.ChildElements() {
		if k.Tag == name {
			out = append(out, strings.TrimSpace(k.Text()))
		}
	}
	return out
}

// service is the replication service's EPR.
func (c *replCIM) service() replEPR {
	c.t.Helper()
	_, eprs := c.enumerate(uriReplService)
	if len(eprs) != 1 {
		c.t.Fatalf("%d replication services, want 1", len(eprs))
	}
	return eprs[0]
}

// volumes returns the StorageVolume EPRs by ElementName.
func (c *replCIM) volumes() map[string]replEPR {
	c.t.Helper()
	insts, eprs := c.enumerate(replURIVolume)
	out := map[string]replEPR{}
	for i, inst := range insts {
		out[replProp(inst, "ElementName")] = eprs[i]
	}
	return out
}

// waitJob polls the job until it is no longer New (2), Starting (3) or
// Running (4), as LSM and Cinder do, and returns it.
func (c *replCIM) waitJob(job replEPR) *etree.Element {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		inst := c.mustGet(job)
		switch replProp(inst, "JobState") {
		case "2", "3", "4":
		default:
			return inst
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job still running after 2 minutes: %s", replElementText(inst))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// replRequireCompleted checks what clients require of a finished job (§6.5).
func replRequireCompleted(t *testing.T, job *etree.Element) {
	t.Helper()
	if got := replProp(job, "JobState"); got != "7" {
		t.Fatalf("JobState %s, want 7 (%s)", got, replProp(job, "ErrorDescription"))
	}
	if got := strings.Join(replProps(job, "OperationalStatus"), ","); got != "2,17" {
		t.Errorf("OperationalStatus [%s], want [2,17]", got)
	}
	if replProp(job, "PercentComplete") != "100" || replProp(job, "ErrorCode") != "0" {
		t.Errorf("PercentComplete %s ErrorCode %s, want 100 and 0", replProp(job, "PercentComplete"), replProp(job, "ErrorCode"))
	}
}

// replPoolDir is the default pool's directory under dataDir.
func replPoolDir(dataDir string) string { return filepath.Join(dataDir, "pools", "default") }

// replWriteImage writes a sparse image of size bytes with data extents of
// extent bytes every stride bytes (a pattern derived from name), for the
// daemon to import at start.
func replWriteImage(t *testing.T, dataDir, name string, size, extent, stride int64) {
	t.Helper()
	requireDaemon(t)
	if err := os.MkdirAll(replPoolDir(dataDir), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(replPoolDir(dataDir), name+".img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	block := make([]byte, extent)
	seed := sha256.Sum256([]byte(name))
	for i := range block {
		block[i] = seed[i%len(seed)] ^ byte(i/len(seed))
	}
	for off := int64(0); off+extent <= size; off += stride {
		block[0] = byte(off >> 20)
		if _, err := f.WriteAt(block, off); err != nil {
			t.Fatal(err)
		}
	}
}

// replSameImage requires dataDir's image target to equal source byte for
// byte. It compares 1 MiB at a time: whole images of hundreds of MiB read
// into memory cost the race detector's shadow memory and seconds of CPU.
func replSameImage(t *testing.T, dataDir, source, target string) {
	t.Helper()
	a, err := os.Open(filepath.Join(replPoolDir(dataDir), source+".img"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := os.Open(filepath.Join(replPoolDir(dataDir), target+".img"))
	if err != nil {
		t.Fatalf("target %s: %v", target, err)
	}
	defer b.Close()
	bufA, bufB := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := int64(0); ; off += int64(len(bufA)) {
		na, errA := io.ReadFull(a, bufA)
		nb, errB := io.ReadFull(b, bufB)
		if na != nb || !bytes.Equal(bufA[:na], bufB[:nb]) {
			t.Errorf("%s.img differs from %s.img in the MiB at %d (read %d and %d bytes)", target, source, off, nb, na)
			return
		}
		if errA == io.EOF || errA == io.ErrUnexpectedEOF {
			if errB != errA {
				t.Errorf("%s.img differs from %s.img in size", target, source)
			}
			return
		}
		if errA != nil || errB != nil {
			t.Fatalf("compare %s.img with %s.img: %v, %v", target, source, errA, errB)
		}
	}
}

// replPoolFiles lists the files of the default pool.
func replPoolFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	ents, err := os.ReadDir(replPoolDir(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestCreateGroupReplicaWithMasterzen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"vol1", "vol2", "vol3"} {
		replWriteImage(t, dir, name, 16<<20, 64<<10, 1<<20)
	}
	d := startDaemon(t, dir)
	c := newReplCIM(t, d)
	svc := c.service()
	vols := c.volumes()

	// Group the three volumes: CreateGroup, then AddMembers.
	out, rv := c.invoke(svc, "CreateGroup", replScalar("GroupName", "cg-sources"))
	if rv != 0 {
		t.Fatalf("CreateGroup: %d", rv)
	}
	group := c.out(out, "ReplicationGroup")
	if _, rv := c.invoke(svc, "AddMembers", vols["vol1"].param("Members"), vols["vol2"].param("Members"),
		vols["vol3"].param("Members"), group.param("ReplicationGroup")); rv != 0 {
		t.Fatalf("AddMembers: %d", rv)
	}

	// Clone the group, asynchronously: 4096 and a job.
	out, rv = c.invoke(svc, "CreateGroupReplica", replScalar("RelationshipName", "rg1"), replScalar("SyncType", "8"),
		replScalar("Mode", "3"), group.param("SourceGroup"))
	if rv != 4096 {
		t.Fatalf("CreateGroupReplica: ReturnValue %d, want 4096", rv)
	}
	job, targetGroup, sync := c.out(out, "Job"), c.out(out, "TargetGroup"), c.out(out, "Synchronization")
	replRequireCompleted(t, c.waitJob(job))

	tg := c.mustGet(targetGroup)
	if replProp(tg, "ElementName") != "rg1" || replProp(tg, "ConsistentPointInTime") != "true" {
		t.Errorf("target group ElementName %q ConsistentPointInTime %q, want rg1 and true", replProp(tg, "ElementName"), replProp(tg, "ConsistentPointInTime"))
	}
	gs := c.mustGet(sync)
	if replProp(gs, "CopyState") != "4" || replProp(gs, "RelationshipName") != "rg1" || replProp(gs, "SyncType") != "8" {
		t.Errorf("GroupSynchronized CopyState %s RelationshipName %s SyncType %s, want 4, rg1, 8",
			replProp(gs, "CopyState"), replProp(gs, "RelationshipName"), replProp(gs, "SyncType"))
	}
	for i, src := range []string{"vol1", "vol2", "vol3"} {
		replSameImage(t, dir, src, fmt.Sprintf("rg1_%d", i+1))
	}
	// Each pair's StorageSynchronized resolves by its keys.
	vols = c.volumes()
	for i, src := range []string{"vol1", "vol2", "vol3"} {
		tgt := vols[fmt.Sprintf("rg1_%d", i+1)]
		s := c.mustGet(replPairEPR(vols[src], tgt))
		if replProp(s, "CopyState") != "4" || replProp(s, "SyncState") != "6" {
			t.Errorf("StorageSynchronized %s: CopyState %s SyncState %s, want 4 and 6", src, replProp(s, "CopyState"), replProp(s, "SyncState"))
		}
	}

	// One SourceElement, three copies named after a 5-character RelationshipName.
	out, rv = c.invoke(svc, "CreateGroupReplica", replScalar("RelationshipName", "five5"), replScalar("SyncType", "8"),
		vols["vol2"].param("SourceElement"), replScalar("TargetElementCount", "3"))
	if rv != 4096 {
		t.Fatalf("CreateGroupReplica with TargetElementCount: %d, want 4096", rv)
	}
	replRequireCompleted(t, c.waitJob(c.out(out, "Job")))
	c.mustGet(c.out(out, "TargetGroup"))
	c.mustGet(c.out(out, "Synchronization"))
	vols = c.volumes()
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("five5_%d", i)
		if _, ok := vols[name]; !ok {
			t.Errorf("no volume %s", name)
		}
		replSameImage(t, dir, "vol2", name)
	}
	if _, ok := vols["five5_4"]; ok {
		t.Errorf("a fourth copy five5_4 exists")
	}
}

// replPairEPR is the StorageSynchronized EPR a client builds from the two
// volume EPRs (Cinder's _find_storage_sync_sv_sv, §6.2).
func replPairEPR(source, target replEPR) replEPR {
	set := etree.NewElement("w:SelectorSet")
	set.CreateAttr("xmlns:w", nsWSMan)
	set.CreateAttr("xmlns:a", nsAddressing)
	for _, kv := range []struct {
		name string
		r    replEPR
	}{{"SystemElement", source}, {"SyncedElement", target}} {
		sel := set.CreateElement("w:Selector")
		sel.CreateAttr("Name", kv.name)
		e := sel.CreateElement("a:EndpointReference")
		e.CreateElement("a:Address").SetText("http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous")
		rp := e.CreateElement("a:ReferenceParameters")
		rp.CreateElement("w:ResourceURI").SetText(kv.r.uri)
		rp.AddChild(kv.r.selectors.Copy())
	}
	doc := etree.NewDocument()
	doc.SetRoot(set)
	s, _ := doc.WriteToString()
	parsed := etree.NewDocument()
	parsed.ReadFromString(s)
	return replEPR{uri: replWMI + "MSISCSITARGET_StorageSynchronized", selectors: parsed.Root()}
}

// TestTerminateMidCopyWithMasterzen: RequestStateChange(4) on the job of a
// big copy leaves no target, no partial file, no group and no
// synchronization behind.
func TestTerminateMidCopyWithMasterzen(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("writes a large image")
	}
	dir := t.TempDir()
	replWriteImage(t, dir, "big", 1<<30, 4<<20, 8<<20) // 1 GiB apparent, 512 MiB of data
	// 64 MiB/s: the copy takes about 8 s, time enough to act on it.
	d := startDaemon(t, dir, "--copy-bandwidth", strconv.Itoa(64<<20))
	c := newReplCIM(t, d)
	svc := c.service()
	vols := c.volumes()
	before := replPoolFiles(t, dir)

	out, rv := c.invoke(svc, "CreateGroupReplica", replScalar("RelationshipName", "term"), replScalar("SyncType", "8"),
		vols["big"].param("SourceElement"))
	if rv != 4096 {
		t.Fatalf("CreateGroupReplica: %d, want 4096", rv)
	}
	job := c.out(out, "Job")
	// A second request on the busy source is refused with In Use and
	// creates nothing.
	if _, rv := c.invoke(svc, "CreateElementReplica", replScalar("ElementName", "second"), replScalar("SyncType", "8"),
		vols["big"].param("SourceElement")); rv != 6 {
		t.Errorf("second replica of a source being copied: %d, want 6 (In Use)", rv)
	}
	if _, ok := c.volumes()["second"]; ok {
		t.Errorf("the refused request created its target")
	}
	if _, rv := c.invoke(job, "RequestStateChange", replScalar("RequestedState", "4")); rv != 0 {
		t.Fatalf("RequestStateChange(4): %d, want 0 (the copy was still running)\n%s", rv, d.logText())
	}
	j := c.waitJob(job)
	// A terminated job keeps the share it had done (issue 20: a cancelled
	// job does not claim 100).
	if replProp(j, "JobState") != "8" || replProp(j, "ErrorCode") == "0" || replProp(j, "PercentComplete") == "100" {
		t.Errorf("terminated job JobState %s ErrorCode %s PercentComplete %s, want 8, nonzero, below 100",
			replProp(j, "JobState"), replProp(j, "ErrorCode"), replProp(j, "PercentComplete"))
	}
	if t.Failed() {
		t.Log(d.logText())
	}
	if after := replPoolFiles(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("pool files after terminate: %v, want %v", after, before)
	}
	if _, ok := c.volumes()["term_1"]; ok {
		t.Errorf("volume term_1 survived the termination")
	}
	if insts, _ := c.enumerate(replURIGroupSync); len(insts) != 0 {
		t.Errorf("%d group synchronizations after terminate, want 0", len(insts))
	}
	if _, err := c.get(c.out(out, "TargetGroup")); err == nil {
		t.Errorf("the target group survived the termination")
	}
}

// TestCopyResumesAfterRestart: a copy running when the daemon stops
// resumes from its checkpoint at the next start and completes
// byte-identical.
func TestCopyResumesAfterRestart(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("writes a large image")
	}
	dir := t.TempDir()
	replWriteImage(t, dir, "big", 256<<20, 4<<20, 8<<20) // 128 MiB of data
	// 2 MiB/s: the bandwidth limit paces every 4 MiB chunk after the first,
	// so the 128 MiB of data cannot be copied in less than 62 s, and 10%
	// (12.8 MiB, the 4th chunk) is reported no earlier than 6 s in, after
	// the chunk that completed past the 5 s checkpoint interval recorded a
	// checkpoint: a stop sent at 10% lands mid-copy, with a checkpoint.
	d := startDaemon(t, dir, "--copy-bandwidth", strconv.Itoa(2<<20))
	c := newReplCIM(t, d)
	out, rv := c.invoke(c.service(), "CreateElementReplica", replScalar("ElementName", "copy"), replScalar("SyncType", "8"),
		c.volumes()["big"].param("SourceElement"))
	if rv != 4096 {
		t.Fatalf("CreateElementReplica: %d, want 4096", rv)
	}
	job := c.out(out, "Job")
	deadline := time.Now().Add(2 * time.Minute) // guards a hang only
	for {
		j := c.mustGet(job)
		if st := replProp(j, "JobState"); st != "2" && st != "3" && st != "4" {
			t.Fatalf("job JobState %s at %s%%, want 4 (Running): 128 MiB at 2 MiB/s take 62 s\n%s",
				replProp(j, "JobState"), replProp(j, "PercentComplete"), d.logText())
		}
		if pc, _ := strconv.Atoi(replProp(j, "PercentComplete")); pc >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job at %s%% after 2 minutes, want 10%%\n%s", replProp(j, "PercentComplete"), d.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.stop()
	d = startDaemon(t, dir)
	c = newReplCIM(t, d)
	replRequireCompleted(t, c.waitJob(job))
	replSameImage(t, dir, "big", "copy")
	resumed := false
	for _, e := range d.logsWith("job started") {
		if n, _ := e["attempt"].(float64); n >= 2 {
			resumed = true
		}
	}
	if !resumed {
		t.Errorf("no job resumed (attempt ≥ 2) after the restart")
	}
	// The resumed attempt wrote only what lay past its checkpoint.
	if done := d.logsWith("replica synchronized"); len(done) != 1 {
		t.Errorf("%d \"replica synchronized\" entries after the restart, want 1", len(done))
	} else if n, _ := done[0]["bytes"].(float64); n <= 0 || n >= 128<<20 {
		t.Errorf("the resumed copy wrote %.0f bytes, want fewer than the 128 MiB of data (it starts from its checkpoint)", n)
	}
	for _, f := range replPoolFiles(t, dir) {
		if strings.HasSuffix(f, ".replica") {
			t.Errorf("partial file %s left in the pool", f)
		}
	}
}

// TestCreateGroupReplicaBadInputWithMasterzen: wrong combinations answer
// their return code over the wire and leave no file, group or job behind.
func TestCreateGroupReplicaBadInputWithMasterzen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	replWriteImage(t, dir, "a", 4<<20, 64<<10, 1<<20)
	replWriteImage(t, dir, "small", 2<<20, 64<<10, 1<<20)
	d := startDaemon(t, dir)
	c := newReplCIM(t, d)
	svc := c.service()
	vols := c.volumes()
	out, rv := c.invoke(svc, "CreateGroup", replScalar("GroupName", "g"), vols["a"].param("Members"))
	if rv != 0 {
		t.Fatalf("CreateGroup: %d", rv)
	}
	group := c.out(out, "ReplicationGroup")
	out, rv = c.invoke(svc, "CreateGroup", replScalar("GroupName", "smallgroup"), vols["small"].param("Members"))
	if rv != 0 {
		t.Fatalf("CreateGroup: %d", rv)
	}
	smallGroup := c.out(out, "ReplicationGroup")
	files := strings.Join(replPoolFiles(t, dir), ",")
	tests := []struct {
		name   string
		params []string
		want   int
	}{
		{"no SyncType", []string{group.param("SourceGroup")}, 5},
		{"reserved SyncType", []string{group.param("SourceGroup"), replScalar("SyncType", "4")}, 5},
		{"Mirror", []string{group.param("SourceGroup"), replScalar("SyncType", "6")}, 1},
		{"vendor SyncType", []string{group.param("SourceGroup"), replScalar("SyncType", "32768")}, 1},
		{"both sources", []string{group.param("SourceGroup"), vols["a"].param("SourceElement"), replScalar("SyncType", "8")}, 5},
		{"no source", []string{replScalar("SyncType", "8")}, 5},
		{"TargetGroup and TargetElementCount", []string{vols["a"].param("SourceElement"), smallGroup.param("TargetGroup"),
			replScalar("TargetElementCount", "2"), replScalar("SyncType", "8")}, 5},
		{"target group does not fit", []string{group.param("SourceGroup"), smallGroup.param("TargetGroup"), replScalar("SyncType", "8")}, 5},
		{"WaitForCopyState Prepared", []string{group.param("SourceGroup"), replScalar("SyncType", "8"), replScalar("WaitForCopyState", "11")}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, rv := c.invoke(svc, "CreateGroupReplica", tt.params...)
			if rv != tt.want {
				t.Errorf("ReturnValue %d, want %d", rv, tt.want)
			}
			for _, k := range out.ChildElements() {
				if k.Tag == "Job" {
					t.Errorf("a refused call returned a Job")
				}
			}
		})
	}
	if got := strings.Join(replPoolFiles(t, dir), ","); got != files {
		t.Errorf("pool files %s, want %s", got, files)
	}
	if insts, _ := c.enumerate(replURIJob); len(insts) != 0 {
		t.Errorf("%d jobs after refused calls, want 0", len(insts))
	}
	if insts, _ := c.enumerate(replWMI + "MSISCSITARGET_ReplicationGroup"); len(insts) != 2 {
		t.Errorf("%d groups after refused calls, want the 2 made", len(insts))
	}
}
