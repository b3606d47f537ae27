package integration

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// maskingPhase runs testdata/pywinrm/masking.py PHASE against r's daemon
// and decodes its JSON answer into v.
func maskingPhase(t *testing.T, r *iscsiRig, phase string, v any) {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", "testdata/pywinrm/masking.py", r.d.url(), r.d.user, r.d.password,
		phase, iscsiInitiatorA).CombinedOutput()
	if err != nil {
		t.Fatalf("masking.py %s: %v\n%s\n%s", phase, err, out, r.d.logText())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("masking.py %s output: %v\n%s", phase, err, out)
	}
}

// TestMaskingPywinrm drives the SMI-S Masking and Mapping classes with
// pywinrm (a WS-Man client nobody here wrote) and checks each step with
// real initiators (libiscsi's iscsi-ls and iscsi-readcapacity16, qemu-io):
// CreateStorageHardwareID, CreateiSCSINode and two ExposePaths (LUN 3
// read-write, LUN 4 read-only, chosen DeviceNumbers) make A see the target
// with both LUNs, write LUN 3 and not LUN 4, while B sees nothing; the
// model reads back through association filters and WQL; HidePaths takes
// LUN 3 away (and a second one answers 4100); the exposed LUN 4's
// volume is not returned to its pool (In Use, naming the target);
// DeleteStorageHardwareID
// revokes A; DeleteProtocolController removes the target.
func TestMaskingPywinrm(t *testing.T) {
	t.Parallel()
	requirePywinrm(t)
	r := startISCSI(t, t.TempDir())

	var setup struct {
		CreateVolume     []string
		CreateHardwareID string
		CreateNode       string
		Expose           string
		ExposeReadOnly   string
		BadInitiator     []string
		LUNInUse         []string
		IQN              string
		Units            []string
		M1, M2           string
		Privileges       []string
		PrivilegeTargets []string
		Ports            []string
		WQLHardwareIDs   []string
	}
	maskingPhase(t, r, "setup", &setup)
	checks := []struct {
		name      string
		got, want any
	}{
		{"volumes created", setup.CreateVolume, []string{"0", "0"}},
		{"CreateStorageHardwareID", setup.CreateHardwareID, "0"},
		{"CreateiSCSINode", setup.CreateNode, "0"},
		{"ExposePaths", setup.Expose, "0"},
		{"ExposePaths read-only", setup.ExposeReadOnly, "0"},
		{"IQN", setup.IQN, iscsiBaseIQN + ":pytarget"},
		{"units (LUN:access:volume)", setup.Units, []string{"3:2:" + setup.M1, "4:3:" + setup.M2}},
		{"A's privileges", setup.Privileges, []string{"replicad:privilege:pytarget"}},
		{"privilege's targets", setup.PrivilegeTargets, []string{"pytarget"}},
		{"target ports", setup.Ports, []string{iscsiBaseIQN + ":pytarget,t,0x0001"}},
		{"WQL hardware IDs", setup.WQLHardwareIDs, []string{iscsiInitiatorA}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if len(setup.BadInitiator) != 2 || setup.BadInitiator[0] != "4098" || !strings.Contains(setup.BadInitiator[1], "Host-A") {
		t.Errorf("ExposePaths with a malformed initiator = %v, want 4098 naming it", setup.BadInitiator)
	}
	if len(setup.LUNInUse) != 2 || setup.LUNInUse[0] != "4102" {
		t.Errorf("ExposePaths at a LUN in use = %v, want 4102", setup.LUNInUse)
	}
	if t.Failed() {
		t.FailNow()
	}

	iqn := setup.IQN
	if got := r.discover(iscsiInitiatorA); len(got) != 1 || got[0] != iqn {
		t.Fatalf("initiator A discovers %v, want [%s]", got, iqn)
	}
	if got := r.discover(iscsiInitiatorB); len(got) != 0 {
		t.Fatalf("initiator B (not in the mask) discovers %v, want nothing", got)
	}
	if size, err := r.readCapacity(iscsiInitiatorA, iqn, 3); err != nil || size != 12<<20 {
		t.Fatalf("A reads LUN 3's capacity %d, %v; want %d", size, err, 12<<20)
	}
	if out, err := r.qemuIO(iscsiInitiatorA, iqn, 3, "write -P 0x5a 0 64k", "flush", "read -P 0x5a 0 64k"); err != nil {
		t.Fatalf("A writes and reads LUN 3: %v\n%s", err, out)
	}
	if out, err := r.qemuIO(iscsiInitiatorA, iqn, 4, "write -P 0x5a 0 64k", "flush"); err == nil && !strings.Contains(out, "rror") {
		t.Fatalf("A wrote to the read-only LUN 4:\n%s", out)
	}
	if size, err := r.readCapacity(iscsiInitiatorB, iqn, 3); err == nil {
		t.Fatalf("initiator B read LUN 3's capacity (%d) of a target whose mask does not name it", size)
	}

	var hide struct{ Hide, HideAgain, DeleteExposed []string }
	maskingPhase(t, r, "hide", &hide)
	if len(hide.Hide) != 2 || hide.Hide[0] != "0" {
		t.Fatalf("HidePaths = %v, want 0", hide.Hide)
	}
	if len(hide.HideAgain) != 2 || hide.HideAgain[0] != "4100" || !strings.Contains(hide.HideAgain[1], "does not map") {
		t.Errorf("HidePaths of a volume not exposed = %v, want 4100 saying so", hide.HideAgain)
	}
	if len(hide.DeleteExposed) != 2 || hide.DeleteExposed[0] != "6" || !strings.Contains(hide.DeleteExposed[1], "pytarget") {
		t.Errorf("ReturnToStoragePool of an exposed volume = %v, want 6 (In Use) naming the target", hide.DeleteExposed)
	}
	if _, err := r.readCapacity(iscsiInitiatorA, iqn, 3); err == nil {
		t.Error("A still reads LUN 3 after HidePaths")
	}
	if size, err := r.readCapacity(iscsiInitiatorA, iqn, 4); err != nil || size != 4<<20 {
		t.Errorf("A reads LUN 4's capacity %d, %v after hiding LUN 3; want %d", size, err, 4<<20)
	}

	var revoke struct{ Revoke string }
	maskingPhase(t, r, "revoke", &revoke)
	if revoke.Revoke != "0" {
		t.Fatalf("DeleteStorageHardwareID = %s, want 0", revoke.Revoke)
	}
	if got := r.discover(iscsiInitiatorA); len(got) != 0 {
		t.Errorf("after DeleteStorageHardwareID initiator A discovers %v, want nothing", got)
	}

	var del struct {
		Delete string
		Left   int
	}
	maskingPhase(t, r, "delete", &del)
	if del.Delete != "0" || del.Left != 0 {
		t.Errorf("DeleteProtocolController = %s leaving %d targets, want 0 and none", del.Delete, del.Left)
	}
}
