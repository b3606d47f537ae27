package provider

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/volumes"
)

func TestStorageVolumeProperties(t *testing.T) {
	e := newStorageEnv(t)
	v := e.createVolume(volumes.DefaultPool, "v1", 3*mib)
	insts, err := e.reg.Enumerate(context.Background(), Namespace, "CIM_StorageVolume")
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 1 {
		t.Fatalf("enumerating CIM_StorageVolume gave %d instances, want 1", len(insts))
	}
	inst := insts[0]
	if err := inst.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	if inst.Class.Name != storageVolumeClassName {
		t.Errorf("class = %s, want %s", inst.Class.Name, storageVolumeClassName)
	}
	if !inst.Path().Equal(e.p.volumePath(v.ID)) {
		t.Errorf("path = %s, want %s", inst.Path(), e.p.volumePath(v.ID))
	}
	tests := []struct {
		prop string
		want cimmodel.Value
	}{
		{"SystemCreationClassName", cimmodel.String(systemClassName)},
		{"SystemName", cimmodel.String(testSystem)},
		{"CreationClassName", cimmodel.String(storageVolumeClassName)},
		{"DeviceID", cimmodel.String(string(v.ID))},
		{"ElementName", cimmodel.String("v1")},
		{"Name", cimmodel.String(string(v.ID))},
		{"BlockSize", cimmodel.Uint64(512)},
		{"NumberOfBlocks", cimmodel.Uint64(3 * mib / 512)},
		{"ConsumableBlocks", cimmodel.Uint64(3 * mib / 512)},
		{"OperationalStatus", cimmodel.Uint16s([]uint16{2})},
		{"MSDevicePath", cimmodel.String(v.Path())},
		{"Primordial", cimmodel.Bool(false)},
		{"DataOrganization", cimmodel.Uint16(2)},
		{"Access", cimmodel.Uint16(3)},
		{"EnabledState", cimmodel.Uint16(5)},
		{"RequestedState", cimmodel.Uint16(12)},
		{"ThinlyProvisioned", cimmodel.Bool(true)},
		{"Usage", cimmodel.Uint16(2)},
		{"CanDelete", cimmodel.Bool(true)},
	}
	for _, tt := range tests {
		t.Run(tt.prop, func(t *testing.T) {
			if got := inst.Get(tt.prop); !got.Equal(tt.want) {
				t.Errorf("%s = %v, want %v", tt.prop, got, tt.want)
			}
		})
	}
}

// TestStorageVolumeUsageFromRelationships: Usage and CanDelete come from
// replica's synchronization records; labels (an "origin", a stale
// "replica.target") mean nothing.
func TestStorageVolumeUsageFromRelationships(t *testing.T) {
	e := newStorageEnv(t)
	a := e.createVolume(volumes.DefaultPool, "a", mib)
	b := e.createVolume(volumes.DefaultPool, "b", mib)
	c := e.createVolume(volumes.DefaultPool, "c", mib)
	d, err := e.p.volumes.CreateWithLabels(context.Background(), volumes.DefaultPool, "d", mib,
		map[string]string{"origin": "replica of a", "replica.target": "x", "replica.source": "1"})
	if err != nil {
		t.Fatal(err)
	}
	e.pair(a, b)
	e.pair(b, c)
	tests := []struct {
		vol       *volumes.Volume
		wantUsage uint16
	}{
		{a, 6},  // source
		{b, 10}, // target of a, source of c
		{c, 8},  // target
		{d, 2},  // labels only
	}
	insts, err := e.reg.Enumerate(context.Background(), Namespace, storageVolumeClassName)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.vol.Name, func(t *testing.T) {
			got, err := e.reg.Get(context.Background(), e.p.volumePath(tt.vol.ID))
			if err != nil {
				t.Fatal(err)
			}
			var listed *cimmodel.Instance
			for _, inst := range insts {
				if stringOf(inst, "ElementName") == tt.vol.Name {
					listed = inst
				}
			}
			for how, inst := range map[string]*cimmodel.Instance{"Get": got, "Enumerate": listed} {
				if inst == nil {
					t.Fatalf("%s: no instance", how)
				}
				if u := inst.Get("Usage"); !u.Equal(cimmodel.Uint16(tt.wantUsage)) {
					t.Errorf("%s: Usage = %v, want %d", how, u, tt.wantUsage)
				}
				if cd, want := inst.Get("CanDelete"), cimmodel.Bool(tt.wantUsage == 2); !cd.Equal(want) {
					t.Errorf("%s: CanDelete = %v, want %v", how, cd, want)
				}
			}
		})
	}
}

