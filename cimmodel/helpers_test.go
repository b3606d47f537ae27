package cimmodel_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/replicad/replicad/cimmodel"
)

const testNS = "root/test"

// memProvider is a small in-test provider holding instances in memory; it
// implements every optional provider interface.
type memProvider struct {
	mu    sync.Mutex
	insts []*cimmodel.Instance
	calls int
}

var (
	_ cimmodel.InstanceProvider = (*memProvider)(nil)
	_ cimmodel.InstanceModifier = (*memProvider)(nil)
	_ cimmodel.InstanceDeleter  = (*memProvider)(nil)
	_ cimmodel.InstanceCreator  = (*memProvider)(nil)
)

func (p *memProvider) EnumerateInstances(context.Context) ([]*cimmodel.Instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	return append([]*cimmodel.Instance(nil), p.insts...), nil
}

func (p *memProvider) find(path cimmodel.ObjectPath) int {
	for i, inst := range p.insts {
		if inst.Path().Equal(path) {
			return i
		}
	}
	return -1
}

func (p *memProvider) GetInstance(_ context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := p.find(path); i >= 0 {
		return p.insts[i], nil
	}
	return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "no %s", path)
}

func (p *memProvider) ModifyInstance(_ context.Context, path cimmodel.ObjectPath, changes *cimmodel.Instance) (*cimmodel.Instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := p.find(path)
	if i < 0 {
		return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "no %s", path)
	}
	n := p.insts[i].Copy()
	for k, v := range changes.Values {
		n.Set(k, v)
	}
	p.insts[i] = n
	return n, nil
}

func (p *memProvider) DeleteInstance(_ context.Context, path cimmodel.ObjectPath) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := p.find(path)
	if i < 0 {
		return cimmodel.Errorf(cimmodel.StatusNotFound, "no %s", path)
	}
	p.insts = append(p.insts[:i], p.insts[i+1:]...)
	return nil
}

func (p *memProvider) CreateInstance(_ context.Context, inst *cimmodel.Instance) (cimmodel.ObjectPath, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.find(inst.Path()) >= 0 {
		return cimmodel.ObjectPath{}, cimmodel.Errorf(cimmodel.StatusAlreadyExists, "%s exists", inst.Path())
	}
	p.insts = append(p.insts, inst)
	return inst.Path(), nil
}

// readOnlyProvider serves instances but cannot change them.
type readOnlyProvider struct{ insts []*cimmodel.Instance }

func (p *readOnlyProvider) EnumerateInstances(context.Context) ([]*cimmodel.Instance, error) {
	return p.insts, nil
}

func (p *readOnlyProvider) GetInstance(_ context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	for _, inst := range p.insts {
		if inst.Path().Equal(path) {
			return inst, nil
		}
	}
	return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "no %s", path)
}

// world is a small schema with providers, shared by the tests:
//
//	CIM_ManagedElement (abstract)
//	└─ CIM_LogicalElement (abstract)
//	   ├─ CIM_StorageVolume (abstract, keys SystemName, DeviceID)
//	   │  ├─ TEST_StorageVolume (provider vols; overrides ElementName as Write)
//	   │  └─ TEST_OtherVolume (provider others)
//	   └─ TEST_Pool (key InstanceID, provider pools)
//	CIM_Dependency (association, abstract)
//	└─ TEST_AllocatedFromPool (Antecedent TEST_Pool, Dependent CIM_StorageVolume)
//	TEST_Synced (association, keys SystemElement and SyncedElement, both references)
//	CIM_SettingData (key InstanceID) └─ TEST_ReplicationSettingData
//	TEST_AllTypes (every CIM type, scalar and array)
//	TEST_Service (methods) └─ TEST_SubService (overrides Stop)
type world struct {
	reg                                    *cimmodel.Registry
	volume, other, pool, alloc, synced     *cimmodel.Class
	rsd, allTypes, service, subService     *cimmodel.Class
	settingData, logical, managed, storage *cimmodel.Class
	vols, others, pools, allocs, syncs     *memProvider
	ro                                     *readOnlyProvider
	calls                                  []call
}

