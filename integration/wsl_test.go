package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// wslRun runs Debian's wsl (a WS-Management shell client from Dell) against
// d, non-interactively, in dir, and returns the reply it saved.
func wslRun(t *testing.T, d *daemon, dir string, args ...string) *etree.Document {
	t.Helper()
	cmd := exec.Command("wsl", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HOME="+dir, "WSENDPOINT="+d.addr, "WSUSER="+d.user, "WSPASS="+d.password,
		"WSNOSSL=true", "WSAUTOMATED=1", "KEEPHISTORY=0", "OUTLEVEL=1", "RETURNFILE="+filepath.Join(dir, "reply.xml"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wsl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "response*.xml"))
	if len(matches) == 0 {
		t.Fatalf("wsl %s saved no response\n%s", strings.Join(args, " "), out)
	}
	latest := matches[0]
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil {
			if lt, _ := os.Stat(latest); st.ModTime().After(lt.ModTime()) {
				latest = m
			}
		}
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(latest); err != nil {
		t.Fatalf("wsl reply %s: %v", latest, err)
	}
	for _, m := range matches {
		os.Remove(m)
	}
	return doc
}

func TestWSL(t *testing.T) {
	t.Parallel()
	requireClient(t, "wsl", lookPath("wsl"))
	d := startDaemon(t, "")
	dir := t.TempDir()

	doc := wslRun(t, d, dir, "id", "check")
	if v := find(doc.Root(), nsIdentity, "ProtocolVersion"); v == nil || v.Text() != nsWSMan {
		t.Errorf("wsl identify: no ProtocolVersion %s\n%s", nsWSMan, docString(doc))
	}

	doc = wslRun(t, d, dir, "enum", uriReplService, "-opti", "50")
	if find(doc.Root(), uriReplService, "MSISCSITARGET_ReplicationService") == nil {
		t.Errorf("wsl enumerate: no MSISCSITARGET_ReplicationService instance\n%s", docString(doc))
	}
	// wsl's default, non-optimized enumeration goes through Pull.
	doc = wslRun(t, d, dir, "enum", uriReplService)
	if find(doc.Root(), uriReplService, "MSISCSITARGET_ReplicationService") == nil {
		t.Errorf("wsl enumerate with Pull: no instance\n%s", docString(doc))
	}

	// Invoke: create a volume through the storage configuration service.
	// wsl splices an enumerated EPR into its request as text, which only works
	// with servers that write the wsman: prefix (Dell's); with w: (ours and
	// Windows') it needs the instance EPR in a file, its -inst option.
	const uriConfig = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/MSISCSITARGET_StorageConfigurationService"
	doc = wslRun(t, d, dir, "enum", uriConfig, "-opti", "5")
	svc := find(doc.Root(), uriConfig, "MSISCSITARGET_StorageConfigurationService")
	if svc == nil {
		t.Fatalf("wsl enumerate: no storage configuration service\n%s", docString(doc))
	}
	var sels strings.Builder
	for _, k := range []string{"SystemCreationClassName", "SystemName", "CreationClassName", "Name"} {
		sels.WriteString(`<wsman:Selector Name="` + k + `">` + find(svc, uriConfig, k).Text() + "</wsman:Selector>\n")
	}
	epr := "<wsa:EndpointReference>\n<wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address>\n" +
		"<wsa:ReferenceParameters>\n<wsman:ResourceURI>" + uriConfig + "</wsman:ResourceURI>\n<wsman:SelectorSet>\n" +
		sels.String() + "</wsman:SelectorSet>\n</wsa:ReferenceParameters>\n</wsa:EndpointReference>\n"
	eprFile := filepath.Join(dir, "service-epr.xml")
	if err := os.WriteFile(eprFile, []byte(epr), 0o600); err != nil {
		t.Fatal(err)
	}
	doc = wslRun(t, d, dir, "invoke", uriConfig, "CreateOrModifyElementFromStoragePool", "-inst", eprFile,
		"ElementName=wslvol", "ElementType=2", "Size=1048576")
	if rv := find(doc.Root(), uriConfig, "ReturnValue"); rv == nil || rv.Text() != "0" {
		t.Fatalf("wsl invoke: ReturnValue %v, want 0\n%s", rv, docString(doc))
	}
	if st, err := os.Stat(filepath.Join(d.dataDir, "pools", "default", "wslvol.img")); err != nil || st.Size() != 1048576 {
		t.Fatalf("volume file after wsl invoke: %v, %v; want 1 MiB", st, err)
	}

	// And the new volume is there when wsl enumerates volumes.
	const uriVolume = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/MSISCSITARGET_StorageVolume"
	doc = wslRun(t, d, dir, "enum", uriVolume, "-opti", "50")
	vol := find(doc.Root(), uriVolume, "MSISCSITARGET_StorageVolume")
	if vol == nil || find(vol, uriVolume, "ElementName").Text() != "wslvol" {
		t.Errorf("wsl enumerate volumes: no wslvol\n%s", docString(doc))
	}
}
