package integration

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"
	wsoap "github.com/masterzen/winrm/soap"
)

const (
	uriWMIISCSI           = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/"
	uriStorageConfService = uriWMIISCSI + "MSISCSITARGET_StorageConfigurationService"
	uriStorageVolume      = uriWMIISCSI + "MSISCSITARGET_StorageVolume"
	uriStoragePool        = uriWMIISCSI + "MSISCSITARGET_StoragePool"
	uriDMTFWildcard       = "http://schemas.dmtf.org/wbem/wscim/1/*"

	actionDelete      = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	actionPut         = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put"
	dialectWQL        = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
	dialectAssocation = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"
	nsCIMBinding      = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
	nsSOAPEnvelope    = "http://www.w3.org/2003/05/soap-envelope"

	createElement = "CreateOrModifyElementFromStoragePool"
	returnElement = "ReturnToStoragePool"
	oneMiB        = 1 << 20
)

var volumeKeys = []string{"SystemCreationClassName", "SystemName", "CreationClassName", "DeviceID"}

// volCall posts envelope with the daemon's credentials and parses the
// reply; fault reports whether it is a SOAP fault.
func volCall(t *testing.T, d *daemon, envelope string) (doc *etree.Document, fault bool) {
	t.Helper()
	status, body := d.post(d.user, d.password, []byte(envelope), "")
	doc = etree.NewDocument()
	if err := doc.ReadFromString(body); err != nil {
		t.Fatalf("reply (HTTP %d) is not XML: %v\n%s", status, err, body)
	}
	fault = find(doc.Root(), nsSOAPEnvelope, "Fault") != nil
	if fault != (status != 200) {
		t.Errorf("HTTP %d with fault=%v, want 200 for an answer and an error status for a fault\n%s", status, fault, body)
	}
	return doc, fault
}

// volEnumerate runs an optimized Enumerate of uri (with extra header
// elements and body elements) and returns the instance elements of its
// items, failing on a fault.
func volEnumerate(t *testing.T, d *daemon, uri, headerExtra, bodyExtra string) []*etree.Element {
	t.Helper()
	env := envelopeHead + header(d.url(), actionEnumerate, uri, headerExtra) +
		`<s:Body><n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>1000</w:MaxElements>` + bodyExtra +
		`</n:Enumerate></s:Body></s:Envelope>`
	doc, fault := volCall(t, d, env)
	if fault {
		t.Fatalf("Enumerate %s answered a fault:\n%s", uri, docString(doc))
	}
	if find(doc.Root(), nsWSMan, "EndOfSequence") == nil {
		t.Fatalf("Enumerate %s did not end in one answer:\n%s", uri, docString(doc))
	}
	items := find(doc.Root(), nsWSMan, "Items")
	if items == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range items.ChildElements() {
		if c.Tag == "Item" { // EnumerateObjectAndEPR
			c = c.ChildElements()[0]
		}
		out = append(out, c)
	}
	return out
}

// volKeys reads the key properties names of an instance element.
func volKeys(t *testing.T, inst *etree.Element, names ...string) map[string]string {
	t.Helper()
	keys := map[string]string{}
	for _, n := range names {
		e := find(inst, inst.NamespaceURI(), n)
		if e == nil || e.Text() == "" {
			t.Fatalf("instance %s has no %s", inst.Tag, n)
		}
		keys[n] = e.Text()
	}
	return keys
}

// volSelectors reads the selectors of the endpoint reference under e.
func volSelectors(e *etree.Element) map[string]string {
	keys := map[string]string{}
	for _, s := range findAll(e, "Selector") {
		keys[s.SelectAttrValue("Name", "")] = strings.TrimSpace(s.Text())
	}
	return keys
}

// volEPR is the XML of an endpoint reference to the instance of uri
// with keys, as the parameters of a method call carry it.
func volEPR(uri string, keys map[string]string) string {
	return `<a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>` +
		`<a:ReferenceParameters><w:ResourceURI>` + html.EscapeString(uri) + `</w:ResourceURI>` +
		selectorSet(keys) + `</a:ReferenceParameters>`
}

