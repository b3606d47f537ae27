package cimmodel_test

import (
	"context"
	"errors"
	"testing"

	"github.com/replicad/replicad/cimmodel"
)

// TestInstances checks the Pull side of enumeration contexts: instances
// fetched again by path, in order, nil for a path with no instance, one
// Get each for a few paths and one enumeration for many.
func TestInstances(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	missing := volPath("v9")
	for _, n := range []int{1, 20} { // below and above the enumeration threshold
		var paths []cimmodel.ObjectPath
		for i := 0; i < n; i++ {
			paths = append(paths, volPath("v1"), missing, volPath("v2"))
		}
		got, err := w.reg.Instances(ctx, paths)
		if err != nil {
			t.Fatalf("%d paths: %v", len(paths), err)
		}
		if len(got) != len(paths) {
			t.Fatalf("%d paths: got %d results", len(paths), len(got))
		}
		for i, inst := range got {
			switch {
			case paths[i].Equal(missing) && inst != nil:
				t.Errorf("%d paths: [%d] %s found although it does not exist", len(paths), i, missing)
			case !paths[i].Equal(missing) && (inst == nil || !inst.Path().Equal(paths[i])):
				t.Errorf("%d paths: [%d] got %v, want %s", len(paths), i, inst, paths[i])
			}
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := w.reg.Instances(cancelled, []cimmodel.ObjectPath{volPath("v1")}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v, want context.Canceled", err)
	}
}
