package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

const snapBlock = 64 << 10

// TestISCSIGroupSnapshotConsistent: an initiator writes through iSCSI to
// two volumes of a group, each write issued once the one before was
// acknowledged (a, b, a, b, ... one 64 KiB block each: every write depends
// on all earlier ones), while CreateGroupReplica makes a Snapshot of the
// group (Sequential consistency, copies slowed by --copy-bandwidth). The
// snapshots, exposed read-only and read back through iSCSI (qemu-img
// convert), hold one instant of that sequence: a prefix of it, so a has
// as many blocks as b or one more. Without the quiesce the copy fails
// (the engine sees a source written under it) or, were it to go on, the
// later member's copy would catch writes the earlier one missed.
func TestISCSIGroupSnapshotConsistent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The writer uses the first half; the second half holds data written
	// before, so that each member's copy takes seconds at 1 MiB/s.
	const size, half = 4 << 20, 2 << 20
	for _, name := range []string{"a", "b"} {
		sparseImage(t, dir, name, size)
		replWriteAt(t, dir, name, half, bytes.Repeat([]byte{0xee}, half))
	}
	r := startISCSI(t, dir, "--copy-bandwidth", "1048576")
	_, iqn := r.expose([]string{"a", "b"}, []string{iscsiInitiatorA}, false)
	svc := r.c.service()
	out, rv := r.c.invoke(svc, "CreateGroup", replScalar("GroupName", "cg"))
	if rv != 0 {
		t.Fatalf("CreateGroup: %d", rv)
	}
	group := r.c.out(out, "ReplicationGroup")
	_, va := r.volume("a")
	_, vb := r.volume("b")
	if _, rv := r.c.invoke(svc, "AddMembers", va.param("Members"), vb.param("Members"), group.param("ReplicationGroup")); rv != 0 {
		t.Fatalf("AddMembers: %d", rv)
	}

	// The writer: block i of a, then block i of b, each retried until
	// acknowledged (a quiesced target refuses logins and holds commands).
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < half/snapBlock; i++ {
			for lun := 1; lun <= 2; lun++ {
				for {
					select {
					case <-stop:
						return
					default:
					}
					cmd := fmt.Sprintf("write -P 0x%02x %d %d", i%255+1, i*snapBlock, snapBlock)
					if _, err := r.qemuIO(iscsiInitiatorA, iqn, lun, cmd); err == nil {
						break
					}
				}
				written.Add(1)
			}
		}
	}()
	waitUntil(t, "the writer to get going", func() bool { return written.Load() >= 6 })
	out, rv = r.c.invoke(svc, "CreateGroupReplica", replScalar("RelationshipName", "snap"), replScalar("SyncType", "7"),
		replScalar("Mode", "3"), group.param("SourceGroup"))
	if rv != 0 && rv != 4096 {
		t.Fatalf("CreateGroupReplica Snapshot: ReturnValue %d", rv)
	}
	replRequireCompleted(t, r.c.waitJob(r.c.out(out, "Job")))
	close(stop)
	wg.Wait()
	if n := written.Load(); n >= half/snapBlock*2 {
		t.Fatalf("the writer finished (%d writes) before the snapshot: nothing was tested", n)
	}

	_, snapIQN := r.expose([]string{"snap_1", "snap_2"}, []string{iscsiInitiatorA}, true)
	var blocks [2]int
	for i, name := range []string{"snap_1", "snap_2"} {
		got := filepath.Join(t.TempDir(), name+".raw")
		opts := fmt.Sprintf("driver=iscsi,transport=tcp,portal=%s,target=%s,lun=%d,initiator-name=%s", r.portal, snapIQN, i+1, iscsiInitiatorA)
		if out, err := exec.Command("qemu-img", "convert", "--image-opts", opts, "-O", "raw", got).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img convert of %s through iSCSI: %v\n%s", name, err, out)
		}
		data, err := os.ReadFile(got)
		if err != nil {
			t.Fatal(err)
		}
		if want := replImage(t, dir, name); string(data) != want {
			t.Fatalf("%s read through iSCSI differs from its image file", name)
		}
		if !bytes.Equal(data[half:], bytes.Repeat([]byte{0xee}, half)) {
			t.Fatalf("%s: the second half is not the data written before", name)
		}
		blocks[i] = prefixBlocks(t, name, data[:half])
	}
	t.Logf("snapshot holds %d blocks of a and %d of b (%d writes acknowledged in all)", blocks[0], blocks[1], written.Load())
	if blocks[0] != blocks[1] && blocks[0] != blocks[1]+1 {
		t.Fatalf("inconsistent group snapshot: %d blocks of a, %d of b (each b write followed an acknowledged a write)", blocks[0], blocks[1])
	}
}

// prefixBlocks returns how many leading 64 KiB blocks of data hold their
// pattern, failing when a later block is written too (not a prefix).
func prefixBlocks(t *testing.T, name string, data []byte) int {
	t.Helper()
	n := 0
	for i := 0; i*snapBlock < len(data); i++ {
		b := data[i*snapBlock : (i+1)*snapBlock]
		full := bytes.Equal(b, bytes.Repeat([]byte{byte(i%255 + 1)}, snapBlock))
		zero := bytes.Equal(b, make([]byte, snapBlock))
		switch {
		case full && n == i:
			n++
		case zero:
		default:
			t.Fatalf("%s: block %d is neither its pattern after a full prefix nor zero", name, i)
		}
	}
	return n
}
