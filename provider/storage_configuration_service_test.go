package provider

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/volumes"
)

const (
	createMethod = "CreateOrModifyElementFromStoragePool"
	returnMethod = "ReturnToStoragePool"
	mib          = 1 << 20
)

func TestCreateVolume(t *testing.T) {
	tests := []struct {
		name      string
		params    func(e *storageEnv) []string
		wantPool  string
		wantName  string
		wantBytes uint64
	}{
		{"thin volume in the default pool, size rounded up", func(e *storageEnv) []string {
			return []string{param("ElementName", "v1"), param("ElementType", "5"), param("Size", "1000")}
		}, volumes.DefaultPool, "v1", 1024},
		{"plain volume type, explicit pool", func(e *storageEnv) []string {
			return []string{param("ElementName", "v2"), param("ElementType", "2"), param("Size", strconv.Itoa(3*mib)),
				refParam("InPool", e.p.poolPath(volumes.DefaultPool))}
		}, volumes.DefaultPool, "v2", 3 * mib},
		{"no ElementType, pool created later", func(e *storageEnv) []string {
			if _, err := e.p.volumes.CreatePool(context.Background(), "fast"); err != nil {
				t.Fatal(err)
			}
			return []string{param("ElementName", "v3"), param("Size", "512"), refParam("InPool", e.p.poolPath("fast"))}
		}, "fast", "v3", 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newStorageEnv(t)
			res, err := e.invoke(createMethod, tt.params(e)...)
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			if res.ReturnValue != 0 {
				t.Fatalf("ReturnValue = %d, want 0", res.ReturnValue)
			}
			if _, ok := res.Out["Job"]; ok {
				t.Errorf("out-parameters hold a Job, want none for an instant create")
			}
			if got, _ := res.Out["Size"].AsUint64(); got != tt.wantBytes {
				t.Errorf("Size = %d, want %d", got, tt.wantBytes)
			}
			elem := outRef(t, res, "TheElement")
			inst, err := e.reg.Get(context.Background(), elem)
			if err != nil {
				t.Fatalf("Get TheElement %s: %v", elem, err)
			}
			if got := stringOf(inst, "ElementName"); got != tt.wantName {
				t.Errorf("ElementName = %q, want %q", got, tt.wantName)
			}
			v, err := e.p.volumes.Lookup(context.Background(), tt.wantPool, tt.wantName)
			if err != nil {
				t.Fatalf("volume not in pool %s: %v", tt.wantPool, err)
			}
			if got := stringOf(inst, "DeviceID"); got != string(v.ID) {
				t.Errorf("DeviceID = %q, want the volume ID %q", got, v.ID)
			}
			fi, err := os.Stat(v.Path())
			if err != nil {
				t.Fatalf("image file: %v", err)
			}
			if uint64(fi.Size()) != tt.wantBytes {
				t.Errorf("file size = %d, want %d", fi.Size(), tt.wantBytes)
			}
		})
	}
}

func TestCreateVolumeWithoutName(t *testing.T) {
	e := newStorageEnv(t)
	res, err := e.invoke(createMethod, param("Size", "4096"))
	if err != nil || res.ReturnValue != 0 {
		t.Fatalf("invoke: %v, ReturnValue %d, want 0", err, res.ReturnValue)
	}
	inst, err := e.reg.Get(context.Background(), outRef(t, res, "TheElement"))
	if err != nil {
		t.Fatal(err)
	}
	if name := stringOf(inst, "ElementName"); volumes.CheckName(name) != nil || len(name) < len("volume-") {
		t.Errorf("generated ElementName = %q, want a valid volume-… name", name)
	}
}

