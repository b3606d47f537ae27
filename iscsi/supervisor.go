package iscsi

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
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Restart backoff of tgtd: from minBackoff, doubling up to maxBackoff; a
// tgtd that ran for stableRun starts over from minBackoff.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 10 * time.Second
	stableRun  = 30 * time.Second
	// readyWait bounds the wait for a started tgtd to answer tgtadm.
	readyWait = 10 * time.Second
)

// supervisor runs one tgtd at a time and restarts it when it exits.
type supervisor struct {
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the loop has returned

	// Set by launch under Service.mu; proc is nil while no tgtd runs.
	proc    *os.Process
	exited  chan struct{} // closed when proc has exited
	started time.Time
}

// Start launches tgtd and supervises it until Close: when tgtd exits it is
// restarted with a growing backoff (250 ms doubling up to 10 s), and after
// every start the store's targets, LUNs and ACLs are re-created in it
// (reconcile). Start returns once tgtd answers and the first reconcile is
// done; a LUN that could not be re-created is logged, not fatal. Errors:
// tgtd cannot be started (missing program, portal address in use).
func (s *Service) Start(ctx context.Context) error {
	// tgtd listens on Dir/tgtd.sock.0, a Unix socket: its path must fit
	// sun_path (108 bytes with the NUL).
	if sock := s.adm.socket + ".0"; len(sock) > 107 {
		return fmt.Errorf("iscsi: start: tgtd's control socket %s is longer than a Unix socket path may be (107 bytes): use a shorter --data-dir", sock)
	}
	if err := os.MkdirAll(s.opts.Dir, 0o700); err != nil {
		return fmt.Errorf("iscsi: start: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sup != nil {
		return errors.New("iscsi: start: already started")
	}
	s.stopStale()
	sup := &supervisor{stop: make(chan struct{}), done: make(chan struct{})}
	s.sup = sup
	if err := s.launch(ctx, sup); err != nil {
		s.sup = nil
		return fmt.Errorf("iscsi: start: %w", err)
	}
	go s.supervise(sup)
	return nil
}

// Close stops the supervisor and tgtd (initiators lose their sessions; tgtd
// writes through to the image files, so nothing it acknowledged is lost).
// It is idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	sup := s.sup
	s.sup = nil
	s.mu.Unlock()
	if sup == nil {
		return nil
	}
	close(sup.stop)
	<-sup.done
	return nil
}

