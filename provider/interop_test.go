package provider

import (
	"context"
	"sort"
	"testing"

	"github.com/replicad/replicad/cimmodel"
)

// The profiles libstoragemgmt's smispy plugin and the Windows Storage
// Service look for (provider/testdata/interop/SOURCES.md): SNIA (11)
// profiles with these exact names, Array at 1.4 or later, in both interop
// namespaces.
func TestInteropRegisteredProfiles(t *testing.T) {
	e := newStorageEnv(t)
	want := []string{"Array", "Block Services", "Job Control", "Replication Services", "SMI-S", "Server"}
	if maskingPresent(t, e) {
		want = []string{"Array", "Block Services", "Job Control", "Masking and Mapping", "Replication Services", "SMI-S", "Server"}
	}
	for _, ns := range []string{InteropNamespace, InteropNamespaceAlias} {
		insts, err := e.reg.Enumerate(context.Background(), ns, "CIM_RegisteredProfile")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, inst := range insts {
			if org, _ := inst.Get("RegisteredOrganization").AsUint64(); org != 11 {
				t.Errorf("%s: RegisteredOrganization %v, want 11 (SNIA)", ns, inst.Get("RegisteredOrganization"))
			}
			if v, _ := inst.Get("RegisteredVersion").AsString(); v != smisVersion {
				t.Errorf("%s: RegisteredVersion %q", ns, v)
			}
			name, _ := inst.Get("RegisteredName").AsString()
			got = append(got, name)
		}
		sort.Strings(got)
		if !equalStrings(got, want) {
			t.Errorf("%s: profiles %v, want %v (Masking and Mapping only with masking instances)", ns, got, want)
		}
	}
}

// libstoragemgmt finds the array as AssociatorNames(Array profile,
// AssocClass=CIM_ElementConformsToProfile, ResultClass=CIM_ComputerSystem)
// and takes its namespace for everything else.
func TestInteropConformance(t *testing.T) {
	e := newStorageEnv(t)
	profile := func(ns, name string) cimmodel.ObjectPath {
		return cimmodel.ObjectPath{Namespace: ns, Class: "CIM_RegisteredProfile",
			Keys: []cimmodel.KeyBinding{{Name: "InstanceID", Value: cimmodel.String(profileID(name))}}}
	}
	tests := []struct {
		profile, resultClass string
		want                 []string
	}{
		{"Array", "CIM_ComputerSystem", []string{"MSFTSM_ComputerSystem:" + testSystem}},
		{"Replication Services", "", []string{"MSISCSITARGET_ReplicationService:ReplicationService"}},
		{"Block Services", "", []string{"MSISCSITARGET_StorageConfigurationService:StorageConfigurationService"}},
		{"Server", "", []string{"CIM_ObjectManager:" + objectManagerName}},
	}
	referenced := []string{"CIM_RegisteredProfile:Block Services", "CIM_RegisteredProfile:Job Control",
		"CIM_RegisteredProfile:Replication Services"}
	if maskingPresent(t, e) {
		tests = append(tests, struct {
			profile, resultClass string
			want                 []string
		}{"Masking and Mapping", "CIM_ControllerConfigurationService", []string{"MSISCSITARGET_ControllerConfigurationService:ControllerConfigurationService"}})
		referenced = []string{"CIM_RegisteredProfile:Block Services", "CIM_RegisteredProfile:Job Control",
			"CIM_RegisteredProfile:Masking and Mapping", "CIM_RegisteredProfile:Replication Services"}
	}
	for _, ns := range interopNamespaces {
		for _, tt := range tests {
			insts, err := e.reg.Associators(context.Background(), cimmodel.AssociationFilter{Object: profile(ns, tt.profile),
				AssociationClassName: "CIM_ElementConformsToProfile", ResultClassName: tt.resultClass})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(insts); !equalStrings(got, tt.want) {
				t.Errorf("%s %s: conformant %v, want %v", ns, tt.profile, got, tt.want)
			}
			for _, inst := range insts {
				if tt.profile != "Server" && inst.Namespace != Namespace {
					t.Errorf("%s: element in namespace %q, want %q", tt.profile, inst.Namespace, Namespace)
				}
			}
		}
		refs, err := e.reg.Associators(context.Background(), cimmodel.AssociationFilter{Object: profile(ns, "Array"),
			AssociationClassName: "CIM_ReferencedProfile", ResultRole: "Antecedent"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := names(refs), referenced; !equalStrings(got, want) {
			t.Errorf("%s: Array references %v, want %v", ns, got, want)
		}
	}
}

// Every namespace the registry serves is a CIM_Namespace, and both
// protocols are communication mechanisms of the object manager.
func TestInteropObjectManager(t *testing.T) {
	e := newStorageEnv(t)
	nss, err := e.reg.Enumerate(context.Background(), InteropNamespace, "CIM_Namespace")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(nss), len(e.reg.Namespaces()); got != want || want < 3 {
		t.Errorf("%d CIM_Namespace instances, want %d (every namespace: %v)", got, want, e.reg.Namespaces())
	}
	if subs, err := e.reg.Enumerate(context.Background(), InteropNamespace, "CIM_RegisteredSubProfile"); err != nil || len(subs) != 0 {
		t.Errorf("CIM_RegisteredSubProfile: %d instances, %v; want none and no error", len(subs), err)
	}
	mechs, err := e.reg.Enumerate(context.Background(), InteropNamespaceAlias, "CIM_ObjectManagerCommunicationMechanism")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[uint64]bool{}
	for _, m := range mechs {
		k, _ := m.Get("CommunicationMechanism").AsUint64()
		kinds[k] = true
		if err := m.Check(); err != nil {
			t.Error(err)
		}
	}
	if !kinds[2] || !kinds[4] || len(mechs) != 2 {
		t.Errorf("communication mechanisms %v, want CIM-XML (2) and WS-Management (4)", kinds)
	}
}

// maskingPresent reports whether the masking classes serve a
// CIM_ControllerConfigurationService, which makes Masking and Mapping a
// registered profile.
func maskingPresent(t *testing.T, e *storageEnv) bool {
	t.Helper()
	if _, ok := e.reg.Class(Namespace, "CIM_ControllerConfigurationService"); !ok {
		return false
	}
	insts, err := e.reg.Enumerate(context.Background(), Namespace, "CIM_ControllerConfigurationService")
	if err != nil {
		t.Fatal(err)
	}
	return len(insts) > 0
}
