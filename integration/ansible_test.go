package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"testing"
)

// recap reads "changed=N failed=M" from ansible-playbook's PLAY RECAP.
var recap = regexp.MustCompile(`localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// playbook runs one playbook of testdata/ansible against d with the
// replicad.storage collection of ../ansible, and returns changed and failed.
func playbook(t *testing.T, d *daemon, name string, extra ...string) (changed, failed int) {
	t.Helper()
	collections, err := filepath.Abs("../ansible")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	args := append([]string{"-i", "localhost,", filepath.Join("testdata", "ansible", name)}, extra...)
	cmd := exec.Command("ansible-playbook", args...)
	cmd.Env = append(os.Environ(),
		"ANSIBLE_COLLECTIONS_PATH="+collections,
		"ANSIBLE_HOME="+home, "ANSIBLE_LOCAL_TEMP="+filepath.Join(home, "tmp"), "ANSIBLE_REMOTE_TEMP="+filepath.Join(home, "tmp"),
		"ANSIBLE_NOCOLOR=1", "ANSIBLE_LOCALHOST_WARNING=false", "ANSIBLE_INVENTORY_UNPARSED_WARNING=false",
		"ANSIBLE_RETRY_FILES_ENABLED=false",
		// Each task's module is piped into python, not copied to a temporary
		// file first with a shell for each step: the same modules run.
		"ANSIBLE_PIPELINING=true",
		"REPLICAD_URL="+d.url(), "REPLICAD_USER="+d.user, "REPLICAD_PASSWORD="+d.password)
	out, _ := cmd.CombinedOutput()
	m := recap.FindSubmatch(out)
	if m == nil {
		t.Fatalf("ansible-playbook %s: no PLAY RECAP\n%s", name, out)
	}
	changed, _ = strconv.Atoi(string(m[2]))
	failed, _ = strconv.Atoi(string(m[4]))
	if failed != 0 {
		t.Fatalf("ansible-playbook %s: failed=%d\n%s", name, failed, out)
	}
	return changed, failed
}

// images lists the image files of d's default pool.
func images(t *testing.T, d *daemon) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(d.dataDir, "pools", "default"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".img" {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// TestAnsibleCollection runs real playbooks with the replicad.storage
// collection: check mode changes nothing, the first run creates volumes, a
// group and two replicas on disk, the second run changes nothing, and the
// removal playbook (checked first) takes everything away again.
func TestAnsibleCollection(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	requireClient(t, "ansible-playbook", lookPath("ansible-playbook"))
	requirePywinrm(t)
	d := startDaemon(t, "")
	all := []string{"app1.img", "app2.img", "appclone_1.img", "appclone_2.img", "appsnap_1.img", "appsnap_2.img"}

	steps := []struct {
		name        string
		playbook    string
		check       bool
		wantChanged int // -1: any number above 0
		wantImages  []string
	}{
		{"check mode creates nothing", "replicas.yml", true, -1, nil},
		{"create", "replicas.yml", false, 4, all},
		{"second run is idempotent", "replicas.yml", false, 0, all},
		{"check mode removes nothing", "remove.yml", true, -1, all},
		{"remove", "remove.yml", false, 3, nil},
		{"second removal is idempotent", "remove.yml", false, 0, nil},
	}
	for _, s := range steps {
		var extra []string
		if s.check {
			extra = append(extra, "--check")
		}
		changed, _ := playbook(t, d, s.playbook, extra...)
		if s.wantChanged >= 0 && changed != s.wantChanged || s.wantChanged < 0 && changed == 0 {
			t.Errorf("%s: changed=%d, want %d (-1: more than 0)", s.name, changed, s.wantChanged)
		}
		if got := images(t, d); !equalStrings(got, s.wantImages) {
			t.Fatalf("%s: images %v, want %v", s.name, got, s.wantImages)
		}
	}
}

// TestAnsibleRefusalsSayWhy runs testdata/ansible/refusals.yml: a name with
// "..", a size beyond the pool, a group in a relationship and a
// RelationshipName whose target exists each fail their task with a msg
// holding the return value and the server's reason (asserted in the
// playbook, which then fails), and a mirror is created (Mode 3).
func TestAnsibleRefusalsSayWhy(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	requireClient(t, "ansible-playbook", lookPath("ansible-playbook"))
	requirePywinrm(t)
	d := startDaemon(t, "")
	playbook(t, d, "refusals.yml")
	got := images(t, d)
	for _, want := range []string{"busyclone_1.img", "dup_1.img", "src.img", "srcmirror.img"} {
		if !slices.Contains(got, want) {
			t.Errorf("images %v lack %s", got, want)
		}
	}
	for _, bad := range []string{"huge.img", "escape.img"} {
		if slices.Contains(got, bad) {
			t.Errorf("a refused call left %s", bad)
		}
	}
}

// TestAnsibleMirrorLifecycle runs testdata/ansible/mirror.yml: a mirror
// created through replicad.storage.replica without a mode (the module asks
// the capabilities), fractured, resynced and detached, each step changed
// once and idempotent after; a missing replica, a wrong password and an
// unreachable server each fail with a msg saying why, never a module
// traceback (all asserted in the playbook). The detached target is then
// deleted as a volume of its own.
func TestAnsibleMirrorLifecycle(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	requireClient(t, "ansible-playbook", lookPath("ansible-playbook"))
	requirePywinrm(t)
	d := startDaemon(t, "")
	playbook(t, d, "mirror.yml")
	if got := images(t, d); !equalStrings(got, []string{"msrc.img"}) {
		t.Errorf("images %v, want only msrc.img (the detached target deleted by the playbook)", got)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
