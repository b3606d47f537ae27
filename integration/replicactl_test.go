package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// replicactl is cmd/replicactl built once, by the first test that asks
// (buildReplicactl), into TestMain's folder.
var replicactl struct {
	once sync.Once
	bin  string
	out  []byte
	err  error
}

// buildReplicactl returns cmd/replicactl, built once for the package (a
// test must not change or move it).
func buildReplicactl(t *testing.T) string {
	t.Helper()
	replicactl.once.Do(func() {
		dir := binDir
		if dir == "" { // under -short TestMain builds nothing
			dir, replicactl.err = os.MkdirTemp("", "replicactl-")
			if replicactl.err != nil {
				return
			}
		}
		replicactl.bin = filepath.Join(dir, "replicactl")
		replicactl.out, replicactl.err = exec.Command("go", "build", "-o", replicactl.bin, "github.com/replicad/replicad/cmd/replicactl").CombinedOutput()
	})
	if replicactl.err != nil {
		t.Fatalf("build replicactl: %v\n%s", replicactl.err, replicactl.out)
	}
	return replicactl.bin
}

// ctl runs replicactl against d with the connection in the environment.
type ctl struct {
	t   *testing.T
	bin string
	d   *daemon
}

func (c ctl) run(args ...string) (int, string, string) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), "REPLICAD_URL="+c.d.url(), "REPLICAD_USER="+c.d.user, "REPLICAD_PASSWORD="+c.d.password)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("run replicactl: %v", err)
	}
	return code, out.String(), errb.String()
}

