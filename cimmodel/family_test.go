package cimmodel_test

import (
	"slices"
	"testing"

	"github.com/replicad/replicad/cimmodel"
)

// walked is a class's family as a walk of the subclasses finds it: c,
// then each subclass's family in registration order.
func walked(c *cimmodel.Class) []*cimmodel.Class {
	out := []*cimmodel.Class{c}
	for _, s := range c.Subclasses() {
		out = append(out, walked(s)...)
	}
	return out
}

// TestFamilyKeptAsRegistered: the family a registry keeps for each class
// (the classes an enumeration walks) is the walk of its subclasses after
// every registration, grandchildren registered late included, and asking
// for it allocates nothing.
func TestFamilyKeptAsRegistered(t *testing.T) {
	reg := cimmodel.NewRegistry()
	var all []*cimmodel.Class
	for _, x := range []struct{ name, super string }{
		{"CIM_Base", ""}, {"CIM_A", "CIM_Base"}, {"CIM_A1", "CIM_A"}, {"CIM_B", "CIM_Base"},
		{"CIM_A2", "CIM_A"}, {"CIM_A1x", "CIM_A1"}, {"CIM_Other", ""}, {"CIM_B1", "CIM_B"},
	} {
		c := &cimmodel.Class{Name: x.name, Superclass: x.super, Namespace: "root/test"}
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
		all = append(all, c)
		for _, c := range all {
			if got, want := reg.Family(c), walked(c); !slices.Equal(got, want) {
				t.Fatalf("after %s: family of %s has %d classes, want %d (%v)", x.name, c.Name, len(got), len(want), want)
			}
		}
	}
	base := all[0]
	var names []string
	for _, c := range reg.Family(base) {
		names = append(names, c.Name)
	}
	if want := []string{"CIM_Base", "CIM_A", "CIM_A1", "CIM_A1x", "CIM_A2", "CIM_B", "CIM_B1"}; !slices.Equal(names, want) {
		t.Errorf("family of CIM_Base: %v, want %v", names, want)
	}
	if n := testing.AllocsPerRun(100, func() { reg.Family(base) }); n != 0 {
		t.Errorf("family: %v allocations, want 0", n)
	}
}
