package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replicad/replicad/cimmodel"
)

// config is the command line.
type config struct {
	binary       string
	clients      int
	duration     time.Duration
	requests     int64
	burstClients int
	burstRounds  int
	maxRSSMiB    int64
	ratioClients int
	ratioRounds  int
	ratioRound   time.Duration
	cpuProfile   string
	bareInProc   bool
}

func main() {
	if reply := os.Getenv(bareEnv); reply != "" {
		if err := serveBare(reply); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var cfg config
	flag.StringVar(&cfg.binary, "replicad", "bin/replicad", "replicad binary to start on 127.0.0.1:0")
	flag.IntVar(&cfg.clients, "clients", 32, "concurrent clients in the steady phase (keep below the daemon's MaxConcurrentRequests, 64)")
	flag.DurationVar(&cfg.duration, "duration", 20*time.Second, "length of the steady phase at most")
	flag.Int64Var(&cfg.requests, "requests", 50000, "requests of the steady phase at most")
	flag.IntVar(&cfg.burstClients, "burst-clients", 256, "concurrent clients in the burst phase (above MaxConcurrentRequests)")
	flag.IntVar(&cfg.burstRounds, "burst-rounds", 20, "requests per burst client")
	flag.Int64Var(&cfg.maxRSSMiB, "max-rss-mib", 512, "fail when the daemon's peak resident memory exceeds this")
	flag.IntVar(&cfg.ratioClients, "ratio-clients", 8, "concurrent clients of the Get and Enumerate+Pull ratios against a bare net/http handler")
	flag.IntVar(&cfg.ratioRounds, "ratio-rounds", 3, "interleaved rounds of the ratios (0: skip them)")
	flag.DurationVar(&cfg.ratioRound, "ratio-round", 3*time.Second, "length of one side of a ratio round")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write the load generator's own CPU profile (the client side of every request) to this file")
	flag.BoolVar(&cfg.bareInProc, "bare-in-process", false, "run the ratios' bare net/http handler inside the load generator (sharing its runtime) instead of in a process of its own as the daemon runs")
	flag.Parse()
	stop := func() {}
	if cfg.cpuProfile != "" {
		var err error
		if stop, err = startCPUProfile(cfg.cpuProfile); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	err := run(cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// startCPUProfile profiles this process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("load: cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("load: cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// daemon is the replicad process under load.
type daemon struct {
	cmd  *exec.Cmd
	addr string
	dir  string
	done chan error
}

// volumeCount is the number of volumes the daemon holds: an enumeration of
// the volumes is an Enumerate and a Pull of enumPage instances each.
const (
	volumeCount = 10
	enumPage    = 5
)

// startDaemon starts replicad on a loopback port with a fresh data folder
// holding volumeCount 16 MiB volumes.
func startDaemon(binary string, logins []login, memoryLimit int64) (*daemon, error) {
	dir, err := os.MkdirTemp("", "replicad-load-")
	if err != nil {
		return nil, fmt.Errorf("load: data folder: %w", err)
	}
	pool := filepath.Join(dir, "pools", "default")
	if err := os.MkdirAll(pool, 0o755); err != nil {
		return nil, fmt.Errorf("load: pool: %w", err)
	}
	for i := 1; i <= volumeCount; i++ {
		name := filepath.Join(pool, fmt.Sprintf("vol%d.img", i))
		if err := os.WriteFile(name, nil, 0o644); err != nil {
			return nil, fmt.Errorf("load: volume: %w", err)
		}
		if err := os.Truncate(name, 16<<20); err != nil {
			return nil, fmt.Errorf("load: volume: %w", err)
		}
	}
	for _, l := range logins {
		add := exec.Command(binary, "user", "add", l.user, "--data-dir", dir, "--password-stdin")
		add.Stdin = strings.NewReader(l.password + "\n")
		if out, err := add.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("load: replicad user add %s: %v: %s", l.user, err, out)
		}
	}
	d := &daemon{dir: dir, done: make(chan error, 1)}
	d.cmd = exec.Command(binary, "--listen", "127.0.0.1:0", "--data-dir", dir, "--log-format", "json",
		"--memory-limit", strconv.FormatInt(memoryLimit, 10))
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("load: start %s: %w", binary, err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var entry map[string]any
			if json.Unmarshal(sc.Bytes(), &entry) == nil && entry["msg"] == "listening" && entry["scheme"] == "http" {
				if a, ok := entry["addr"].(string); ok {
					select {
					case listening <- a:
					default:
					}
				}
			}
		}
		d.done <- d.cmd.Wait()
	}()
	select {
	case d.addr = <-listening:
	case err := <-d.done:
		return nil, fmt.Errorf("load: replicad exited before listening: %v", err)
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		return nil, errors.New("load: replicad did not listen within 30 s")
	}
	return d, nil
}

// login is one user the clients authenticate as.
type login struct{ user, password string }

// alive reports whether the process is still running.
func (d *daemon) alive() bool {
	select {
	case err := <-d.done:
		d.done <- err
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, waits, and removes the data folder.
func (d *daemon) stop() error {
	defer os.RemoveAll(d.dir)
	d.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-d.done:
		if err != nil {
			return fmt.Errorf("load: replicad exit: %w", err)
		}
		return nil
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		return errors.New("load: replicad did not stop within 30 s")
	}
}

// peakRSSKiB reads VmHWM of pid from /proc.
func peakRSSKiB(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("load: %w", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, errors.New("load: no VmHWM in /proc status")
}

// stats collects the outcome of one phase.
type stats struct {
	mu        sync.Mutex
	latencies []time.Duration
	ok, shed  int64
	errs      map[string]int64
}

func (s *stats) add(d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		s.ok++
		s.latencies = append(s.latencies, d)
	case errors.Is(err, errQuota):
		s.shed++
	default:
		if s.errs == nil {
			s.errs = map[string]int64{}
		}
		s.errs[err.Error()]++
	}
}

func (s *stats) failed() int64 {
	var n int64
	for _, c := range s.errs {
		n += c
	}
	return n
}

// percentile returns the p-th percentile (0–100) of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

// mix is the request mix each client cycles through.
func mix(ctx context.Context, c *loadClient, service, volume cimmodel.ObjectPath, i int64) error {
	switch i % 4 {
	case 0:
		return c.identify(ctx)
	case 1:
		return c.get(ctx, service)
	case 2:
		return c.enumerateVolumes(ctx)
	default:
		return c.invokeCandidates(ctx, service, volume)
	}
}

// phase runs clients goroutines until the deadline or until total requests
// were issued.
func phase(clients int, deadline time.Time, total int64, do func(ctx context.Context, worker int, i int64) error) (*stats, time.Duration) {
	st := &stats{}
	var next atomic.Int64
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(30*time.Second))
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				i := next.Add(1)
				if i > total {
					return
				}
				t0 := time.Now()
				err := do(ctx, w, i)
				st.add(time.Since(t0), err)
			}
		})
	}
	wg.Wait()
	slices.Sort(st.latencies)
	return st, time.Since(start)
}

