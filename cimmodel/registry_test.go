package cimmodel_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/replicad/replicad/cimmodel"
)

func paths(insts []*cimmodel.Instance) string {
	var ps []string
	for _, i := range insts {
		ps = append(ps, i.Path().String())
	}
	sort.Strings(ps)
	return strings.Join(ps, " ")
}

func volPath(id string) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_StorageVolume", Keys: []cimmodel.KeyBinding{
		{Name: "SystemName", Value: cimmodel.String("host")}, {Name: "DeviceID", Value: cimmodel.String(id)}}}
}

func TestRegisterErrors(t *testing.T) {
	tests := []struct {
		name  string
		class *cimmodel.Class
	}{
		{"no name", &cimmodel.Class{Namespace: testNS}},
		{"no namespace", &cimmodel.Class{Name: "X_A"}},
		{"bad name", &cimmodel.Class{Name: "X A", Namespace: testNS}},
		{"superclass missing", &cimmodel.Class{Name: "X_B", Superclass: "X_Nope", Namespace: testNS}},
		{"superclass in another namespace", &cimmodel.Class{Name: "X_B", Superclass: "X_Base", Namespace: "root/other"}},
		{"duplicate (case-insensitive)", &cimmodel.Class{Name: "x_base", Namespace: "ROOT/TEST"}},
		{"property without type", &cimmodel.Class{Name: "X_C", Namespace: testNS, Properties: []cimmodel.Property{{Name: "P"}}}},
		{"property repeated", &cimmodel.Class{Name: "X_C", Namespace: testNS, Properties: []cimmodel.Property{
			{Name: "P", Type: cimmodel.TypeString}, {Name: "p", Type: cimmodel.TypeString}}}},
		{"override changes type", &cimmodel.Class{Name: "X_C", Superclass: "X_Base", Namespace: testNS, Properties: []cimmodel.Property{
			{Name: "Size", Type: cimmodel.TypeString}}}},
		{"reference array property", &cimmodel.Class{Name: "X_C", Namespace: testNS, Properties: []cimmodel.Property{
			{Name: "R", Type: cimmodel.TypeReference, Array: true}}}},
		{"parameter repeated", &cimmodel.Class{Name: "X_C", Namespace: testNS, Methods: []*cimmodel.Method{{Name: "M",
			Params: []cimmodel.Parameter{{Name: "A", Type: cimmodel.TypeUint8}, {Name: "a", Type: cimmodel.TypeUint8}}}}}},
		{"parameter named ReturnValue", &cimmodel.Class{Name: "X_C", Namespace: testNS, Methods: []*cimmodel.Method{{Name: "M",
			Params: []cimmodel.Parameter{{Name: "ReturnValue", Type: cimmodel.TypeUint8}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := cimmodel.NewRegistry()
			base := &cimmodel.Class{Name: "X_Base", Namespace: testNS, Properties: []cimmodel.Property{{Name: "Size", Type: cimmodel.TypeUint64}}}
			if err := reg.Register(base); err != nil {
				t.Fatal(err)
			}
			if err := reg.Register(tt.class); err == nil {
				t.Errorf("Register: got nil error, want one")
			}
		})
	}
	t.Run("same class in two registries", func(t *testing.T) {
		c := &cimmodel.Class{Name: "X_A", Namespace: testNS}
		if err := cimmodel.NewRegistry().Register(c); err != nil {
			t.Fatal(err)
		}
		if err := cimmodel.NewRegistry().Register(c); err == nil {
			t.Errorf("second Register: got nil error, want one")
		}
	})
}

func TestEffectiveProperties(t *testing.T) {
	w := newWorld(t)
	props := w.reg.Properties(w.volume)
	var names []string
	for _, p := range props {
		names = append(names, p.Name)
	}
	want := "Caption,Description,ElementName,SystemName,DeviceID,BlockSize,NumberOfBlocks,OperationalStatus,Path"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("properties: got %s, want %s", got, want)
	}
	for _, p := range props {
		if p.Name == "ElementName" && !p.Write {
			t.Errorf("ElementName: override lost, got Write=false, want true")
		}
	}
	for _, p := range w.reg.Properties(w.other) {
		if p.Name == "ElementName" && p.Write {
			t.Errorf("TEST_OtherVolume.ElementName: got Write=true, want the parent's read-only declaration")
		}
	}
	tests := []struct {
		class    *cimmodel.Class
		ancestor string
		want     bool
	}{
		{w.volume, "CIM_StorageVolume", true},
		{w.volume, "cim_managedelement", true},
		{w.volume, "TEST_StorageVolume", true},
		{w.volume, "TEST_OtherVolume", false},
		{w.storage, "TEST_StorageVolume", false},
		{w.alloc, "CIM_Dependency", true},
	}
	for _, tt := range tests {
		if got := w.reg.IsA(tt.class, tt.ancestor); got != tt.want {
			t.Errorf("IsA(%s, %s): got %v, want %v", tt.class.Name, tt.ancestor, got, tt.want)
		}
	}
	if got := w.reg.Namespaces(); len(got) != 1 || got[0] != testNS {
		t.Errorf("Namespaces: got %q, want [%s]", got, testNS)
	}
	if c, ok := w.reg.Class("Root/Test", "test_storagevolume"); !ok || c != w.volume {
		t.Errorf("Class: got %v, %v; want TEST_StorageVolume", c, ok)
	}
	if m, ok := w.reg.Method(w.subService, "CreateReplica"); !ok || m.Name != "CreateReplica" {
		t.Errorf("inherited method: got %v, %v", m, ok)
	}
}

func TestEnumerate(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tests := []struct {
		ns, class string
		want      string
		status    cimmodel.Status
	}{
		{testNS, "TEST_StorageVolume", `root/test:test_storagevolume.deviceid="v1",systemname="host" root/test:test_storagevolume.deviceid="v2",systemname="host"`, 0},
		{testNS, "CIM_StorageVolume", `root/test:test_othervolume.deviceid="o1",systemname="host" root/test:test_storagevolume.deviceid="v1",systemname="host" root/test:test_storagevolume.deviceid="v2",systemname="host"`, 0},
		{testNS, "CIM_LogicalElement", `root/test:test_othervolume.deviceid="o1",systemname="host" root/test:test_pool.instanceid="pool:A" root/test:test_pool.instanceid="pool:B" root/test:test_storagevolume.deviceid="v1",systemname="host" root/test:test_storagevolume.deviceid="v2",systemname="host"`, 0},
		{"", "TEST_Pool", `root/test:test_pool.instanceid="pool:A" root/test:test_pool.instanceid="pool:B"`, 0},
		{testNS, "TEST_Service", ``, 0},
		{testNS, "TEST_Nope", ``, cimmodel.StatusInvalidClass},
		{"root/nope", "TEST_Pool", ``, cimmodel.StatusInvalidNamespace},
	}
	for _, tt := range tests {
		t.Run(tt.ns+":"+tt.class, func(t *testing.T) {
			got, err := w.reg.Enumerate(ctx, tt.ns, tt.class)
			if s := cimmodel.StatusOf(err); s != tt.status {
				t.Fatalf("status: got %v (%v), want %v", s, err, tt.status)
			}
			if p := paths(got); p != tt.want {
				t.Errorf("got %s\nwant %s", p, tt.want)
			}
		})
	}
}

func TestGet(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	viaParent := volPath("v2")
	viaParent.Class = "CIM_StorageVolume"
	other := volPath("o1")
	other.Class = "cim_storagevolume"
	tests := []struct {
		name   string
		path   cimmodel.ObjectPath
		want   string
		status cimmodel.Status
	}{
		{"own class", volPath("v1"), `root/test:test_storagevolume.deviceid="v1",systemname="host"`, 0},
		{"via parent class", viaParent, `root/test:test_storagevolume.deviceid="v2",systemname="host"`, 0},
		{"via parent, second subclass", other, `root/test:test_othervolume.deviceid="o1",systemname="host"`, 0},
		{"absent", volPath("v9"), "", cimmodel.StatusNotFound},
		{"missing key", cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_StorageVolume", Keys: volPath("v1").Keys[:1]}, "", cimmodel.StatusInvalidParameter},
		{"unknown key", cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Pool", Keys: []cimmodel.KeyBinding{
			{Name: "InstanceID", Value: cimmodel.String("pool:A")}, {Name: "Extra", Value: cimmodel.String("x")}}}, "", cimmodel.StatusInvalidParameter},
		{"non-key property as key", cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Pool", Keys: []cimmodel.KeyBinding{
			{Name: "TotalManagedSpace", Value: cimmodel.String("1")}}}, "", cimmodel.StatusInvalidParameter},
		{"case-insensitive key names", cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Pool", Keys: []cimmodel.KeyBinding{
			{Name: "instanceid", Value: cimmodel.String("pool:B")}}}, `root/test:test_pool.instanceid="pool:B"`, 0},
		{"key values are case-sensitive", cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Pool", Keys: []cimmodel.KeyBinding{
			{Name: "InstanceID", Value: cimmodel.String("POOL:B")}}}, "", cimmodel.StatusNotFound},
		{"unknown class", cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Nope"}, "", cimmodel.StatusInvalidClass},
		{"association by reference keys", w.syncs.insts[0].Path(), w.syncs.insts[0].Path().String(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := w.reg.Get(ctx, tt.path)
			if s := cimmodel.StatusOf(err); s != tt.status {
				t.Fatalf("status: got %v (%v), want %v", s, err, tt.status)
			}
			if err == nil && got.Path().String() != tt.want {
				t.Errorf("got %s, want %s", got.Path(), tt.want)
			}
		})
	}
}

