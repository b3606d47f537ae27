package provider

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/replicad/replicad/volumes"
)

// A thin pool takes a volume larger than its free space; past its
// over-commit limit CreateOrModifyElementFromStoragePool answers 4097 Size
// Not Supported with Size set to the most the pool accepts (which is then
// accepted), and the pool instance shows the policy: SpaceLimit, a Quota
// SpaceLimitDetermination, its LowSpaceWarningThreshold and a
// RemainingManagedSpace of what the limit leaves.
func TestThinPoolCreate(t *testing.T) {
	e := &storageEnv{t: t, dataDir: t.TempDir(), provisioning: volumes.ProvisioningOptions{
		Default: volumes.Policy{Provisioning: volumes.Thin, OverCommitPercent: 200, LowSpacePercent: 7}}}
	e.open()
	t.Cleanup(e.close)
	pool, err := e.p.volumes.Pool(context.Background(), volumes.DefaultPool)
	if err != nil {
		t.Fatal(err)
	}
	big := pool.FreeBytes + 1<<30
	if res, err := e.invoke(createMethod, param("ElementName", "big"), param("Size", strconv.FormatUint(big, 10))); err != nil || res.ReturnValue != 0 {
		t.Fatalf("thin create above the free space: %v %v", res.ReturnValue, err)
	}
	limit := 2 * pool.TotalBytes
	res, err := e.invoke(createMethod, param("ElementName", "over"), param("Size", strconv.FormatUint(limit, 10)))
	if err != nil || res.ReturnValue != 4097 {
		t.Fatalf("create past the limit: %v %v, want 4097", res.ReturnValue, err)
	}
	if msg := refusalMessage(t, res); !strings.Contains(msg, "over-commit limit") || !strings.Contains(msg, "thin,overcommit=200%") {
		t.Errorf("Message %q does not name the over-commit limit and the policy", msg)
	}
	size, ok := res.Out["Size"].AsUint64()
	rest := (limit - (big+volumes.BlockSize-1)/volumes.BlockSize*volumes.BlockSize) / volumes.BlockSize * volumes.BlockSize
	if !ok || size != rest {
		t.Fatalf("Size out = %d (%v), want %d, what the limit leaves", size, ok, rest)
	}
	if res, err := e.invoke(createMethod, param("ElementName", "rest"), param("Size", strconv.FormatUint(size, 10))); err != nil || res.ReturnValue != 0 {
		t.Fatalf("create of the Size the refusal gave: %v %v", res.ReturnValue, err)
	}
	pl, err := e.p.volumes.Pool(context.Background(), volumes.DefaultPool)
	if err != nil {
		t.Fatal(err)
	}
	class, ok := e.reg.Class(Namespace, storagePoolClassName)
	if !ok {
		t.Fatal("no pool class")
	}
	inst := e.p.poolInstance(class, pl)
	if err := inst.Check(); err != nil {
		t.Errorf("pool instance: %v", err)
	}
	for name, want := range map[string]uint64{"SpaceLimit": limit, "SpaceLimitDetermination": 3, "LowSpaceWarningThreshold": 7} {
		if got := uint64Of(t, inst, name); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	if got := uint64Of(t, inst, "RemainingManagedSpace"); got >= volumes.BlockSize {
		t.Errorf("RemainingManagedSpace = %d with the limit reached", got)
	}
}