// TestCreateVolumeBadInput: every refusal has its code (or fault) and
// changes nothing on disk or in the store.
func TestCreateVolumeBadInput(t *testing.T) {
	e := newStorageEnv(t)
	existing := e.createVolume(volumes.DefaultPool, "taken", mib)
	pool, err := e.p.volumes.Pool(context.Background(), volumes.DefaultPool)
	if err != nil {
		t.Fatal(err)
	}
	tooBig := strconv.FormatUint(pool.FreeBytes+1<<30, 10)
	tests := []struct {
		name      string
		params    []string
		want      uint32
		wantFault cimmodel.Status
	}{
		{"name escaping the pool", []string{param("ElementName", "../../etc/passwd"), param("Size", "512")}, 5, 0},
		{"name with a slash", []string{param("ElementName", "a/b"), param("Size", "512")}, 5, 0},
		{"reserved device name", []string{param("ElementName", "NUL"), param("Size", "512")}, 5, 0},
		{"size 0", []string{param("ElementName", "zero"), param("Size", "0")}, 4097, 0},
		{"size above the free space", []string{param("ElementName", "huge"), param("Size", tooBig)}, 40000, 0},
		{"no size", []string{param("ElementName", "nosize")}, 5, 0},
		{"name taken", []string{param("ElementName", "taken"), param("Size", "512")}, 5, 0},
		{"unknown pool", []string{param("ElementName", "x"), param("Size", "512"), refParam("InPool", e.p.poolPath("nope"))}, 5, 0},
		{"InPool pointing at a volume", []string{param("ElementName", "x"), param("Size", "512"),
			refParam("InPool", e.p.volumePath(existing.ID))}, 0, cimmodel.StatusInvalidParameter},
		{"ElementType LogicalDisk", []string{param("ElementName", "x"), param("ElementType", "4"), param("Size", "512")}, 1, 0},
		{"ElementType vendor specific", []string{param("ElementName", "x"), param("ElementType", "40000"), param("Size", "512")}, 1, 0},
		{"ElementType DMTF reserved", []string{param("ElementName", "x"), param("ElementType", "100"), param("Size", "512")}, 5, 0},
		{"a Goal", []string{param("ElementName", "x"), param("Size", "512"), refParam("Goal", e.p.poolPath(volumes.DefaultPool))}, 1, 0},
		{"size not a number", []string{param("ElementName", "x"), param("Size", "big")}, 0, cimmodel.StatusInvalidParameter},
		{"unknown parameter", []string{param("ElementName", "x"), param("Size", "512"), param("Colour", "red")}, 0, cimmodel.StatusInvalidParameter},
		{"Job supplied", []string{param("ElementName", "x"), param("Size", "512"), refParam("Job", e.p.poolPath("default"))}, 0, cimmodel.StatusInvalidParameter},
	}
	before := e.state()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.invoke(createMethod, tt.params...)
			if tt.wantFault != 0 {
				if got := cimmodel.StatusOf(err); got != tt.wantFault {
					t.Fatalf("status = %v (err %v), want %v", got, err, tt.wantFault)
				}
			} else {
				if err != nil {
					t.Fatalf("invoke: %v, want ReturnValue %d", err, tt.want)
				}
				if res.ReturnValue != tt.want {
					t.Errorf("ReturnValue = %d, want %d", res.ReturnValue, tt.want)
				}
				checkRefusalReason(t, res, "CreateOrModifyElementFromStoragePool", e.dataDir)
			}
			if after := e.state(); after != before {
				t.Errorf("state changed:\n%s\nwant\n%s", after, before)
			}
		})
	}
}

func TestCreateSameNameConcurrently(t *testing.T) {
	e := newStorageEnv(t)
	const n = 4
	codes := make([]uint32, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := e.invoke(createMethod, param("ElementName", "twin"), param("Size", strconv.Itoa(mib)))
			if err != nil {
				t.Errorf("invoke %d: %v", i, err)
				return
			}
			codes[i] = res.ReturnValue
		})
	}
	wg.Wait()
	won, refused := 0, 0
	for _, c := range codes {
		switch c {
		case 0:
			won++
		case 5:
			refused++
		}
	}
	if won != 1 || refused != n-1 {
		t.Errorf("return values %v, want exactly one 0 and %d times 5", codes, n-1)
	}
	vols, err := e.p.volumes.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 1 {
		t.Errorf("%d volumes, want 1", len(vols))
	}
}

func TestModifyVolume(t *testing.T) {
	e := newStorageEnv(t)
	v := e.createVolume(volumes.DefaultPool, "v1", mib)
	elem := refParam("TheElement", e.p.volumePath(v.ID))

	res, err := e.invoke(createMethod, elem, param("Size", strconv.Itoa(2*mib+1)))
	if err != nil || res.ReturnValue != 0 {
		t.Fatalf("grow: %v, ReturnValue %d, want 0", err, res.ReturnValue)
	}
	if got, _ := res.Out["Size"].AsUint64(); got != 2*mib+512 {
		t.Errorf("Size = %d, want %d", got, 2*mib+512)
	}
	if got := outRef(t, res, "TheElement"); !got.Equal(e.p.volumePath(v.ID)) {
		t.Errorf("TheElement = %s, want %s", got, e.p.volumePath(v.ID))
	}
	if fi, err := os.Stat(v.Path()); err != nil || fi.Size() != 2*mib+512 {
		t.Errorf("file after grow: %v, %v; want %d bytes", fi, err, 2*mib+512)
	}

	// Same size and same name: nothing to do, 0.
	res, err = e.invoke(createMethod, elem, param("ElementName", "v1"), param("ElementType", "2"), param("Size", strconv.Itoa(2*mib+512)))
	if err != nil || res.ReturnValue != 0 {
		t.Errorf("no-op modify: %v, ReturnValue %d, want 0", err, res.ReturnValue)
	}

	pool := e.p.poolPath(volumes.DefaultPool)
	tests := []struct {
		name   string
		params []string
		want   uint32
	}{
		{"shrink", []string{elem, param("Size", strconv.Itoa(mib))}, 4097},
		{"size 0", []string{elem, param("Size", "0")}, 4097},
		{"rename", []string{elem, param("ElementName", "v2")}, 1},
		{"InPool with TheElement", []string{elem, param("Size", strconv.Itoa(4*mib)), refParam("InPool", pool)}, 5},
		{"ElementType of a pool", []string{elem, param("ElementType", "7"), param("Size", strconv.Itoa(4*mib))}, 5},
		{"TheElement a pool", []string{refParam("TheElement", pool), param("Size", strconv.Itoa(4*mib))}, 5},
		{"TheElement an unknown volume", []string{refParam("TheElement", e.p.volumePath("00000000-0000-0000-0000-000000000000")),
			param("Size", strconv.Itoa(4*mib))}, 5},
	}
	before := e.state()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.invoke(createMethod, tt.params...)
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			if res.ReturnValue != tt.want {
				t.Errorf("ReturnValue = %d, want %d", res.ReturnValue, tt.want)
			}
			got, err := e.p.volumes.Get(context.Background(), v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.SizeBytes != 2*mib+512 || got.Name != "v1" {
				t.Errorf("volume now %s, %d bytes; want v1, %d bytes", got.Name, got.SizeBytes, 2*mib+512)
			}
			if after := e.state(); after != before {
				t.Errorf("state changed:\n%s\nwant\n%s", after, before)
			}
		})
	}

	t.Run("leased", func(t *testing.T) {
		release, err := e.p.volumes.Acquire(v.ID, "replication")
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		res, err := e.invoke(createMethod, elem, param("Size", strconv.Itoa(8*mib)))
		if err != nil || res.ReturnValue != 6 {
			t.Errorf("grow a leased volume: %v, ReturnValue %d, want 6", err, res.ReturnValue)
		}
	})
}