// supervise waits for tgtd to exit and starts it again, until stop.
func (s *Service) supervise(sup *supervisor) {
	defer close(sup.done)
	backoff := minBackoff
	var tick <-chan time.Time
	if s.opts.ReconcileEvery > 0 {
		t := time.NewTicker(s.opts.ReconcileEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		s.mu.Lock()
		exited, started := sup.exited, sup.started
		s.mu.Unlock()
		select {
		case <-sup.stop:
			s.kill(sup)
			return
		case <-tick:
			s.reconcilePeriodic()
			continue
		case <-exited:
		}
		if time.Since(started) > stableRun {
			backoff = minBackoff
		}
		s.log.Warn("tgtd exited; restarting it", zap.Duration("after", backoff))
		for {
			select {
			case <-sup.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			s.mu.Lock()
			err := s.launch(context.Background(), sup)
			s.mu.Unlock()
			if err == nil {
				break
			}
			s.log.Error("restart tgtd", zap.Error(err))
		}
	}
}

// kill stops the current tgtd. tgtd ignores SIGTERM and SIGINT (it takes
// signals through a signalfd for its own use), so it is killed; it has
// no cache of its own, so acknowledged writes are in the image files.
func (s *Service) kill(sup *supervisor) {
	s.mu.Lock()
	proc, exited := sup.proc, sup.exited
	s.mu.Unlock()
	if proc == nil {
		return
	}
	_ = proc.Kill()
	<-exited
	_ = os.Remove(s.pidFile())
}

func (s *Service) pidFile() string { return filepath.Join(s.opts.Dir, "tgtd.pid") }

// launch starts tgtd, waits until it answers and reconciles every target.
// s.mu is held.
func (s *Service) launch(ctx context.Context, sup *supervisor) error {
	// tgtd that cannot bind its portal keeps running without one: check first.
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("portal %s: %w", s.opts.Listen, err)
	}
	ln.Close()
	logf, err := os.OpenFile(filepath.Join(s.opts.Dir, "tgtd.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	var logStart int64
	if fi, err := logf.Stat(); err == nil && fi.Size() > 16<<20 {
		_ = logf.Truncate(0)
	} else if err == nil {
		logStart = fi.Size()
	}
	cmd := exec.Command(s.opts.Tgtd, "-f", "--iscsi", "portal="+s.opts.Listen)
	cmd.Env = append(os.Environ(), "TGT_IPC_SOCKET="+s.adm.socket)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group (a terminal's ^C is ours to handle), and killed
	// with us: a tgtd that outlives replicad would hold the portal and the
	// socket's lock, and serve targets nobody reconciles.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start tgtd: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	sup.proc, sup.exited, sup.started = cmd.Process, exited, time.Now()
	s.accounts = map[string]string{}
	s.sizes = map[lunKey]int64{}
	_ = os.WriteFile(s.pidFile(), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600)
	err = s.waitReady(ctx, exited)
	if err == nil {
		err = s.checkPortal(logStart)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return err
	}
	s.log.Info("tgtd started", zap.Int("pid", cmd.Process.Pid), zap.String("portal", s.opts.Listen))
	if err := s.reconcileLocked(ctx, nil); err != nil {
		s.log.Error("reconcile after tgtd start", zap.Error(err))
	}
	return nil
}

// checkPortal reads what the started tgtd logged (from offset start):
// a tgtd that could not bind its portal keeps running without one, which
// only its log tells (another process took the port after our check).
func (s *Service) checkPortal(start int64) error {
	f, err := os.Open(filepath.Join(s.opts.Dir, "tgtd.log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	n, _ := f.ReadAt(buf, start)
	if bytes.Contains(buf[:n], []byte("failed to create/bind to portal")) {
		return fmt.Errorf("tgtd could not listen on the portal %s (see %s)", s.opts.Listen, f.Name())
	}
	return nil
}

// waitReady polls tgtd until it answers tgtadm, fails or readyWait passes.
func (s *Service) waitReady(ctx context.Context, exited chan struct{}) error {
	deadline := time.Now().Add(readyWait)
	var err error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("tgtd exited at start (see %s)", filepath.Join(s.opts.Dir, "tgtd.log"))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if err = s.adm.ping(ctx); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("tgtd does not answer: %w", err)
}

// stopStale kills a tgtd a previous replicad started on the same socket
// and that survived it (the pid file names it; its command and
// environment must match, so an unrelated process with a reused pid is
// never touched).
func (s *Service) stopStale() {
	raw, err := os.ReadFile(s.pidFile())
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(raw)))
	if err != nil || pid <= 1 {
		return
	}
	proc := fmt.Sprintf("/proc/%d", pid)
	comm, _ := os.ReadFile(proc + "/comm")
	env, _ := os.ReadFile(proc + "/environ")
	if string(bytes.TrimSpace(comm)) != "tgtd" || !bytes.Contains(env, []byte("TGT_IPC_SOCKET="+s.adm.socket+"\x00")) {
		return
	}
	s.log.Warn("killing a tgtd left by a previous run", zap.Int("pid", pid))
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 250; i++ {
		if st, err := os.ReadFile(proc + "/stat"); err != nil || bytes.Contains(st, []byte(") Z ")) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tgtdPid is the running tgtd's pid, 0 when none; s.mu is held.
func (s *Service) tgtdPid() int {
	if s.sup == nil || s.sup.proc == nil {
		return 0
	}
	select {
	case <-s.sup.exited:
		return 0
	default:
		return s.sup.proc.Pid
	}
}

// reconcilePeriodic compares tgtd with the store between changes.
func (s *Service) reconcilePeriodic() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tgtdPid() == 0 {
		return
	}
	if err := s.reconcileLocked(context.Background(), nil); err != nil {
		s.log.Warn("periodic reconcile", zap.Error(err))
	}
}