func TestStorageVolumeGet(t *testing.T) {
	e := newStorageEnv(t)
	v := e.createVolume(volumes.DefaultPool, "v1", mib)
	path := e.p.volumePath(v.ID)
	with := func(name, value string) cimmodel.ObjectPath {
		q := path
		q.Keys = append([]cimmodel.KeyBinding(nil), path.Keys...)
		for i := range q.Keys {
			if q.Keys[i].Name == name {
				q.Keys[i].Value = cimmodel.String(value)
			}
		}
		return q
	}
	parent := path
	parent.Class = "CIM_StorageVolume"
	tests := []struct {
		name string
		path cimmodel.ObjectPath
		want cimmodel.Status
	}{
		{"by its keys", path, 0},
		{"through the DMTF parent class", parent, 0},
		{"another system", with("SystemName", "otherhost"), cimmodel.StatusNotFound},
		{"another device", with("DeviceID", "00000000-0000-0000-0000-000000000000"), cimmodel.StatusNotFound},
		{"another creation class", with("CreationClassName", "CIM_StorageVolume"), cimmodel.StatusNotFound},
		{"a key missing", cimmodel.ObjectPath{Namespace: Namespace, Class: storageVolumeClassName, Keys: path.Keys[1:]}, cimmodel.StatusInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, err := e.reg.Get(context.Background(), tt.path)
			if got := cimmodel.StatusOf(err); got != tt.want {
				t.Fatalf("status = %v (%v), want %v", got, err, tt.want)
			}
			if tt.want == 0 && stringOf(inst, "DeviceID") != string(v.ID) {
				t.Errorf("DeviceID = %q, want %q", stringOf(inst, "DeviceID"), v.ID)
			}
		})
	}
}

