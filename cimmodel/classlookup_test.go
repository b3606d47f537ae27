package cimmodel_test

import (
	"errors"
	"testing"

	"github.com/replicad/replicad/cimmodel"
)

// TestClassLookupAnyCase: a class is found by its namespace and name in any
// case, spelt as registered without an allocation, and nothing else is
// found.
func TestClassLookupAnyCase(t *testing.T) {
	reg := cimmodel.NewRegistry()
	base := &cimmodel.Class{Name: "CIM_Thing", Namespace: "Root/CIMv2"}
	sub := &cimmodel.Class{Name: "MSFT_Thing", Superclass: "CIM_Thing", Namespace: "root/cimv2"}
	other := &cimmodel.Class{Name: "MSFT_Thing", Namespace: "root/other"}
	for _, c := range []*cimmodel.Class{base, sub, other} {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		ns, name string
		want     *cimmodel.Class
	}{
		{"root/cimv2", "MSFT_Thing", sub},
		{"ROOT/CIMV2", "msft_thing", sub},
		{"Root/CIMv2", "MSFT_THING", sub},
		{"root/cimv2", "CIM_Thing", base},
		{"root/cimv2", "cim_thing", base},
		{"root/other", "MSFT_Thing", other},
		{"ROOT/OTHER", "Msft_Thing", other},
		{"root/other", "CIM_Thing", nil},
		{"root/cimv2", "MSFT_Other", nil},
		{"root/none", "MSFT_Thing", nil},
		{"", "MSFT_Thing", nil},
	} {
		c, ok := reg.Class(tc.ns, tc.name)
		if c != tc.want || ok != (tc.want != nil) {
			t.Errorf("Class(%q, %q) = %v, %v; want %v", tc.ns, tc.name, c, ok, tc.want)
		}
		if tc.ns == "" {
			continue
		}
		got, err := reg.Enumerate(t.Context(), tc.ns, tc.name)
		switch {
		case tc.want != nil && err != nil:
			t.Errorf("Enumerate(%q, %q): %v", tc.ns, tc.name, err)
		case tc.want == nil && err == nil:
			t.Errorf("Enumerate(%q, %q) = %d instances, want an error", tc.ns, tc.name, len(got))
		}
	}
	var cimErr *cimmodel.Error
	if _, err := reg.Enumerate(t.Context(), "root/none", "MSFT_Thing"); !errors.As(err, &cimErr) || cimErr.Status != cimmodel.StatusInvalidNamespace {
		t.Errorf("unknown namespace: %v, want StatusInvalidNamespace", err)
	}
	if _, err := reg.Enumerate(t.Context(), "root/cimv2", "MSFT_Other"); !errors.As(err, &cimErr) || cimErr.Status != cimmodel.StatusInvalidClass {
		t.Errorf("unknown class: %v, want StatusInvalidClass", err)
	}
	if n := testing.AllocsPerRun(100, func() { reg.Class("root/cimv2", "MSFT_Thing") }); n != 0 {
		t.Errorf("Class spelt as registered: %v allocations, want 0", n)
	}
}
