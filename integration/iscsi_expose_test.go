package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestISCSIExposeOverWSMan: a volume ExposePaths'd over WS-Man to
// initiator A is seen by A with its size, takes A's writes into the
// volume file and reads them back; B (not in the mask) sees no target;
// the exposed volume cannot be returned to its pool (In Use); HidePaths
// takes it away from A.
func TestISCSIExposeOverWSMan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sparseImage(t, dir, "disk1", 12<<20)
	r := startISCSI(t, dir)
	name, iqn := r.expose([]string{"disk1"}, []string{iscsiInitiatorA}, false)

	if got := r.discover(iscsiInitiatorA); len(got) != 1 || got[0] != iqn {
		t.Fatalf("initiator A discovers %v, want [%s]", got, iqn)
	}
	if got := r.discover(iscsiInitiatorB); len(got) != 0 {
		t.Fatalf("initiator B (not in the mask) discovers %v, want nothing", got)
	}
	if size, err := r.readCapacity(iscsiInitiatorA, iqn, 1); err != nil || size != 12<<20 {
		t.Fatalf("A reads capacity %d, %v; want %d", size, err, 12<<20)
	}
	if _, err := r.readCapacity(iscsiInitiatorB, iqn, 1); err == nil {
		t.Fatal("initiator B logged in to a target whose mask does not name it")
	}
	if out, err := r.qemuIO(iscsiInitiatorA, iqn, 1, "write -P 0xab 1M 1M", "flush", "read -P 0xab 1M 1M"); err != nil {
		t.Fatalf("qemu-io through the target: %v\n%s", err, out)
	}
	img, err := os.ReadFile(filepath.Join(replPoolDir(dir), "disk1.img"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img[1<<20:2<<20], bytes.Repeat([]byte{0xab}, 1<<20)) || img[0] != 0 || img[2<<20] != 0 {
		t.Fatal("the volume file does not hold what initiator A wrote, where it wrote it")
	}

	_, confs := r.c.enumerate(uriStorageConfig)
	_, vol := r.volume("disk1")
	if out, rv := r.c.invoke(confs[0], "ReturnToStoragePool", vol.param("TheElement")); rv == 0 {
		t.Fatalf("ReturnToStoragePool of an exposed volume answered 0:\n%s", replElementText(out))
	}
	if _, err := os.Stat(filepath.Join(replPoolDir(dir), "disk1.img")); err != nil {
		t.Fatalf("the exposed volume's file is gone after a refused delete: %v", err)
	}

	r.hide(name, "disk1", iscsiInitiatorA)
	if got := r.discover(iscsiInitiatorA); len(got) != 0 {
		t.Fatalf("after HidePaths initiator A discovers %v", got)
	}
}
