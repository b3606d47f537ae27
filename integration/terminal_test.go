package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCtrlCOnMakeRun is issue 20's "Ctrl-C on make run leaves make with
// status 0": make runs replicad as `make run` does, on a terminal of its
// own (a pty), and ^C typed on that terminal stops replicad cleanly while
// make reports success. Without --own-terminal, make itself dies of the
// interrupt ("make: *** [run] Interrupt") and no status line is printed.
func TestCtrlCOnMakeRun(t *testing.T) {
	t.Parallel()
	requireDaemon(t)
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make: %v", err)
	}
	dir := t.TempDir()
	makefile := filepath.Join(dir, "Makefile")
	recipe := fmt.Sprintf("run:\n\t%s --own-terminal --iscsi=off --listen 127.0.0.1:0 --data-dir %s --log-format console\n",
		binary, filepath.Join(dir, "data"))
	if err := os.WriteFile(makefile, []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}

	master, slave := openPTY(t)
	cmd := exec.Command("/bin/sh", "-c", "make -s -f "+makefile+" run; echo make-status=$?")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	t.Cleanup(func() { cmd.Process.Kill() })

	var mu sync.Mutex
	var out bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func(s string) bool { mu.Lock(); defer mu.Unlock(); return strings.Contains(out.String(), s) }
	waitFor := func(s string) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); !seen(s); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("no %q on the terminal; it shows:\n%s", s, out.String())
			}
		}
	}
	waitFor("listening")
	if _, err := master.Write([]byte{0x03}); err != nil { // ^C, as typed
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("make did not end within 2 minutes of ^C")
	}
	// The shell prints the status only if it outlived the interrupt; a
	// terminal flushes its output on ^C, so the reader may still be behind.
	for deadline := time.Now().Add(5 * time.Second); !seen("make-status=") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !seen("make-status=0") {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("make did not exit 0 after ^C; the terminal shows:\n%s", out.String())
	}
}

// openPTY opens a new pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("pts: %v", err)
	}
	return m, s
}
