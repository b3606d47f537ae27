package integration

import (
	"strings"
	"testing"
)

// TestMaskingAnsibleAndReplicactl: the target module and the replicactl
// target commands drive the same classes, checked with real initiators:
// the module maps volume t1 for A (a second run changes nothing);
// replicactl lists it, exposes t2 read-only to B in the same target and
// hides B again; the module deletes the target.
func TestMaskingAnsibleAndReplicactl(t *testing.T) {
	t.Parallel()
	requireClient(t, "ansible-playbook", lookPath("ansible-playbook"))
	requirePywinrm(t)
	r := startISCSI(t, t.TempDir())
	c := ctl{t: t, bin: buildReplicactl(t), d: r.d}
	iqn := iscsiBaseIQN + ":ansible"

	if changed, _ := playbook(t, r.d, "target.yml", "-e", "initiator="+iscsiInitiatorA); changed != 2 {
		t.Errorf("first run: changed=%d, want 2 (volume, target)", changed)
	}
	if changed, _ := playbook(t, r.d, "target.yml", "-e", "initiator="+iscsiInitiatorA); changed != 0 {
		t.Errorf("second run: changed=%d, want 0", changed)
	}
	if got := r.discover(iscsiInitiatorA); len(got) != 1 || got[0] != iqn {
		t.Fatalf("initiator A discovers %v, want [%s]", got, iqn)
	}
	if size, err := r.readCapacity(iscsiInitiatorA, iqn, 1); err != nil || size != 8<<20 {
		t.Fatalf("A reads LUN 1's capacity %d, %v; want %d", size, err, 8<<20)
	}
	if out := c.must("target", "list"); !strings.Contains(out, iqn) || !strings.Contains(out, "1:t1") || !strings.Contains(out, iscsiInitiatorA) {
		t.Errorf("target list:\n%s\nwant the target with 1:t1 and A", out)
	}

	c.must("volume", "create", "t2", "--size", "4M")
	out := c.must("expose", "t2", "--target", "ansible", "--initiator", iscsiInitiatorB, "--read-only", "--lun", "5")
	if !strings.Contains(out, "5:t2(ro)") || !strings.Contains(out, iscsiInitiatorB) {
		t.Errorf("expose printed:\n%s\nwant 5:t2(ro) and B", out)
	}
	if size, err := r.readCapacity(iscsiInitiatorB, iqn, 5); err != nil || size != 4<<20 {
		t.Fatalf("B reads LUN 5's capacity %d, %v; want %d", size, err, 4<<20)
	}
	if code, _, errs := c.run("expose", "t2", "--target", "ansible", "--initiator", "B"); code != 1 || !strings.Contains(errs, "4098") {
		t.Errorf("expose to a malformed initiator: status %d, %q; want 1 with 4098", code, errs)
	}
	c.must("hide", "--target", "ansible", "--initiator", iscsiInitiatorB)
	if got := r.discover(iscsiInitiatorB); len(got) != 0 {
		t.Errorf("after hide B discovers %v", got)
	}

	if changed, _ := playbook(t, r.d, "target_absent.yml"); changed != 1 {
		t.Errorf("absent: changed=%d, want 1", changed)
	}
	// (No discovery here: with no target left, tgtd drops libiscsi's
	// discovery session and iscsi-ls fails; a login says it as well.)
	if _, err := r.readCapacity(iscsiInitiatorA, iqn, 1); err == nil {
		t.Error("after state=absent A still reads LUN 1 of the target")
	}
	if out := c.must("target", "list"); strings.Contains(out, iqn) {
		t.Errorf("target list after state=absent:\n%s", out)
	}
	if out := c.must("volume", "list"); !strings.Contains(out, "t1") {
		t.Errorf("the volume went with its target:\n%s", out)
	}
}
