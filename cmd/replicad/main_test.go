package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/client"
	"github.com/replicad/replicad/provider"
	"github.com/replicad/replicad/store"
)

// runMain runs the daemon in-process, as main does, on a loopback port the
// kernel chooses and a data folder in t.TempDir(). The caller closes it.
func runMain(t *testing.T) *Main {
	t.Helper()
	m := NewMain()
	m.Config.DataDir = t.TempDir()
	m.Config.Listen = "127.0.0.1:0"
	m.Config.ISCSI = iscsiOff // no tgtd on the default portal from a unit test
	m.Config.LogFormat = "console"
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatalf("Run: %v", err)
	}
	return m
}

// adminClient is a client of m logged on as the admin user Run created,
// with the password it wrote to DATA/admin-password.
func adminClient(t *testing.T, m *Main) *client.Client {
	t.Helper()
	pw, err := os.ReadFile(filepath.Join(m.Config.DataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + m.addrs["http"].String() + "/wsman"
	return client.New(url, "admin", strings.TrimSpace(string(pw)), client.Options{Timeout: 20 * time.Second})
}

// TestRunClose: the daemon Main wires (store → volumes → jobqueue → replica
// → provider → wsman) answers an authenticated Identify and enumerates the
// storage pool volumes opened; Close closes the store, so it can be opened
// again, which it cannot while the daemon runs.
func TestRunClose(t *testing.T) {
	m := runMain(t)
	closed := false
	t.Cleanup(func() {
		if !closed {
			m.Close()
		}
	})
	ctx := context.Background()
	c := adminClient(t, m)

	id, err := c.Identify(ctx)
	if err != nil {
		t.Fatalf("Identify: %v", err)
	}
	if len(id.SecurityProfiles) == 0 {
		t.Errorf("Identify = %+v, want the security profiles of an authenticated Identify", id)
	}
	pools, err := c.Enumerate(ctx, provider.Namespace, "MSISCSITARGET_StoragePool", client.EnumerateOptions{})
	if err != nil {
		t.Fatalf("Enumerate: %v", err)
	}
	if len(pools) != 1 || pools[0].Get("ElementName") != "default" {
		t.Fatalf("Enumerate pools = %v, want the default pool", pools)
	}

	state := filepath.Join(m.Config.DataDir, "state.db")
	if db, err := store.Open(state, store.Options{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, store.ErrTimeout) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("store.Open while the daemon runs: %v, want %v", err, store.ErrTimeout)
	}
	closed = true
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db, err := store.Open(state, store.Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("store.Open after Close: %v, want the store closed", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReplicaOptions: the replication flags reach replica.Options
// (--copy-bandwidth, --mirror-lag, --mirror-scan, --scrub-rate), and the
// daemon's copy observer reaches Options.Copies.
func TestReplicaOptions(t *testing.T) {
	cfg := DefaultConfig()
	err := cfg.ParseFlags([]string{"--copy-bandwidth", "1048576", "--mirror-lag", "3s", "--mirror-scan", "90m", "--scrub-rate", "33554432"})
	if err != nil {
		t.Fatal(err)
	}
	copies := &nopCopies{}
	o := cfg.replicaOptions(zap.NewNop(), copies)
	if o.BandwidthLimit != 1<<20 || o.MirrorLag != 3*time.Second || o.MirrorScan != 90*time.Minute || o.ScrubRate != 1<<25 {
		t.Fatalf("replica.Options %+v from %+v", o, cfg)
	}
	if o.Copies != copies {
		t.Fatalf("the copy observer did not reach replica.Options: %v", o.Copies)
	}
	off := DefaultConfig()
	if err := off.ParseFlags([]string{"--mirror-scan", "-1s"}); err != nil {
		t.Fatal(err)
	}
	if o := off.replicaOptions(zap.NewNop(), nil); o.MirrorScan != -time.Second {
		t.Fatalf("a negative --mirror-scan (never) became %v", o.MirrorScan)
	}
}

// nopCopies is a replica.CopyObserver that counts nothing.
type nopCopies struct{ _ int }

func (*nopCopies) AddBytesCopied(int64)             {}
func (*nopCopies) ObserveCopy(int64, time.Duration) {}