// TestGetConvertsSelectorKeys checks that string keys from selectors are
// converted to the declared key types before the provider sees them.
func TestGetConvertsSelectorKeys(t *testing.T) {
	reg := cimmodel.NewRegistry()
	p := &memProvider{}
	c := &cimmodel.Class{Name: "X_Numbered", Namespace: testNS, Provider: p, Properties: []cimmodel.Property{
		{Name: "N", Type: cimmodel.TypeUint32, Key: true}, {Name: "On", Type: cimmodel.TypeBoolean, Key: true}}}
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	p.insts = []*cimmodel.Instance{cimmodel.NewInstance(c).Set("N", cimmodel.Uint32(42)).Set("On", cimmodel.Bool(true))}
	path, err := cimmodel.PathFromSelectors(testNS, "X_Numbered", nil)
	if err != nil {
		t.Fatal(err)
	}
	path.Keys = []cimmodel.KeyBinding{{Name: "N", Value: cimmodel.String("42")}, {Name: "On", Value: cimmodel.String("true")}}
	norm, err := reg.NormalizePath(c, path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := norm.Key("N"); v.Type != cimmodel.TypeUint32 || v.V != uint32(42) {
		t.Errorf("N: got %#v, want uint32 42", v)
	}
	if _, err := reg.Get(context.Background(), path); err != nil {
		t.Errorf("Get: %v", err)
	}
	path.Keys[0].Value = cimmodel.String("forty-two")
	if _, err := reg.Get(context.Background(), path); cimmodel.StatusOf(err) != cimmodel.StatusInvalidParameter {
		t.Errorf("Get with a bad key: got %v, want StatusInvalidParameter", err)
	}
}

// TestNormalizePathKeyErrors: a key the class does not have and a key the
// path lacks are StatusInvalidParameter wrapping a *KeyError that names the
// key and says which (wsman's selector faults come from it); a key value
// that does not parse is no KeyError.
func TestNormalizePathKeyErrors(t *testing.T) {
	reg := cimmodel.NewRegistry()
	c := &cimmodel.Class{Name: "X_Keyed", Namespace: testNS, Properties: []cimmodel.Property{
		{Name: "N", Type: cimmodel.TypeUint32, Key: true}, {Name: "M", Type: cimmodel.TypeString, Key: true},
		{Name: "Other", Type: cimmodel.TypeString}}}
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	path := func(keys ...cimmodel.KeyBinding) cimmodel.ObjectPath {
		return cimmodel.ObjectPath{Namespace: testNS, Class: "X_Keyed", Keys: keys}
	}
	n, m := cimmodel.KeyBinding{Name: "n", Value: cimmodel.String("1")}, cimmodel.KeyBinding{Name: "M", Value: cimmodel.String("x")}
	for _, tt := range []struct {
		name string
		path cimmodel.ObjectPath
		want *cimmodel.KeyError
	}{
		{"unknown", path(n, m, cimmodel.KeyBinding{Name: "Other", Value: cimmodel.String("y")}),
			&cimmodel.KeyError{Class: "X_Keyed", Key: "Other", Kind: cimmodel.KeyUnknown}},
		{"missing", path(n), &cimmodel.KeyError{Class: "X_Keyed", Key: "M", Kind: cimmodel.KeyMissing}},
		{"bad value", path(cimmodel.KeyBinding{Name: "N", Value: cimmodel.String("one")}, m), nil},
		{"good", path(n, m), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reg.NormalizePath(c, tt.path)
			var ke *cimmodel.KeyError
			if got := errors.As(err, &ke); got != (tt.want != nil) {
				t.Fatalf("NormalizePath: %v, want a KeyError %v", err, tt.want)
			}
			if tt.want != nil && (*ke != *tt.want || cimmodel.StatusOf(err) != cimmodel.StatusInvalidParameter) {
				t.Errorf("NormalizePath: %+v (%v), want %+v with StatusInvalidParameter", ke, err, tt.want)
			}
			if tt.name == "bad value" && cimmodel.StatusOf(err) != cimmodel.StatusInvalidParameter {
				t.Errorf("bad key value: %v, want StatusInvalidParameter", err)
			}
		})
	}
}

