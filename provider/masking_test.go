package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/iscsi"
)

// TestExposePathsCreatesTargetAndAssociations: ExposePaths without
// ProtocolControllers creates a target mapping the volume at LUN 1 for
// initiator A; the model shows it from every side: the SPC (IQN),
// ProtocolControllerForUnit both ways with DeviceNumber and DeviceAccess,
// the mask (StorageHardwareID → AuthorizedSubject → AuthorizedPrivilege →
// AuthorizedTarget → SPC and back), the target port and the portal.
func TestExposePathsCreatesTargetAndAssociations(t *testing.T) {
	e := newMaskEnv(t)
	v := e.createVolume("default", "disk1", 1<<20)
	res := e.expose(params("LUNames", string(v.ID)), params("InitiatorPortIDs", iqnA), params("DeviceAccesses", "2"))
	if res.ReturnValue != returnOK {
		t.Fatalf("ExposePaths = %d (%s), want 0", res.ReturnValue, reason(res))
	}
	spc := spcOut(t, res)
	inst, err := e.reg.Get(context.Background(), spc)
	if err != nil {
		t.Fatalf("Get %s: %v", spc, err)
	}
	name := stringOf(inst, "ElementName")
	if got, want := stringOf(inst, "Name"), fakeBaseIQN+":"+name; got != want {
		t.Errorf("SPC Name = %q, want the IQN %q", got, want)
	}

	vol := e.p.volumePath(v.ID)
	if got := e.associators(spc, "CIM_ProtocolControllerForUnit", ""); len(got) != 1 || !got[0].Equal(vol) {
		t.Errorf("SPC's units = %v, want the volume %s", got, vol)
	}
	if got := e.associators(vol, "CIM_ProtocolControllerForUnit", "CIM_SCSIProtocolController"); len(got) != 1 || !got[0].Equal(spc) {
		t.Errorf("volume's controllers = %v, want %s", got, spc)
	}
	pcfu := e.enumerate("CIM_ProtocolControllerForUnit")
	if len(pcfu) != 1 || stringOf(pcfu[0], "DeviceNumber") != "1" || uint64Of(t, pcfu[0], "DeviceAccess") != uint64(deviceAccessReadWrite) {
		t.Errorf("ProtocolControllerForUnit = %v, want one with DeviceNumber 1, DeviceAccess 2", pcfu)
	}

	hwid := e.p.hardwareIDPath(iqnA)
	privs := e.associators(hwid, "CIM_AuthorizedSubject", "")
	if len(privs) != 1 {
		t.Fatalf("privileges of %s = %v, want 1", iqnA, privs)
	}
	if got := e.associators(privs[0], "CIM_AuthorizedTarget", ""); len(got) != 1 || !got[0].Equal(spc) {
		t.Errorf("privilege's targets = %v, want %s", got, spc)
	}
	if got := e.associators(spc, "CIM_AuthorizedTarget", ""); len(got) != 1 || !got[0].Equal(privs[0]) {
		t.Errorf("SPC's privileges = %v, want %s", got, privs[0])
	}
	if got := e.associators(privs[0], "CIM_AuthorizedSubject", ""); len(got) != 1 || !got[0].Equal(hwid) {
		t.Errorf("privilege's subjects = %v, want %s", got, hwid)
	}
	if _, ok := e.fake.hwids[iqnA]; !ok {
		t.Errorf("ExposePaths did not record %s as a StorageHardwareID", iqnA)
	}
	if got := e.associators(e.p.servicePath(hardwareIDServiceClassName), "CIM_ConcreteDependency", ""); len(got) != 1 || !got[0].Equal(hwid) {
		t.Errorf("hardware ID service's IDs = %v, want %s", got, hwid)
	}

	ports := e.associators(spc, "CIM_SAPAvailableForElement", "CIM_iSCSIProtocolEndpoint")
	wantPort := fakeBaseIQN + ":" + name + ",t,0x0001"
	if len(ports) != 1 || keyText(ports[0], "Name") != wantPort {
		t.Fatalf("SPC's target ports = %v, want %s", ports, wantPort)
	}
	portals := e.associators(ports[0], "CIM_BindsTo", "")
	if len(portals) != 1 || keyText(portals[0], "Name") != "127.0.0.1:3260" {
		t.Errorf("target port's portal = %v, want 127.0.0.1:3260", portals)
	}
	if got := e.associators(portals[0], "CIM_BindsTo", ""); len(got) != 1 || !got[0].Equal(ports[0]) {
		t.Errorf("portal's ports = %v, want %s", got, ports[0])
	}
	hosted := e.associators(e.p.systemPath(), "CIM_HostedAccessPoint", "")
	if len(hosted) != 2 {
		t.Errorf("system's access points = %v, want the portal and the target port", hosted)
	}
	if got := e.associators(spc, "CIM_SystemDevice", ""); len(got) != 1 || !got[0].Equal(e.p.systemPath()) {
		t.Errorf("SPC's system = %v", got)
	}
	caps := e.associators(spc, "CIM_ElementCapabilities", "")
	if len(caps) != 1 || caps[0].Class != iscsiCapabilitiesClassName {
		t.Errorf("SPC's capabilities = %v, want the iSCSI capabilities", caps)
	}
}