type call struct {
	target cimmodel.ObjectPath
	args   cimmodel.Args
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{reg: cimmodel.NewRegistry()}
	w.vols, w.others, w.pools, w.allocs, w.syncs = &memProvider{}, &memProvider{}, &memProvider{}, &memProvider{}, &memProvider{}
	w.managed = &cimmodel.Class{Name: "CIM_ManagedElement", Namespace: testNS, Abstract: true, Properties: []cimmodel.Property{
		{Name: "Caption", Type: cimmodel.TypeString, MaxLen: 64},
		{Name: "Description", Type: cimmodel.TypeString},
		{Name: "ElementName", Type: cimmodel.TypeString},
	}}
	w.logical = &cimmodel.Class{Name: "CIM_LogicalElement", Superclass: "CIM_ManagedElement", Namespace: testNS, Abstract: true}
	w.storage = &cimmodel.Class{Name: "CIM_StorageVolume", Superclass: "CIM_LogicalElement", Namespace: testNS, Abstract: true,
		Properties: []cimmodel.Property{
			{Name: "SystemName", Type: cimmodel.TypeString, Key: true},
			{Name: "DeviceID", Type: cimmodel.TypeString, Key: true},
			{Name: "BlockSize", Type: cimmodel.TypeUint64},
			{Name: "NumberOfBlocks", Type: cimmodel.TypeUint64},
			{Name: "OperationalStatus", Type: cimmodel.TypeUint16, Array: true},
		}}
	w.volume = &cimmodel.Class{Name: "TEST_StorageVolume", Superclass: "CIM_StorageVolume", Namespace: testNS, Provider: w.vols,
		Properties: []cimmodel.Property{
			{Name: "ElementName", Type: cimmodel.TypeString, Write: true, Description: "override: writable"},
			{Name: "Path", Type: cimmodel.TypeString},
		}}
	w.other = &cimmodel.Class{Name: "TEST_OtherVolume", Superclass: "CIM_StorageVolume", Namespace: testNS, Provider: w.others}
	w.pool = &cimmodel.Class{Name: "TEST_Pool", Superclass: "CIM_LogicalElement", Namespace: testNS, Provider: w.pools,
		Properties: []cimmodel.Property{
			{Name: "InstanceID", Type: cimmodel.TypeString, Key: true},
			{Name: "TotalManagedSpace", Type: cimmodel.TypeUint64},
		}}
	dep := &cimmodel.Class{Name: "CIM_Dependency", Namespace: testNS, Association: true, Abstract: true, Properties: []cimmodel.Property{
		{Name: "Antecedent", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_ManagedElement"},
		{Name: "Dependent", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_ManagedElement"},
	}}
	w.alloc = &cimmodel.Class{Name: "TEST_AllocatedFromPool", Superclass: "CIM_Dependency", Namespace: testNS, Association: true, Provider: w.allocs,
		Properties: []cimmodel.Property{
			{Name: "Antecedent", Type: cimmodel.TypeReference, Key: true, RefClass: "TEST_Pool"},
			{Name: "Dependent", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_StorageVolume"},
			{Name: "SpaceConsumed", Type: cimmodel.TypeUint64},
		}}
	w.synced = &cimmodel.Class{Name: "TEST_Synced", Namespace: testNS, Association: true, Provider: w.syncs,
		Properties: []cimmodel.Property{
			{Name: "SystemElement", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_StorageVolume"},
			{Name: "SyncedElement", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_StorageVolume"},
			{Name: "CopyState", Type: cimmodel.TypeUint16, ValueMap: []string{"2", "4"}, Values: []string{"Initialized", "Synchronized"}},
		}}
	w.settingData = &cimmodel.Class{Name: "CIM_SettingData", Superclass: "CIM_ManagedElement", Namespace: testNS, Properties: []cimmodel.Property{
		{Name: "InstanceID", Type: cimmodel.TypeString, Key: true},
	}}
	w.rsd = &cimmodel.Class{Name: "TEST_ReplicationSettingData", Superclass: "CIM_SettingData", Namespace: testNS, Properties: []cimmodel.Property{
		{Name: "ConsistentPointInTime", Type: cimmodel.TypeBoolean, Write: true},
		{Name: "CopyMethodology", Type: cimmodel.TypeUint16, Write: true},
		{Name: "Names", Type: cimmodel.TypeString, Array: true},
	}}
	w.allTypes = &cimmodel.Class{Name: "TEST_AllTypes", Namespace: testNS, Properties: allTypesProps()}
	w.service = &cimmodel.Class{Name: "TEST_Service", Namespace: testNS, Methods: []*cimmodel.Method{w.createMethod(), {
		Name: "Stop", ReturnType: cimmodel.TypeUint32, Func: w.record(1)}}}
	w.subService = &cimmodel.Class{Name: "TEST_SubService", Superclass: "TEST_Service", Namespace: testNS,
		Methods: []*cimmodel.Method{{Name: "Stop", ReturnType: cimmodel.TypeUint32, Func: w.record(2)}, {Name: "Unimplemented"}}}
	for _, c := range []*cimmodel.Class{w.managed, w.logical, w.storage, w.volume, w.other, w.pool, dep, w.alloc, w.synced,
		w.settingData, w.rsd, w.allTypes, w.service, w.subService} {
		if err := w.reg.Register(c); err != nil {
			t.Fatalf("Register(%s): %v", c.Name, err)
		}
	}
	w.vols.insts = []*cimmodel.Instance{w.newVolume("v1", "first"), w.newVolume("v2", "second")}
	w.others.insts = []*cimmodel.Instance{cimmodel.NewInstance(w.other).
		Set("SystemName", cimmodel.String("host")).Set("DeviceID", cimmodel.String("o1"))}
	w.pools.insts = []*cimmodel.Instance{
		cimmodel.NewInstance(w.pool).Set("InstanceID", cimmodel.String("pool:A")).Set("TotalManagedSpace", cimmodel.Uint64(1<<40)),
		cimmodel.NewInstance(w.pool).Set("InstanceID", cimmodel.String("pool:B")),
	}
	poolA, poolB := w.pools.insts[0].Path(), w.pools.insts[1].Path()
	v1, v2, o1 := w.vols.insts[0].Path(), w.vols.insts[1].Path(), w.others.insts[0].Path()
	w.allocs.insts = []*cimmodel.Instance{
		cimmodel.NewInstance(w.alloc).Set("Antecedent", cimmodel.Ref(poolA)).Set("Dependent", cimmodel.Ref(v1)),
		cimmodel.NewInstance(w.alloc).Set("Antecedent", cimmodel.Ref(poolA)).Set("Dependent", cimmodel.Ref(o1)),
		cimmodel.NewInstance(w.alloc).Set("Antecedent", cimmodel.Ref(poolB)).Set("Dependent", cimmodel.Ref(v2)),
	}
	w.syncs.insts = []*cimmodel.Instance{
		cimmodel.NewInstance(w.synced).Set("SystemElement", cimmodel.Ref(v1)).Set("SyncedElement", cimmodel.Ref(v2)).
			Set("CopyState", cimmodel.Uint16(4)),
	}
	for _, p := range []*memProvider{w.vols, w.others, w.pools, w.allocs, w.syncs} {
		for _, inst := range p.insts {
			if err := inst.Check(); err != nil {
				t.Fatalf("fixture %s: %v", inst.Path(), err)
			}
		}
	}
	return w
}

func (w *world) newVolume(id, name string) *cimmodel.Instance {
	return cimmodel.NewInstance(w.volume).
		Set("SystemName", cimmodel.String("host")).
		Set("DeviceID", cimmodel.String(id)).
		Set("ElementName", cimmodel.String(name)).
		Set("BlockSize", cimmodel.Uint64(512)).
		Set("NumberOfBlocks", cimmodel.Uint64(2048)).
		Set("OperationalStatus", cimmodel.Uint16s([]uint16{2}))
}

func (w *world) record(rv uint32) cimmodel.MethodFunc {
	return func(_ context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
		w.calls = append(w.calls, call{target: target, args: in})
		return cimmodel.Result{ReturnValue: rv}, nil
	}
}

func i64(n int64) *int64 { return &n }

// createMethod declares every parameter flavour the router checks.
func (w *world) createMethod() *cimmodel.Method {
	return &cimmodel.Method{
		Name:           "CreateReplica",
		ReturnType:     cimmodel.TypeUint32,
		ReturnValueMap: []string{"0", "4", "5", "4096"},
		ReturnValues:   []string{"Success", "Failed", "Invalid Parameter", "Job Started"},
		Params: []cimmodel.Parameter{
			{Name: "ElementName", Type: cimmodel.TypeString, In: true},
			{Name: "SyncType", Type: cimmodel.TypeUint16, In: true, Required: true,
				ValueMap: []string{"..", "6", "7", "8", "9..0x7FFF", "0x8000.."},
				Values:   []string{"DMTF Reserved", "Mirror", "Snapshot", "Clone", "DMTF Reserved", "Vendor Specific"}},
			{Name: "Mode", Type: cimmodel.TypeUint16, In: true,
				ValueMap: []string{"2", "3", "..", "0x8000.."}, Values: []string{"Synchronous", "Asynchronous", "DMTF Reserved", "Method Reserved"}},
			{Name: "SourceElement", Type: cimmodel.TypeReference, In: true, RefClass: "CIM_StorageVolume"},
			{Name: "TargetPool", Type: cimmodel.TypeReference, In: true, RefClass: "TEST_Pool"},
			{Name: "TargetElementCount", Type: cimmodel.TypeUint64, In: true, Min: i64(1), Max: i64(16)},
			{Name: "ReplicationSettingData", Type: cimmodel.TypeString, In: true, EmbeddedClass: "CIM_SettingData"},
			{Name: "Tags", Type: cimmodel.TypeString, Array: true, In: true},
			{Name: "Priorities", Type: cimmodel.TypeUint16, Array: true, In: true, ValueMap: []string{"0..4"}, Values: []string{"Levels"}},
			{Name: "Offset", Type: cimmodel.TypeSint32, In: true, Min: i64(-10), Max: i64(10)},
			{Name: "Deadline", Type: cimmodel.TypeDatetime, In: true},
			{Name: "Force", Type: cimmodel.TypeBoolean, In: true},
			{Name: "TargetGroup", Type: cimmodel.TypeReference, In: true, Out: true, RefClass: "TEST_Pool"},
			{Name: "Job", Type: cimmodel.TypeReference, Out: true, RefClass: "TEST_Pool"},
			{Name: "Settings", Type: cimmodel.TypeString, Out: true, EmbeddedClass: "CIM_SettingData"},
			{Name: "Counts", Type: cimmodel.TypeUint32, Array: true, Out: true},
		},
		Func: w.record(0),
	}
}

func allTypesProps() []cimmodel.Property {
	types := []cimmodel.Type{cimmodel.TypeUint8, cimmodel.TypeSint8, cimmodel.TypeUint16, cimmodel.TypeSint16,
		cimmodel.TypeUint32, cimmodel.TypeSint32, cimmodel.TypeUint64, cimmodel.TypeSint64, cimmodel.TypeReal32,
		cimmodel.TypeReal64, cimmodel.TypeBoolean, cimmodel.TypeChar16, cimmodel.TypeString, cimmodel.TypeDatetime,
	}
	props := []cimmodel.Property{{Name: "ID", Type: cimmodel.TypeString, Key: true}}
	for _, ty := range types {
		props = append(props,
			cimmodel.Property{Name: "S_" + ty.String(), Type: ty},
			cimmodel.Property{Name: "A_" + ty.String(), Type: ty, Array: true})
	}
	// Reference properties cannot be arrays (DSP0004); reference arrays are
	// tested as method parameters.
	return append(props,
		cimmodel.Property{Name: "S_reference", Type: cimmodel.TypeReference},
		cimmodel.Property{Name: "S_instance", Type: cimmodel.TypeString, EmbeddedClass: "CIM_SettingData"},
		cimmodel.Property{Name: "A_instance", Type: cimmodel.TypeInstance, Array: true, EmbeddedClass: "CIM_SettingData"},
		cimmodel.Property{Name: "S_interval", Type: cimmodel.TypeDatetime},
	)
}

// fullAllTypes returns a TEST_AllTypes instance with a value in every
// property.
func (w *world) fullAllTypes() *cimmodel.Instance {
	ts := time.Date(2026, 11, 25, 1, 2, 3, 456789000, time.FixedZone("", 2*3600))
	v1 := w.vols.insts[0].Path()
	nested := cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Synced", Keys: []cimmodel.KeyBinding{
		{Name: "SystemElement", Value: cimmodel.Ref(v1)},
		{Name: "SyncedElement", Value: cimmodel.Ref(w.vols.insts[1].Path())},
	}}
	emb := cimmodel.NewInstance(w.rsd).Set("InstanceID", cimmodel.String("rsd:1")).
		Set("ConsistentPointInTime", cimmodel.Bool(true)).Set("Names", cimmodel.Strings([]string{"a", "b <&>"}))
	emb2 := cimmodel.NewInstance(w.settingData).Set("InstanceID", cimmodel.String("sd:2"))
	return cimmodel.NewInstance(w.allTypes).
		Set("ID", cimmodel.String("all")).
		Set("S_uint8", cimmodel.Uint8(255)).Set("A_uint8", cimmodel.Array(cimmodel.TypeUint8, []uint8{0, 1, 255})).
		Set("S_sint8", cimmodel.Sint8(-128)).Set("A_sint8", cimmodel.Array(cimmodel.TypeSint8, []int8{-1, 127})).
		Set("S_uint16", cimmodel.Uint16(65535)).Set("A_uint16", cimmodel.Uint16s([]uint16{2, 32768})).
		Set("S_sint16", cimmodel.Sint16(-32768)).Set("A_sint16", cimmodel.Array(cimmodel.TypeSint16, []int16{-2, 3})).
		Set("S_uint32", cimmodel.Uint32(4294967295)).Set("A_uint32", cimmodel.Uint32s([]uint32{0, 7})).
		Set("S_sint32", cimmodel.Sint32(-2147483648)).Set("A_sint32", cimmodel.Array(cimmodel.TypeSint32, []int32{5})).
		Set("S_uint64", cimmodel.Uint64(18446744073709551615)).Set("A_uint64", cimmodel.Uint64s([]uint64{1 << 40})).
		Set("S_sint64", cimmodel.Sint64(-9223372036854775808)).Set("A_sint64", cimmodel.Array(cimmodel.TypeSint64, []int64{-1, 0})).
		Set("S_real32", cimmodel.Real32(1.5)).Set("A_real32", cimmodel.Array(cimmodel.TypeReal32, []float32{0.1, -3e10})).
		Set("S_real64", cimmodel.Real64(0.1)).Set("A_real64", cimmodel.Array(cimmodel.TypeReal64, []float64{1e300, -2.5})).
		Set("S_boolean", cimmodel.Bool(true)).Set("A_boolean", cimmodel.Array(cimmodel.TypeBoolean, []bool{false, true})).
		Set("S_char16", cimmodel.Char16('é')).Set("A_char16", cimmodel.Array(cimmodel.TypeChar16, []int32{'a', 'Z'})).
		Set("S_string", cimmodel.String("  spaced <&> \"text\"  ")).Set("A_string", cimmodel.Strings([]string{"x", "", "y"})).
		Set("S_datetime", cimmodel.TimeValue(ts)).
		Set("A_datetime", cimmodel.Array(cimmodel.TypeDatetime, []cimmodel.Datetime{{Time: ts.UTC()}, {Interval: 90 * time.Second, IsInterval: true}})).
		Set("S_reference", cimmodel.Ref(nested)).
		Set("S_instance", cimmodel.Embedded(emb)).Set("A_instance", cimmodel.Embeddeds([]*cimmodel.Instance{emb, emb2})).
		Set("S_interval", cimmodel.IntervalValue(26*time.Hour+3*time.Minute+4*time.Second+500*time.Microsecond))
}

func readFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}
