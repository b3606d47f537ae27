package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// binary is the replicad binary built once by TestMain ("" under -short,
// where every test that needs it skips: see requireDaemon), in binDir.
var binary, binDir string

// TestMain builds replicad once, with the race detector (but for bcrypt's
// cipher: raceOffGcflags), and with coverage
// counters when GOCOVERDIR is set (scripts/cover.sh), so that every daemon
// the tests start writes what it ran there when it exits. It stops the
// shared daemon (sharedDaemon) after the tests and fails the run if that
// daemon did not exit cleanly (a data race found in it exits 66).
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	// A -race binary sleeps a second before it exits, for goroutines still
	// running to report races; replicad's Close waits for its goroutines
	// before main returns, so the daemons and commands the tests run (each
	// stop, each `replicad user add`) skip that second. Races are still
	// reported as they happen, and the exit status is still 66.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	dir, err := os.MkdirTemp("", "replicad-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	binary = filepath.Join(dir, "replicad")
	args := []string{"build", "-race", "-gcflags=" + raceOffGcflags, "-o", binary}
	if os.Getenv("GOCOVERDIR") != "" {
		args = append(args, "-cover", "-coverpkg=github.com/replicad/replicad/...")
	}
	build := exec.Command("go", append(args, "github.com/replicad/replicad/cmd/replicad")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build replicad:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := stopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "shared daemon:", err)
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// raceOffGcflags compiles golang.org/x/crypto/blowfish without the race
// detector's instrumentation in the -race daemon, as the Makefile does for
// the unit tests. Blowfish is bcrypt's cipher: pure computation on memory
// one goroutine owns, and instrumented it made each bcrypt (every daemon's
// first start hashes the admin password, every `replicad user add`, every
// failed password logon) cost 2 s of CPU instead of 0.1 s. Every package of
// replicad, and the rest of its dependencies, keeps the instrumentation.
const raceOffGcflags = "golang.org/x/crypto/blowfish=-race=false"

// requireDaemon skips t under -short: tests that start replicad (or run
// the binary) are integration tests, which `make test-short` leaves out
// and `make test` runs.
func requireDaemon(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the replicad binary: integration tests are skipped with -short (make test runs them)")
	}
}

// process is one running replicad process and what it logged.
type process struct {
	dataDir  string
	cmd      *exec.Cmd
	addr     string // host:port of the HTTP listener
	user     string
	password string

	mu    sync.Mutex
	lines []logLine
	raw   bytes.Buffer
	// exited is closed once the process has exited, with its status in
	// exitErr.
	exited  chan struct{}
	exitErr error
}

// logLine is one line of a daemon's log: entry is nil when it is not JSON
// (a panic, a race report).
type logLine struct {
	entry map[string]any
	text  string
}

// daemon is one test's handle on a replicad process: a process of its own
// (startDaemon), or the shared one seen from an address of the test's own
// (sharedDaemon).
type daemon struct {
	t *testing.T
	*process
	// source is, for a view of the shared daemon, the loopback address
	// (127.0.x.y) the test's requests come from; the log methods then see
	// only the entries of requests from it. "" for a daemon of the test's
	// own.
	source string
	client *http.Client
}

// launch starts replicad on 127.0.0.1:0 with dataDir and waits until it
// logs its listening address.
func launch(dataDir string, extraArgs ...string) (*process, error) {
	p := &process{dataDir: dataDir, user: "admin", exited: make(chan struct{})}
	// --iscsi=off unless the test asks (a later flag wins): a tgtd per daemon
	// would race for the default portal; iSCSI tests pass --iscsi=on and a
	// portal of their own.
	args := append([]string{"--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "json", "--iscsi=off"}, extraArgs...)
	p.cmd = exec.Command(binary, args...)
	// The daemon dies with the test binary (a timeout's panic, a kill -9 of
	// go test): otherwise it would outlive the run holding its port, its
	// data folder and, with --iscsi=on, its tgtd. Pdeathsig follows the OS
	// thread that forked; test goroutines do not lock threads, so that
	// thread lives as long as the process.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			var entry map[string]any
			if json.Unmarshal(line, &entry) != nil {
				entry = nil
			}
			p.mu.Lock()
			p.raw.Write(line)
			p.raw.WriteByte('\n')
			p.lines = append(p.lines, logLine{entry: entry, text: string(line)})
			p.mu.Unlock()
			if entry != nil && entry["msg"] == "listening" && entry["scheme"] == "http" {
				select {
				case listening <- entry["addr"].(string):
				default:
				}
			}
		}
		if err := sc.Err(); err != nil {
			// A line past the scanner's 1 MiB: note it and keep the pipe
			// drained, or the daemon would block writing its log.
			note := fmt.Sprintf("(integration: log unreadable from here on: %v)", err)
			p.mu.Lock()
			p.raw.WriteString(note + "\n")
			p.lines = append(p.lines, logLine{text: note})
			p.mu.Unlock()
			io.Copy(io.Discard, stderr)
		}
		p.exitErr = p.cmd.Wait()
		close(p.exited)
	}()
	select {
	case p.addr = <-listening:
	case <-p.exited:
		return nil, fmt.Errorf("replicad exited before listening: %v\n%s", p.exitErr, p.rawLog())
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		return nil, fmt.Errorf("replicad did not log its address within 60 s\n%s", p.rawLog())
	}
	pw, err := os.ReadFile(filepath.Join(dataDir, "admin-password"))
	if err != nil {
		p.terminate()
		return nil, fmt.Errorf("admin password file: %w", err)
	}
	p.password = strings.TrimSpace(string(pw))
	return p, nil
}