func TestStorageVolumeMissingFile(t *testing.T) {
	e := newStorageEnv(t)
	v := e.createVolume(volumes.DefaultPool, "v1", mib)
	if err := os.Remove(v.Path()); err != nil {
		t.Fatal(err)
	}
	inst, err := e.reg.Get(context.Background(), e.p.volumePath(v.ID))
	if err != nil {
		t.Fatalf("Get of a volume whose file is gone: %v, want the instance", err)
	}
	if got, want := inst.Get("OperationalStatus"), cimmodel.Uint16s([]uint16{13}); !got.Equal(want) {
		t.Errorf("OperationalStatus = %v, want %v", got, want)
	}
	if err := inst.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// TestStorageVolumeValuesDeclared checks the values of volume instances
// (one whose file is there, one whose file is missing) as volumeProvider
// builds them from its template: each under its property's declared name
// (the encoder's fast path looks them up so), none left NULL, and each
// instance's values its own (a change to one is not seen in the next).
func TestStorageVolumeValuesDeclared(t *testing.T) {
	e := newStorageEnv(t)
	e.createVolume(volumes.DefaultPool, "v1", mib)
	gone := e.createVolume(volumes.DefaultPool, "v2", mib)
	if err := os.Remove(gone.Path()); err != nil {
		t.Fatal(err)
	}
	enumerate := func() []*cimmodel.Instance {
		insts, err := e.reg.Enumerate(context.Background(), Namespace, storageVolumeClassName)
		if err != nil || len(insts) != 2 {
			t.Fatalf("Enumerate: %d instances, %v; want 2", len(insts), err)
		}
		return insts
	}
	insts := enumerate()
	declared := map[string]bool{}
	for _, p := range e.reg.Properties(insts[0].Class) {
		declared[p.Name] = true
	}
	for _, inst := range insts {
		id := stringOf(inst, "DeviceID")
		for name, v := range inst.Values {
			if !declared[name] {
				t.Errorf("volume %s: value under %q, which is no declared property name", id, name)
			}
			if v.IsNull() {
				t.Errorf("volume %s: %s is NULL", id, name)
			}
		}
		if want := 23; id == string(gone.ID) {
			if want = 24; len(inst.Values) != want {
				t.Errorf("missing volume %s: %d values, want %d", id, len(inst.Values), want)
			}
		} else if len(inst.Values) != want {
			t.Errorf("volume %s: %d values, want %d", id, len(inst.Values), want)
		}
	}
	insts[0].Set("ElementName", cimmodel.String("changed"))
	insts[0].Values["Access"] = cimmodel.Uint16(1)
	for _, inst := range enumerate() {
		if got := stringOf(inst, "ElementName"); got == "changed" {
			t.Errorf("volume %s: ElementName %q, changed in an earlier instance", stringOf(inst, "DeviceID"), got)
		}
		if got := inst.Get("Access"); !got.Equal(cimmodel.Uint16(accessReadWrite)) {
			t.Errorf("volume %s: Access %v, changed in an earlier instance", stringOf(inst, "DeviceID"), got)
		}
	}
}

// TestStorageVolumePageReuse checks that EnumeratePage gives an unchanged
// volume's instance of the last page again, and a new one, as it now is,
// for a volume whose file went missing or whose replication role changed.
func TestStorageVolumePageReuse(t *testing.T) {
	e := newStorageEnv(t)
	a := e.createVolume(volumes.DefaultPool, "a", mib)
	b := e.createVolume(volumes.DefaultPool, "b", mib)
	c := e.createVolume(volumes.DefaultPool, "c", mib)
	page := func() map[string]*cimmodel.Instance {
		got, _, err := e.reg.EnumeratePage(context.Background(), Namespace, storageVolumeClassName, cimmodel.Cursor{}, 10, nil)
		if err != nil || len(got) != 3 {
			t.Fatalf("EnumeratePage: %d instances, %v; want 3", len(got), err)
		}
		out := map[string]*cimmodel.Instance{}
		for _, g := range got {
			out[stringOf(g.Instance, "ElementName")] = g.Instance
		}
		return out
	}
	first := page()
	again := page()
	for name, inst := range first {
		if again[name] != inst {
			t.Errorf("volume %s unchanged: a new instance on the next page", name)
		}
	}
	if err := os.Remove(c.Path()); err != nil {
		t.Fatal(err)
	}
	e.pair(a, b)
	after := page()
	if after["a"] == first["a"] || after["b"] == first["b"] || after["c"] == first["c"] {
		t.Errorf("changed volumes kept their instances: a %v, b %v, c %v (true: kept)",
			after["a"] == first["a"], after["b"] == first["b"], after["c"] == first["c"])
	}
	for _, tt := range []struct {
		name, prop string
		want       cimmodel.Value
	}{
		{"a", "Usage", cimmodel.Uint16(6)},
		{"a", "CanDelete", cimmodel.Bool(false)},
		{"b", "Usage", cimmodel.Uint16(8)},
		{"c", "OperationalStatus", cimmodel.Uint16s([]uint16{13})},
	} {
		if got := after[tt.name].Get(tt.prop); !got.Equal(tt.want) {
			t.Errorf("volume %s after the change: %s = %v, want %v", tt.name, tt.prop, got, tt.want)
		}
	}
}

func TestStorageVolumeQuery(t *testing.T) {
	e := newStorageEnv(t)
	v1 := e.createVolume(volumes.DefaultPool, "v1", mib)
	e.createVolume(volumes.DefaultPool, "v2", 2*mib)
	tests := []struct {
		wql     string
		want    []volumes.ID
		wantErr cimmodel.Status
	}{
		{"SELECT * FROM CIM_StorageVolume WHERE ElementName = 'v1'", []volumes.ID{v1.ID}, 0},
		{"select * from MSISCSITARGET_StorageVolume where elementname = 'V1'", []volumes.ID{v1.ID}, 0},
		{"SELECT * FROM CIM_StorageExtent WHERE NumberOfBlocks < 4096", []volumes.ID{v1.ID}, 0},
		{"SELECT * FROM CIM_LogicalDevice WHERE DeviceID = '" + string(v1.ID) + "'", []volumes.ID{v1.ID}, 0},
		{"SELECT * FROM CIM_StorageVolume WHERE ElementName = 'v3'", nil, 0},
		{"SELECT * FROM CIM_StorageVolume WHERE Colour = 'red'", nil, cimmodel.StatusInvalidQuery},
		{"SELECT * FROM CIM_StorageVolume WHERE", nil, cimmodel.StatusInvalidQuery},
	}
	for _, tt := range tests {
		t.Run(tt.wql, func(t *testing.T) {
			insts, err := e.reg.Query(context.Background(), Namespace, tt.wql)
			if got := cimmodel.StatusOf(err); got != tt.wantErr {
				t.Fatalf("status = %v (%v), want %v", got, err, tt.wantErr)
			}
			var got []volumes.ID
			for _, inst := range insts {
				got = append(got, volumes.ID(stringOf(inst, "DeviceID")))
			}
			if len(got) != len(tt.want) || (len(got) == 1 && got[0] != tt.want[0]) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStorageVolumePut(t *testing.T) {
	e := newStorageEnv(t)
	v := e.createVolume(volumes.DefaultPool, "v1", mib)
	path := e.p.volumePath(v.ID)
	class, _ := e.reg.Class(Namespace, storageVolumeClassName)
	tests := []struct {
		name    string
		changes *cimmodel.Instance
		want    cimmodel.Status
	}{
		{"same ElementName", cimmodel.NewInstance(class).Set("ElementName", cimmodel.String("v1")), 0},
		{"new ElementName", cimmodel.NewInstance(class).Set("ElementName", cimmodel.String("v2")), cimmodel.StatusNotSupported},
		{"read-only property changed", cimmodel.NewInstance(class).Set("BlockSize", cimmodel.Uint64(4096)), cimmodel.StatusInvalidParameter},
		{"read-only property unchanged", cimmodel.NewInstance(class).Set("BlockSize", cimmodel.Uint64(512)), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, err := e.reg.Modify(context.Background(), path, tt.changes)
			if got := cimmodel.StatusOf(err); got != tt.want {
				t.Fatalf("status = %v (%v), want %v", got, err, tt.want)
			}
			if err == nil && stringOf(inst, "ElementName") != "v1" {
				t.Errorf("answer ElementName = %q, want v1", stringOf(inst, "ElementName"))
			}
			got, err := e.p.volumes.Get(context.Background(), v.ID)
			if err != nil || got.Name != "v1" {
				t.Errorf("volume after Put: %v, %v; want named v1", got, err)
			}
		})
	}
}

func TestStorageVolumeDelete(t *testing.T) {
	e := newStorageEnv(t)
	v := e.createVolume(volumes.DefaultPool, "v1", mib)
	busy := e.createVolume(volumes.DefaultPool, "busy", mib)
	source := e.createVolume(volumes.DefaultPool, "source", mib)
	replica := e.createVolume(volumes.DefaultPool, "replica", mib)
	labelled, err := e.p.volumes.CreateWithLabels(context.Background(), volumes.DefaultPool, "labelled", mib,
		map[string]string{"origin": "v1", "replica.target": "v1"})
	if err != nil {
		t.Fatal(err)
	}
	e.pair(source, replica)
	release, err := e.p.volumes.Acquire(busy.ID, "replication")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	tests := []struct {
		name     string
		vol      *volumes.Volume
		want     cimmodel.Status
		wantGone bool
	}{
		{"leased", busy, cimmodel.StatusFailed, false},
		{"replica target", replica, cimmodel.StatusFailed, false},
		{"replica source", source, cimmodel.StatusFailed, false},
		{"labels but no relationship", labelled, 0, true},
		{"deleted", v, 0, true},
		{"already deleted", v, cimmodel.StatusNotFound, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.reg.Delete(context.Background(), e.p.volumePath(tt.vol.ID))
			if got := cimmodel.StatusOf(err); got != tt.want {
				t.Fatalf("status = %v (%v), want %v", got, err, tt.want)
			}
			_, statErr := os.Stat(tt.vol.Path())
			if gone := os.IsNotExist(statErr); gone != tt.wantGone {
				t.Errorf("file gone = %v (%v), want %v", gone, statErr, tt.wantGone)
			}
		})
	}
}

func TestStorageVolumesSurviveRestart(t *testing.T) {
	e := newStorageEnv(t)
	res, err := e.invoke(createMethod, param("ElementName", "kept"), param("Size", "65536"))
	if err != nil || res.ReturnValue != 0 {
		t.Fatalf("create: %v, ReturnValue %d", err, res.ReturnValue)
	}
	before, err := e.reg.Enumerate(context.Background(), Namespace, storageVolumeClassName)
	if err != nil {
		t.Fatal(err)
	}
	e.restart()
	after, err := e.reg.Enumerate(context.Background(), Namespace, storageVolumeClassName)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 1 || len(before) != 1 {
		t.Fatalf("%d volumes before, %d after restart, want 1 and 1", len(before), len(after))
	}
	if !after[0].Path().Equal(before[0].Path()) || !after[0].Path().Equal(outRef(t, res, "TheElement")) {
		t.Errorf("path after restart = %s, want %s", after[0].Path(), before[0].Path())
	}
	if !after[0].Equal(before[0]) {
		t.Errorf("instance changed across the restart:\n%v\nwant\n%v", after[0].Values, before[0].Values)
	}
}

func TestInNamespace(t *testing.T) {
	tests := []struct {
		ns   string
		want bool
	}{
		{"", true},
		{Namespace, true},
		{`Root\CIMv2\Storage\iScsiTarget`, true},
		{"/root/cimv2/storage/iscsitarget/", true},
		{"root/cimv2", false},
		{"root/cimv2/storage/iscsitarget/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.ns, func(t *testing.T) {
			if got := inNamespace(cimmodel.ObjectPath{Namespace: tt.ns}); got != tt.want {
				t.Errorf("inNamespace(%q) = %v, want %v", tt.ns, got, tt.want)
			}
		})
	}
}

// BenchmarkEnumerateVolumes measures a polymorphic enumeration of 100
// volumes through the registry, as a CIM_StorageVolume Enumerate does.
func BenchmarkEnumerateVolumes(b *testing.B) {
	e := newStorageEnv(b)
	for i := range 100 {
		e.createVolume(volumes.DefaultPool, "v"+strconv.Itoa(i), mib)
	}
	ctx := context.Background()
	for b.Loop() {
		insts, err := e.reg.Enumerate(ctx, Namespace, "CIM_StorageVolume")
		if err != nil || len(insts) != 100 {
			b.Fatalf("got %d volumes, %v; want 100", len(insts), err)
		}
	}
}
