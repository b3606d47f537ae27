package cimmodel_test

import (
	"fmt"
	"testing"

	"github.com/replicad/replicad/cimmodel"
)

// TestNewInstanceSizedByHint checks that once an instance of a class has
// had 24 values, the next one's Values map is made big enough for them:
// setting 24 values then allocates the map once, not once per growth.
func TestNewInstanceSizedByHint(t *testing.T) {
	r := cimmodel.NewRegistry()
	c := &cimmodel.Class{Name: "TEST_Many", Namespace: "root/test"}
	for i := range 40 {
		c.Properties = append(c.Properties, cimmodel.Property{Name: fmt.Sprintf("P%02d", i), Type: cimmodel.TypeUint8})
	}
	if err := r.Register(c); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 24)
	for i := range names {
		names[i] = fmt.Sprintf("P%02d", i)
	}
	v := cimmodel.Uint8(1) // small integers are not boxed on the heap
	build := func() {
		inst := cimmodel.NewInstance(c)
		for _, n := range names {
			inst.Set(n, v)
		}
	}
	build()
	// The instance, its map and the map's table.
	if got := testing.AllocsPerRun(100, build); got > 4 {
		t.Errorf("an instance with 24 values takes %v allocations, want at most 4", got)
	}
}

// TestSetStoresDeclaredName checks that Set stores a value under its
// property's declared spelling whatever the case it is named in, an
// inherited property's too, before registration (own properties only) and
// after; a name no property has is stored as given.
func TestSetStoresDeclaredName(t *testing.T) {
	w := newWorld(t)
	unregistered := &cimmodel.Class{Name: "TEST_Loose", Namespace: testNS, Properties: []cimmodel.Property{
		{Name: "LooseName", Type: cimmodel.TypeString},
	}}
	tests := []struct {
		class      *cimmodel.Class
		name, want string
	}{
		{w.volume, "DeviceID", "DeviceID"},
		{w.volume, "deviceid", "DeviceID"},       // inherited
		{w.volume, "ELEMENTNAME", "ElementName"}, // overridden
		{w.volume, "path", "Path"},               // own
		{w.volume, "NoSuchThing", "NoSuchThing"}, // undeclared
		{unregistered, "loosename", "LooseName"}, // before registration
		{unregistered, "deviceid", "deviceid"},   // nothing inherited yet
	}
	for _, tt := range tests {
		inst := cimmodel.NewInstance(tt.class).Set(tt.name, cimmodel.String("x"))
		if _, ok := inst.Values[tt.want]; !ok || len(inst.Values) != 1 {
			t.Errorf("%s: Set(%q) stored %v, want it under %q", tt.class.Name, tt.name, inst.Values, tt.want)
		}
	}
}