func TestModifyDeleteCreate(t *testing.T) {
	ctx := context.Background()
	t.Run("writable property changes", func(t *testing.T) {
		w := newWorld(t)
		changes := cimmodel.NewInstance(w.volume).Set("ElementName", cimmodel.String("renamed")).
			Set("BlockSize", cimmodel.Uint64(512)) // unchanged read-only value is fine
		got, err := w.reg.Modify(ctx, volPath("v1"), changes)
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := got.Get("ElementName").AsString(); s != "renamed" {
			t.Errorf("ElementName: got %q, want renamed", s)
		}
		again, _ := w.reg.Get(ctx, volPath("v1"))
		if s, _ := again.Get("ElementName").AsString(); s != "renamed" {
			t.Errorf("after Get: got %q, want renamed", s)
		}
	})
	tests := []struct {
		name    string
		path    func(w *world) cimmodel.ObjectPath
		changes func(w *world) *cimmodel.Instance
		status  cimmodel.Status
	}{
		{"read-only property", func(*world) cimmodel.ObjectPath { return volPath("v1") },
			func(w *world) *cimmodel.Instance {
				return cimmodel.NewInstance(w.volume).Set("BlockSize", cimmodel.Uint64(4096))
			}, cimmodel.StatusInvalidParameter},
		{"unknown property", func(*world) cimmodel.ObjectPath { return volPath("v1") },
			func(w *world) *cimmodel.Instance {
				return &cimmodel.Instance{Class: w.volume, Values: map[string]cimmodel.Value{"Nope": cimmodel.String("x")}}
			}, cimmodel.StatusNoSuchProperty},
		{"wrong type", func(*world) cimmodel.ObjectPath { return volPath("v1") },
			func(w *world) *cimmodel.Instance {
				return cimmodel.NewInstance(w.volume).Set("ElementName", cimmodel.Uint8(1))
			}, cimmodel.StatusTypeMismatch},
		{"absent instance", func(*world) cimmodel.ObjectPath { return volPath("v9") },
			func(w *world) *cimmodel.Instance { return cimmodel.NewInstance(w.volume) }, cimmodel.StatusNotFound},
		{"provider cannot modify", func(*world) cimmodel.ObjectPath {
			return cimmodel.ObjectPath{Namespace: testNS, Class: "X_RO", Keys: []cimmodel.KeyBinding{{Name: "ID", Value: cimmodel.String("1")}}}
		}, func(w *world) *cimmodel.Instance { return &cimmodel.Instance{Values: map[string]cimmodel.Value{}} }, cimmodel.StatusNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			addReadOnly(t, w)
			_, err := w.reg.Modify(ctx, tt.path(w), tt.changes(w))
			if s := cimmodel.StatusOf(err); s != tt.status {
				t.Errorf("status: got %v (%v), want %v", s, err, tt.status)
			}
		})
	}
	t.Run("delete", func(t *testing.T) {
		w := newWorld(t)
		addReadOnly(t, w)
		if err := w.reg.Delete(ctx, cimmodel.ObjectPath{Namespace: testNS, Class: "CIM_StorageVolume", Keys: volPath("v2").Keys}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.reg.Get(ctx, volPath("v2")); cimmodel.StatusOf(err) != cimmodel.StatusNotFound {
			t.Errorf("Get after Delete: got %v, want StatusNotFound", err)
		}
		if err := w.reg.Delete(ctx, volPath("v2")); cimmodel.StatusOf(err) != cimmodel.StatusNotFound {
			t.Errorf("second Delete: got %v, want StatusNotFound", err)
		}
		ro := cimmodel.ObjectPath{Namespace: testNS, Class: "X_RO", Keys: []cimmodel.KeyBinding{{Name: "ID", Value: cimmodel.String("1")}}}
		if err := w.reg.Delete(ctx, ro); cimmodel.StatusOf(err) != cimmodel.StatusNotSupported {
			t.Errorf("Delete read-only: got %v, want StatusNotSupported", err)
		}
	})
	t.Run("create", func(t *testing.T) {
		w := newWorld(t)
		inst := w.newVolume("v3", "third")
		p, err := w.reg.Create(ctx, inst)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Equal(volPath("v3")) {
			t.Errorf("path: got %s, want %s", p, volPath("v3"))
		}
		if _, err := w.reg.Create(ctx, inst); cimmodel.StatusOf(err) != cimmodel.StatusAlreadyExists {
			t.Errorf("second Create: got %v, want StatusAlreadyExists", err)
		}
		bad := w.newVolume("v4", "x").Set("Nope", cimmodel.String("x"))
		if _, err := w.reg.Create(ctx, bad); cimmodel.StatusOf(err) != cimmodel.StatusNoSuchProperty {
			t.Errorf("Create with unknown property: got %v, want StatusNoSuchProperty", err)
		}
	})
}

