package integration

import (
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// alertMsg is the ERROR-level log message of a replica found different from
// its source (replica/verify.go).
const alertMsg = "ALERT: replica does not match its source; synchronization is now Broken (repair with Resync Replica)"

// fillImage writes n pseudo-random nonzero bytes at off into the image file
// at path (as an initiator would, behind replicad's back).
func fillImage(t *testing.T, path string, off, n int64, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rng.Uint32()) | 1
	}
	writeImage(t, path, off, p)
}

func writeImage(t *testing.T, path string, off int64, p []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(p, off); err != nil {
		t.Fatal(err)
	}
}

// corrupt overwrites n bytes of the image at path at off with their
// complement (every byte differs) and returns the first differing offset
// as cmp would find it.
func corrupt(t *testing.T, src, dst string, off, n int64) int64 {
	t.Helper()
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	p := append([]byte(nil), b[off:off+n]...)
	for i := range p {
		p[i] ^= 0xff
	}
	writeImage(t, dst, off, p)
	x, _ := os.ReadFile(src)
	y, _ := os.ReadFile(dst)
	for i := range x {
		if x[i] != y[i] {
			return int64(i)
		}
	}
	t.Fatal("corrupt: the files are still equal")
	return 0
}

// metricsAddr is the address of d's --metrics-listen listener.
func metricsAddr(t *testing.T, d *daemon) string {
	t.Helper()
	for _, e := range d.waitLogs("listening", 2) {
		if e["scheme"] == "metrics" {
			if a, ok := e["addr"].(string); ok {
				return a
			}
		}
	}
	t.Fatalf("no metrics listener in the log\n%s", d.logText())
	return ""
}

// metricValue returns the value of the sample named name (with its labels,
// if any) in the /metrics text m; the test fails when there is none.
func metricValue(t *testing.T, m, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(m, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("/metrics sample %q: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no sample %s:\n%s", name, m)
	return 0
}

func scrapeMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestVerifyReplicaCommand: clone, write 256 KiB into the target behind
// replicad's back, and `replicactl replica verify` reports the exact first
// differing offset (the one cmp finds), exits 1, the pair becomes Broken,
// the daemon logs the alert and counts it; Resync Replica repairs it and
// verify exits 0 again.
func TestVerifyReplicaCommand(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "", "--metrics-listen", "127.0.0.1:0")
	c := ctl{t: t, bin: buildReplicactl(t), d: d}
	pool := filepath.Join(d.dataDir, "pools", "default")
	c.must("volume", "create", "src", "--size", "8M")
	src, dst := filepath.Join(pool, "src.img"), filepath.Join(pool, "c.img")
	fillImage(t, src, 0, 4<<20, 1)
	c.must("replica", "create", "--source", "src", "--type", "clone", "--name", "c", "--wait")
	// The copy job fed the copy metrics: its 4 MiB of data, one finished run.
	m := scrapeMetrics(t, metricsAddr(t, d))
	if got := metricValue(t, m, "replicad_copy_bytes_total"); got < 4<<20 {
		t.Errorf("replicad_copy_bytes_total %.0f after a clone of 4 MiB of data, want at least %d", got, 4<<20)
	}
	if got := metricValue(t, m, "replicad_copy_throughput_bytes_per_second_count"); got != 1 {
		t.Errorf("replicad_copy_throughput_bytes_per_second_count %.0f after one copy, want 1", got)
	}
	if out := c.must("replica", "verify", "c"); !strings.HasPrefix(out, "identical (8388608 bytes compared)") {
		t.Fatalf("verify of a fresh clone: %q", out)
	}

	first := corrupt(t, src, dst, 1<<20+123, 256<<10)
	code, out, errs := c.run("replica", "verify", "c")
	if code != 1 {
		t.Fatalf("verify of a corrupted clone: status %d, want 1\n%s%s", code, out, errs)
	}
	want := "first differing offsets: " + strconv.FormatInt(first, 10) + " " + strconv.FormatInt(first+1, 10) + " "
	if !strings.Contains(out, want) || !strings.Contains(out, "differs: 262144 differing bytes") || !strings.Contains(out, "CopyState Broken") {
		t.Fatalf("verify output lacks %q, 262144 differing bytes, or Broken:\n%s", want, out)
	}
	if list := c.must("replica", "list"); !strings.Contains(list, "Broken") {
		t.Fatalf("replica list after the mismatch:\n%s", list)
	}
	alerts := d.waitLogs(alertMsg, 1)
	if len(alerts) != 1 || alerts[0]["level"] != "error" || alerts[0]["target"] != "c" {
		t.Fatalf("alert log entries: %v\n%s", alerts, d.logText())
	}
	if offs, _ := alerts[0]["offsets"].([]any); len(offs) == 0 || offs[0] != float64(first) {
		t.Fatalf("alert offsets %v, want first %d", alerts[0]["offsets"], first)
	}
	m = scrapeMetrics(t, metricsAddr(t, d))
	for _, line := range []string{"replicad_replica_verify_mismatches_total 1\n", "replicad_replica_broken 1\n"} {
		if !strings.Contains(m, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}

	c.must("replica", "modify", "c", "resync", "--wait")
	if out := c.must("replica", "verify", "c"); !strings.HasPrefix(out, "identical") {
		t.Fatalf("verify after Resync Replica: %q", out)
	}
	if code, _, errs := c.run("replica", "verify", "nope"); code != 2 {
		t.Fatalf("verify of an unknown replica: status %d, want 2\n%s", code, errs)
	}
	if !t.Failed() {
		t.Logf("RELIABILITY integrity_verify first_offset=%d differing_bytes=262144 state=Broken repaired_by_resync=true", first)
	}
}

// TestScrubFindsMismatch: a daemon with a high --scrub-rate finds a target
// written behind its back on its own, logs the alert and makes the pair
// Broken, while an untouched pair stays Synchronized.
func TestScrubFindsMismatch(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "", "--scrub-rate", strconv.Itoa(1<<30))
	c := ctl{t: t, bin: buildReplicactl(t), d: d}
	pool := filepath.Join(d.dataDir, "pools", "default")
	for _, name := range []string{"a", "b"} {
		c.must("volume", "create", name, "--size", "4M")
		fillImage(t, filepath.Join(pool, name+".img"), 0, 2<<20, 2)
		c.must("replica", "create", "--source", name, "--type", "clone", "--name", name+"-copy", "--wait")
	}
	first := corrupt(t, filepath.Join(pool, "b.img"), filepath.Join(pool, "b-copy.img"), 3<<20+1, 4096)
	// The scrub pauses 10 s between passes: the deadline only guards a hang.
	deadline := time.Now().Add(60 * time.Second)
	for len(d.logsWith(alertMsg)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the scrub did not find the corrupted target\n%s", d.logText())
		}
		time.Sleep(100 * time.Millisecond)
	}
	alert := d.logsWith(alertMsg)[0]
	if offs, _ := alert["offsets"].([]any); alert["target"] != "b-copy" || len(offs) == 0 || offs[0] != float64(first) {
		t.Fatalf("scrub alert %v, want target b-copy first offset %d", alert, first)
	}
	list := c.must("replica", "list", "--output", "json")
	if !strings.Contains(list, `"state": "Broken"`) || !strings.Contains(list, `"state": "Synchronized"`) {
		t.Fatalf("replica list after the scrub: want b-copy Broken and a-copy Synchronized:\n%s", list)
	}
	t.Logf("RELIABILITY integrity_scrub first_offset=%d untouched_pair=Synchronized corrupted_pair=Broken", first)
}
