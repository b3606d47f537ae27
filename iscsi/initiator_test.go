package iscsi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicad/replicad/iscsi"
	"github.com/replicad/replicad/volumes"
)

// These tests drive the data plane with real initiators nobody here wrote:
// libiscsi's iscsi-ls and iscsi-readcapacity16, and qemu's iSCSI block
// driver (qemu-io).

// lunURL is the libiscsi URL of LUN lun of target iqn on the env's portal.
func (e *env) lunURL(iqn string, lun int) string {
	return fmt.Sprintf("iscsi://%s/%s/%d", e.addr, iqn, lun)
}

// readCapacity runs iscsi-readcapacity16 as initiator and returns the
// size it reports.
func (e *env) readCapacity(initiator, iqn string, lun int) (int64, error) {
	out, err := exec.Command("iscsi-readcapacity16", "-i", initiator, e.lunURL(iqn, lun)).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("iscsi-readcapacity16: %v: %s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "Total size:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("no size in %s", out)
}

// discover runs iscsi-ls as initiator and returns the target IQNs it sees.
func (e *env) discover(initiator string) []string {
	e.t.Helper()
	out, err := exec.Command("iscsi-ls", "-i", initiator, "iscsi://"+e.addr).CombinedOutput()
	if err != nil {
		e.t.Fatalf("iscsi-ls: %v: %s", err, out)
	}
	var iqns []string
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "Target:"); ok {
			iqns = append(iqns, strings.Fields(v)[0])
		}
	}
	return iqns
}

// qemuIO runs qemu-io commands on LUN lun of iqn as initiator.
func (e *env) qemuIO(initiator, iqn string, lun int, readOnly bool, cmds ...string) (string, error) {
	args := []string{}
	if readOnly {
		args = append(args, "-r")
	}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	args = append(args, "--image-opts", fmt.Sprintf("driver=iscsi,transport=tcp,portal=%s,target=%s,lun=%d,initiator-name=%s", e.addr, iqn, lun, initiator))
	out, err := exec.Command("qemu-io", args...).CombinedOutput()
	if err == nil && bytes.Contains(out, []byte("Pattern verification failed")) {
		err = errors.New("pattern verification failed")
	}
	return string(out), err
}

// TestInitiators: a volume exposed to initiator A is seen by A with its
// size, takes A's writes into the volume file and reads them back; B sees
// no target; Hide takes it away from A.
func TestInitiators(t *testing.T) {
	requireTools(t, "iscsi-ls", "iscsi-readcapacity16", "qemu-io")
	e := newEnv(t)
	v := e.volume("disk1", 12<<20)
	tg, err := e.svc.Expose("", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}, []string{initiatorA}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.discover(initiatorA); len(got) != 1 || got[0] != tg.IQN {
		t.Fatalf("initiator A discovers %v, want [%s]", got, tg.IQN)
	}
	if got := e.discover(initiatorB); len(got) != 0 {
		t.Fatalf("initiator B (not in the mask) discovers %v, want nothing", got)
	}
	if size, err := e.readCapacity(initiatorA, tg.IQN, 1); err != nil || size != 12<<20 {
		t.Fatalf("A reads capacity %d, %v; want %d", size, err, 12<<20)
	}
	if _, err := e.readCapacity(initiatorB, tg.IQN, 1); err == nil {
		t.Fatal("initiator B logged in to a target whose mask does not name it")
	}
	if out, err := e.qemuIO(initiatorA, tg.IQN, 1, false, "write -P 0xab 1M 1M", "flush", "read -P 0xab 1M 1M"); err != nil {
		t.Fatalf("qemu-io write/read through the target: %v\n%s", err, out)
	}
	data, err := os.ReadFile(v.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data[1<<20:2<<20], bytes.Repeat([]byte{0xab}, 1<<20)) || data[0] != 0 || data[2<<20] != 0 {
		t.Fatal("the volume file does not hold what the initiator wrote where it wrote it")
	}
	if _, err := e.svc.Hide(tg.Name, []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}, []string{initiatorA}); err != nil {
		t.Fatal(err)
	}
	if got := e.discover(initiatorA); len(got) != 0 {
		t.Fatalf("after Hide initiator A discovers %v", got)
	}
}

// TestReadOnlyLUN: a LUN exposed read-only refuses writes (qemu opens it
// only read-only) and reads the volume's data.
func TestReadOnlyLUN(t *testing.T) {
	requireTools(t, "qemu-io")
	e := newEnv(t)
	v := e.volume("snap", 4<<20)
	if err := os.WriteFile(v.Path(), bytes.Repeat([]byte{0x5a}, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	tg, err := e.svc.Expose("", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "snap"}}, []string{initiatorA}, true)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := e.qemuIO(initiatorA, tg.IQN, 1, false, "write -P 0x11 0 64k"); err == nil {
		t.Fatalf("a write to a read-only LUN succeeded:\n%s", out)
	}
	if out, err := e.qemuIO(initiatorA, tg.IQN, 1, true, "read -P 0x5a 0 4M"); err != nil {
		t.Fatalf("read of the read-only LUN: %v\n%s", err, out)
	}
}

