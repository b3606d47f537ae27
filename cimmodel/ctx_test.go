package cimmodel_test

import (
	"context"
	"errors"
	"testing"

	"github.com/replicad/replicad/cimmodel"
)

// TestAssociationFiltersHonourContext checks that References, Associators
// and Enumerate stop when the request's context has ended, even when the
// providers do not look at it (issue 14 item 9: every long operation of
// the enumerate path).
func TestAssociationFiltersHonourContext(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := cimmodel.AssociationFilter{Object: w.pools.insts[0].Path()}
	if got, err := w.reg.Associators(ctx, f); !errors.Is(err, context.Canceled) {
		t.Errorf("Associators: got %d instances, %v; want context.Canceled", len(got), err)
	}
	f.Instances = true
	if got, err := w.reg.References(ctx, f); !errors.Is(err, context.Canceled) {
		t.Errorf("References: got %d instances, %v; want context.Canceled", len(got), err)
	}
	if got, err := w.reg.Enumerate(ctx, testNS, "CIM_StorageVolume"); !errors.Is(err, context.Canceled) {
		t.Errorf("Enumerate: got %d instances, %v; want context.Canceled", len(got), err)
	}
}
