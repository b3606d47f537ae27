package integration

import (
	"strings"
	"testing"
)

// TestMaskingPowerShellExposePaths replays what docs/powershell.md's
// one-call flow sends (Invoke-CimMethod $ccs ExposePaths with
// [string[]] LUNames and InitiatorPortIDs and [uint16[]] DeviceAccesses 3,
// no ProtocolControllers): testdata/powershell/invoke-cimmethod-exposepaths.xml,
// assembled like invoke-cimmethod-creategroupreplica.xml (the MI client's
// headers, the DMTF resource URI with __cimnamespace; see SOURCES.md
// there), with one-element arrays as one element each, as the MI client
// writes them. The answer is ReturnValue 0 with the new target's EPR in
// ProtocolControllers; initiator A then reads the LUN's capacity and
// cannot write it (read-only).
func TestMaskingPowerShellExposePaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sparseImage(t, dir, "psdisk", 6<<20)
	r := startISCSI(t, dir)
	vol, _ := r.volume("psdisk")
	out := replay(t, r.d, "invoke-cimmethod-exposepaths.xml", map[string]string{
		"TO": r.d.url(), "SYSTEM": selector(r.controllerConfig(), "SystemName"), "INITIATOR": iscsiInitiatorA, "LU": replProp(vol, "Name"),
	})
	if out.Tag != "ExposePaths_OUTPUT" || childText(out, "ReturnValue") != "0" {
		t.Fatalf("answer %s, ReturnValue %q; want ExposePaths_OUTPUT and 0", out.Tag, childText(out, "ReturnValue"))
	}
	var target string
	for _, s := range out.FindElements(".//ProtocolControllers//Selector") {
		if s.SelectAttrValue("Name", "") == "DeviceID" {
			target = strings.TrimSpace(s.Text())
		}
	}
	if target == "" {
		t.Fatalf("no target's DeviceID in ProtocolControllers")
	}
	iqn := iscsiBaseIQN + ":" + target
	if size, err := r.readCapacity(iscsiInitiatorA, iqn, 1); err != nil || size != 6<<20 {
		t.Fatalf("A reads %s LUN 1's capacity %d, %v; want %d", iqn, size, err, 6<<20)
	}
	if out, err := r.qemuIO(iscsiInitiatorA, iqn, 1, "write -P 0x11 0 4k", "flush"); err == nil && !strings.Contains(out, "rror") {
		t.Fatalf("A wrote to a LUN exposed with DeviceAccesses 3:\n%s", out)
	}
}
