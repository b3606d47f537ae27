package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the replicad binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "replicad-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "replicad")
	build := exec.Command("go", "build", "-race", "-o", binary, "github.com/replicad/replicad/cmd/replicad")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build replicad:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is one running replicad process.
type daemon struct {
	t        *testing.T
	dataDir  string
	cmd      *exec.Cmd
	addr     string // host:port of the HTTP listener
	user     string
	password string

	mu   sync.Mutex
	logs []map[string]any
	raw  bytes.Buffer
	done chan error
}

// startDaemon starts replicad on 127.0.0.1:0 with dataDir ("" → a new temp
// folder) and waits until it logs its listening address.
func startDaemon(t *testing.T, dataDir string, extraArgs ...string) *daemon {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	d := &daemon{t: t, dataDir: dataDir, user: "admin", done: make(chan error, 1)}
	args := append([]string{"--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "json"}, extraArgs...)
	d.cmd = exec.Command(binary, args...)
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			var entry map[string]any
			d.mu.Lock()
			d.raw.Write(line)
			d.raw.WriteByte('\n')
			if json.Unmarshal(line, &entry) == nil {
				d.logs = append(d.logs, entry)
				if entry["msg"] == "listening" && entry["scheme"] == "http" {
					select {
					case listening <- entry["addr"].(string):
					default:
					}
				}
			}
			d.mu.Unlock()
		}
		d.done <- d.cmd.Wait()
	}()
	select {
	case d.addr = <-listening:
	case err := <-d.done:
		t.Fatalf("replicad exited before listening: %v\n%s", err, d.logText())
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		t.Fatalf("replicad did not log its address within 30 s\n%s", d.logText())
	}
	pw, err := os.ReadFile(filepath.Join(dataDir, "admin-password"))
	if err != nil {
		t.Fatalf("admin password file: %v", err)
	}
	d.password = strings.TrimSpace(string(pw))
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.stop()
		}
	})
	return d
}

// stop sends SIGTERM and requires a clean exit (status 0) within 30 s.
func (d *daemon) stop() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatalf("signal: %v", err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("replicad exit after SIGTERM: %v, want status 0\n%s", err, d.logText())
		}
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		d.t.Fatalf("replicad did not stop within 30 s of SIGTERM")
	}
}

func (d *daemon) url() string { return "http://" + d.addr + "/wsman" }

func (d *daemon) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.raw.String()
}

// logsContaining returns the log entries whose msg is msg.
func (d *daemon) logsWith(msg string) []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []map[string]any
	for _, e := range d.logs {
		if e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// waitLogs waits up to 10 s for n log entries with msg (the log arrives
// through a pipe, after the reply) and returns those seen.
func (d *daemon) waitLogs(msg string, n int) []map[string]any {
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := d.logsWith(msg)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// post sends body to /wsman with Basic credentials (none when user is "")
// and returns the status and reply body.
func (d *daemon) post(user, password string, body []byte, contentType string) (int, string) {
	d.t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.url(), bytes.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	if contentType == "" {
		contentType = "application/soap+xml;charset=UTF-8"
	}
	req.Header.Set("Content-Type", contentType)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("POST /wsman: %v", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
