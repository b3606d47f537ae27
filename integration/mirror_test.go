package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// replWriteAt writes b at off into dataDir's image name, as a process other
// than replicad would.
func replWriteAt(t *testing.T, dataDir, name string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(replPoolDir(dataDir), name+".img"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// replDatetime returns the text of datetime property name (inside its
// cim:Datetime element), "" when NULL.
func replDatetime(inst *etree.Element, name string) string {
	for _, k := range inst.ChildElements() {
		if k.Tag == name {
			if len(k.ChildElements()) > 0 {
				return strings.TrimSpace(k.ChildElements()[0].Text())
			}
			return strings.TrimSpace(k.Text())
		}
	}
	return ""
}

func replImage(t *testing.T, dataDir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(replPoolDir(dataDir), name+".img"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMirrorFollowsSourceWithMasterzen: an Asynchronous Mirror made over
// the wire follows writes another process makes to its source (CopyState
// polled back to 4 with the bytes equal), stays put while fractured (while
// a second mirror shows the loop at work), and catches up with Resync
// Replica.
func TestMirrorFollowsSourceWithMasterzen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	replWriteImage(t, dir, "data", 8<<20, 64<<10, 1<<20)
	replWriteImage(t, dir, "witness", 2<<20, 64<<10, 1<<20)
	d := startDaemon(t, dir, "--mirror-lag", "400ms")
	c := newReplCIM(t, d)
	svc := c.service()
	vols := c.volumes()

	if _, rv := c.invoke(svc, "CreateElementReplica", replScalar("ElementName", "m"), replScalar("SyncType", "6"),
		replScalar("Mode", "2"), vols["data"].param("SourceElement")); rv != 1 {
		t.Errorf("Synchronous Mirror: ReturnValue %d, want 1", rv)
	}
	out, rv := c.invoke(svc, "CreateElementReplica", replScalar("ElementName", "m"), replScalar("SyncType", "6"),
		replScalar("Mode", "3"), vols["data"].param("SourceElement"), replScalar("WaitForCopyState", "4"))
	if rv != 0 && rv != 4096 {
		t.Fatalf("CreateElementReplica Mirror: ReturnValue %d, want 0 or 4096", rv)
	}
	replRequireCompleted(t, c.waitJob(c.out(out, "Job")))
	sync := c.out(out, "Synchronization")
	replSameImage(t, dir, "data", "m")
	out, rv = c.invoke(svc, "CreateElementReplica", replScalar("ElementName", "w"), replScalar("SyncType", "6"),
		replScalar("Mode", "3"), vols["witness"].param("SourceElement"), replScalar("WaitForCopyState", "4"))
	if rv != 0 && rv != 4096 {
		t.Fatalf("CreateElementReplica Mirror of witness: ReturnValue %d, want 0 or 4096", rv)
	}
	replRequireCompleted(t, c.waitJob(c.out(out, "Job")))
	witness := c.out(out, "Synchronization")

	// caughtUp polls the mirror pair (source → target) until it is
	// Synchronized with a WhenSynced other than since and the bytes are
	// equal.
	caughtUp := func(pair replEPR, source, target, since string) string {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			s := c.mustGet(pair)
			when := replDatetime(s, "WhenSynced")
			if replProp(s, "CopyState") == "4" && when != "" && when != since && replImage(t, dir, source) == replImage(t, dir, target) {
				if replProp(s, "SyncMaintained") != "true" || replProp(s, "ProgressStatus") != "2" {
					t.Errorf("synchronized mirror: SyncMaintained %s ProgressStatus %s, want true and 2", replProp(s, "SyncMaintained"), replProp(s, "ProgressStatus"))
				}
				return when
			}
			if time.Now().After(deadline) {
				t.Fatalf("the mirror %s → %s did not catch up: CopyState %s WhenSynced %s", source, target, replProp(s, "CopyState"), when)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitCaughtUp := func(since string) string { t.Helper(); return caughtUp(sync, "data", "m", since) }
	when := replDatetime(c.mustGet(sync), "WhenSynced")
	replWriteAt(t, dir, "data", 3<<20+512, []byte("written by another process"))
	when = waitCaughtUp(when)

	if _, rv := c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "12"), sync.param("Synchronization")); rv != 0 {
		t.Fatalf("Fracture: %d", rv)
	}
	frozen := replImage(t, dir, "m")
	replWriteAt(t, dir, "data", 5<<20, []byte("written while fractured"))
	// The loop visits every mirror once a round, so each catch-up of the
	// witness after a write to it happens a round later than the one
	// before. The first catch-up copies a write made after the one to data,
	// so its round ends after that write; the round after it runs wholly
	// after the write to data, and the third catch-up shows that round has
	// ended: had the loop been going to follow the fractured m, it would
	// have by then.
	since := replDatetime(c.mustGet(witness), "WhenSynced")
	for i := range 3 {
		replWriteAt(t, dir, "witness", int64(i)<<19, []byte(fmt.Sprintf("witness write %d", i)))
		since = caughtUp(witness, "witness", "w", since)
	}
	if s := c.mustGet(sync); replProp(s, "CopyState") != "6" || replProp(s, "SyncMaintained") != "false" {
		t.Errorf("fractured mirror: CopyState %s SyncMaintained %s, want 6 and false", replProp(s, "CopyState"), replProp(s, "SyncMaintained"))
	}
	if replImage(t, dir, "m") != frozen {
		t.Fatal("a fractured mirror followed its source")
	}
	if _, rv := c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "14"), sync.param("Synchronization"),
		replScalar("WaitForCopyState", "4")); rv != 0 && rv != 4096 {
		t.Fatalf("Resync Replica: %d", rv)
	}
	waitCaughtUp(when)
	if _, rv := c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "19"), sync.param("Synchronization")); rv != 0 {
		t.Fatalf("Return To ResourcePool: %d", rv)
	}
	if _, err := os.Stat(filepath.Join(replPoolDir(dir), "m.img")); !os.IsNotExist(err) {
		t.Errorf("m.img after Return To ResourcePool: %v, want gone", err)
	}
}
