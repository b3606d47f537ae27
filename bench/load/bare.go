package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/client"
)

// The Get ratio: a WS-Transfer Get of one instance through the daemon against
// a bare net/http handler that answers every request with the same reply
// bytes (the daemon's own Get reply, about 2 KB), driven by the same clients
// (the client package: Basic logon, envelope, parse of the reply) in
// interleaved rounds of the same run. The bare handler runs in a process of
// its own, as the daemon does (-bare-in-process: inside the load generator,
// the yardstick before 2026-12-04, where it shared the clients' runtime). The ratio of the medians says what the
// daemon's request path costs beyond HTTP and the client's own work.
//
// The Enumerate+Pull ratio: one enumeration of the daemon's volumeCount
// (10) volumes, an optimized Enumerate and one Pull of enumPage (5) each
// (two requests, each reply about 8 KB), per second, against the same bare
// handler's requests per second in the same rounds (goal ≥ 0.2).

// recorder is an HTTP transport that keeps the last response body.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	last []byte
}

// RoundTrip forwards req and keeps a copy of the response body.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("load: read response: %w", err)
	}
	r.mu.Lock()
	r.last = body
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// bareHandler answers every POST that carries an Authorization header with
// body, as a plain net/http handler.
func bareHandler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="bare"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		w.Write(body)
	})
}

// bareEnv names the file of the reply a child started by bareServer serves.
const bareEnv = "REPLICAD_LOAD_BARE_REPLY"

// serveBare is the child's side of bareServer: it serves the reply in the
// file named by bareEnv on a loopback port, writes the address on stdout
// and runs until its standard input closes (its parent stopped or died).
func serveBare(replyFile string) error {
	body, err := os.ReadFile(replyFile)
	if err != nil {
		return fmt.Errorf("load: bare reply: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("load: bare listener: %w", err)
	}
	fmt.Println(ln.Addr())
	go http.Serve(ln, bareHandler(body))
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// bareServer serves body with bareHandler, in a process of its own (this
// program run again) as the daemon is, unless inProcess: then in this
// process, where it shares the load generator's runtime and scheduler,
// which makes its side of a ratio cheaper than any separate server's.
func bareServer(body []byte, inProcess bool) (url string, stop func(), err error) {
	if inProcess {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, fmt.Errorf("load: bare listener: %w", err)
		}
		srv := &http.Server{Handler: bareHandler(body)}
		go srv.Serve(ln)
		return "http://" + ln.Addr().String() + "/wsman", func() { srv.Close() }, nil
	}
	reply, err := os.CreateTemp("", "replicad-load-bare-")
	if err != nil {
		return "", nil, fmt.Errorf("load: bare reply: %w", err)
	}
	defer os.Remove(reply.Name())
	if _, err := reply.Write(body); err != nil {
		reply.Close()
		return "", nil, fmt.Errorf("load: bare reply: %w", err)
	}
	if err := reply.Close(); err != nil {
		return "", nil, fmt.Errorf("load: bare reply: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("load: bare server: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), bareEnv+"="+reply.Name())
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, fmt.Errorf("load: bare server: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, fmt.Errorf("load: bare server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("load: start the bare server: %w", err)
	}
	stop = func() {
		in.Close()
		cmd.Wait()
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("load: the bare server's address: %w", err)
	}
	return "http://" + strings.TrimSpace(addr) + "/wsman", stop, nil
}

// ratioResult is the outcome of the ratio rounds.
type ratioResult struct {
	daemon, bare []float64 // Get requests/s per round
	enum         []float64 // enumerations (Enumerate+Pull of volumeCount volumes)/s per round
	bodyBytes    int
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[(len(s)-1)/2]
}

// getRate runs clients goroutines doing Get of path through cs for d and
// returns requests/s; any error fails the round.
func getRate(cs []*client.Client, path cimmodel.ObjectPath, d time.Duration) (float64, error) {
	return rate(cs, d, "Get", func(ctx context.Context, c *client.Client) error {
		_, err := c.Get(ctx, path)
		return err
	})
}

// enumRate runs clients goroutines enumerating the volumes (Enumerate and
// Pull) through cs for d and returns enumerations/s.
func enumRate(cs []*client.Client, d time.Duration) (float64, error) {
	return rate(cs, d, "Enumerate+Pull", enumerateVolumes)
}

// rate runs one goroutine per client doing op for d and returns ops/s;
// any error fails the round.
func rate(cs []*client.Client, d time.Duration, what string, op func(context.Context, *client.Client) error) (float64, error) {
	st, elapsed := phase(len(cs), time.Now().Add(d), 1<<62, func(ctx context.Context, w int, _ int64) error {
		return op(ctx, cs[w])
	})
	if n := st.failed() + st.shed; n > 0 {
		for msg := range st.errs {
			return 0, fmt.Errorf("load: %d %s failed: %s", n, what, msg)
		}
		return 0, fmt.Errorf("load: %d %s shed", n, what)
	}
	return float64(st.ok) / elapsed.Seconds(), nil
}

// getRatio measures the Get and Enumerate+Pull ratios on daemonURL as
// user, rounds times d each side: in each round the daemon's Get, the bare
// handler, the daemon's Enumerate+Pull.
func getRatio(daemonURL string, l login, path cimmodel.ObjectPath, clients, rounds int, d time.Duration, bareInProcess bool) (ratioResult, error) {
	var res ratioResult
	rec := &recorder{base: &http.Transport{MaxIdleConnsPerHost: clients}}
	probe := client.New(daemonURL, l.user, l.password, client.Options{HTTPClient: &http.Client{Transport: rec, Timeout: time.Minute}})
	if _, err := probe.Get(context.Background(), path); err != nil {
		return res, fmt.Errorf("load: Get for the bare server's reply: %w", err)
	}
	res.bodyBytes = len(rec.last)
	bareURL, stop, err := bareServer(rec.last, bareInProcess)
	if err != nil {
		return res, err
	}
	defer stop()
	mk := func(url string) []*client.Client {
		httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxIdleConns: clients}, Timeout: time.Minute}
		out := make([]*client.Client, clients)
		for i := range out {
			out[i] = client.New(url, l.user, l.password, client.Options{HTTPClient: httpc})
		}
		return out
	}
	onDaemon, onBare := mk(daemonURL), mk(bareURL)
	for range rounds {
		r, err := getRate(onDaemon, path, d)
		if err != nil {
			return res, err
		}
		res.daemon = append(res.daemon, r)
		if r, err = getRate(onBare, path, d); err != nil {
			return res, err
		}
		res.bare = append(res.bare, r)
		if r, err = enumRate(onDaemon, d); err != nil {
			return res, err
		}
		res.enum = append(res.enum, r)
	}
	return res, nil
}