// TestMaskingWQL: WQL selects on the new classes like on the others.
func TestMaskingWQL(t *testing.T) {
	e := newMaskEnv(t)
	v := e.createVolume("default", "disk1", 1<<20)
	if _, err := e.fake.CreateTarget("t1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fake.Expose("t1", []iscsi.VolumeRef{{Pool: "default", Volume: "disk1"}}, []string{iqnA}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fake.CreateTarget("t2", nil); err != nil {
		t.Fatal(err)
	}
	got, err := e.reg.Query(context.Background(), Namespace, "SELECT * FROM CIM_SCSIProtocolController WHERE ElementName = 't1'")
	if err != nil || len(got) != 1 || stringOf(got[0], "ElementName") != "t1" {
		t.Fatalf("WQL on SPCs = %v, %v; want t1 only", got, err)
	}
	got, err = e.reg.Query(context.Background(), Namespace, "SELECT * FROM MSISCSITARGET_ProtocolControllerForUnit WHERE DeviceAccess = 3")
	if err != nil || len(got) != 1 {
		t.Fatalf("WQL on read-only LUNs = %v, %v; want 1", got, err)
	}
	if ref, _ := got[0].Get("Dependent").AsRef(); !ref.Equal(e.p.volumePath(v.ID)) {
		t.Errorf("read-only LUN's volume = %s", ref)
	}
	got, err = e.reg.Query(context.Background(), Namespace, "SELECT StorageID FROM CIM_StorageHardwareID WHERE IDType = 5")
	if err != nil || len(got) != 1 || stringOf(got[0], "StorageID") != iqnA {
		t.Errorf("WQL on hardware IDs = %v, %v; want %s (in a mask, not recorded)", got, err, iqnA)
	}
}