func addReadOnly(t *testing.T, w *world) {
	t.Helper()
	c := &cimmodel.Class{Name: "X_RO", Namespace: testNS, Properties: []cimmodel.Property{{Name: "ID", Type: cimmodel.TypeString, Key: true}}}
	w.ro = &readOnlyProvider{}
	c.Provider = w.ro
	if err := w.reg.Register(c); err != nil {
		t.Fatal(err)
	}
	w.ro.insts = []*cimmodel.Instance{cimmodel.NewInstance(c).Set("ID", cimmodel.String("1"))}
}

func TestAssociations(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	poolA := w.pools.insts[0].Path()
	v1 := volPath("v1")
	v1AsParent := v1
	v1AsParent.Class = "CIM_StorageVolume"
	tests := []struct {
		name   string
		filter cimmodel.AssociationFilter
		want   string
		status cimmodel.Status
	}{
		{"associators of a pool", cimmodel.AssociationFilter{Object: poolA},
			`root/test:test_othervolume.deviceid="o1",systemname="host" root/test:test_storagevolume.deviceid="v1",systemname="host"`, 0},
		{"ResultClassName narrows", cimmodel.AssociationFilter{Object: poolA, ResultClassName: "TEST_StorageVolume"},
			`root/test:test_storagevolume.deviceid="v1",systemname="host"`, 0},
		{"ResultClassName ancestor", cimmodel.AssociationFilter{Object: poolA, ResultClassName: "CIM_StorageVolume"},
			`root/test:test_othervolume.deviceid="o1",systemname="host" root/test:test_storagevolume.deviceid="v1",systemname="host"`, 0},
		{"associators of a volume across two associations", cimmodel.AssociationFilter{Object: v1},
			`root/test:test_pool.instanceid="pool:A" root/test:test_storagevolume.deviceid="v2",systemname="host"`, 0},
		{"object named by its parent class", cimmodel.AssociationFilter{Object: v1AsParent},
			`root/test:test_pool.instanceid="pool:A" root/test:test_storagevolume.deviceid="v2",systemname="host"`, 0},
		{"AssociationClassName", cimmodel.AssociationFilter{Object: v1, AssociationClassName: "CIM_Dependency"},
			`root/test:test_pool.instanceid="pool:A"`, 0},
		{"Role", cimmodel.AssociationFilter{Object: v1, Role: "SystemElement"},
			`root/test:test_storagevolume.deviceid="v2",systemname="host"`, 0},
		{"Role that does not hold the object", cimmodel.AssociationFilter{Object: v1, Role: "SyncedElement"}, ``, 0},
		{"ResultRole", cimmodel.AssociationFilter{Object: v1, ResultRole: "antecedent"},
			`root/test:test_pool.instanceid="pool:A"`, 0},
		{"references of a volume", cimmodel.AssociationFilter{Object: v1, Instances: true},
			w.allocs.insts[0].Path().String() + " " + w.syncs.insts[0].Path().String(), 0},
		{"references with ResultClassName", cimmodel.AssociationFilter{Object: v1, Instances: true, ResultClassName: "TEST_Synced"},
			w.syncs.insts[0].Path().String(), 0},
		{"references with Role", cimmodel.AssociationFilter{Object: poolA, Instances: true, Role: "Antecedent"},
			sortedPaths(w.allocs.insts[0], w.allocs.insts[1]), 0},
		{"references with wrong Role", cimmodel.AssociationFilter{Object: poolA, Instances: true, Role: "Dependent"}, ``, 0},
		{"object with bad keys", cimmodel.AssociationFilter{Object: cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Pool"}}, ``, cimmodel.StatusInvalidParameter},
		{"object of unknown class", cimmodel.AssociationFilter{Object: cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Nope"}}, ``, cimmodel.StatusInvalidClass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []*cimmodel.Instance
			var err error
			if tt.filter.Instances {
				got, err = w.reg.References(ctx, tt.filter)
			} else {
				got, err = w.reg.Associators(ctx, tt.filter)
			}
			if s := cimmodel.StatusOf(err); s != tt.status {
				t.Fatalf("status: got %v (%v), want %v", s, err, tt.status)
			}
			if p := paths(got); p != tt.want {
				t.Errorf("got  %s\nwant %s", p, tt.want)
			}
		})
	}
}

func sortedPaths(insts ...*cimmodel.Instance) string { return paths(insts) }

func TestParseAssociationFilter(t *testing.T) {
	raw := `<w:Filter xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:b="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd" Dialect="http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter">`
	obj := `<b:Object><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/wmi/root/test/TEST_Pool</w:ResourceURI><w:SelectorSet><w:Selector Name="InstanceID">pool:A</w:Selector></w:SelectorSet></a:ReferenceParameters></b:Object>`
	tests := []struct {
		name string
		xml  string
		want cimmodel.AssociationFilter
		ok   bool
	}{
		{"associated with every field", raw + `<b:AssociatedInstances>` + obj + `<b:AssociationClassName>TEST_AllocatedFromPool</b:AssociationClassName><b:ResultClassName>CIM_StorageVolume</b:ResultClassName><b:Role>Antecedent</b:Role><b:ResultRole>Dependent</b:ResultRole></b:AssociatedInstances></w:Filter>`,
			cimmodel.AssociationFilter{Object: cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Pool", Keys: []cimmodel.KeyBinding{{Name: "InstanceID", Value: cimmodel.String("pool:A")}}},
				AssociationClassName: "TEST_AllocatedFromPool", ResultClassName: "CIM_StorageVolume", Role: "Antecedent", ResultRole: "Dependent"}, true},
		{"association instances", raw + `<b:AssociationInstances>` + obj + `<b:ResultClassName>TEST_Synced</b:ResultClassName></b:AssociationInstances></w:Filter>`,
			cimmodel.AssociationFilter{Object: cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Pool", Keys: []cimmodel.KeyBinding{{Name: "InstanceID", Value: cimmodel.String("pool:A")}}},
				ResultClassName: "TEST_Synced", Instances: true}, true},
		{"no object", raw + `<b:AssociatedInstances/></w:Filter>`, cimmodel.AssociationFilter{}, false},
		{"other dialect", strings.Replace(raw, "cimbinding/associationFilter", "XPath", 1) + `<b:AssociatedInstances>` + obj + `</b:AssociatedInstances></w:Filter>`, cimmodel.AssociationFilter{}, false},
		{"unknown element", raw + `<b:AssociatedInstances>` + obj + `<b:Nope/></b:AssociatedInstances></w:Filter>`, cimmodel.AssociationFilter{}, false},
		{"no body", raw + `</w:Filter>`, cimmodel.AssociationFilter{}, false},
		{"object not an EPR", raw + `<b:AssociatedInstances><b:Object>pool</b:Object></b:AssociatedInstances></w:Filter>`, cimmodel.AssociationFilter{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cimmodel.ParseAssociationFilter(readXML(t, tt.xml))
			if (err == nil) != tt.ok {
				t.Fatalf("error: got %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				if s := cimmodel.StatusOf(err); s != cimmodel.StatusInvalidQuery {
					t.Errorf("status: got %v, want %v", s, cimmodel.StatusInvalidQuery)
				}
				return
			}
			if !got.Object.Equal(tt.want.Object) || got.AssociationClassName != tt.want.AssociationClassName ||
				got.ResultClassName != tt.want.ResultClassName || got.Role != tt.want.Role || got.ResultRole != tt.want.ResultRole ||
				got.Instances != tt.want.Instances {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("PowerShell filter", func(t *testing.T) {
		raw, err := readFile("testdata/windows/powershell-association-filter.xml")
		if err != nil {
			t.Fatal(err)
		}
		got, err := cimmodel.ParseAssociationFilter(readXML(t, raw))
		if err != nil {
			t.Fatal(err)
		}
		if got.Object.Namespace != "root/cimv2" || got.Object.Class != "Win32_LogicalDisk" || got.AssociationClassName != "Win32_LogicalDiskToPartition" ||
			got.ResultClassName != "Win32_DiskPartition" || got.Instances {
			t.Errorf("got %+v", got)
		}
	})
}

func TestCheckAndCreateRules(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name   string
		inst   *cimmodel.Instance
		status cimmodel.Status
	}{
		{"valid", w.newVolume("v5", "x"), 0},
		{"MaxLen exceeded", w.newVolume("v5", "x").Set("Caption", cimmodel.String(strings.Repeat("é", 65))), cimmodel.StatusInvalidParameter},
		{"MaxLen reached", w.newVolume("v5", "x").Set("Caption", cimmodel.String(strings.Repeat("é", 64))), 0},
		{"outside ValueMap", cimmodel.NewInstance(w.synced).Set("CopyState", cimmodel.Uint16(3)), cimmodel.StatusInvalidParameter},
		{"wrong Go type", &cimmodel.Instance{Class: w.volume, Values: map[string]cimmodel.Value{"BlockSize": {Type: cimmodel.TypeUint64, V: 5}}}, cimmodel.StatusTypeMismatch},
		{"array for scalar", w.newVolume("v5", "x").Set("BlockSize", cimmodel.Uint64s([]uint64{1})), cimmodel.StatusTypeMismatch},
		{"misspelt name", &cimmodel.Instance{Class: w.volume, Values: map[string]cimmodel.Value{"blocksize": cimmodel.Uint64(1)}}, cimmodel.StatusNoSuchProperty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s := cimmodel.StatusOf(tt.inst.Check()); s != tt.status {
				t.Errorf("Check: got %v, want %v", s, tt.status)
			}
		})
	}
	t.Run("Create needs keys", func(t *testing.T) {
		inst := cimmodel.NewInstance(w.volume).Set("DeviceID", cimmodel.String("v6"))
		if _, err := w.reg.Create(context.Background(), inst); cimmodel.StatusOf(err) != cimmodel.StatusInvalidParameter {
			t.Errorf("Create without SystemName: got %v, want StatusInvalidParameter", err)
		}
	})
	t.Run("Modify checks MaxLen of writable properties", func(t *testing.T) {
		reg := cimmodel.NewRegistry()
		p := &memProvider{}
		c := &cimmodel.Class{Name: "X_Named", Namespace: testNS, Provider: p, Properties: []cimmodel.Property{
			{Name: "ID", Type: cimmodel.TypeString, Key: true},
			{Name: "Name", Type: cimmodel.TypeString, Write: true, MaxLen: 3},
			{Name: "Level", Type: cimmodel.TypeUint16, Write: true, ValueMap: []string{"0..2"}, Values: []string{"Levels"}}}}
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
		p.insts = []*cimmodel.Instance{cimmodel.NewInstance(c).Set("ID", cimmodel.String("1"))}
		path := p.insts[0].Path()
		for _, ch := range []*cimmodel.Instance{
			cimmodel.NewInstance(c).Set("Name", cimmodel.String("four")),
			cimmodel.NewInstance(c).Set("Level", cimmodel.Uint16(3)),
		} {
			if _, err := reg.Modify(context.Background(), path, ch); cimmodel.StatusOf(err) != cimmodel.StatusInvalidParameter {
				t.Errorf("Modify %v: got %v, want StatusInvalidParameter", ch.Values, err)
			}
		}
		if _, err := reg.Modify(context.Background(), path, cimmodel.NewInstance(c).Set("Name", cimmodel.String("abc")).Set("Level", cimmodel.Uint16(2))); err != nil {
			t.Errorf("valid Modify: %v", err)
		}
	})
}
