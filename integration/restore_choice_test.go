package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRestoreChoiceWithMasterzen (issue 20): restoring a group
// synchronization that holds two snapshots of one volume, through the
// daemon, is refused with 5 and the candidates in ExtendedStatus (the
// volume is left as it was) until the client names one in SyncPair; then
// the volume becomes that snapshot.
func TestRestoreChoiceWithMasterzen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	replWriteImage(t, dir, "vol", 4<<20, 64<<10, 1<<20)
	d := startDaemon(t, dir)
	c := newReplCIM(t, d)
	svc := c.service()
	vols := c.volumes()

	out, rv := c.invoke(svc, "CreateGroupReplica", replScalar("RelationshipName", "snap"), replScalar("SyncType", "7"),
		vols["vol"].param("SourceElement"), replScalar("TargetElementCount", "2"))
	if rv != 4096 {
		t.Fatalf("CreateGroupReplica: ReturnValue %d, want 4096", rv)
	}
	gs := c.out(out, "Synchronization")
	replRequireCompleted(t, c.waitJob(c.out(out, "Job")))

	// The second snapshot is written by a host, then the volume itself.
	image := func(name string) string { return filepath.Join(replPoolDir(dir), name+".img") }
	writeAt := func(name, text string) {
		f, err := os.OpenFile(image(name), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte(text), 0); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(image(name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	writeAt("snap_2", "the second snapshot, as a host changed it")
	writeAt("vol", "the volume after both snapshots")
	before := read("vol")

	out, rv = c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "15"), gs.param("Synchronization"))
	if rv != 5 {
		t.Fatalf("Restore of the whole group: ReturnValue %d, want 5 (Invalid Parameter)", rv)
	}
	es := out.SelectElement("ExtendedStatus")
	if es == nil {
		t.Fatalf("no ExtendedStatus in\n%s", replElementText(out))
	}
	msg := childText(es, "Message")
	for _, s := range []string{"ModifyReplicaSynchronization: ", "SyncPair", "snap_1", "snap_2"} {
		if !strings.Contains(msg, s) {
			t.Errorf("ExtendedStatus Message %q does not mention %q", msg, s)
		}
	}
	if childText(es, "CIMStatusCode") != "4" {
		t.Errorf("CIM_Error CIMStatusCode %s, want 4 (Invalid Parameter)", childText(es, "CIMStatusCode"))
	}
	t.Logf("ExtendedStatus.Message: %s", msg)
	if !bytes.Equal(read("vol"), before) {
		t.Error("a refused Restore changed the volume")
	}

	vols = c.volumes()
	out, rv = c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "15"), gs.param("Synchronization"),
		replPairEPR(vols["vol"], vols["snap_2"]).param("SyncPair"))
	if rv != 4096 {
		t.Fatalf("Restore from snap_2: ReturnValue %d, want 4096", rv)
	}
	replRequireCompleted(t, c.waitJob(c.out(out, "Job")))
	replSameImage(t, dir, "snap_2", "vol")
	if bytes.Equal(read("vol"), read("snap_1")) {
		t.Error("set-up: the two snapshots are equal, so the choice is not shown")
	}
}
