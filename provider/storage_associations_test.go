package provider

import (
	"context"
	"sort"
	"testing"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/volumes"
)

// names returns the sorted class:name of instances, naming each by its Name
// key (system, services) or else its ElementName (volumes, pools).
func names(insts []*cimmodel.Instance) []string {
	var out []string
	for _, inst := range insts {
		n := stringOf(inst, "ElementName")
		if _, keyed := inst.Path().Key("Name"); keyed {
			n = stringOf(inst, "Name")
		}
		out = append(out, inst.Class.Name+":"+n)
	}
	sort.Strings(out)
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStorageAssociators(t *testing.T) {
	e := newStorageEnv(t)
	if _, err := e.p.volumes.CreatePool(context.Background(), "fast"); err != nil {
		t.Fatal(err)
	}
	a := e.createVolume(volumes.DefaultPool, "a", mib)
	e.createVolume(volumes.DefaultPool, "b", mib)
	e.createVolume("fast", "c", mib)
	system := e.p.systemPath()
	tests := []struct {
		name string
		f    cimmodel.AssociationFilter
		want []string
	}{
		{"pool → its volumes", cimmodel.AssociationFilter{Object: e.p.poolPath(volumes.DefaultPool),
			AssociationClassName: "CIM_AllocatedFromStoragePool"},
			[]string{"MSISCSITARGET_StorageVolume:a", "MSISCSITARGET_StorageVolume:b"}},
		{"other pool, by result class", cimmodel.AssociationFilter{Object: e.p.poolPath("fast"),
			ResultClassName: "CIM_StorageVolume"},
			[]string{"MSISCSITARGET_StorageVolume:c"}},
		{"volume → its pool and system", cimmodel.AssociationFilter{Object: e.p.volumePath(a.ID)},
			[]string{"MSFTSM_ComputerSystem:" + testSystem, "MSISCSITARGET_StoragePool:default"}},
		{"volume → pool by role", cimmodel.AssociationFilter{Object: e.p.volumePath(a.ID), Role: "Dependent", ResultRole: "Antecedent"},
			[]string{"MSISCSITARGET_StoragePool:default"}},
		{"system → services", cimmodel.AssociationFilter{Object: system, AssociationClassName: "CIM_HostedService"},
			[]string{"MSISCSITARGET_ControllerConfigurationService:ControllerConfigurationService",
				"MSISCSITARGET_ReplicationService:ReplicationService",
				"MSISCSITARGET_StorageConfigurationService:StorageConfigurationService",
				"MSISCSITARGET_StorageHardwareIDManagementService:StorageHardwareIDManagementService",
				"MSISCSITARGET_iSCSIConfigurationService:iSCSIConfigurationService"}},
		{"system → pools", cimmodel.AssociationFilter{Object: system, AssociationClassName: "MSISCSITARGET_HostedStoragePool"},
			[]string{"MSISCSITARGET_StoragePool:default", "MSISCSITARGET_StoragePool:fast"}},
		{"system → devices", cimmodel.AssociationFilter{Object: system, AssociationClassName: "CIM_SystemDevice"},
			[]string{"MSISCSITARGET_StorageVolume:a", "MSISCSITARGET_StorageVolume:b", "MSISCSITARGET_StorageVolume:c"}},
		{"service → system", cimmodel.AssociationFilter{Object: e.p.servicePath(storageConfigurationServiceClassName)},
			[]string{"MSFTSM_ComputerSystem:" + testSystem}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			insts, err := e.reg.Associators(context.Background(), tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(insts); !equalStrings(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStorageReferences(t *testing.T) {
	e := newStorageEnv(t)
	v := e.createVolume(volumes.DefaultPool, "v", mib)
	// Write a block so the file occupies disk space.
	f, err := e.p.volumes.OpenImage(context.Background(), v.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 64<<10), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	refs, err := e.reg.References(context.Background(), cimmodel.AssociationFilter{Object: e.p.volumePath(v.ID), Instances: true})
	if err != nil {
		t.Fatal(err)
	}
	var classes []string
	for _, r := range refs {
		classes = append(classes, r.Class.Name)
		if err := r.Check(); err != nil {
			t.Errorf("%s: Check: %v", r.Class.Name, err)
		}
		// Each association instance can be fetched by its own path.
		got, err := e.reg.Get(context.Background(), r.Path())
		if err != nil {
			t.Errorf("Get %s: %v", r.Path(), err)
		} else if !got.Equal(r) {
			t.Errorf("Get %s = %v, want %v", r.Path(), got.Values, r.Values)
		}
		if r.Class.Name == "MSISCSITARGET_AllocatedFromStoragePool" {
			if consumed := uint64Of(t, r, "SpaceConsumed"); consumed < 64<<10 || consumed > mib {
				t.Errorf("SpaceConsumed = %d, want the allocated bytes (64 KiB .. 1 MiB)", consumed)
			}
		}
	}
	sort.Strings(classes)
	if want := []string{"MSISCSITARGET_AllocatedFromStoragePool", "MSISCSITARGET_SystemDevice"}; !equalStrings(classes, want) {
		t.Errorf("references of a volume: %v, want %v", classes, want)
	}
	// An association path that names nothing.
	bogus := refs[0].Path()
	bogus.Keys = append([]cimmodel.KeyBinding(nil), bogus.Keys...)
	bogus.Keys[0].Value = cimmodel.Ref(e.p.poolPath("nope"))
	if _, err := e.reg.Get(context.Background(), bogus); cimmodel.StatusOf(err) != cimmodel.StatusNotFound {
		t.Errorf("Get of a bogus association: %v, want %v", err, cimmodel.StatusNotFound)
	}
}

// TestEveryServiceIsHosted: every concrete service class registered by
// the provider has its HostedService, and each Dependent resolves.
func TestEveryServiceIsHosted(t *testing.T) {
	e := newStorageEnv(t)
	ctx := context.Background()
	hosted, err := e.reg.Enumerate(ctx, Namespace, "CIM_HostedService")
	if err != nil {
		t.Fatal(err)
	}
	dependents := map[string]bool{}
	for _, h := range hosted {
		ref, _ := h.Get("Dependent").AsRef()
		if _, err := e.reg.Get(ctx, ref); err != nil {
			t.Errorf("HostedService.Dependent %s does not resolve: %v", ref, err)
		}
		dependents[ref.Class] = true
		if ante, _ := h.Get("Antecedent").AsRef(); !ante.Equal(e.p.systemPath()) {
			t.Errorf("HostedService.Antecedent = %s, want the system %s", ante, e.p.systemPath())
		}
	}
	for _, c := range e.reg.Classes(Namespace) {
		if c.Abstract || c.Provider == nil || !e.reg.IsA(c, "CIM_Service") {
			continue
		}
		if !dependents[c.Name] {
			t.Errorf("service class %s has no HostedService; add it to hostedServiceClassNames", c.Name)
		}
	}
	if len(dependents) < 2 {
		t.Errorf("%d hosted services, want at least 2", len(dependents))
	}
}