func (c ctl) must(args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(args...)
	if code != 0 {
		c.t.Fatalf("replicactl %s: status %d, want 0\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// TestReplicactl drives the built command against the built daemon: the
// generic commands, the task commands from volumes to a detached group
// clone, and one-line errors that change nothing.
func TestReplicactl(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	d := startDaemon(t, "")
	c := ctl{t: t, bin: buildReplicactl(t), d: d}
	pool := filepath.Join(d.dataDir, "pools", "default")

	t.Run("identify", func(t *testing.T) {
		if out := c.must("identify"); !strings.Contains(out, "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd") {
			t.Errorf("identify = %q, want the WS-Man protocol version", out)
		}
	})
	t.Run("enumerate and get", func(t *testing.T) {
		out := c.must("enumerate", "MSISCSITARGET_ReplicationService", "--output", "json")
		var svcs []struct{ Path string }
		if err := json.Unmarshal([]byte(out), &svcs); err != nil || len(svcs) != 1 || svcs[0].Path == "" {
			t.Fatalf("enumerate = %s (%v), want one service with a path", out, err)
		}
		if out := c.must("get", svcs[0].Path); !strings.Contains(out, "ReplicationService") {
			t.Errorf("get = %q, want the service's properties", out)
		}
	})
	t.Run("tasks", func(t *testing.T) {
		c.must("volume", "create", "db1", "--size", "4M")
		c.must("volume", "create", "db2", "--size", "2M")
		c.must("group", "create", "dbs", "db1", "db2")
		out := c.must("replica", "create", "--source-group", "dbs", "--type", "clone", "--name", "nightly", "--wait")
		if !strings.Contains(out, "Completed") || !strings.Contains(out, "nightly_1") {
			t.Errorf("replica create --wait = %q, want the completed job and its targets", out)
		}
		for _, f := range []string{"nightly_1.img", "nightly_2.img"} {
			st, err := os.Stat(filepath.Join(pool, f))
			if err != nil {
				t.Fatalf("clone image: %v", err)
			}
			if f == "nightly_1.img" && st.Size() != 4<<20 {
				t.Errorf("%s is %d bytes, want %d", f, st.Size(), 4<<20)
			}
		}
		out = c.must("replica", "create", "--source", "db1", "--type", "snapshot", "--count", "2", "--name", "snap", "--wait")
		if !strings.Contains(out, "Completed") {
			t.Errorf("replica create --count = %q, want Completed", out)
		}
		out = c.must("replica", "list")
		for _, want := range []string{"nightly", "snap", "clone", "snapshot"} {
			if !strings.Contains(out, want) {
				t.Errorf("replica list lacks %q:\n%s", want, out)
			}
		}
		c.must("replica", "modify", "nightly", "detach")
		if out := c.must("job", "list"); strings.Count(out, "Completed") < 2 {
			t.Errorf("job list = %q, want two completed jobs", out)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		before, _ := os.ReadDir(pool)
		cases := []struct {
			args   []string
			status int
			want   string
		}{
			{[]string{"replica", "create", "--source", "missing", "--type", "clone"}, 1, `volume "missing" not found`},
			{[]string{"group", "create", "g2", "db1", "missing"}, 1, `volume "missing" not found`},
			{[]string{"replica", "modify", "nothing", "detach"}, 1, `replica "nothing" not found`},
			{[]string{"volume", "list", "--password", "wrong"}, 1, "authentication failed"},
			{[]string{"volume", "list", "--url", "http://127.0.0.1:1/wsman"}, 1, "cannot reach"},
			{[]string{"replica", "create", "--source", "db1", "--type", "xerox"}, 2, "--type must be"},
		}
		for _, tc := range cases {
			code, _, errs := c.run(tc.args...)
			if code != tc.status || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
				t.Errorf("replicactl %s: status %d, stderr %q; want status %d and one line with %q",
					strings.Join(tc.args, " "), code, errs, tc.status, tc.want)
			}
		}
		after, _ := os.ReadDir(pool)
		if len(after) != len(before) {
			t.Errorf("bad input changed the pool: %d files before, %d after", len(before), len(after))
		}
	})
}

// TestReplicactlTLS runs replicactl against an HTTPS listener with a
// self-signed certificate from `replicad cert`: refused without --insecure
// or --ca-file (one line naming both), served with either.
func TestReplicactlTLS(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	certDir := t.TempDir()
	if out, err := exec.Command(binary, "cert", "--host", "127.0.0.1", "--out", certDir).CombinedOutput(); err != nil {
		t.Fatalf("replicad cert: %v\n%s", err, out)
	}
	d := startDaemon(t, "", "--listen-tls", "127.0.0.1:0",
		"--tls-cert", filepath.Join(certDir, "cert.pem"), "--tls-key", filepath.Join(certDir, "key.pem"))
	var addr string
	for _, e := range d.waitLogs("listening", 2) {
		if e["scheme"] == "https" {
			addr, _ = e["addr"].(string)
		}
	}
	if addr == "" {
		t.Fatalf("no https listener in the log\n%s", d.logText())
	}
	c := ctl{t: t, bin: buildReplicactl(t), d: d}
	url := "https://" + addr + "/wsman"
	code, _, errs := c.run("volume", "list", "--url", url)
	if code != 1 || !strings.Contains(errs, "certificate") || !strings.Contains(errs, "--insecure") || !strings.Contains(errs, "--ca-file") {
		t.Errorf("without --insecure: status %d, stderr %q; want 1 and a certificate error naming --ca-file and --insecure", code, errs)
	}
	c.must("volume", "list", "--url", url, "--ca-file", filepath.Join(certDir, "cert.pem"))
	c.must("volume", "create", "tls1", "--size", "1M", "--url", url, "--insecure")
	if out := c.must("volume", "list", "--url", url, "--insecure"); !strings.Contains(out, "tls1") {
		t.Errorf("volume list over HTTPS = %q, want tls1", out)
	}
}

// TestMetricsEndpoint checks /metrics and /healthz on --metrics-listen and
// that requests to /wsman are counted by status.
func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	d := startDaemon(t, "", "--metrics-listen", "127.0.0.1:0")
	var addr string
	for _, e := range d.waitLogs("listening", 2) {
		if e["scheme"] == "metrics" {
			addr, _ = e["addr"].(string)
		}
	}
	if addr == "" {
		t.Fatalf("no metrics listener in the log\n%s", d.logText())
	}
	if code, _ := d.post(d.user, d.password, []byte(identifyBody), ""); code != 200 {
		t.Fatalf("Identify = %d, want 200", code)
	}
	if code, _ := d.post(d.user, "wrong", []byte(enumerateBody), ""); code != 401 {
		t.Fatalf("Enumerate with a wrong password = %d, want 401", code)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/healthz")
	if code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 \"ok\\n\"", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body = get("/metrics")
		if code == 200 && strings.Contains(body, `replicad_http_requests_total{code="200",method="POST"} 1`) &&
			strings.Contains(body, `replicad_http_requests_total{code="401",method="POST"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics = %d, want 200 with one 200 and one 401 POST counted:\n%s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"replicad_http_request_duration_seconds_bucket", "replicad_copy_bytes_total", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

const identifyBody = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ` +
	`xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">` +
	`<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>`

const enumerateBody = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ` +
	`xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">` +
	`<s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action>` +
	`<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/MSISCSITARGET_StorageVolume</w:ResourceURI>` +
	`<a:MessageID>uuid:00000000-0000-0000-0000-000000000007</a:MessageID></s:Header>` +
	`<s:Body><n:Enumerate xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"/></s:Body></s:Envelope>`

// TestDeployFiles checks deploy/: every flag the sample environment file
// passes is one replicad accepts, the unit starts the binary with them, and
// systemd-analyze (when present) finds nothing wrong with the unit.
func TestDeployFiles(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	env, err := os.ReadFile("../deploy/replicad.env")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(env), "\n") {
		if v, ok := strings.CutPrefix(line, "REPLICAD_ARGS="); ok {
			args = strings.Fields(strings.Trim(v, `"`))
		}
	}
	if len(args) == 0 {
		t.Fatal("deploy/replicad.env sets no REPLICAD_ARGS")
	}
	// -h after the flags: replicad stops with status 0 once every flag
	// before it parsed, and 2 at the first it does not know.
	if out, err := exec.Command(binary, append(args, "-h")...).CombinedOutput(); err != nil {
		t.Errorf("replicad %s -h: %v, want status 0\n%s", strings.Join(args, " "), err, out)
	}
	unit, err := os.ReadFile("../deploy/replicad.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecStart=/usr/local/bin/replicad ", "$REPLICAD_ARGS", "EnvironmentFile=-/etc/default/replicad",
		"StateDirectory=replicad", "KillSignal=SIGTERM"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("replicad.service lacks %q", want)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze not installed; unit not verified")
		return
	}
	dir := t.TempDir()
	local := strings.ReplaceAll(string(unit), "/usr/local/bin/replicad", binary)
	if err := os.WriteFile(filepath.Join(dir, "replicad.service"), []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("systemd-analyze", "verify", filepath.Join(dir, "replicad.service")).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestReplicactlWaitReportsATerminatedJob follows a slow copy with
// replica create --wait (progress lines on a pipe), cancels its job from a
// second replicactl, and checks the waiting command exits 1 with the job's
// error on one line and leaves no target behind.
func TestReplicactlWaitReportsATerminatedJob(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	// 16 MiB of data at 2 MiB/s: about 8 s of copying.
	d := startDaemon(t, "", "--copy-bandwidth", strconv.Itoa(2<<20))
	c := ctl{t: t, bin: buildReplicactl(t), d: d}
	c.must("volume", "create", "big", "--size", "32M")
	img := filepath.Join(d.dataDir, "pools", "default", "big.img")
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.Repeat([]byte("replicad"), 2<<20)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	wait := exec.Command(c.bin, "replica", "create", "--source", "big", "--type", "clone", "--name", "slow", "--wait")
	wait.Env = append(os.Environ(), "REPLICAD_URL="+d.url(), "REPLICAD_USER="+d.user, "REPLICAD_PASSWORD="+d.password)
	var stdout, stderr bytes.Buffer
	wait.Stdout, wait.Stderr = &stdout, &stderr
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- wait.Wait() }()

	var id string
	deadline := time.Now().Add(30 * time.Second)
	for id == "" {
		var jobs []struct{ ID, State string }
		if err := json.Unmarshal([]byte(c.must("job", "list", "--output", "json")), &jobs); err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.State == "Running" {
				id = j.ID
			}
		}
		if id == "" && time.Now().After(deadline) {
			t.Fatalf("no running job within 30 s: %v", jobs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.must("job", "cancel", id)
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			t.Fatalf("replica create --wait: %v, want exit status 1\n%s%s", err, stdout.String(), stderr.String())
		}
	case <-time.After(60 * time.Second):
		wait.Process.Kill()
		t.Fatal("replica create --wait did not return within 60 s of the cancel")
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "replicactl: job "+id+" terminated: ") {
		t.Errorf("last stderr line %q, want the job's termination", last)
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "job "+id+": ") || !strings.HasSuffix(lines[0], "%") {
		t.Errorf("stderr %q, want plain progress lines first (not a terminal)", stderr.String())
	}
	if imgs := images(t, d); !equalStrings(imgs, []string{"big.img"}) {
		t.Errorf("images after the cancel: %v, want only big.img", imgs)
	}
	// A cancelled job is not complete: it keeps the share it had done.
	var after []struct {
		ID, State       string
		PercentComplete float64
	}
	if err := json.Unmarshal([]byte(c.must("job", "list", "--output", "json")), &after); err != nil {
		t.Fatal(err)
	}
	for _, j := range after {
		if j.ID == id && (j.State != "Terminated" || j.PercentComplete >= 100) {
			t.Errorf("cancelled job %s: %s at %v%%, want Terminated below 100", id, j.State, j.PercentComplete)
		}
	}
}

// TestReplicactlThinPool runs the daemon's provisioning policies end to
// end: a thin pool without a limit takes a sparse volume larger than its
// filesystem's free space, warns once in the log that it is low on space
// (threshold 100%) and shows it in /metrics; a thin pool with a limit
// answers 4097 naming the over-commit limit, and a thick pool 40000 (Not
// Enough Available Capacity) naming the free space, both through
// replicactl with the daemon's reason.
func TestReplicactlThinPool(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	bin := buildReplicactl(t)
	d := startDaemon(t, "", "--metrics-listen", "127.0.0.1:0", "--pool-policy", "default=thin,overcommit=0,low-space=100%",
		"--pool-policy", "capped=thin,overcommit=100%", "--pool-policy", "fixed=thick")
	c := ctl{t: t, bin: bin, d: d}
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dataDir, &st); err != nil {
		t.Fatal(err)
	}
	free, total := st.Bavail*uint64(st.Bsize), st.Blocks*uint64(st.Bsize)
	big := strconv.FormatUint(free+1<<30, 10)
	c.must("volume", "create", "sparse", "--size", big)
	if fi, err := os.Stat(filepath.Join(d.dataDir, "pools", "default", "sparse.img")); err != nil || fi.Size() <= int64(free) {
		t.Fatalf("sparse.img: %v %v, want a file larger than the free space %d", fi, err, free)
	}
	if w := d.waitLogs("pool low on space", 1); len(w) == 0 || w[0]["level"] != "warn" || w[0]["pool"] != "default" {
		t.Errorf("low-space log %v, want a warning for pool default", w)
	}

	for _, pool := range []string{"capped", "fixed"} {
		if err := os.Mkdir(filepath.Join(d.dataDir, "pools", pool), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	d.stop()
	d = startDaemon(t, d.dataDir, "--metrics-listen", "127.0.0.1:0", "--pool-policy", "default=thin,overcommit=0,low-space=100%",
		"--pool-policy", "capped=thin,overcommit=100%", "--pool-policy", "fixed=thick")
	c = ctl{t: t, bin: bin, d: d}
	for _, tc := range []struct{ pool, size, says string }{
		{"capped", strconv.FormatUint(total+1<<20, 10), "returned 4097 (Size Not Supported): CreateOrModifyElementFromStoragePool: "},
		{"capped", strconv.FormatUint(total+1<<20, 10), "over-commit limit"},
		{"fixed", big, "returned 40000 (Not Enough Available Capacity): "},
		{"fixed", big, "not enough free space"},
	} {
		code, _, errs := c.run("volume", "create", "v", "--size", tc.size, "--pool", tc.pool)
		if code != 1 || !strings.Contains(errs, tc.says) {
			t.Errorf("volume create in %s: status %d, stderr %q, want 1 and %q", tc.pool, code, errs, tc.says)
		}
	}
	var addr string
	for _, e := range d.waitLogs("listening", 2) {
		if e["scheme"] == "metrics" {
			addr, _ = e["addr"].(string)
		}
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`replicad_pool_low_space{pool="default"} 1`, `replicad_pool_low_space{pool="fixed"} 0`} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	_, rest, _ := strings.Cut(string(body), "replicad_pool_provisioned_bytes{pool=\"default\"} ")
	line, _, _ := strings.Cut(rest, "\n")
	if v, err := strconv.ParseFloat(line, 64); err != nil || v <= float64(free) {
		t.Errorf("replicad_pool_provisioned_bytes of default = %q, want more than the free space %d", line, free)
	}
}

// TestDeleteOfReplicatedVolumeSaysWhy: WS-Transfer Delete of a volume in a
// replication relationship (what Remove-CimInstance sends; replicactl
// delete PATH) is refused with the reason in the fault, logged as a
// refusal (INFO), not as an ERROR "Generic failure"; the volume stays.
func TestDeleteOfReplicatedVolumeSaysWhy(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	d := startDaemon(t, "")
	c := ctl{t: t, bin: buildReplicactl(t), d: d}
	c.must("volume", "create", "src", "--size", "1M")
	c.must("replica", "create", "--source", "src", "--type", "clone", "--name", "srcclone", "--wait")
	var vols []struct {
		Path       string
		Properties struct{ ElementName string }
	}
	out := c.must("enumerate", "MSISCSITARGET_StorageVolume", "--output", "json")
	if err := json.Unmarshal([]byte(out), &vols); err != nil {
		t.Fatalf("enumerate: %v\n%s", err, out)
	}
	path := ""
	for _, v := range vols {
		if v.Properties.ElementName == "src" {
			path = v.Path
		}
	}
	if path == "" {
		t.Fatalf("no volume src in %s", out)
	}
	code, _, errs := c.run("delete", path)
	if code != 1 || !strings.Contains(errs, "replication") || strings.Contains(errs, "Generic failure") {
		t.Errorf("delete of a replicated volume: status %d, stderr %q; want 1 and the reason", code, errs)
	}
	for _, e := range d.logsWith("wsman fault") {
		if e["level"] == "error" && strings.HasSuffix(fmt.Sprint(e["action"]), "/transfer/Delete") {
			t.Errorf("the refusal was logged as an error: %v", e)
		}
	}
	if _, err := os.Stat(filepath.Join(d.dataDir, "pools", "default", "src.img")); err != nil {
		t.Errorf("the refused volume is gone: %v", err)
	}
}

// TestBackupAndVersion: replicad backup of a running daemon goes through
// its socket (bbolt's Tx.WriteTo while it serves) and the copy holds the
// volume created before it; both binaries answer --version with version,
// commit and Go version.
func TestBackupAndVersion(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	d := startDaemon(t, "")
	c := ctl{t: t, bin: buildReplicactl(t), d: d}
	c.must("volume", "create", "kept", "--size", "1M")
	out := filepath.Join(t.TempDir(), "state.db.copy")
	b, err := exec.Command(binary, "backup", "--data-dir", d.dataDir, "--out", out).CombinedOutput()
	if err != nil || !strings.Contains(string(b), "through the running daemon") {
		t.Fatalf("replicad backup: %v\n%s", err, b)
	}
	// The copy is a store of its own: a daemon started on it sees the volume.
	dir2 := t.TempDir()
	if err := os.Rename(out, filepath.Join(dir2, "state.db")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir2, "pools", "default"), 0o750); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(d.dataDir, "pools", "default", "kept.img"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir2, "pools", "default", "kept.img"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	d.stop()
	d2 := startDaemon(t, dir2)
	c2 := ctl{t: t, bin: c.bin, d: d2}
	if out := c2.must("volume", "list"); !strings.Contains(out, "kept") {
		t.Errorf("the daemon on the restored copy lists %q, want kept", out)
	}
	if logs := d2.logsWith("imported volume"); len(logs) != 0 {
		t.Errorf("the restored volume was imported anew (its record was not in the copy): %v", logs)
	}

	version := regexp.MustCompile(`^(replicad|replicactl) \S+ \(commit \S+, go\S+\)\n$`)
	for _, bin := range []string{binary, c.bin} {
		out, err := exec.Command(bin, "--version").Output()
		if err != nil || !version.Match(out) {
			t.Errorf("%s --version = %q, %v", filepath.Base(bin), out, err)
		}
	}
}
