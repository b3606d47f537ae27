package volumes_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// openWithPolicy opens a Service on a fresh data directory whose default
// pool has policy pol; logs go to the returned observer.
func openWithPolicy(t *testing.T, pol volumes.Policy) (*volumes.Service, string, *observer.ObservedLogs) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	core, logs := observer.New(zap.InfoLevel)
	svc, err := volumes.Open(db, dir, volumes.Options{Logger: zap.New(core),
		Provisioning: volumes.ProvisioningOptions{Default: volumes.Policy{Provisioning: volumes.Thick},
			Pools: map[string]volumes.Policy{volumes.DefaultPool: pol}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc, dir, logs
}

func pool(t *testing.T, svc *volumes.Service) *volumes.Pool {
	t.Helper()
	p, err := svc.Pool(context.Background(), volumes.DefaultPool)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParsePolicy(t *testing.T) {
	def := volumes.DefaultPolicy
	for _, tc := range []struct {
		in   string
		want volumes.Policy
	}{
		{"thin", def},
		{"thick", volumes.Policy{Provisioning: volumes.Thick, OverCommitPercent: def.OverCommitPercent, LowSpacePercent: def.LowSpacePercent}},
		{"thin,overcommit=300%", volumes.Policy{Provisioning: volumes.Thin, OverCommitPercent: 300, LowSpacePercent: def.LowSpacePercent}},
		{"thin,overcommit=0,low-space=5", volumes.Policy{Provisioning: volumes.Thin, LowSpacePercent: 5}},
		{"thick,low-space=0%", volumes.Policy{Provisioning: volumes.Thick, OverCommitPercent: def.OverCommitPercent}},
	} {
		got, err := volumes.ParsePolicy(tc.in, def)
		if err != nil || got != tc.want {
			t.Errorf("ParsePolicy(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "fat", "thin,overcommit=50", "thick,overcommit=200", "thin,low-space=101",
		"thin,speed=3", "thin,overcommit", "thin,overcommit=-1"} {
		if _, err := volumes.ParsePolicy(bad, def); err == nil {
			t.Errorf("ParsePolicy(%q) accepted", bad)
		}
	}
	if s := (volumes.Policy{Provisioning: volumes.Thin, OverCommitPercent: 500, LowSpacePercent: 10}).String(); s != "thin,overcommit=500%,low-space=10%" {
		t.Errorf("String = %q", s)
	}
}

// A thin pool without a limit takes a sparse volume larger than its free
// space (the 100 GiB volume with 66 GB free), and a copy of it that
// would write more than the free space is refused by CheckSpace.
func TestThinPoolOverCommits(t *testing.T) {
	svc, dir, _ := openWithPolicy(t, volumes.Policy{Provisioning: volumes.Thin})
	ctx := context.Background()
	p := pool(t, svc)
	size := p.FreeBytes + 64*MiB
	v, err := svc.Create(ctx, volumes.DefaultPool, "big", size)
	if err != nil {
		t.Fatalf("thin Create of %d bytes with %d free: %v", size, p.FreeBytes, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "pools", "default", "big.img")); err != nil || uint64(fi.Size()) != v.SizeBytes {
		t.Fatalf("big.img: %v %v", fi, err)
	}
	p = pool(t, svc)
	if p.ProvisionedBytes <= p.FreeBytes || p.AvailableBytes != p.FreeBytes || p.SpaceLimitBytes != 0 {
		t.Errorf("pool %+v: want provisioned above free, available = free, no limit", p)
	}
	if err := svc.CheckSpace(ctx, volumes.DefaultPool, 10*size, MiB); err != nil {
		t.Errorf("CheckSpace of a copy writing 1 MiB: %v", err)
	}
	err = svc.CheckSpace(ctx, volumes.DefaultPool, MiB, p.FreeBytes+64*MiB)
	var se *volumes.SpaceError
	if !errors.Is(err, volumes.ErrNoSpace) || !errors.As(err, &se) || se.Available == 0 {
		t.Errorf("CheckSpace writing more than free: %v, want a *SpaceError matching ErrNoSpace", err)
	}
}

// A thin pool with an over-commit limit refuses what would provision past
// it, with ErrOverCommit and the bytes it still accepts, and accepts up to
// the limit.
func TestThinPoolOverCommitLimit(t *testing.T) {
	svc, _, _ := openWithPolicy(t, volumes.Policy{Provisioning: volumes.Thin, OverCommitPercent: 200})
	ctx := context.Background()
	p := pool(t, svc)
	limit := p.TotalBytes * 2
	if p.SpaceLimitBytes != limit {
		t.Fatalf("SpaceLimitBytes = %d, want %d", p.SpaceLimitBytes, limit)
	}
	first := limit / 2 / volumes.BlockSize * volumes.BlockSize
	if _, err := svc.Create(ctx, volumes.DefaultPool, "a", first); err != nil {
		t.Fatalf("Create of half the limit: %v", err)
	}
	_, err := svc.Create(ctx, volumes.DefaultPool, "b", limit-first+volumes.BlockSize)
	var se *volumes.SpaceError
	if !errors.Is(err, volumes.ErrOverCommit) || errors.Is(err, volumes.ErrNoSpace) || !errors.As(err, &se) {
		t.Fatalf("Create past the limit: %v, want a *SpaceError matching ErrOverCommit only", err)
	}
	if se.Available != limit-first {
		t.Errorf("Available = %d, want %d", se.Available, limit-first)
	}
	if got := pool(t, svc).AvailableBytes; got != limit-first {
		t.Errorf("Pool.AvailableBytes = %d, want %d", got, limit-first)
	}
	if _, err := svc.Create(ctx, volumes.DefaultPool, "b", limit-first); err != nil {
		t.Errorf("Create up to the limit: %v", err)
	}
	if _, err := svc.Grow(ctx, mustGet(t, svc, "a"), first+volumes.BlockSize); !errors.Is(err, volumes.ErrOverCommit) {
		t.Errorf("Grow past the limit: %v, want ErrOverCommit", err)
	}
}

// A thick pool reserves what its volumes have not written yet: a second
// volume that fits the free space but not beside the first one's
// reservation is refused with ErrNoSpace.
func TestThickPoolReserves(t *testing.T) {
	svc, _, _ := openWithPolicy(t, volumes.Policy{Provisioning: volumes.Thick})
	ctx := context.Background()
	free := pool(t, svc).FreeBytes
	half := free / 2 / volumes.BlockSize * volumes.BlockSize
	if _, err := svc.Create(ctx, volumes.DefaultPool, "a", half); err != nil {
		t.Fatalf("Create of half the free space: %v", err)
	}
	_, err := svc.Create(ctx, volumes.DefaultPool, "b", half+free/8)
	var se *volumes.SpaceError
	if !errors.Is(err, volumes.ErrNoSpace) || !errors.As(err, &se) || se.Available >= half+free/8 {
		t.Fatalf("Create beside a's reservation: %v, want a *SpaceError matching ErrNoSpace", err)
	}
	if _, err := svc.Create(ctx, volumes.DefaultPool, "c", free/8); err != nil {
		t.Errorf("Create that fits beside the reservation: %v", err)
	}
}

// A pool below its low-space threshold reports LowSpace and logs one
// warning, not one per call.
func TestLowSpaceWarning(t *testing.T) {
	svc, _, logs := openWithPolicy(t, volumes.Policy{Provisioning: volumes.Thin, LowSpacePercent: 100})
	for i := 0; i < 3; i++ {
		if p := pool(t, svc); !p.LowSpace {
			t.Fatalf("pool %+v: want LowSpace below a 100%% threshold", p)
		}
	}
	if _, err := svc.Create(context.Background(), volumes.DefaultPool, "v", MiB); err != nil {
		t.Fatal(err)
	}
	warnings := logs.FilterMessage("pool low on space").All()
	if len(warnings) != 1 || warnings[0].Level != zap.WarnLevel || warnings[0].ContextMap()["pool"] != volumes.DefaultPool {
		t.Errorf("warnings %v, want one for pool default", warnings)
	}

	svc2, _, logs2 := openWithPolicy(t, volumes.Policy{Provisioning: volumes.Thin})
	if p := pool(t, svc2); p.LowSpace {
		t.Errorf("LowSpace without a threshold")
	}
	if n := logs2.FilterMessage("pool low on space").Len(); n != 0 {
		t.Errorf("%d warnings without a threshold", n)
	}
}

func mustGet(t *testing.T, svc *volumes.Service, name string) volumes.ID {
	t.Helper()
	v, err := svc.Lookup(context.Background(), volumes.DefaultPool, name)
	if err != nil {
		t.Fatal(err)
	}
	return v.ID
}