// tgtdPid reads the pid file the service writes.
func (e *env) tgtdPid() int {
	e.t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.dir, "iscsi", "tgtd.pid"))
	if err != nil {
		e.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		e.t.Fatal(err)
	}
	return pid
}

// waitFor polls cond until it holds or 30 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTgtdKilled: kill -9 of tgtd: the supervisor starts a new one and the
// targets, LUNs and ACLs are back (B still sees nothing); the data written
// and flushed before is there.
func TestTgtdKilled(t *testing.T) {
	requireTools(t, "iscsi-ls", "iscsi-readcapacity16", "qemu-io")
	e := newEnv(t)
	e.volume("disk1", 8<<20)
	tg, err := e.svc.Expose("t1", nil, nil, false)
	if !errors.Is(err, iscsi.ErrNotFound) {
		t.Fatalf("Expose into missing t1: %v", err)
	}
	if _, err := e.svc.CreateTarget("t1", []string{initiatorA}); err != nil {
		t.Fatal(err)
	}
	if tg, err = e.svc.Expose("t1", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1", LUN: 3}}, nil, false); err != nil {
		t.Fatal(err)
	}
	if out, err := e.qemuIO(initiatorA, tg.IQN, 3, false, "write -P 0x77 0 1M", "flush"); err != nil {
		t.Fatalf("write: %v\n%s", err, out)
	}
	old := e.tgtdPid()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new tgtd serving t1", func() bool {
		pid, _ := os.ReadFile(filepath.Join(e.dir, "iscsi", "tgtd.pid"))
		if strings.TrimSpace(string(pid)) == strconv.Itoa(old) {
			return false
		}
		_, err := e.readCapacity(initiatorA, tg.IQN, 3)
		return err == nil
	})
	if got := e.discover(initiatorB); len(got) != 0 {
		t.Fatalf("after the restart initiator B discovers %v", got)
	}
	if out, err := e.qemuIO(initiatorA, tg.IQN, 3, true, "read -P 0x77 0 1M"); err != nil {
		t.Fatalf("data written and flushed before the kill: %v\n%s", err, out)
	}
}

// TestServiceRestart: a new Service on the same store (replicad
// restarted: its tgtd died with it) re-creates the targets, LUNs and ACLs
// in its new tgtd.
func TestServiceRestart(t *testing.T) {
	requireTools(t, "iscsi-readcapacity16", "iscsi-ls")
	e := newEnv(t)
	e.volume("disk1", 8<<20)
	tg, err := e.svc.Expose("", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}, []string{initiatorA}, false)
	if err != nil {
		t.Fatal(err)
	}
	old := e.tgtdPid()
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/status", old)); err == nil {
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", old)); !bytes.Contains(st, []byte(") Z ")) {
			t.Fatalf("tgtd %d still runs after Close", old)
		}
	}
	if _, err := e.svc.Expose(tg.Name, nil, []string{initiatorB}, false); !errors.Is(err, iscsi.ErrUnavailable) {
		t.Fatalf("Expose after Close = %v, want ErrUnavailable", err)
	}
	e.open()
	if size, err := e.readCapacity(initiatorA, tg.IQN, 1); err != nil || size != 8<<20 {
		t.Fatalf("after restart A reads capacity %d, %v", size, err)
	}
	if got := e.discover(initiatorB); len(got) != 0 {
		t.Fatalf("after restart B discovers %v", got)
	}
}