func TestReturnToStoragePool(t *testing.T) {
	tests := []struct {
		name     string
		prepare  func(e *storageEnv, v *volumes.Volume) (cleanup func())
		element  func(e *storageEnv, v *volumes.Volume) []string
		want     uint32
		wantGone bool
	}{
		{"deletes the volume and its file", nil, nil, 0, true},
		{"leased", func(e *storageEnv, v *volumes.Volume) func() {
			release, err := e.p.volumes.Acquire(v.ID, "replication")
			if err != nil {
				t.Fatal(err)
			}
			return release
		}, nil, 6, false},
		{"replication target", paired(false), nil, 32768, false},
		{"replication source", paired(true), nil, 32768, false},
		{"labels but no relationship", labelled("origin", "replica.source", "replica.target"), nil, 0, true},
		{"unknown volume", nil, func(e *storageEnv, v *volumes.Volume) []string {
			return []string{refParam("TheElement", e.p.volumePath("not-a-volume"))}
		}, 5, false},
		{"a pool", nil, func(e *storageEnv, v *volumes.Volume) []string {
			return []string{refParam("TheElement", e.p.poolPath(volumes.DefaultPool))}
		}, 5, false},
		{"no element", nil, func(e *storageEnv, v *volumes.Volume) []string { return nil }, 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newStorageEnv(t)
			v := e.createVolume(volumes.DefaultPool, "v1", mib)
			if tt.prepare != nil {
				if cleanup := tt.prepare(e, v); cleanup != nil {
					defer cleanup()
				}
			}
			params := []string{refParam("TheElement", e.p.volumePath(v.ID))}
			if tt.element != nil {
				params = tt.element(e, v)
			}
			before := e.state()
			res, err := e.invoke(returnMethod, params...)
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			if res.ReturnValue != tt.want {
				t.Errorf("ReturnValue = %d, want %d", res.ReturnValue, tt.want)
			}
			_, statErr := os.Stat(v.Path())
			_, getErr := e.p.volumes.Get(context.Background(), v.ID)
			if tt.wantGone {
				if !os.IsNotExist(statErr) {
					t.Errorf("image file after delete: %v, want it gone", statErr)
				}
				if getErr == nil {
					t.Errorf("volume still in the store")
				}
				return
			}
			if statErr != nil || getErr != nil {
				t.Errorf("volume after a refusal: file %v, store %v; want both kept", statErr, getErr)
			}
			if after := e.state(); after != before {
				t.Errorf("state changed:\n%s\nwant\n%s", after, before)
			}
		})
	}
}

// labelled gives the volume labels that once meant "in a relationship";
// they mean nothing now.
func labelled(keys ...string) func(e *storageEnv, v *volumes.Volume) func() {
	return func(e *storageEnv, v *volumes.Volume) func() {
		labels := map[string]string{}
		for _, k := range keys {
			labels[k] = "x"
		}
		if _, err := e.p.volumes.SetLabels(context.Background(), v.ID, labels); err != nil {
			e.t.Fatal(err)
		}
		return nil
	}
}

// paired makes the volume the source (or the target) of a synchronization
// with a new volume.
func paired(asSource bool) func(e *storageEnv, v *volumes.Volume) func() {
	return func(e *storageEnv, v *volumes.Volume) func() {
		other := e.createVolume(volumes.DefaultPool, "other", v.SizeBytes)
		if asSource {
			e.pair(v, other)
		} else {
			e.pair(other, v)
		}
		return nil
	}
}
