package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// Issue 18: replicad serves volumes through its own tgtd. These helpers
// drive it over WS-Man (D2's ControllerConfigurationService) and check
// what real initiators nobody here wrote see: libiscsi's iscsi-ls and
// iscsi-readcapacity16, and qemu's iSCSI block driver (qemu-io).

const (
	iscsiBaseIQN        = "iqn.2026-12.test.replicad"
	iscsiInitiatorA     = "iqn.2026-12.test.host:a"
	iscsiInitiatorB     = "iqn.2026-12.test.host:b"
	uriControllerConfig = replWMI + "MSISCSITARGET_ControllerConfigurationService"
	uriStorageConfig    = replWMI + "MSISCSITARGET_StorageConfigurationService"
)

// requireISCSI skips (fails under REPLICAD_REQUIRE_CLIENTS=1) without tgt,
// libiscsi-bin or qemu's iSCSI driver.
func requireISCSI(t *testing.T) {
	t.Helper()
	for _, n := range []string{"tgtd", "tgtadm", "iscsi-ls", "iscsi-readcapacity16", "qemu-io"} {
		requireClient(t, n, lookPath(n))
	}
	requireClient(t, "qemu-block-extra (block-iscsi.so)", func() error {
		if m, _ := filepath.Glob("/usr/lib/*/qemu/block-iscsi.so"); len(m) == 0 {
			return errors.New("no qemu block-iscsi.so")
		}
		return nil
	})
}

// iscsiRig is a replicad of the test's own with its tgtd on a free port.
type iscsiRig struct {
	t      *testing.T
	dir    string
	portal string
	d      *daemon
	c      *replCIM
}

// startISCSI starts replicad on dir with the data plane on (a free port,
// the test base IQN) and extra flags.
func startISCSI(t *testing.T, dir string, extra ...string) *iscsiRig {
	t.Helper()
	requireISCSI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	portal := ln.Addr().String()
	ln.Close()
	r := &iscsiRig{t: t, dir: dir, portal: portal}
	r.start(extra...)
	return r
}

func (r *iscsiRig) start(extra ...string) {
	r.t.Helper()
	args := append([]string{"--iscsi=on", "--iscsi-listen", r.portal, "--iscsi-base-iqn", iscsiBaseIQN}, extra...)
	r.d = startDaemon(r.t, r.dir, args...)
	r.c = newReplCIM(r.t, r.d)
}

