package integration

import "testing"

// TestISCSIRestoreExposed: Restore From Replica into a volume an initiator
// has exposed: the restore quiesces the target for its copy, and the
// initiator then reads the snapshot's data through the same LUN (its
// later write undone).
func TestISCSIRestoreExposed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sparseImage(t, dir, "data", 4<<20)
	r := startISCSI(t, dir)
	_, iqn := r.expose([]string{"data"}, []string{iscsiInitiatorA}, false)
	if out, err := r.qemuIO(iscsiInitiatorA, iqn, 1, "write -P 0x31 0 64k", "flush"); err != nil {
		t.Fatalf("write: %v\n%s", err, out)
	}
	svc := r.c.service()
	_, vol := r.volume("data")
	out, rv := r.c.invoke(svc, "CreateElementReplica", replScalar("ElementName", "s"), replScalar("SyncType", "7"),
		vol.param("SourceElement"), replScalar("WaitForCopyState", "4"))
	if rv != 0 && rv != 4096 {
		t.Fatalf("CreateElementReplica Snapshot: ReturnValue %d", rv)
	}
	replRequireCompleted(t, r.c.waitJob(r.c.out(out, "Job")))
	sync := r.c.out(out, "Synchronization")
	quiesced := len(r.d.logsWith("targets quiesced"))
	if quiesced == 0 {
		t.Error("the snapshot of an exposed volume did not quiesce its target")
	}

	if out, err := r.qemuIO(iscsiInitiatorA, iqn, 1, "write -P 0x99 0 64k", "flush"); err != nil {
		t.Fatalf("write after the snapshot: %v\n%s", err, out)
	}
	out, rv = r.c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "15"), sync.param("Synchronization"),
		replScalar("WaitForCopyState", "4"))
	switch rv {
	case 0:
	case 4096:
		replRequireCompleted(t, r.c.waitJob(r.c.out(out, "Job")))
	default:
		t.Fatalf("Restore From Replica: ReturnValue %d\n%s", rv, replElementText(out))
	}
	if got := len(r.d.logsWith("targets quiesced")); got <= quiesced {
		t.Error("Restore From Replica into an exposed volume did not quiesce its target")
	}
	if out, err := r.qemuIO(iscsiInitiatorA, iqn, 1, "read -P 0x31 0 64k"); err != nil {
		t.Fatalf("after the restore the initiator does not read the snapshot's data: %v\n%s", err, out)
	}
}
