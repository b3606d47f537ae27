package provider

import (
	"context"
	"slices"
	"testing"

	"github.com/replicad/replicad/replica"
)

// TestVerifyReplica calls the vendor method VerifyReplica through the
// method router: identical, then a target written behind replicad's back
// (the first differing offsets, DifferingPairs, CopyState Broken, in the
// instance too), a bad MaxDifferences, an unknown synchronization and a
// missing Synchronization.
func TestVerifyReplica(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	src := e.volume("src", 4*rMiB)
	res := e.call("CreateElementReplica", param("ElementName", "c"), param("SyncType", "8"),
		refParam("SourceElement", e.p.volumePath(src)), param("WaitForCopyState", "4"))
	if res.ReturnValue != 0 {
		t.Fatalf("CreateElementReplica: %d", res.ReturnValue)
	}
	syncPath, tgtPath := outRef(t, res, "Synchronization"), outRef(t, res, "TargetElement")
	tgt, _ := volumeIDOf(tgtPath, "")

	res = e.call("VerifyReplica", refParam("Synchronization", syncPath))
	if res.ReturnValue != 0 {
		t.Fatalf("VerifyReplica: %d", res.ReturnValue)
	}
	if same, _ := res.Out["Identical"].AsBool(); !same {
		t.Fatalf("fresh clone not identical: %v", res.Out)
	}
	if n, _ := res.Out["BytesCompared"].AsUint64(); n != 4*rMiB {
		t.Errorf("BytesCompared %d, want %d", n, 4*rMiB)
	}

	const at = rMiB + 77
	overwrite(t, e, tgt, at, []byte("written behind replicad's back"))
	res = e.call("VerifyReplica", refParam("Synchronization", syncPath), param("MaxDifferences", "3"))
	if res.ReturnValue != 0 {
		t.Fatalf("VerifyReplica: %d", res.ReturnValue)
	}
	offsets, _ := res.Out["DifferingOffsets"].V.([]uint64)
	if same, _ := res.Out["Identical"].AsBool(); same || !slices.Equal(offsets, []uint64{at, at + 1, at + 2}) {
		t.Fatalf("corrupted target: Identical %v, DifferingOffsets %v, want %d..%d", same, offsets, at, at+2)
	}
	if pairs, _ := res.Out["DifferingPairs"].AsRefs(); len(pairs) != 1 || !pairs[0].Equal(syncPath) {
		t.Errorf("DifferingPairs %v, want [%v]", pairs, syncPath)
	}
	if cs, _ := res.Out["CopyState"].AsUint64(); cs != uint64(replica.CopyStateBroken) {
		t.Errorf("CopyState out %d, want 5 (Broken)", cs)
	}
	inst, err := e.reg.Get(ctx, syncPath)
	if err != nil {
		t.Fatal(err)
	}
	if cs := rUint16(inst, "CopyState"); cs != uint16(replica.CopyStateBroken) {
		t.Errorf("instance CopyState %d, want 5 (Broken)", cs)
	}
	if _, broken, err := e.p.ReplicationIntegrity(ctx); err != nil || broken != 1 {
		t.Errorf("ReplicationIntegrity: %d broken, %v; want 1", broken, err)
	}

	if res := e.call("VerifyReplica", refParam("Synchronization", syncPath), param("MaxDifferences", "0")); res.ReturnValue != 5 {
		t.Errorf("MaxDifferences 0: ReturnValue %d, want 5", res.ReturnValue)
	}
	missing := e.p.syncPath(src, "no-such-volume")
	if res := e.call("VerifyReplica", refParam("Synchronization", missing)); res.ReturnValue != 5 {
		t.Errorf("unknown synchronization: ReturnValue %d, want 5", res.ReturnValue)
	}
	if res := e.call("VerifyReplica"); res.ReturnValue != 5 {
		t.Errorf("no Synchronization: ReturnValue %d, want 5 (the router checks Required)", res.ReturnValue)
	}
}