// sparseImage creates dir's pool image name of size bytes before the
// daemon starts (it imports it).
func sparseImage(t *testing.T, dir, name string, size int64) {
	t.Helper()
	if err := os.MkdirAll(replPoolDir(dir), 0o750); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(replPoolDir(dir), name+".img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// volume returns the StorageVolume instance and EPR named name.
func (r *iscsiRig) volume(name string) (*etree.Element, replEPR) {
	r.t.Helper()
	insts, eprs := r.c.enumerate(replURIVolume)
	for i, inst := range insts {
		if replProp(inst, "ElementName") == name {
			return inst, eprs[i]
		}
	}
	r.t.Fatalf("no volume %s", name)
	return nil, replEPR{}
}

func (r *iscsiRig) controllerConfig() replEPR {
	r.t.Helper()
	_, eprs := r.c.enumerate(uriControllerConfig)
	if len(eprs) != 1 {
		r.t.Fatalf("%d controller configuration services, want 1", len(eprs))
	}
	return eprs[0]
}

// selector returns the value of selector name of an EPR.
func selector(r replEPR, name string) string {
	for _, s := range r.selectors.ChildElements() {
		if s.SelectAttrValue("Name", "") == name {
			return strings.TrimSpace(s.Text())
		}
	}
	return ""
}

// expose calls ExposePaths for the volumes named (read-write, or
// read-only) to initiators, into a new target, and returns the target's
// name and IQN.
func (r *iscsiRig) expose(vols []string, initiators []string, readOnly bool) (name, iqn string) {
	r.t.Helper()
	var params []string
	access := "2"
	if readOnly {
		access = "3"
	}
	for _, v := range vols {
		inst, _ := r.volume(v)
		params = append(params, replScalar("LUNames", replProp(inst, "DeviceID")))
	}
	for _, i := range initiators {
		params = append(params, replScalar("InitiatorPortIDs", i))
	}
	for range vols {
		params = append(params, replScalar("DeviceAccesses", access))
	}
	out, rv := r.c.invoke(r.controllerConfig(), "ExposePaths", params...)
	if rv != 0 {
		r.t.Fatalf("ExposePaths: ReturnValue %d\n%s", rv, replElementText(out))
	}
	spc := r.c.out(out, "ProtocolControllers")
	name = selector(spc, "DeviceID")
	return name, iscsiBaseIQN + ":" + name
}

// hide calls HidePaths for a volume and an initiator of target name.
func (r *iscsiRig) hide(name, vol, initiator string) {
	r.t.Helper()
	inst, _ := r.volume(vol)
	spc := r.spc(name)
	out, rv := r.c.invoke(r.controllerConfig(), "HidePaths", replScalar("LUNames", replProp(inst, "DeviceID")),
		replScalar("InitiatorPortIDs", initiator), spc.param("ProtocolControllers"))
	if rv != 0 {
		r.t.Fatalf("HidePaths: ReturnValue %d\n%s", rv, replElementText(out))
	}
}

// spc is the EPR of target name's SCSIProtocolController.
func (r *iscsiRig) spc(name string) replEPR {
	r.t.Helper()
	insts, eprs := r.c.enumerate(replWMI + "MSISCSITARGET_SCSIProtocolController")
	for i, inst := range insts {
		if replProp(inst, "DeviceID") == name {
			return eprs[i]
		}
	}
	r.t.Fatalf("no SCSIProtocolController %s", name)
	return replEPR{}
}

// tgtdPid is the pid of the daemon's tgtd, from DATA/iscsi/tgtd.pid.
func (r *iscsiRig) tgtdPid() int {
	r.t.Helper()
	raw, err := os.ReadFile(filepath.Join(r.dir, "iscsi", "tgtd.pid"))
	if err != nil {
		r.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		r.t.Fatal(err)
	}
	return pid
}

// discover runs iscsi-ls as initiator and returns the target IQNs it sees.
func (r *iscsiRig) discover(initiator string) []string {
	r.t.Helper()
	out, err := exec.Command("iscsi-ls", "-i", initiator, "iscsi://"+r.portal).CombinedOutput()
	if err != nil {
		r.t.Fatalf("iscsi-ls: %v: %s", err, out)
	}
	var iqns []string
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "Target:"); ok {
			iqns = append(iqns, strings.Fields(v)[0])
		}
	}
	return iqns
}

// readCapacity runs iscsi-readcapacity16 as initiator on LUN lun of iqn.
func (r *iscsiRig) readCapacity(initiator, iqn string, lun int) (int64, error) {
	out, err := exec.Command("iscsi-readcapacity16", "-i", initiator, fmt.Sprintf("iscsi://%s/%s/%d", r.portal, iqn, lun)).CombinedOutput()
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

// qemuIO runs qemu-io commands on LUN lun of iqn as initiator; a pattern
// that does not verify is an error.
func (r *iscsiRig) qemuIO(initiator, iqn string, lun int, cmds ...string) (string, error) {
	var args []string
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	args = append(args, "--image-opts", fmt.Sprintf("driver=iscsi,transport=tcp,portal=%s,target=%s,lun=%d,initiator-name=%s", r.portal, iqn, lun, initiator))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "qemu-io", args...).CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("qemu-io did not finish within a minute: %w", ctx.Err())
	}
	if err == nil && bytes.Contains(out, []byte("Pattern verification failed")) {
		err = errors.New("pattern verification failed")
	}
	return string(out), err
}

// waitUntil polls cond until it holds or a minute passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
