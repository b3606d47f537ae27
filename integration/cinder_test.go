package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// TestCinderConsistencyGroupSnapshot replays the Cinder VMAX SMI-S
// driver's consistency-group snapshot (cim-replication.md §6.2): a source
// group, target volumes made beforehand and grouped, CreateGroupReplica
// with SourceGroup, TargetGroup, SyncType 8 and WaitForCopyState 4 (no
// Mode, no Consistency), the GroupSynchronized found by its SyncedElement,
// CopyState polled to 4, then Detach with Force, and the clean-up.
func TestCinderConsistencyGroupSnapshot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"volume-a", "volume-b"} {
		replWriteImage(t, dir, name, 8<<20, 128<<10, 1<<20)
	}
	// Cinder creates one target per member, same size, before the copy.
	for _, name := range []string{"snap-a", "snap-b"} {
		f, err := os.Create(filepath.Join(replPoolDir(dir), name+".img"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(8 << 20); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	d := startDaemon(t, dir)
	c := newReplCIM(t, d)
	svc := c.service()
	vols := c.volumes()
	const cgID, snapID = "cg-0f1e2d3c", "cgsnapshot-9a8b7c6d"

	_, rv := c.invoke(svc, "CreateGroup", replScalar("GroupName", cgID))
	if rv != 0 {
		t.Fatalf("CreateGroup %s: %d", cgID, rv)
	}
	// The driver finds its group through the service by ElementName (§3.2).
	source := c.groupNamed(svc, cgID)
	if _, rv := c.invoke(svc, "AddMembers", vols["volume-a"].param("Members"), vols["volume-b"].param("Members"),
		source.param("ReplicationGroup")); rv != 0 {
		t.Fatalf("AddMembers sources: %d", rv)
	}
	if _, rv := c.invoke(svc, "CreateGroup", replScalar("GroupName", snapID)); rv != 0 {
		t.Fatalf("CreateGroup %s: %d", snapID, rv)
	}
	target := c.groupNamed(svc, snapID)
	if _, rv := c.invoke(svc, "AddMembers", vols["snap-a"].param("Members"), vols["snap-b"].param("Members"),
		target.param("ReplicationGroup")); rv != 0 {
		t.Fatalf("AddMembers targets: %d", rv)
	}

	out, rv := c.invoke(svc, "CreateGroupReplica", replScalar("RelationshipName", snapID[:5]),
		source.param("SourceGroup"), target.param("TargetGroup"), replScalar("SyncType", "8"), replScalar("WaitForCopyState", "4"))
	switch rv {
	case 0, 4096:
	default:
		t.Fatalf("CreateGroupReplica: %d, want 0 or 4096", rv)
	}
	// The driver treats any answer as a job and reads its ErrorCode.
	job := c.waitJob(c.out(out, "Job"))
	replRequireCompleted(t, job)

	// Find the group synchronization whose SyncedElement is the target group.
	targetID := selectorValue(target.selectors, "InstanceID")
	insts, eprs := c.enumerate(replURIGroupSync)
	var sync replEPR
	found := 0
	for i, inst := range insts {
		for _, k := range inst.ChildElements() {
			if k.Tag == "SyncedElement" && selectorValue(find(k, nsWSMan, "SelectorSet"), "InstanceID") == targetID {
				sync = eprs[i]
				found++
			}
		}
	}
	if found != 1 {
		t.Fatalf("found %d GroupSynchronized with SyncedElement %s, want 1", found, targetID)
	}
	deadline := time.Now().Add(time.Minute)
	for replProp(c.mustGet(sync), "CopyState") != "4" {
		if time.Now().After(deadline) {
			t.Fatalf("CopyState never reached 4")
		}
		time.Sleep(200 * time.Millisecond)
	}
	replSameImage(t, dir, "volume-a", "snap-a")
	replSameImage(t, dir, "volume-b", "snap-b")

	// While associated, a snapshot cannot be deleted through the storage
	// configuration service; after Detach it can.
	_, confs := c.enumerate(replWMI + "MSISCSITARGET_StorageConfigurationService")
	if len(confs) != 1 {
		t.Fatalf("%d storage configuration services, want 1", len(confs))
	}
	if _, rv := c.invoke(confs[0], "ReturnToStoragePool", vols["snap-b"].param("TheElement")); rv == 0 {
		t.Errorf("ReturnToStoragePool of an associated target answered 0, want a refusal")
	}
	if _, rv := c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "8"), sync.param("Synchronization"),
		replScalar("Force", "true")); rv != 0 {
		t.Fatalf("Detach: %d", rv)
	}
	if _, err := c.get(sync); err == nil || !strings.Contains(err.Error(), "Fault") {
		t.Errorf("the GroupSynchronized survived Detach: %v", err)
	}
	// The snapshots stay, independent: the driver deletes the groups only.
	for _, g := range []replEPR{target, source} {
		if _, rv := c.invoke(svc, "DeleteGroup", g.param("ReplicationGroup"), replScalar("RemoveElements", "true")); rv != 0 {
			t.Errorf("DeleteGroup: %d", rv)
		}
	}
	if _, rv := c.invoke(confs[0], "ReturnToStoragePool", vols["snap-b"].param("TheElement")); rv != 0 {
		t.Errorf("ReturnToStoragePool of a detached snapshot: %d, want 0", rv)
	}
	vols = c.volumes()
	if _, ok := vols["snap-b"]; ok {
		t.Errorf("snap-b survived ReturnToStoragePool")
	}
	for _, name := range []string{"volume-a", "volume-b", "snap-a"} {
		if _, ok := vols[name]; !ok {
			t.Errorf("volume %s is gone", name)
		}
	}
	replSameImage(t, dir, "volume-a", "snap-a")
}

// groupNamed finds the replication group whose ElementName contains name
// among the groups associated with the service, as the driver does.
func (c *replCIM) groupNamed(svc replEPR, name string) replEPR {
	c.t.Helper()
	filter := `<w:Filter Dialect="http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter">` +
		`<b:AssociatedInstances xmlns:b="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"><b:Object>` +
		`<a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>` +
		`<a:ReferenceParameters><w:ResourceURI>` + svc.uri + `</w:ResourceURI>` + replSelectorXML(svc.selectors) + `</a:ReferenceParameters>` +
		`</b:Object><b:ResultClassName>CIM_ReplicationGroup</b:ResultClassName></b:AssociatedInstances></w:Filter>`
	insts, eprs := c.enumerateFiltered("http://schemas.dmtf.org/wbem/wscim/1/*",
		`<w:SelectorSet><w:Selector Name="__cimnamespace">`+iscsiNamespace+`</w:Selector></w:SelectorSet>`, filter)
	var match []replEPR
	for i, inst := range insts {
		if strings.Contains(replProp(inst, "ElementName"), name) {
			match = append(match, eprs[i])
		}
	}
	if len(match) != 1 {
		c.t.Fatalf("%d groups associated with the service are named %s, want 1", len(match), name)
	}
	return match[0]
}

// selectorValue returns the text of selector name of a SelectorSet.
func selectorValue(set *etree.Element, name string) string {
	if set == nil {
		return ""
	}
	for _, s := range set.ChildElements() {
		if s.SelectAttrValue("Name", "") == name {
			return strings.TrimSpace(s.Text())
		}
	}
	return ""
}
