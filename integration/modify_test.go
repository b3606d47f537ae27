package integration

import (
	"testing"
)

// TestSnapshotRestoreWithMasterzen: a snapshot taken over the wire does not
// change when its source is overwritten; Restore From Replica puts the
// snapshot's bytes back; operations from forbidden states and on a
// synchronization that does not exist answer their codes.
func TestSnapshotRestoreWithMasterzen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	replWriteImage(t, dir, "db", 8<<20, 64<<10, 1<<20)
	d := startDaemon(t, dir)
	c := newReplCIM(t, d)
	svc := c.service()
	vols := c.volumes()
	out, rv := c.invoke(svc, "CreateElementReplica", replScalar("ElementName", "snap"), replScalar("SyncType", "7"),
		vols["db"].param("SourceElement"), replScalar("WaitForCopyState", "4"))
	if rv != 0 && rv != 4096 {
		t.Fatalf("CreateElementReplica Snapshot: %d", rv)
	}
	replRequireCompleted(t, c.waitJob(c.out(out, "Job")))
	sync := c.out(out, "Synchronization")
	pit := replImage(t, dir, "snap")
	if pit != replImage(t, dir, "db") {
		t.Fatal("the snapshot differs from its source at the point in time")
	}
	replWriteAt(t, dir, "db", 0, make([]byte, 1<<20))
	replWriteAt(t, dir, "db", 6<<20+7, []byte("overwritten"))
	if replImage(t, dir, "snap") != pit {
		t.Fatal("the snapshot changed with its source")
	}
	tests := []struct {
		name   string
		params []string
		want   int
		state  string
	}{
		{"Suspend of a snapshot", []string{replScalar("Operation", "22")}, 1, "4"},
		{"Abort without a copy", []string{replScalar("Operation", "2")}, 5, "4"},
		{"Fracture", []string{replScalar("Operation", "12")}, 0, "6"},
		{"Split from Fractured", []string{replScalar("Operation", "21")}, 5, "6"},
		{"Restore from Replica", []string{replScalar("Operation", "15"), replScalar("WaitForCopyState", "4")}, 0, "4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, rv := c.invoke(svc, "ModifyReplicaSynchronization", append(tt.params, sync.param("Synchronization"))...)
			if rv == 4096 && tt.want == 0 {
				replRequireCompleted(t, c.waitJob(c.out(out, "Job")))
			} else if rv != tt.want {
				t.Fatalf("ReturnValue %d, want %d", rv, tt.want)
			}
			if got := replProp(c.mustGet(sync), "CopyState"); got != tt.state {
				t.Errorf("CopyState %s, want %s", got, tt.state)
			}
		})
	}
	if replImage(t, dir, "db") != pit {
		t.Error("after Restore From Replica the source differs from the snapshot")
	}
	if replImage(t, dir, "snap") != pit {
		t.Error("Restore From Replica changed the snapshot")
	}
	// A synchronization that does not exist: snap → db, the wrong way round.
	vols = c.volumes()
	if _, rv := c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "12"),
		replPairEPR(vols["snap"], vols["db"]).param("Synchronization")); rv != 5 {
		t.Errorf("unknown synchronization: ReturnValue %d, want 5", rv)
	}
}