// TestExposePathsRefusals: every malformed or impossible request answers
// its code, says why, and changes nothing.
func TestExposePathsRefusals(t *testing.T) {
	e := newMaskEnv(t)
	v1 := e.createVolume("default", "disk1", 1<<20)
	v2 := e.createVolume("default", "disk2", 1<<20)
	res := e.expose(params("LUNames", string(v1.ID)), params("InitiatorPortIDs", iqnA), params("DeviceAccesses", "2"))
	if res.ReturnValue != returnOK {
		t.Fatalf("ExposePaths = %d (%s)", res.ReturnValue, reason(res))
	}
	spc := spcOut(t, res)
	tgt, _ := e.p.targetFromPath(spc)
	other := e.p.spcPath("nosuch")
	port := e.p.targetPortName(tgt)
	id1, id2 := string(v1.ID), string(v2.ID)
	tests := []struct {
		name   string
		params []string
		code   uint32
		why    string
	}{
		{"two controllers", []string{params("LUNames", id2), params("DeviceAccesses", "2"), refParam("ProtocolControllers", spc), refParam("ProtocolControllers", other)}, 5, "give one"},
		{"unknown controller", []string{params("LUNames", id2), params("DeviceAccesses", "2"), refParam("ProtocolControllers", other)}, 5, "names no iSCSI target"},
		{"unknown LU", []string{params("LUNames", "nosuch"), params("DeviceAccesses", "2")}, 4097, "no volume"},
		{"LU twice", []string{params("LUNames", id2, id2), params("DeviceAccesses", "2", "2")}, 5, "twice"},
		{"upper-case IQN", []string{params("LUNames", id2), params("DeviceAccesses", "2"), params("InitiatorPortIDs", "iqn.2026-12.test.host:A")}, 4098, "not an iSCSI name"},
		{"not an iSCSI name", []string{params("InitiatorPortIDs", "host-a")}, 4098, "not an iSCSI name"},
		{"port on create", []string{params("LUNames", id2), params("DeviceAccesses", "2"), params("TargetPortIDs", port)}, 4099, "own port"},
		{"another port", []string{params("LUNames", id2), params("DeviceAccesses", "2"), params("TargetPortIDs", "iqn.x:y,t,0x0001"), refParam("ProtocolControllers", spc)}, 4099, "is not the port"},
		{"no access", []string{params("LUNames", id2), params("DeviceAccesses", "4")}, 4100, "Read Write (2) and Read-Only (3)"},
		{"unknown access", []string{params("LUNames", id2), params("DeviceAccesses", "0")}, 4100, "Read Write (2) and Read-Only (3)"},
		{"mixed access", []string{params("LUNames", id1, id2), params("DeviceAccesses", "2", "3"), refParam("ProtocolControllers", spc)}, 4100, "mixes"},
		{"reserved access", []string{params("LUNames", id2), params("DeviceAccesses", "7")}, 5, "DeviceAccesses"},
		{"accesses missing", []string{params("LUNames", id2)}, 5, "one access per logical unit"},
		{"accesses without LUs", []string{params("InitiatorPortIDs", iqnB), params("DeviceAccesses", "2")}, 5, "must be NULL"},
		{"numbers short", []string{params("LUNames", id1, id2), params("DeviceAccesses", "2", "2"), params("DeviceNumbers", "3")}, 5, "one per logical unit"},
		{"LUN 0", []string{params("LUNames", id2), params("DeviceAccesses", "2"), params("DeviceNumbers", "0")}, 5, "1..255"},
		{"LUN 256", []string{params("LUNames", id2), params("DeviceAccesses", "2"), params("DeviceNumbers", "256")}, 5, "1..255"},
		{"LUN not a number", []string{params("LUNames", id2), params("DeviceAccesses", "2"), params("DeviceNumbers", "one")}, 5, "1..255"},
		{"LUN twice", []string{params("LUNames", id1, id2), params("DeviceAccesses", "2", "2"), params("DeviceNumbers", "4", "4")}, 4102, "twice"},
		{"LUN taken", []string{params("LUNames", id2), params("DeviceAccesses", "2"), params("DeviceNumbers", "1"), refParam("ProtocolControllers", spc)}, 4102, "maps volume"},
		{"volume has another LUN", []string{params("LUNames", id1), params("DeviceAccesses", "2"), params("DeviceNumbers", "9"), refParam("ProtocolControllers", spc)}, 4102, "is LUN 1"},
		{"nothing", nil, 5, "nothing to expose"},
		{"nothing on a target", []string{refParam("ProtocolControllers", spc)}, 5, "nothing to expose"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.fake.state()
			res := e.expose(tt.params...)
			if res.ReturnValue != tt.code {
				t.Errorf("ExposePaths = %d (%s), want %d", res.ReturnValue, reason(res), tt.code)
			}
			if !strings.Contains(reason(res), tt.why) {
				t.Errorf("reason %q does not say %q", reason(res), tt.why)
			}
			if after := e.fake.state(); after != before {
				t.Errorf("refused ExposePaths changed the data plane:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestExposePathsModifies: the three SMI-S modify scenarios on an existing
// SPC (add LUs at chosen numbers, add initiators, both), read-only LUNs,
// and a data-plane failure answering 4 with its reason.
func TestExposePathsModifies(t *testing.T) {
	e := newMaskEnv(t)
	v1 := e.createVolume("default", "disk1", 1<<20)
	v2 := e.createVolume("default", "disk2", 1<<20)
	if _, err := e.fake.CreateTarget("t1", nil); err != nil {
		t.Fatal(err)
	}
	spc := e.p.spcPath("t1")
	res := e.expose(params("LUNames", string(v1.ID), string(v2.ID)), params("DeviceAccesses", "3", "3"),
		params("DeviceNumbers", "7", "0x0a"), refParam("ProtocolControllers", spc))
	if res.ReturnValue != returnOK || !spcOut(t, res).Equal(spc) {
		t.Fatalf("add LUs = %d (%s) %v", res.ReturnValue, reason(res), res.Out)
	}
	tg, _ := e.fake.Target("t1")
	if len(tg.LUNs) != 2 || tg.LUNs[0].Number != 7 || tg.LUNs[1].Number != 10 || !tg.LUNs[0].ReadOnly || !tg.LUNs[1].ReadOnly {
		t.Errorf("LUNs = %+v, want 7 and 10 read-only", tg.LUNs)
	}
	for _, p := range e.enumerate(pcfuClassName) {
		if uint64Of(t, p, "DeviceAccess") != uint64(deviceAccessReadOnly) {
			t.Errorf("DeviceAccess of %s = %v, want 3", p.Path(), p.Get("DeviceAccess"))
		}
	}
	if res := e.expose(params("InitiatorPortIDs", iqnA, iqnB, iqnA), refParam("ProtocolControllers", spc)); res.ReturnValue != returnOK {
		t.Fatalf("add initiators = %d (%s)", res.ReturnValue, reason(res))
	}
	if tg, _ = e.fake.Target("t1"); fmt.Sprint(tg.Initiators) != fmt.Sprint([]string{iqnA, iqnB}) {
		t.Errorf("initiators = %v, want A and B once", tg.Initiators)
	}
	if res := e.expose(params("TargetPortIDs", e.p.targetPortName(tg)), refParam("ProtocolControllers", spc)); res.ReturnValue != returnOK {
		t.Errorf("its own port = %d (%s), want 0", res.ReturnValue, reason(res))
	}
	e.fake.fail = fmt.Errorf("tgtadm: %w", iscsi.ErrUnavailable)
	res = e.expose(params("InitiatorPortIDs", "iqn.2026-12.test.host:c"), refParam("ProtocolControllers", spc))
	if res.ReturnValue != returnFailed || !strings.Contains(reason(res), "data plane unavailable") {
		t.Errorf("data plane down = %d (%s), want 4 saying so", res.ReturnValue, reason(res))
	}
}

// TestHidePaths hides a LUN, then an initiator, and checks each refusal
// changes nothing.
func TestHidePaths(t *testing.T) {
	e := newMaskEnv(t)
	v1 := e.createVolume("default", "disk1", 1<<20)
	v2 := e.createVolume("default", "disk2", 1<<20)
	res := e.expose(params("LUNames", string(v1.ID)), params("InitiatorPortIDs", iqnA), params("DeviceAccesses", "2"))
	spc := spcOut(t, res)
	tg, _ := e.p.targetFromPath(spc)
	tests := []struct {
		name   string
		params []string
		code   uint32
		why    string
	}{
		{"no controller", []string{params("LUNames", string(v1.ID))}, 5, "exactly one"},
		{"two controllers", []string{params("LUNames", string(v1.ID)), refParam("ProtocolControllers", spc), refParam("ProtocolControllers", spc)}, 5, "give one"},
		{"unknown LU", []string{params("LUNames", "nosuch"), refParam("ProtocolControllers", spc)}, 4097, "no volume"},
		{"LU not mapped", []string{params("LUNames", string(v2.ID)), refParam("ProtocolControllers", spc)}, 4100, "does not map"},
		{"initiator not allowed", []string{params("InitiatorPortIDs", iqnB), refParam("ProtocolControllers", spc)}, 4100, "does not allow"},
		{"bad initiator", []string{params("InitiatorPortIDs", "IQN"), refParam("ProtocolControllers", spc)}, 4098, "not an iSCSI name"},
		{"another port", []string{params("TargetPortIDs", "iqn.x:y,t,0x0001"), refParam("ProtocolControllers", spc)}, 4099, "is not the port"},
		{"its only port", []string{params("TargetPortIDs", e.p.targetPortName(tg)), refParam("ProtocolControllers", spc)}, 1, "cannot be removed"},
		{"nothing", []string{refParam("ProtocolControllers", spc)}, 5, "nothing to hide"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.fake.state()
			res := e.hide(tt.params...)
			if res.ReturnValue != tt.code || !strings.Contains(reason(res), tt.why) {
				t.Errorf("HidePaths = %d (%s), want %d saying %q", res.ReturnValue, reason(res), tt.code, tt.why)
			}
			if after := e.fake.state(); after != before {
				t.Errorf("refused HidePaths changed the data plane:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	if res := e.hide(params("LUNames", string(v1.ID)), refParam("ProtocolControllers", spc)); res.ReturnValue != returnOK {
		t.Fatalf("hide LU = %d (%s)", res.ReturnValue, reason(res))
	}
	if got := e.associators(e.p.volumePath(v1.ID), "CIM_ProtocolControllerForUnit", ""); len(got) != 0 {
		t.Errorf("hidden volume's controllers = %v, want none", got)
	}
	if res := e.hide(params("InitiatorPortIDs", iqnA), refParam("ProtocolControllers", spc)); res.ReturnValue != returnOK {
		t.Fatalf("hide initiator = %d (%s)", res.ReturnValue, reason(res))
	}
	if got := e.enumerate("CIM_AuthorizedSubject"); len(got) != 0 {
		t.Errorf("AuthorizedSubject after hiding the initiator = %v, want none", got)
	}
	if got := e.enumerate(spcClassName); len(got) != 1 {
		t.Errorf("SPCs after hiding everything = %d, want the target kept (SPCAllowsNoLUs)", len(got))
	}
}

// TestDeleteProtocolController: Busy while an initiator is logged in, 5
// for an unknown SPC, 1 for DeleteUnits, 0 otherwise (volumes stay).
func TestDeleteProtocolController(t *testing.T) {
	e := newMaskEnv(t)
	v := e.createVolume("default", "disk1", 1<<20)
	spc := spcOut(t, e.expose(params("LUNames", string(v.ID)), params("InitiatorPortIDs", iqnA), params("DeviceAccesses", "2")))
	tg, _ := e.p.targetFromPath(spc)
	call := func(ps ...string) cimmodel.Result {
		return e.call(controllerConfigServiceClass, "DeleteProtocolController", ps...)
	}
	e.fake.sessions = []iscsi.Session{{Target: tg.Name, Initiator: iqnA, Address: "127.0.0.1", SessionID: "1", Connections: 1}}
	before := e.fake.state()
	if res := call(refParam("ProtocolController", spc)); res.ReturnValue != returnBusy || !strings.Contains(reason(res), "logged in") {
		t.Errorf("with a session = %d (%s), want 4097 Busy", res.ReturnValue, reason(res))
	}
	if res := call(refParam("ProtocolController", e.p.spcPath("nosuch"))); res.ReturnValue != returnInvalidParameter {
		t.Errorf("unknown SPC = %d (%s), want 5", res.ReturnValue, reason(res))
	}
	e.fake.sessions = nil
	if after := e.fake.state(); after != before {
		t.Errorf("refusals changed the data plane:\nbefore %s\nafter  %s", before, after)
	}
	if res := call(refParam("ProtocolController", spc)); res.ReturnValue != returnOK {
		t.Fatalf("DeleteProtocolController = %d (%s)", res.ReturnValue, reason(res))
	}
	if _, err := e.reg.Get(context.Background(), spc); cimmodel.StatusOf(err) != cimmodel.StatusNotFound {
		t.Errorf("Get deleted SPC: %v, want NotFound", err)
	}
	if _, err := e.p.volumes.Get(context.Background(), v.ID); err != nil {
		t.Errorf("the volume went with its target: %v", err)
	}
}

// TestDeleteProtocolControllerDeleteUnits: DeleteUnits deletes the
// volumes only this target maps, keeps (4096) those another target maps,
// and refuses (4, nothing changed) a volume in a replication relationship.
func TestDeleteProtocolControllerDeleteUnits(t *testing.T) {
	e := newMaskEnv(t)
	v1 := e.createVolume("default", "only", 1<<20)
	v2 := e.createVolume("default", "shared", 1<<20)
	src := e.createVolume("default", "src", 1<<20)
	dst := e.createVolume("default", "dst", 1<<20)
	e.pair(src, dst)
	ref := func(names ...string) []iscsi.VolumeRef {
		var out []iscsi.VolumeRef
		for _, n := range names {
			out = append(out, iscsi.VolumeRef{Pool: "default", Volume: n})
		}
		return out
	}
	for name, vols := range map[string][]string{"t1": {"only", "shared"}, "t2": {"shared"}, "t3": {"src"}} {
		if _, err := e.fake.CreateTarget(name, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.fake.Expose(name, ref(vols...), nil, false); err != nil {
			t.Fatal(err)
		}
	}
	call := func(target string) cimmodel.Result {
		return e.call(controllerConfigServiceClass, "DeleteProtocolController",
			refParam("ProtocolController", e.p.spcPath(target)), param("DeleteUnits", "true"))
	}
	before, files := e.fake.state(), e.state()
	if res := call("t3"); res.ReturnValue != returnFailed || !strings.Contains(reason(res), "replication") {
		t.Errorf("DeleteUnits of a replication source = %d (%s), want 4", res.ReturnValue, reason(res))
	}
	if e.fake.state() != before || e.state() != files {
		t.Errorf("the refused DeleteUnits changed something")
	}
	res := call("t1")
	if res.ReturnValue != returnUnitsKept || !strings.Contains(reason(res), "shared") {
		t.Errorf("DeleteUnits with a shared volume = %d (%s), want 4096 naming it", res.ReturnValue, reason(res))
	}
	if _, err := e.fake.Target("t1"); err == nil {
		t.Error("target t1 is still there")
	}
	ctx := context.Background()
	if _, err := e.p.volumes.Get(ctx, v1.ID); err == nil {
		t.Error("the volume only t1 mapped is still there")
	}
	if _, err := e.p.volumes.Get(ctx, v2.ID); err != nil {
		t.Errorf("the volume t2 maps too is gone: %v", err)
	}
}

// TestStorageHardwareIDMethods: create, its codes, and delete removing the
// ID from the masks.
func TestStorageHardwareIDMethods(t *testing.T) {
	e := newMaskEnv(t)
	create := func(ps ...string) cimmodel.Result {
		return e.call(hardwareIDServiceClassName, "CreateStorageHardwareID", ps...)
	}
	del := func(ps ...string) cimmodel.Result {
		return e.call(hardwareIDServiceClassName, "DeleteStorageHardwareID", ps...)
	}
	res := create(param("ElementName", "host a"), param("StorageID", iqnA), param("IDType", "5"))
	if res.ReturnValue != returnOK {
		t.Fatalf("CreateStorageHardwareID = %d (%s)", res.ReturnValue, reason(res))
	}
	ref := outRef(t, res, "HardwareID")
	inst, err := e.reg.Get(context.Background(), ref)
	if err != nil || stringOf(inst, "StorageID") != iqnA || stringOf(inst, "ElementName") != "host a" {
		t.Fatalf("Get %s = %v, %v", ref, inst, err)
	}
	for _, tt := range []struct {
		name   string
		params []string
		code   uint32
	}{
		{"again", []string{param("StorageID", iqnA), param("IDType", "5")}, 4096},
		{"port WWN", []string{param("StorageID", "21000024ff000001"), param("IDType", "2")}, 4097},
		{"not an IQN", []string{param("StorageID", "IQN.X"), param("IDType", "5")}, 5},
		{"no StorageID", []string{param("IDType", "5")}, 5},
		{"no IDType", []string{param("StorageID", iqnB)}, 5},
		{"reserved IDType", []string{param("StorageID", iqnB), param("IDType", "6")}, 5},
	} {
		before := e.fake.state()
		if res := create(tt.params...); res.ReturnValue != tt.code {
			t.Errorf("%s: CreateStorageHardwareID = %d (%s), want %d", tt.name, res.ReturnValue, reason(res), tt.code)
		}
		if e.fake.state() != before {
			t.Errorf("%s: a refused create changed the data plane", tt.name)
		}
	}
	if _, err := e.fake.Expose("", nil, []string{iqnA}, false); err != nil {
		t.Fatal(err)
	}
	if res := del(refParam("HardwareID", e.p.hardwareIDPath(iqnB))); res.ReturnValue != returnIDNotFound {
		t.Errorf("delete unknown = %d (%s), want 4096", res.ReturnValue, reason(res))
	}
	if res := del(refParam("HardwareID", ref)); res.ReturnValue != returnOK {
		t.Fatalf("DeleteStorageHardwareID = %d (%s)", res.ReturnValue, reason(res))
	}
	ts, _ := e.fake.Targets()
	if len(ts) != 1 || len(ts[0].Initiators) != 0 {
		t.Errorf("targets after deleting the ID = %+v, want its mask empty", ts)
	}
	if got := e.enumerate(hardwareIDClassName); len(got) != 0 {
		t.Errorf("StorageHardwareIDs after delete = %v", got)
	}
}

// TestISCSINodeMethods: CreateiSCSINode and DeleteiSCSINode and their codes.
func TestISCSINodeMethods(t *testing.T) {
	e := newMaskEnv(t)
	create := func(ps ...string) cimmodel.Result {
		return e.call(iscsiConfigServiceClassName, "CreateiSCSINode", ps...)
	}
	del := func(ps ...string) cimmodel.Result {
		return e.call(iscsiConfigServiceClassName, "DeleteiSCSINode", ps...)
	}
	res := create(param("Alias", "backup"))
	if res.ReturnValue != returnOK {
		t.Fatalf("CreateiSCSINode = %d (%s)", res.ReturnValue, reason(res))
	}
	node := outRef(t, res, "iSCSINode")
	if !node.Equal(e.p.spcPath("backup")) {
		t.Errorf("iSCSINode = %s", node)
	}
	before := e.fake.state()
	if res := create(param("Alias", "backup")); res.ReturnValue != returnAliasInUse {
		t.Errorf("same alias = %d (%s), want 4097", res.ReturnValue, reason(res))
	}
	if res := create(param("Alias", "Backup Disk")); res.ReturnValue != returnInvalidParameter {
		t.Errorf("bad alias = %d (%s), want 5", res.ReturnValue, reason(res))
	}
	if res := del(refParam("iSCSINode", e.p.spcPath("nosuch"))); res.ReturnValue != returnNodeNonExistent {
		t.Errorf("delete unknown = %d (%s), want 4096", res.ReturnValue, reason(res))
	}
	e.fake.sessions = []iscsi.Session{{Target: "backup", Initiator: iqnA, SessionID: "1", Connections: 2}}
	if res := del(refParam("iSCSINode", node)); res.ReturnValue != returnSessionsActive {
		t.Errorf("delete with a session = %d (%s), want 4097", res.ReturnValue, reason(res))
	}
	if e.fake.state() != before {
		t.Errorf("refusals changed the data plane")
	}
	if got := e.enumerate(iscsiConnectionClassName); len(got) != 2 {
		t.Errorf("connections = %d, want 2", len(got))
	}
	sessions := e.associators(e.p.sapPath(iscsiEndpointClassName, fakeBaseIQN+":backup,t,0x0001"), "CIM_EndpointOfNetworkPipe", "")
	if len(sessions) != 1 || len(e.associators(sessions[0], "CIM_NetworkPipeComposition", "")) != 2 {
		t.Errorf("target port's sessions = %v, want one of 2 connections", sessions)
	}
	e.fake.sessions = nil
	if res := del(refParam("iSCSINode", node)); res.ReturnValue != returnOK {
		t.Fatalf("DeleteiSCSINode = %d (%s)", res.ReturnValue, reason(res))
	}
	if ts, _ := e.fake.Targets(); len(ts) != 0 {
		t.Errorf("targets after delete = %+v", ts)
	}
}

// TestMaskingOff: with the data plane off the classes enumerate nothing
// but the services and capabilities, and every method answers 1.
func TestMaskingOff(t *testing.T) {
	e := newMaskEnv(t)
	e.p.iscsi = nil
	for _, c := range []string{spcClassName, hardwareIDClassName, pcfuClassName, iscsiEndpointClassName, tcpEndpointClassName,
		iscsiSessionClassName, "CIM_BindsTo", "CIM_HostedAccessPoint"} {
		if got := e.enumerate(c); len(got) != 0 {
			t.Errorf("%s enumerates %d instances with the data plane off", c, len(got))
		}
	}
	if got := e.enumerate(controllerConfigServiceClass); len(got) != 1 {
		t.Errorf("controller configuration service: %d instances, want 1", len(got))
	}
	for _, m := range []struct{ class, method string }{
		{controllerConfigServiceClass, "ExposePaths"}, {controllerConfigServiceClass, "HidePaths"},
		{controllerConfigServiceClass, "DeleteProtocolController"}, {hardwareIDServiceClassName, "CreateStorageHardwareID"},
		{hardwareIDServiceClassName, "DeleteStorageHardwareID"}, {iscsiConfigServiceClassName, "CreateiSCSINode"},
		{iscsiConfigServiceClassName, "DeleteiSCSINode"},
	} {
		ps := []string{refParam("ProtocolController", e.p.spcPath("x")), refParam("HardwareID", e.p.hardwareIDPath(iqnA)),
			refParam("iSCSINode", e.p.spcPath("x"))}
		var args []string
		switch m.method {
		case "DeleteProtocolController":
			args = ps[:1]
		case "DeleteStorageHardwareID":
			args = ps[1:2]
		case "DeleteiSCSINode":
			args = ps[2:]
		}
		res := e.call(m.class, m.method, args...)
		if res.ReturnValue != returnNotSupported || !strings.Contains(reason(res), "--iscsi=off") {
			t.Errorf("%s with the data plane off = %d (%s), want 1", m.method, res.ReturnValue, reason(res))
		}
	}
}

// TestExposedVolumeDeleteIsInUse: an exposed volume's delete refusal (the
// data plane's guard in volumes, wrapping iscsi.ErrInUse) reaches the
// client as In Use with the reason.
func TestExposedVolumeDeleteIsInUse(t *testing.T) {
	e := newMaskEnv(t)
	err := fmt.Errorf("delete volume v1: volume default/disk1 is exposed in target t1: %w", iscsi.ErrInUse)
	res, _ := e.p.refuseErr("ReturnToStoragePool", err)
	if res.ReturnValue != returnInUse {
		t.Errorf("ReturnToStoragePool = %d, want 6 In Use", res.ReturnValue)
	}
	if r := reason(res); !strings.Contains(r, "exposed in target t1") || strings.Contains(r, "iscsi:") {
		t.Errorf("reason %q: want the target named, without the package prefix", r)
	}
	if got := cimmodel.StatusOf(storageError(err)); got != cimmodel.StatusFailed {
		t.Errorf("WS-Transfer Delete status = %v, want Failed", got)
	}
}

// TestMaskingCapabilitiesTellTheTruth: every action the masking
// capabilities list is a method the services implement, every other one
// is not served, and the booleans match what the methods do (the method
// tests above show ClientSelectableDeviceNumbers, SPCAllowsNoLUs and
// SPCAllowsNoInitiators at work).
func TestMaskingCapabilitiesTellTheTruth(t *testing.T) {
	e := newMaskEnv(t)
	caps := e.enumerate("CIM_ProtocolControllerMaskingCapabilities")
	if len(caps) != 1 {
		t.Fatalf("%d masking capabilities, want 1", len(caps))
	}
	actions := map[uint16]struct{ class, method string }{
		2: {hardwareIDServiceClassName, "CreateStorageHardwareID"}, 3: {controllerConfigServiceClass, "ExposePaths"},
		4: {hardwareIDServiceClassName, "DeleteStorageHardwareID"}, 11: {controllerConfigServiceClass, "ExposePaths"},
		12: {controllerConfigServiceClass, "HidePaths"}, 13: {controllerConfigServiceClass, "ExposeDefaultLUs"},
		14: {controllerConfigServiceClass, "HideDefaultLUs"}, 15: {controllerConfigServiceClass, "AttachDevice"},
		16: {controllerConfigServiceClass, "DetachDevice"}, 17: {controllerConfigServiceClass, "CreateProtocolControllerWithPorts"},
		18: {controllerConfigServiceClass, "DeleteProtocolController"},
	}
	listed := map[uint16]bool{}
	v := caps[0].Get("SupportedSynchronousActions")
	for _, el := range v.Elems() {
		n, _ := el.AsUint64()
		listed[uint16(n)] = true
	}
	if async := caps[0].Get("SupportedAsynchronousActions"); async.Len() != 0 {
		t.Errorf("SupportedAsynchronousActions = %v: every method completes within the call", async)
	}
	for action, m := range actions {
		c, _ := e.reg.Class(Namespace, m.class)
		meth, ok := e.reg.Method(c, m.method)
		served := ok && meth.Func != nil
		if listed[action] != served {
			t.Errorf("action %d (%s.%s): listed %v, served %v", action, m.class, m.method, listed[action], served)
		}
	}
	for name, want := range map[string]bool{"ClientSelectableDeviceNumbers": clientSelectableDeviceNumbers,
		"SPCAllowsNoLUs": true, "SPCAllowsNoInitiators": true, "SPCSupportsDefaultViews": false, "ExposePathsSupported": true} {
		if got, _ := caps[0].Get(name).AsBool(); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	nodeCaps := e.enumerate(iscsiConfigCapabilitiesClsName)
	c, _ := e.reg.Class(Namespace, iscsiConfigServiceClassName)
	_, create := e.reg.Method(c, "CreateiSCSINode")
	_, endpoint := e.reg.Method(c, "CreateiSCSIProtocolEndpoint")
	if got, _ := nodeCaps[0].Get("iSCSINodeCreationSupported").AsBool(); got != create {
		t.Errorf("iSCSINodeCreationSupported = %v, CreateiSCSINode served %v", got, create)
	}
	if got, _ := nodeCaps[0].Get("iSCSIProtocolEndpointCreationSupported").AsBool(); got != endpoint {
		t.Errorf("iSCSIProtocolEndpointCreationSupported = %v, CreateiSCSIProtocolEndpoint served %v", got, endpoint)
	}
}

// TestConnectionAuthentication: a connection to a target with CHAP says
// CHAP, one without says No Authentication.
func TestConnectionAuthentication(t *testing.T) {
	e := newMaskEnv(t)
	for _, n := range []string{"open", "chap"} {
		if _, err := e.fake.CreateTarget(n, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.fake.targets["chap"].CHAP = &iscsi.CHAP{User: "u", Secret: "secret-secret"}
	e.fake.sessions = []iscsi.Session{{Target: "open", Initiator: iqnA, SessionID: "1", Connections: 1},
		{Target: "chap", Initiator: iqnB, SessionID: "2", Connections: 1}}
	got := map[string]uint64{}
	for _, c := range e.enumerate(iscsiConnectionClassName) {
		got[stringOf(c, "InstanceID")] = uint64Of(t, c, "AuthenticationMethodUsed")
	}
	want := map[string]uint64{connectionInstancePrefix + "open:1:1": 2, connectionInstancePrefix + "chap:2:1": 4}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("AuthenticationMethodUsed = %v, want %v", got, want)
	}
}

// TestSessionsWithTgtdDown: with tgtd not answering, the sessions and
// connections enumerate empty (nobody can be logged in) instead of failing,
// so that a walk over every association class still answers.
func TestSessionsWithTgtdDown(t *testing.T) {
	e := newMaskEnv(t)
	e.fake.sessions = []iscsi.Session{{Target: "t", Initiator: iqnA, SessionID: "1", Connections: 1}}
	e.fake.sessionsErr = fmt.Errorf("tgtadm: %w", iscsi.ErrUnavailable)
	if got := e.enumerate(iscsiSessionClassName); len(got) != 0 {
		t.Errorf("sessions with tgtd down: %d, want 0", len(got))
	}
	e.fake.sessionsErr = errors.New("tgtadm: unexpected output")
	if _, err := e.reg.Enumerate(context.Background(), Namespace, iscsiSessionClassName); err == nil {
		t.Error("another failure to list sessions was not reported")
	}
}
