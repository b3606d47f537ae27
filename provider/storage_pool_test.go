package provider

import (
	"context"
	"testing"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/volumes"
)

func TestStoragePools(t *testing.T) {
	e := newStorageEnv(t)
	if _, err := e.p.volumes.CreatePool(context.Background(), "fast"); err != nil {
		t.Fatal(err)
	}
	e.createVolume("fast", "v1", 4*mib)
	insts, err := e.reg.Enumerate(context.Background(), Namespace, "CIM_StoragePool")
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 2 {
		t.Fatalf("%d pools, want 2 (default and fast)", len(insts))
	}
	for _, inst := range insts {
		name := stringOf(inst, "PoolID")
		t.Run(name, func(t *testing.T) {
			if err := inst.Check(); err != nil {
				t.Errorf("Check: %v", err)
			}
			if !inst.Path().Equal(e.p.poolPath(name)) {
				t.Errorf("path = %s, want %s", inst.Path(), e.p.poolPath(name))
			}
			pool, err := e.p.volumes.Pool(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			total, remaining := uint64Of(t, inst, "TotalManagedSpace"), uint64Of(t, inst, "RemainingManagedSpace")
			if total != pool.TotalBytes || total == 0 {
				t.Errorf("TotalManagedSpace = %d, want the filesystem size %d", total, pool.TotalBytes)
			}
			if remaining > total || remaining == 0 {
				t.Errorf("RemainingManagedSpace = %d, want 0 < it <= %d", remaining, total)
			}
			tests := []struct {
				prop string
				want cimmodel.Value
			}{
				{"InstanceID", cimmodel.String("replicad:pool:" + name)},
				{"ElementName", cimmodel.String(name)},
				{"SystemName", cimmodel.String(testSystem)},
				{"Primordial", cimmodel.Bool(false)},
				{"ResourceType", cimmodel.Uint16(19)},
				{"Usage", cimmodel.Uint16(2)},
				{"Reserved", cimmodel.Uint64(pool.ProvisionedBytes)},
				{"OperationalStatus", cimmodel.Uint16s([]uint16{2})},
			}
			for _, tt := range tests {
				if got := inst.Get(tt.prop); !got.Equal(tt.want) {
					t.Errorf("%s = %v, want %v", tt.prop, got, tt.want)
				}
			}
		})
	}
}

func TestStoragePoolGet(t *testing.T) {
	e := newStorageEnv(t)
	tests := []struct {
		name string
		id   string
		want cimmodel.Status
	}{
		{"default pool", "replicad:pool:" + volumes.DefaultPool, 0},
		{"unknown pool", "replicad:pool:nope", cimmodel.StatusNotFound},
		{"no prefix", volumes.DefaultPool, cimmodel.StatusNotFound},
		{"empty name", "replicad:pool:", cimmodel.StatusNotFound},
		{"path in the name", "replicad:pool:../default", cimmodel.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := cimmodel.ObjectPath{Namespace: Namespace, Class: "CIM_StoragePool",
				Keys: []cimmodel.KeyBinding{{Name: "InstanceID", Value: cimmodel.String(tt.id)}}}
			inst, err := e.reg.Get(context.Background(), path)
			if got := cimmodel.StatusOf(err); got != tt.want {
				t.Fatalf("status = %v (%v), want %v", got, err, tt.want)
			}
			if err == nil && stringOf(inst, "InstanceID") != tt.id {
				t.Errorf("InstanceID = %q, want %q", stringOf(inst, "InstanceID"), tt.id)
			}
		})
	}
}
