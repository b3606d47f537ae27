package iscsi_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/replicad/replicad/iscsi"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

const (
	initiatorA = "iqn.2026-12.test.host:a"
	initiatorB = "iqn.2026-12.test.host:b"
)

// requireTools skips when tgt or libiscsi's tools are missing, unless
// REPLICAD_REQUIRE_CLIENTS=1 (make test) makes that a failure.
func requireTools(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range append([]string{"tgtd", "tgtadm"}, names...) {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("REPLICAD_REQUIRE_CLIENTS") == "1" {
				t.Fatalf("%s is required (REPLICAD_REQUIRE_CLIENTS=1): %v; run scripts/test-deps.sh", n, err)
			}
			t.Skipf("%s unavailable: %v", n, err)
		}
	}
}

// freePort returns a loopback address with a port nobody listens on now.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// env is a store, volumes and a started iscsi.Service with its own tgtd.
type env struct {
	t    testing.TB
	dir  string
	db   *store.DB
	vols *volumes.Service
	svc  *iscsi.Service
	addr string
	// tgtadmPath, when set before open, replaces tgtadm (fault injection).
	tgtadmPath string
	// reconcileEvery is Options.ReconcileEvery (0: -1, never, so that
	// tests see only the reconciles they cause).
	reconcileEvery time.Duration
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, &env{t: t})
}

// newEnvWith is newEnv with e's options (tgtadmPath, reconcileEvery).
func newEnvWith(t testing.TB, e *env) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a real tgtd: skipped with -short (make test runs it)")
	}
	requireTools(t)
	e.dir, e.addr = t.TempDir(), freePort(t)
	var err error
	if e.db, err = store.Open(filepath.Join(e.dir, "state.db"), store.Options{}); err != nil {
		t.Fatal(err)
	}
	if e.vols, err = volumes.Open(e.db, e.dir, volumes.Options{}); err != nil {
		t.Fatal(err)
	}
	e.open()
	t.Cleanup(func() {
		e.svc.Close()
		e.vols.Close()
		e.db.Close()
	})
	return e
}

func (e *env) open() {
	e.t.Helper()
	var err error
	if e.reconcileEvery == 0 {
		e.reconcileEvery = -1
	}
	e.svc, err = iscsi.Open(e.db, e.vols, iscsi.Options{Dir: filepath.Join(e.dir, "iscsi"), Listen: e.addr,
		BaseIQN: "iqn.2026-12.test.replicad", Tgtadm: e.tgtadmPath, ReconcileEvery: e.reconcileEvery,
		Logger: zaptest.NewLogger(e.t)})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) volume(name string, size uint64) *volumes.Volume {
	e.t.Helper()
	v, err := e.vols.Create(context.Background(), volumes.DefaultPool, name, size)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// tgtadm runs tgtadm against the env's tgtd.
func (e *env) tgtadm(args ...string) string {
	e.t.Helper()
	cmd := exec.Command("tgtadm", append([]string{"--lld", "iscsi"}, args...)...)
	cmd.Env = append(os.Environ(), "TGT_IPC_SOCKET="+filepath.Join(e.dir, "iscsi", "tgtd.sock"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("tgtadm %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