// terminate sends SIGTERM and requires a clean exit (status 0) within 30 s.
func (p *process) terminate() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal: %w", err)
	}
	select {
	case <-p.exited:
		if p.exitErr != nil {
			return fmt.Errorf("replicad exit after SIGTERM: %v, want status 0\n%s", p.exitErr, p.rawLog())
		}
		return nil
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		return errors.New("replicad did not stop within 30 s of SIGTERM")
	}
}

// running reports whether the process has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *process) rawLog() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// startDaemon starts a replicad of t's own on 127.0.0.1:0 with dataDir
// ("" → a new temp folder) and stops it (requiring a clean exit) when t
// ends. Use it when the test changes what other tests would see: it
// creates volumes, groups or users, passes flags, restarts or kills the
// daemon, or reads the whole process (its memory, its log).
func startDaemon(t *testing.T, dataDir string, extraArgs ...string) *daemon {
	t.Helper()
	requireDaemon(t)
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	p, err := launch(dataDir, extraArgs...)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, process: p}
	t.Cleanup(func() {
		if d.running() {
			d.stop()
		}
	})
	return d
}

// shared is the daemon that sharedDaemon hands out, started on first use.
var shared struct {
	once sync.Once
	dir  string
	p    *process
	err  error
}

// sources numbers the loopback addresses given to views of the shared
// daemon.
var sources atomic.Uint32

// sharedDaemon returns t's view of the one daemon the package shares
// (default flags, started on first use, stopped by TestMain), for tests
// that change nothing another test could see: they read (Identify, Get,
// Enumerate of the services, classes), send requests that are refused
// or fault, and create no volume, group, user or job. Each view sends its
// requests (post, postIdentify, dialer) from a loopback address of its
// own, so that its failed logons count against it alone and its log
// methods (logsWith, waitLogs, logText) see only its own requests. It may
// not be stopped or killed.
func sharedDaemon(t *testing.T) *daemon {
	t.Helper()
	requireDaemon(t)
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "replicad-shared-"); shared.err == nil {
			shared.p, shared.err = launch(shared.dir)
		}
	})
	if shared.err != nil {
		t.Fatalf("shared daemon: %v", shared.err)
	}
	n := sources.Add(1)
	d := &daemon{t: t, process: shared.p, source: fmt.Sprintf("127.0.%d.%d", 1+n/250, 1+n%250)}
	tr := &http.Transport{DialContext: d.dialer().DialContext}
	d.client = &http.Client{Transport: tr}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if t.Failed() {
			t.Logf("the shared daemon's log of requests from %s:\n%s", d.source, d.logText())
		}
	})
	return d
}

// stopShared stops the shared daemon, if a test started it.
func stopShared() error {
	if shared.p == nil {
		if shared.dir != "" {
			os.RemoveAll(shared.dir)
		}
		return nil
	}
	err := shared.p.terminate()
	os.RemoveAll(shared.dir)
	return err
}

// stop sends SIGTERM and requires a clean exit (status 0) within 30 s.
func (d *daemon) stop() {
	d.t.Helper()
	if d.source != "" {
		d.t.Fatal("the shared daemon is stopped by TestMain, not by a test")
	}
	if err := d.terminate(); err != nil {
		d.t.Fatal(err)
	}
}

func (d *daemon) url() string { return "http://" + d.addr + "/wsman" }

// httpClient is the client for requests to d (from d's source address).
func (d *daemon) httpClient() *http.Client {
	if d.client != nil {
		return d.client
	}
	return http.DefaultClient
}

// dialer dials from d's source address.
func (d *daemon) dialer() *net.Dialer {
	if d.source == "" {
		return &net.Dialer{}
	}
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(d.source)}}
}

// sees reports whether a log entry belongs to d: every entry for a daemon
// of the test's own, only those of requests from d's source address for a
// view of the shared daemon.
func (d *daemon) sees(e map[string]any) bool {
	if d.source == "" {
		return true
	}
	remote, _ := e["remote"].(string)
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host
	}
	return remote == d.source
}

// logText is d's log: all of it for a daemon of the test's own; for a
// view of the shared daemon, the entries of its requests and every line
// that is not JSON (a panic, a race report).
func (d *daemon) logText() string {
	if d.source == "" {
		return d.rawLog()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	for _, l := range d.lines {
		if l.entry == nil || d.sees(l.entry) {
			b.WriteString(l.text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// logsWith returns the log entries d sees whose msg is msg.
func (d *daemon) logsWith(msg string) []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []map[string]any
	for _, l := range d.lines {
		if l.entry != nil && l.entry["msg"] == msg && d.sees(l.entry) {
			out = append(out, l.entry)
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
	resp, err := d.httpClient().Do(req)
	if err != nil {
		d.t.Fatalf("POST /wsman: %v", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
