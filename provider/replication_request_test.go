package provider

import (
	"errors"
	"testing"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/replica"
)

// TestRequestTranslation: the CIM values of a replication request become
// replica's values (issue 17 item 3: replica sees no value map), and the
// values replicad cannot act on are refused here with CIM's words: the
// Vendor Specific range (ErrNotSupported), values past a map's last one
// (ErrInvalidRequest).
func TestRequestTranslation(t *testing.T) {
	kinds := []struct {
		name string
		in   cimmodel.Args
		want replica.Request
		err  error
	}{
		{"Mirror, Asynchronous", cimmodel.Args{"SyncType": cimmodel.Uint16(6), "Mode": cimmodel.Uint16(3)},
			replica.Request{SyncType: replica.SyncTypeMirror, Mode: replica.ModeAsynchronous}, nil},
		{"Snapshot, Synchronous, wait for Synchronized", cimmodel.Args{"SyncType": cimmodel.Uint16(7), "Mode": cimmodel.Uint16(2), "WaitForCopyState": cimmodel.Uint16(4)},
			replica.Request{SyncType: replica.SyncTypeSnapshot, Mode: replica.ModeSynchronous, WaitForCopyState: replica.CopyStateSynchronized}, nil},
		{"Clone, no Mode", cimmodel.Args{"SyncType": cimmodel.Uint16(8)}, replica.Request{SyncType: replica.SyncTypeClone}, nil},
		{"vendor SyncType", cimmodel.Args{"SyncType": cimmodel.Uint16(0x8001)}, replica.Request{}, replica.ErrNotSupported},
		{"vendor Mode", cimmodel.Args{"SyncType": cimmodel.Uint16(8), "Mode": cimmodel.Uint16(0x9000)}, replica.Request{}, replica.ErrNotSupported},
		{"vendor WaitForCopyState", cimmodel.Args{"SyncType": cimmodel.Uint16(8), "WaitForCopyState": cimmodel.Uint16(0x8000)}, replica.Request{}, replica.ErrNotSupported},
		{"WaitForCopyState past the map", cimmodel.Args{"SyncType": cimmodel.Uint16(8), "WaitForCopyState": cimmodel.Uint16(99)}, replica.Request{}, replica.ErrInvalidRequest},
	}
	for _, tt := range kinds {
		var req replica.Request
		err := requestKind(tt.in, &req)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.err)
			continue
		}
		if tt.err == nil && (req.SyncType != tt.want.SyncType || req.Mode != tt.want.Mode || req.WaitForCopyState != tt.want.WaitForCopyState) {
			t.Errorf("%s: %s %s %s, want %s %s %s", tt.name, req.SyncType, req.Mode, req.WaitForCopyState,
				tt.want.SyncType, tt.want.Mode, tt.want.WaitForCopyState)
		}
	}
	for cim, want := range map[uint16]replica.Consistency{2: replica.ConsistencyNone, 3: replica.ConsistencySequential} {
		var req replica.Request
		if err := requestConsistency(cimmodel.Args{"Consistency": cimmodel.Uint16(cim)}, &req); err != nil || req.Consistency != want {
			t.Errorf("Consistency %d: %s %v, want %s", cim, req.Consistency, err, want)
		}
	}
	// Back to CIM: the values the StorageSynchronized instances show.
	for cim, st := range cimSyncTypes {
		if got := cimValue(cimSyncTypes, st); got != cim {
			t.Errorf("SyncType %s shows as %d, want %d", st, got, cim)
		}
	}

	e := newReplEnv(t)
	supplies := map[uint16]replica.TargetSupply{1: replica.SupplyExisting, 2: replica.SupplyNew, 3: replica.SupplyAny,
		4: replica.SupplyAny, 5: replica.SupplyExisting}
	for cim, want := range supplies {
		s, err := settingsOf(e.p.defaultSettings(10).Set("TargetElementSupplier", cimmodel.Uint16(cim)))
		if err != nil || s.Supply != want {
			t.Errorf("TargetElementSupplier %d: supply %d, error %v; want %d", cim, s.Supply, err, want)
		}
	}
	if _, err := settingsOf(e.p.defaultSettings(10).Set("UnequalGroupsAction", cimmodel.Uint16(4))); !errors.Is(err, replica.ErrNotSupported) {
		t.Errorf("UnequalGroupsAction 4: %v, want ErrNotSupported", err)
	}
	cpit := e.p.defaultSettings(10).Set("ConsistentPointInTime", cimmodel.Bool(false))
	if s, err := settingsOf(cpit); err != nil || s.ConsistentPointInTime == nil || *s.ConsistentPointInTime {
		t.Errorf("ConsistentPointInTime false: %v %v, want false", s.ConsistentPointInTime, err)
	}
}
