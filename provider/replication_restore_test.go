package provider

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/replicad/replicad/volumes"
)

// restoreVolume returns the volume called name in the default pool.
func (e *replEnv) restoreVolume(name string) *volumes.Volume {
	e.t.Helper()
	v, err := e.p.volumes.Lookup(context.Background(), volumes.DefaultPool, name)
	if err != nil {
		e.t.Fatalf("volume %s: %v", name, err)
	}
	return v
}

// overwrite writes text at the start of v's image, as a host would.
func (e *replEnv) overwrite(v *volumes.Volume, text string) {
	e.t.Helper()
	f, err := os.OpenFile(v.Path(), os.O_WRONLY, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(text), 0); err != nil {
		e.t.Fatal(err)
	}
}

func (e *replEnv) bytesOf(v *volumes.Volume) []byte {
	e.t.Helper()
	b, err := os.ReadFile(v.Path())
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// TestRestoreNamesTheSnapshot (issue 20): a GroupSynchronized holding
// several snapshots of one source is not restored from one picked
// silently. Restore From Replica (15) without SyncPair answers 5 with the
// candidates in ExtendedStatus and leaves the source alone; with SyncPair
// naming one snapshot it restores the source from that one. SyncPair on a
// StorageSynchronized answers 5, with another Operation 1; a
// ModifyListSynchronization of two snapshots of one source answers 5.
func TestRestoreNamesTheSnapshot(t *testing.T) {
	e := newReplEnv(t)
	srcID := e.volume("src", 2*rMiB)
	res := e.call("CreateGroupReplica", param("SyncType", "7"), param("RelationshipName", "snaps"),
		refParam("SourceElement", e.p.volumePath(srcID)), param("TargetElementCount", "2"), param("WaitForCopyState", "4"))
	if res.ReturnValue != returnOK {
		t.Fatalf("CreateGroupReplica: %d %v", res.ReturnValue, res.Out)
	}
	gsPath := outRef(t, res, "Synchronization")
	src, one, two := e.restoreVolume("src"), e.restoreVolume("snaps_1"), e.restoreVolume("snaps_2")
	e.overwrite(two, "the second snapshot, as a host changed it")
	e.overwrite(src, "the source after both snapshots")
	before := e.bytesOf(src)
	restore := param("Operation", "15")

	refused := e.call("ModifyReplicaSynchronization", restore, refParam("Synchronization", gsPath))
	if refused.ReturnValue != returnInvalidParameter {
		t.Fatalf("Restore of the whole group: %d, want 5", refused.ReturnValue)
	}
	checkRefusalReason(t, refused, "ModifyReplicaSynchronization", e.dataDir)
	msg := refusalMessage(t, refused)
	t.Logf("refusal: %s", msg)
	for _, s := range []string{"SyncPair", "src", "snaps_1", "snaps_2", string(two.ID)} {
		if !strings.Contains(msg, s) {
			t.Errorf("Message %q does not mention %q", msg, s)
		}
	}
	if !bytes.Equal(e.bytesOf(src), before) {
		t.Error("a refused Restore changed the source")
	}

	for _, tt := range []struct {
		name   string
		params []string
		want   uint32
	}{
		{"SyncPair on a StorageSynchronized", []string{restore, refParam("Synchronization", e.p.syncPath(src.ID, two.ID)),
			refParam("SyncPair", e.p.syncPath(src.ID, two.ID))}, returnInvalidParameter},
		{"SyncPair with Fracture", []string{param("Operation", "12"), refParam("Synchronization", gsPath),
			refParam("SyncPair", e.p.syncPath(src.ID, two.ID))}, returnNotSupported},
		{"SyncPair not a member", []string{restore, refParam("Synchronization", gsPath),
			refParam("SyncPair", e.p.syncPath(two.ID, one.ID))}, returnInvalidParameter},
	} {
		if r := e.call("ModifyReplicaSynchronization", tt.params...); r.ReturnValue != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, r.ReturnValue, tt.want)
		} else {
			checkRefusalReason(t, r, "ModifyReplicaSynchronization", e.dataDir)
		}
	}

	done := e.call("ModifyReplicaSynchronization", restore, refParam("Synchronization", gsPath),
		refParam("SyncPair", e.p.syncPath(src.ID, two.ID)), param("WaitForCopyState", "4"))
	if done.ReturnValue != returnOK {
		t.Fatalf("Restore from snaps_2: %d %v", done.ReturnValue, done.Out)
	}
	if !bytes.Equal(e.bytesOf(src), e.bytesOf(two)) {
		t.Error("the source is not snaps_2 after Restore from it")
	}
	if bytes.Equal(e.bytesOf(src), e.bytesOf(one)) {
		t.Error("set-up: the snapshots are equal, so the choice is not shown")
	}

	// Two element snapshots of one source in one ModifyListSynchronization.
	var pairs []string
	for _, name := range []string{"e1", "e2"} {
		r := e.call("CreateElementReplica", param("SyncType", "7"), param("ElementName", name),
			refParam("SourceElement", e.p.volumePath(src.ID)), param("WaitForCopyState", "4"))
		if r.ReturnValue != returnOK {
			t.Fatalf("CreateElementReplica %s: %d", name, r.ReturnValue)
		}
		pairs = append(pairs, refParam("Synchronization", outRef(t, r, "Synchronization")))
	}
	list := e.call("ModifyListSynchronization", append([]string{restore}, pairs...)...)
	if list.ReturnValue != returnInvalidParameter {
		t.Fatalf("ModifyListSynchronization Restore of two snapshots of one source: %d, want 5", list.ReturnValue)
	}
	if msg := refusalMessage(t, list); !strings.Contains(msg, "e1") || !strings.Contains(msg, "e2") {
		t.Errorf("Message %q does not list both candidates", msg)
	}
}
