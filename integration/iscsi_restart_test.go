package integration

import (
	"strconv"
	"syscall"
	"testing"
)

// TestISCSIKills: kill -9 of tgtd, then of replicad (its tgtd dies with
// it), then of both at once: each time the targets, LUNs and masks are
// back (A reads its LUN, B sees nothing), and data A wrote and flushed
// before is there.
func TestISCSIKills(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sparseImage(t, dir, "disk1", 8<<20)
	r := startISCSI(t, dir)
	_, iqn := r.expose([]string{"disk1"}, []string{iscsiInitiatorA}, false)
	if out, err := r.qemuIO(iscsiInitiatorA, iqn, 1, "write -P 0x77 0 1M", "flush"); err != nil {
		t.Fatalf("write through the target: %v\n%s", err, out)
	}
	back := func(after string) {
		t.Helper()
		waitUntil(t, "A to read the LUN's capacity "+after, func() bool {
			size, err := r.readCapacity(iscsiInitiatorA, iqn, 1)
			return err == nil && size == 8<<20
		})
		if got := r.discover(iscsiInitiatorB); len(got) != 0 {
			t.Fatalf("%s initiator B discovers %v", after, got)
		}
		if out, err := r.qemuIO(iscsiInitiatorA, iqn, 1, "read -P 0x77 0 1M"); err != nil {
			t.Fatalf("%s the flushed data: %v\n%s", after, err, out)
		}
	}

	// tgtd alone: replicad's supervisor starts a new one and reconciles.
	old := r.tgtdPid()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a new tgtd", func() bool { return r.tgtdPid() != old })
	back("after kill -9 of tgtd")
	if got := r.d.logsWith("tgtd exited; restarting it"); len(got) == 0 {
		t.Error("replicad did not log the restart of tgtd")
	}
	if out, err := r.qemuIO(iscsiInitiatorA, iqn, 1, "write -P 0x77 1M 1M", "flush"); err != nil {
		t.Fatalf("write after tgtd's restart: %v\n%s", err, out)
	}

	// replicad alone: its tgtd goes with it; a new replicad brings both back.
	old = r.tgtdPid()
	if err := r.d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-r.d.exited
	waitUntil(t, "tgtd to die with replicad", func() bool { return syscall.Kill(old, 0) != nil })
	r.start()
	back("after kill -9 of replicad")
	if out, err := r.qemuIO(iscsiInitiatorA, iqn, 1, "read -P 0x77 1M 1M"); err != nil {
		t.Fatalf("data written after tgtd's restart: %v\n%s", err, out)
	}

	// Both at once.
	tgtd := r.tgtdPid()
	if err := syscall.Kill(tgtd, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := r.d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-r.d.exited
	r.start()
	if r.tgtdPid() == tgtd {
		t.Fatalf("tgtd pid %s unchanged after both were killed", strconv.Itoa(tgtd))
	}
	back("after kill -9 of both")
}