// TestQuiesce: while quiesced the target is offline and a write an
// initiator issues does not reach the file; after resume it does, and a
// volume file replaced meanwhile (a copy installed by rename) is what the
// LUN serves.
func TestQuiesce(t *testing.T) {
	requireTools(t, "qemu-io")
	e := newEnv(t)
	v := e.volume("disk1", 4<<20)
	tg, err := e.svc.Expose("", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}, []string{initiatorA}, false)
	if err != nil {
		t.Fatal(err)
	}
	// The initiator logs in, waits, then writes: the write is issued while
	// the target is offline.
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := e.qemuIO(initiatorA, tg.IQN, 1, false, "sleep 1500", "write -P 0x42 0 64k", "flush")
		done <- result{out, err}
	}()
	waitFor(t, "the initiator's session", func() bool {
		return strings.Contains(e.tgtadm("--op", "show", "--mode", "target"), "Initiator: "+initiatorA)
	})
	resume, err := e.svc.Quiesce(context.Background(), []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}})
	if err != nil {
		t.Fatal(err)
	}
	if show := e.tgtadm("--op", "show", "--mode", "target"); !strings.Contains(show, "State: offline") {
		t.Fatalf("quiesced target not offline:\n%s", show)
	}
	// Replace the volume's file as a copy job does (rename over it).
	tmp := filepath.Join(filepath.Dir(v.Path()), ".disk1.img.partial")
	if err := os.WriteFile(tmp, bytes.Repeat([]byte{0x33}, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, v.Path()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // the initiator's write is issued now, and held
	if b := readAt(t, v.Path(), 0, 1); b[0] != 0x33 {
		t.Fatalf("a write reached the volume while quiesced (byte 0 = %#x)", b[0])
	}
	resume()
	r := <-done
	if r.err != nil {
		t.Fatalf("the held write failed after resume: %v\n%s", r.err, r.out)
	}
	if b := readAt(t, v.Path(), 0, 64<<10); !bytes.Equal(b, bytes.Repeat([]byte{0x42}, 64<<10)) {
		t.Fatal("after resume the write did not land in the volume's current file")
	}
	if out, err := e.qemuIO(initiatorA, tg.IQN, 1, true, "read -P 0x42 0 64k", "read -P 0x33 64k 64k"); err != nil {
		t.Fatalf("the LUN does not serve the replaced file: %v\n%s", err, out)
	}
}

func readAt(t *testing.T, path string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCHAP: a target with a CHAP credential refuses an initiator in its
// mask that does not present it, and takes one that does; clearing it
// lets the initiator in without.
func TestCHAP(t *testing.T) {
	requireTools(t, "iscsi-readcapacity16")
	e := newEnv(t)
	e.volume("disk1", 4<<20)
	tg, err := e.svc.Expose("", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}, []string{initiatorA}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetCHAP(tg.Name, &iscsi.CHAP{User: "alice", Secret: "short"}); !errors.Is(err, iscsi.ErrInvalid) {
		t.Fatalf("SetCHAP with a 5-byte secret = %v; want ErrInvalid", err)
	}
	if _, err := e.svc.SetCHAP(tg.Name, &iscsi.CHAP{User: "alice", Secret: "secret123456"}); err != nil {
		t.Fatal(err)
	}
	withCHAP := func(user, secret string) error {
		url := fmt.Sprintf("iscsi://%s%%%s@%s/%s/1", user, secret, e.addr, tg.IQN)
		out, err := exec.Command("iscsi-readcapacity16", "-i", initiatorA, url).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	if _, err := e.readCapacity(initiatorA, tg.IQN, 1); err == nil {
		t.Fatal("an initiator without the CHAP secret logged in")
	}
	if err := withCHAP("alice", "wrongsecret1"); err == nil {
		t.Fatal("an initiator with a wrong CHAP secret logged in")
	}
	if err := withCHAP("alice", "secret123456"); err != nil {
		t.Fatalf("with the CHAP secret: %v", err)
	}
	if _, err := e.svc.SetCHAP(tg.Name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.readCapacity(initiatorA, tg.IQN, 1); err != nil {
		t.Fatalf("after CHAP is cleared: %v", err)
	}
}

// TestConformance runs a subset of libiscsi's SCSI conformance suite
// (iscsi-test-cu) on a LUN as replicad configures it (file handed over as
// a /proc fd path, volume ID as serial number), destructive tests
// included: every test of the subset must pass.
func TestConformance(t *testing.T) {
	requireTools(t, "iscsi-test-cu")
	e := newEnv(t)
	e.volume("disk1", 64<<20)
	tg, err := e.svc.Expose("", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}, []string{initiatorA, initiatorB}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, test := range []string{"SCSI.TestUnitReady", "SCSI.Inquiry", "SCSI.ReadCapacity10", "SCSI.ReadCapacity16",
		"SCSI.Read10", "SCSI.Write10", "SCSI.Write16", "SCSI.Verify10", "SCSI.WriteSame10", "SCSI.Mandatory"} {
		out, err := exec.Command("iscsi-test-cu", "--dataloss", "--fail", "--silent", "-i", initiatorA, "-I", initiatorB,
			"-t", test, e.lunURL(tg.IQN, 1)).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("Run Summary")) {
			t.Errorf("%s: %v\n%s", test, err, out)
		}
	}
}

// TestGrowExposed: a volume grown while exposed is re-opened by the
// periodic reconcile (tgt reads a LUN's size once), so the initiator sees
// the new size, and the data stays.
func TestGrowExposed(t *testing.T) {
	requireTools(t, "iscsi-readcapacity16", "qemu-io")
	e := newEnvWith(t, &env{t: t, reconcileEvery: 100 * time.Millisecond})
	v := e.volume("disk1", 4<<20)
	tg, err := e.svc.Expose("", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}, []string{initiatorA}, false)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := e.qemuIO(initiatorA, tg.IQN, 1, false, "write -P 0x21 0 64k"); err != nil {
		t.Fatalf("write: %v\n%s", err, out)
	}
	if _, err := e.vols.Grow(context.Background(), v.ID, 8<<20); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the initiator to see 8 MiB", func() bool {
		size, err := e.readCapacity(initiatorA, tg.IQN, 1)
		return err == nil && size == 8<<20
	})
	if out, err := e.qemuIO(initiatorA, tg.IQN, 1, true, "read -P 0x21 0 64k", "read -P 0 6M 64k"); err != nil {
		t.Fatalf("read after the grow: %v\n%s", err, out)
	}
}
