package integration

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readmeBlocks returns the fenced ```sh blocks of ../README.md that the line
// "<!-- test -->" marks, in order: the commands a new user runs against
// `make run` (replicad-data in the working folder, bin/ from make build).
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []string
	var cur []string
	marked, in := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case in && strings.HasPrefix(line, "```"):
			blocks = append(blocks, strings.Join(cur, "\n"))
			cur, in = nil, false
		case in:
			cur = append(cur, line)
		case marked && line == "```sh":
			in, marked = true, false
		default:
			marked = strings.TrimSpace(line) == "<!-- test -->"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// TestReadmeRuns runs the README's marked blocks, as one shell session
// (set -eu, pipefail), in a folder laid out as after `make build` and
// `make run`: bin/replicad and bin/replicactl, replicad-data of a fresh
// daemon, the repository's ansible/ folder. The daemon listens on a port of
// its own, given to the clients as REPLICAD_URL (which replicactl, the
// pywinrm example and the Ansible modules read). Any failing command fails
// the test with the session's output.
func TestReadmeRuns(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	blocks := readmeBlocks(t)
	if len(blocks) < 4 {
		t.Fatalf("%d marked blocks in README.md, want the first session, pywinrm, Ansible and backup", len(blocks))
	}
	requireClient(t, "ansible-playbook", lookPath("ansible-playbook"))
	requirePywinrm(t)
	work := t.TempDir()
	d := startDaemon(t, filepath.Join(work, "replicad-data"))
	bin := filepath.Join(work, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(binary, filepath.Join(bin, "replicad")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(buildReplicactl(t), filepath.Join(bin, "replicactl")); err != nil {
		t.Fatal(err)
	}
	ansible, err := filepath.Abs("../ansible")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ansible, filepath.Join(work, "ansible")); err != nil {
		t.Fatal(err)
	}
	script := "set -euo pipefail\nset -x\n" + strings.Join(blocks, "\n")
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = work
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "REPLICAD_URL="+d.url(), "HOME="+home, "ANSIBLE_HOME="+home,
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(home, "tmp"), "ANSIBLE_NOCOLOR=1",
		"ANSIBLE_LOCALHOST_WARNING=false", "ANSIBLE_INVENTORY_UNPARSED_WARNING=false",
		// Debian's python3 (with python3-winrm) before any other on PATH.
		"PATH=/usr/bin:"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README's commands failed: %v\n%s", err, out)
	}
	for _, want := range []string{"db1mirror", "web1snap", "db1", "backed up"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("README session output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(work, "state.db.backup")); err != nil {
		t.Errorf("the README's backup wrote no file: %v", err)
	}
}