// volInvoke calls method on the storage configuration service and returns
// the <p:Method_OUTPUT> element, or the reply document when it is a fault.
func volInvoke(t *testing.T, d *daemon, svc map[string]string, method, params string) (out *etree.Element, faultDoc *etree.Document) {
	t.Helper()
	doc, fault := volCall(t, d, invokeEnvelope(d.url(), uriStorageConfService, method, svc, params))
	if fault {
		return nil, doc
	}
	out = find(doc.Root(), uriStorageConfService, method+"_OUTPUT")
	if out == nil {
		t.Fatalf("no %s_OUTPUT in\n%s", method, docString(doc))
	}
	return out, nil
}

func volReturnValue(t *testing.T, out *etree.Element) string {
	t.Helper()
	rv := find(out, uriStorageConfService, "ReturnValue")
	if rv == nil {
		t.Fatalf("no ReturnValue in %s", out.Tag)
	}
	return rv.Text()
}

// volFiles lists the files under the data directory's pools.
func volFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(dataDir, "pools")
	err := filepath.WalkDir(root, func(path string, de os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func createParams(name, size string, pool map[string]string) string {
	s := `<p:ElementName>` + html.EscapeString(name) + `</p:ElementName><p:ElementType>5</p:ElementType><p:Size>` + size + `</p:Size>`
	if pool != nil {
		s += `<p:InPool>` + volEPR(uriStoragePool, pool) + `</p:InPool>`
	}
	return s
}

// TestVolumesLifecycle drives the storage classes end to end: create a
// volume with CreateOrModifyElementFromStoragePool, refuse bad input
// without a trace, find the volume through a WQL filter and through an
// association filter from its pool, restart the daemon and find it with
// the same keys, then delete volumes with WS-Transfer Delete and
// ReturnToStoragePool and check their files are gone.
func TestVolumesLifecycle(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts the daemon twice; skipped with -short")
	}
	dataDir := t.TempDir()
	d := startDaemon(t, dataDir)

	services := volEnumerate(t, d, uriStorageConfService, "", "")
	if len(services) != 1 {
		t.Fatalf("%d storage configuration services, want 1", len(services))
	}
	svc := volKeys(t, services[0], "SystemCreationClassName", "SystemName", "CreationClassName", "Name")
	pools := volEnumerate(t, d, uriStoragePool, "", "")
	if len(pools) != 1 {
		t.Fatalf("%d pools, want the default pool", len(pools))
	}
	pool := volKeys(t, pools[0], "InstanceID")

	// Create.
	out, faultDoc := volInvoke(t, d, svc, createElement, createParams("vol1", "1048576", pool))
	if faultDoc != nil {
		t.Fatalf("create answered a fault:\n%s", docString(faultDoc))
	}
	if rv := volReturnValue(t, out); rv != "0" {
		t.Fatalf("create ReturnValue = %s, want 0", rv)
	}
	if find(out, uriStorageConfService, "Job") != nil {
		t.Errorf("create answered a Job, want none (creation is instant)")
	}
	if size := find(out, uriStorageConfService, "Size"); size == nil || size.Text() != "1048576" {
		t.Errorf("Size out-parameter = %v, want 1048576", size)
	}
	theElement := find(out, uriStorageConfService, "TheElement")
	if theElement == nil {
		t.Fatalf("no TheElement in\n%s", elemString(out))
	}
	vol := volSelectors(theElement)
	if vol["DeviceID"] == "" || vol["CreationClassName"] != "MSISCSITARGET_StorageVolume" {
		t.Fatalf("TheElement selectors = %v, want a MSISCSITARGET_StorageVolume with a DeviceID", vol)
	}
	image := filepath.Join(dataDir, "pools", "default", "vol1.img")
	if fi, err := os.Stat(image); err != nil || fi.Size() != oneMiB {
		t.Fatalf("image file: %v, %v; want %d bytes", fi, err, oneMiB)
	}

	// Bad input: a return code or a fault, and nothing changes on disk.
	before := volFiles(t, dataDir)
	badCreates := []struct {
		name, params, want string
	}{
		{"name escaping the pool", createParams("../../etc/passwd", "512", nil), "5"},
		{"size 0", createParams("zero", "0", nil), "4097"},
		{"size larger than the pool", createParams("huge", "1152921504606846976", nil), "4097"},
		{"name taken", createParams("vol1", "512", nil), "5"},
		{"InPool pointing at a volume", `<p:ElementName>x</p:ElementName><p:Size>512</p:Size><p:InPool>` +
			volEPR(uriStorageVolume, vol) + `</p:InPool>`, "fault"},
	}
	for _, tt := range badCreates {
		t.Run(tt.name, func(t *testing.T) {
			out, faultDoc := volInvoke(t, d, svc, createElement, tt.params)
			switch {
			case tt.want == "fault" && faultDoc == nil:
				t.Errorf("answered ReturnValue %s, want a fault", volReturnValue(t, out))
			case tt.want != "fault" && faultDoc != nil:
				t.Errorf("answered a fault, want ReturnValue %s:\n%s", tt.want, docString(faultDoc))
			case tt.want != "fault" && volReturnValue(t, out) != tt.want:
				t.Errorf("ReturnValue = %s, want %s", volReturnValue(t, out), tt.want)
			}
		})
	}
	// An unknown property in a WQL filter is a fault.
	env := envelopeHead + header(d.url(), actionEnumerate, uriWMIISCSI+"*", "") +
		`<s:Body><n:Enumerate><w:OptimizeEnumeration/><w:Filter Dialect="` + dialectWQL +
		`">SELECT * FROM CIM_StorageVolume WHERE Colour = 'red'</w:Filter></n:Enumerate></s:Body></s:Envelope>`
	if doc, fault := volCall(t, d, env); !fault {
		t.Errorf("WQL with an unknown property: no fault\n%s", docString(doc))
	}
	if after := volFiles(t, dataDir); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("files after bad input: %v, want %v", after, before)
	}

	// Two creates of one name at once: one wins, the other gets 5.
	var wg sync.WaitGroup
	codes := make([]string, 2)
	for i := range codes {
		wg.Go(func() {
			out, faultDoc := volInvoke(t, d, svc, createElement, createParams("vol2", "65536", nil))
			if faultDoc != nil {
				t.Errorf("concurrent create %d: fault\n%s", i, docString(faultDoc))
				return
			}
			codes[i] = volReturnValue(t, out)
		})
	}
	wg.Wait()
	sort.Strings(codes)
	if codes[0] != "0" || codes[1] != "5" {
		t.Errorf("concurrent creates of one name answered %v, want 0 and 5", codes)
	}

	// Found through a WQL filter (masterzen's message builder) ...
	m := newMasterzen(t, d, d.user, d.password)
	msg := m.message(actionEnumerate, uriWMIISCSI+"*")
	body := msg.CreateBodyElement("Enumerate", wsoap.DOM_NS_ENUM)
	msg.CreateElement(body, "OptimizeEnumeration", wsoap.DOM_NS_WSMAN_DMTF)
	msg.CreateElement(body, "MaxElements", wsoap.DOM_NS_WSMAN_DMTF).SetContent("100")
	msg.CreateElement(body, "Filter", wsoap.DOM_NS_WSMAN_DMTF).
		SetAttr("Dialect", dialectWQL).
		SetContent("SELECT * FROM CIM_StorageVolume WHERE ElementName = 'vol1'")
	doc, err := m.send(t, msg)
	if err != nil {
		t.Fatalf("WQL enumerate: %v", err)
	}
	found := findAll(find(doc.Root(), nsWSMan, "Items"), "MSISCSITARGET_StorageVolume")
	if len(found) != 1 {
		t.Fatalf("WQL found %d volumes, want 1\n%s", len(found), docString(doc))
	}
	if got := volKeys(t, found[0], volumeKeys...); fmt.Sprint(got) != fmt.Sprint(vol) {
		t.Errorf("WQL found keys %v, want %v", got, vol)
	}

	// ... and through an association filter from its pool, as the CIM
	// cmdlets send it.
	assoc := `<w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode><w:Filter Dialect="` + dialectAssocation + `">` +
		`<b:AssociatedInstances xmlns:b="` + nsCIMBinding + `"><b:Object>` + volEPR(uriStoragePool, pool) + `</b:Object>` +
		`<b:AssociationClassName>CIM_AllocatedFromStoragePool</b:AssociationClassName>` +
		`<b:ResultClassName>CIM_StorageVolume</b:ResultClassName></b:AssociatedInstances></w:Filter>`
	associated := volEnumerate(t, d, uriDMTFWildcard,
		`<w:SelectorSet><w:Selector Name="__cimnamespace">`+iscsiNamespace+`</w:Selector></w:SelectorSet>`, assoc)
	var names []string
	for _, inst := range associated {
		names = append(names, find(inst, inst.NamespaceURI(), "ElementName").Text())
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "vol1,vol2" {
		t.Errorf("volumes associated with the pool: %v, want [vol1 vol2]", names)
	}

	// Restart on the same data directory: the same instance, same keys.
	d.stop()
	d = startDaemon(t, dataDir)
	doc, fault := volCall(t, d, getEnvelope(d.url(), uriStorageVolume, vol))
	if fault {
		t.Fatalf("Get of the volume after a restart: fault\n%s", docString(doc))
	}
	got := find(doc.Root(), uriStorageVolume, "MSISCSITARGET_StorageVolume")
	if got == nil {
		t.Fatalf("Get answered no volume\n%s", docString(doc))
	}
	if name := find(got, uriStorageVolume, "ElementName").Text(); name != "vol1" {
		t.Errorf("ElementName after restart = %q, want vol1", name)
	}
	if path := find(got, uriStorageVolume, "MSDevicePath").Text(); path != image {
		t.Errorf("MSDevicePath = %q, want %q", path, image)
	}

	// Put of ElementName: the same name is accepted, a new one (a rename)
	// is refused.
	for _, tt := range []struct {
		name      string
		wantFault bool
	}{{"vol1", false}, {"renamed", true}} {
		put := envelopeHead + header(d.url(), actionPut, uriStorageVolume, selectorSet(vol)) +
			`<s:Body><p:MSISCSITARGET_StorageVolume xmlns:p="` + uriStorageVolume + `"><p:ElementName>` + tt.name +
			`</p:ElementName></p:MSISCSITARGET_StorageVolume></s:Body></s:Envelope>`
		doc, fault := volCall(t, d, put)
		if fault != tt.wantFault {
			t.Errorf("Put ElementName %s: fault = %v, want %v\n%s", tt.name, fault, tt.wantFault, docString(doc))
		}
		if fault && !strings.Contains(docString(doc), "UnsupportedFeature") {
			t.Errorf("Put of a new name: want a w:UnsupportedFeature fault\n%s", docString(doc))
		}
		if !fault {
			if e := find(doc.Root(), uriStorageVolume, "ElementName"); e == nil || e.Text() != "vol1" {
				t.Errorf("Put answer ElementName = %v, want vol1", e)
			}
		}
	}

	// WS-Transfer Delete of vol2.
	all := volEnumerate(t, d, uriStorageVolume, "", "")
	if len(all) != 2 {
		t.Fatalf("%d volumes after restart, want 2", len(all))
	}
	for _, inst := range all {
		keys := volKeys(t, inst, volumeKeys...)
		if keys["DeviceID"] == vol["DeviceID"] {
			if fmt.Sprint(keys) != fmt.Sprint(vol) {
				t.Errorf("keys after restart %v, want %v", keys, vol)
			}
			continue
		}
		del := envelopeHead + header(d.url(), actionDelete, uriStorageVolume, selectorSet(keys)) + `<s:Body/></s:Envelope>`
		if doc, fault := volCall(t, d, del); fault {
			t.Fatalf("Delete vol2: fault\n%s", docString(doc))
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "pools", "default", "vol2.img")); !os.IsNotExist(err) {
		t.Errorf("vol2.img after Delete: %v, want it gone", err)
	}

	// ReturnToStoragePool of vol1, then once more.
	svc = volKeys(t, volEnumerate(t, d, uriStorageConfService, "", "")[0], "SystemCreationClassName", "SystemName", "CreationClassName", "Name")
	elem := `<p:TheElement>` + volEPR(uriStorageVolume, vol) + `</p:TheElement>`
	for i, want := range []string{"0", "5"} {
		out, faultDoc := volInvoke(t, d, svc, returnElement, elem)
		if faultDoc != nil {
			t.Fatalf("ReturnToStoragePool #%d: fault\n%s", i+1, docString(faultDoc))
		}
		if rv := volReturnValue(t, out); rv != want {
			t.Errorf("ReturnToStoragePool #%d: ReturnValue %s, want %s", i+1, rv, want)
		}
	}
	if _, err := os.Stat(image); !os.IsNotExist(err) {
		t.Errorf("vol1.img after ReturnToStoragePool: %v, want it gone", err)
	}
	if left := volEnumerate(t, d, uriStorageVolume, "", ""); len(left) != 0 {
		t.Errorf("%d volumes left, want none", len(left))
	}
}

func elemString(e *etree.Element) string {
	doc := etree.NewDocument()
	doc.SetRoot(e.Copy())
	doc.Indent(2)
	s, _ := doc.WriteToString()
	return s
}