// usersFor returns one login per perUser clients (the daemon caps each
// user's requests in flight at 16).
func usersFor(clients, perUser int) []login {
	n := (clients + perUser - 1) / perUser
	out := make([]login, n)
	for i := range out {
		out[i] = login{user: fmt.Sprintf("load%d", i+1), password: "load-" + strconv.Itoa(i+1) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	}
	return out
}

func run(cfg config) error {
	logins := usersFor(cfg.clients, 8)
	// The daemon gets a soft memory limit of half the bound the run checks.
	d, err := startDaemon(cfg.binary, logins, cfg.maxRSSMiB<<20/2)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(d.addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		d.stop()
		return fmt.Errorf("load: daemon address %s is not loopback", d.addr)
	}
	conns := cfg.burstClients + cfg.clients
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxIdleConns: conns}, Timeout: time.Minute}
	clients := make([]*loadClient, max(cfg.clients, cfg.burstClients))
	for i := range clients {
		l := logins[i%len(logins)]
		clients[i] = newLoadClient(httpc, "http://"+d.addr+"/wsman", l.user, l.password)
	}
	c := clients[0]
	ctx := context.Background()
	services, err := c.enumeratePull(ctx, classService)
	if err != nil || len(services) != 1 {
		d.stop()
		return fmt.Errorf("load: find the replication service: %d found, %v", len(services), err)
	}
	vols, err := c.enumeratePull(ctx, classVolume)
	if err != nil || len(vols) == 0 {
		d.stop()
		return fmt.Errorf("load: find a volume: %d found, %v", len(vols), err)
	}
	service, volume := services[0], vols[0]

	var ratio ratioResult
	var ratioErr error
	if cfg.ratioRounds > 0 {
		ratio, ratioErr = getRatio("http://"+d.addr+"/wsman", logins[0], service, cfg.ratioClients, cfg.ratioRounds, cfg.ratioRound, cfg.bareInProc)
	}

	steady, elapsed := phase(cfg.clients, time.Now().Add(cfg.duration), cfg.requests, func(ctx context.Context, w int, i int64) error {
		return mix(ctx, clients[w], service, volume, i)
	})
	// Burst: far more slow clients than the daemon has request slots.
	burst, _ := phase(cfg.burstClients, time.Now().Add(time.Minute), int64(cfg.burstClients*cfg.burstRounds), func(ctx context.Context, w int, i int64) error {
		return clients[w].getSlow(ctx, service)
	})
	after := c.identify(ctx)
	alive := d.alive()
	rss, rssErr := peakRSSKiB(d.cmd.Process.Pid)
	stopErr := d.stop()

	rps := float64(steady.ok+steady.shed+steady.failed()) / elapsed.Seconds()
	fmt.Printf("steady: %d clients, %v: %d requests ok, %d shed, %d failed, %.0f requests/s, p50 %v, p99 %v\n",
		cfg.clients, elapsed.Round(time.Millisecond), steady.ok, steady.shed, steady.failed(), rps,
		percentile(steady.latencies, 50), percentile(steady.latencies, 99))
	fmt.Printf("burst: %d clients: %d requests ok, %d shed with QuotaLimit, %d failed\n",
		cfg.burstClients, burst.ok, burst.shed, burst.failed())
	for msg, n := range steady.errs {
		fmt.Printf("steady error ×%d: %s\n", n, msg)
	}
	for msg, n := range burst.errs {
		fmt.Printf("burst error ×%d: %s\n", n, msg)
	}
	fmt.Printf("daemon peak RSS (VmHWM): %d KiB\n", rss)
	if cfg.ratioRounds > 0 && ratioErr == nil {
		fmt.Printf("get ratio: %d clients, Basic, %d interleaved rounds of %v: daemon Get %.0f requests/s (rounds %.0f), bare net/http with the same %d-byte reply %.0f requests/s (rounds %.0f): ratio %.2f\n",
			cfg.ratioClients, cfg.ratioRounds, cfg.ratioRound, median(ratio.daemon), ratio.daemon, ratio.bodyBytes,
			median(ratio.bare), ratio.bare, median(ratio.daemon)/median(ratio.bare))
		fmt.Printf("enumerate+pull ratio: the same clients and rounds: daemon enumerations of %d volumes (Enumerate and Pull of %d each) %.0f/s (rounds %.0f) against the bare handler's %.0f requests/s: ratio %.2f\n",
			volumeCount, enumPage, median(ratio.enum), ratio.enum, median(ratio.bare), median(ratio.enum)/median(ratio.bare))
	}

	var problems []string
	if steady.failed() > 0 || steady.shed > 0 {
		problems = append(problems, fmt.Sprintf("%d steady requests failed and %d were shed, want 0", steady.failed(), steady.shed))
	}
	if burst.failed() > 0 {
		problems = append(problems, fmt.Sprintf("%d burst requests failed other than by QuotaLimit", burst.failed()))
	}
	if burst.shed == 0 {
		problems = append(problems, "the burst was not shed with QuotaLimit (raise -burst-clients)")
	}
	if after != nil || !alive {
		problems = append(problems, fmt.Sprintf("daemon after the burst: alive %v, Identify %v", alive, after))
	}
	if rssErr != nil {
		problems = append(problems, rssErr.Error())
	} else if rss > cfg.maxRSSMiB<<10 {
		problems = append(problems, fmt.Sprintf("peak RSS %d KiB above the bound of %d MiB", rss, cfg.maxRSSMiB))
	}
	if stopErr != nil {
		problems = append(problems, stopErr.Error())
	}
	if ratioErr != nil {
		problems = append(problems, ratioErr.Error())
	}
	if cfg.ratioRounds > 0 && ratioErr == nil {
		fmt.Printf("RATIO get=%.2f enumerate_pull=%.2f get_rps=%.0f enumerations_per_s=%.0f bare_rps=%.0f\n",
			median(ratio.daemon)/median(ratio.bare), median(ratio.enum)/median(ratio.bare), median(ratio.daemon), median(ratio.enum), median(ratio.bare))
	}
	fmt.Printf("RELIABILITY load clients=%d seconds=%.1f requests=%d failed=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f burst_clients=%d burst_ok=%d burst_shed=%d burst_failed=%d peak_rss_kib=%d max_rss_mib=%d\n",
		cfg.clients, elapsed.Seconds(), steady.ok+steady.shed+steady.failed(), steady.failed()+steady.shed, rps,
		float64(percentile(steady.latencies, 50).Microseconds())/1000, float64(percentile(steady.latencies, 99).Microseconds())/1000,
		cfg.burstClients, burst.ok, burst.shed, burst.failed(), rss, cfg.maxRSSMiB)
	if len(problems) > 0 {
		return errors.New("load: " + strings.Join(problems, "; "))
	}
	return nil
}
