package provider

import (
	"fmt"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/replica"
)

// The CIM values of CreateElementReplica's and CreateGroupReplica's
// parameters and what they mean in replica (cim-replication.md §1.1, §4.4).
// The method router has already refused values outside each parameter's
// ValueMap (its DMTF Reserved ranges); what is left to answer here is the
// Vendor Specific range (1 Not Supported) and the values the request's
// other parameters rule out. Everything past this file speaks replica's
// types.
var (
	cimSyncTypes = map[uint16]replica.SyncType{
		6: replica.SyncTypeMirror, 7: replica.SyncTypeSnapshot, 8: replica.SyncTypeClone,
	}
	cimModes = map[uint16]replica.Mode{
		2: replica.ModeSynchronous, 3: replica.ModeAsynchronous,
	}
	cimConsistencies = map[uint16]replica.Consistency{
		2: replica.ConsistencyNone, 3: replica.ConsistencySequential,
	}
	// cimSupplies are ReplicationSettingData.TargetElementSupplier's
	// values: 1 Use existing and 5 Client must supply, 2 Create new, 3 Use
	// and create and 4 Instrumentation decides.
	cimSupplies = map[uint16]replica.TargetSupply{
		1: replica.SupplyExisting, 2: replica.SupplyNew, 3: replica.SupplyAny, 4: replica.SupplyAny, 5: replica.SupplyExisting,
	}
)

// cimValue is the CIM value that stands for v in table (0 for none).
func cimValue[T comparable](table map[uint16]T, v T) uint16 {
	for k, x := range table {
		if x == v {
			return k
		}
	}
	return 0
}

// cimMaxCopyState is the last CopyState DMTF defines (17 Invalid).
const cimMaxCopyState = 17

// vendorValue reports a value in the DMTF Vendor Specific range.
func vendorValue(v uint16) bool { return v >= 0x8000 }

// fromCIM translates value v of parameter param through values: a value in
// the vendor range is Not Supported, any other unknown one is an invalid
// argument naming the choices (want).
func fromCIM[T any](param string, v uint16, values map[uint16]T, want string) (T, error) {
	if t, ok := values[v]; ok {
		return t, nil
	}
	var zero T
	if vendorValue(v) {
		return zero, fmt.Errorf("%w: %s %d is a vendor value replicad does not define", replica.ErrNotSupported, param, v)
	}
	return zero, invalidArg("%s %d: must be %s", param, v, want)
}

// requestKind reads SyncType, Mode and WaitForCopyState into req.
func requestKind(in cimmodel.Args, req *replica.Request) error {
	st, _ := argUint16(in, "SyncType")
	var err error
	if req.SyncType, err = fromCIM("SyncType", st, cimSyncTypes, "6 Mirror, 7 Snapshot or 8 Clone"); err != nil {
		return err
	}
	if mode, given := argUint16(in, "Mode"); given {
		if req.Mode, err = fromCIM("Mode", mode, cimModes, "2 Synchronous or 3 Asynchronous"); err != nil {
			return err
		}
	}
	wait, given := argUint16(in, "WaitForCopyState")
	switch {
	case !given || wait == 0:
	case vendorValue(wait):
		return fmt.Errorf("%w: WaitForCopyState %d is a vendor value replicad does not define", replica.ErrNotSupported, wait)
	case wait > cimMaxCopyState:
		return invalidArg("WaitForCopyState %d is not a CopyState", wait)
	default:
		// CopyState's values are CIM's; replica refuses the states a copy
		// does not pass through.
		req.WaitForCopyState = replica.CopyState(wait)
	}
	return nil
}

// requestConsistency reads CreateGroupReplica's Consistency into req.
func requestConsistency(in cimmodel.Args, req *replica.Request) error {
	c, given := argUint16(in, "Consistency")
	if !given {
		return nil
	}
	var err error
	req.Consistency, err = fromCIM("Consistency", c, cimConsistencies, "2 No Consistency or 3 Sequential Consistency")
	return err
}

// requestLocality refuses what replicad cannot do with the request's
// references: remote access points and a TargetSettingGoal.
func requestLocality(in cimmodel.Args) error {
	_, src := argRef(in, "SourceAccessPoint")
	_, tgt := argRef(in, "TargetAccessPoint")
	if src || tgt {
		return fmt.Errorf("%w: remote replication: SourceAccessPoint and TargetAccessPoint must be NULL (local replication only)", replica.ErrNotSupported)
	}
	if _, goal := argRef(in, "TargetSettingGoal"); goal {
		if _, target := argRef(in, "TargetElement"); target {
			return invalidArg("TargetSettingGoal must be NULL when a target element is supplied")
		}
		return fmt.Errorf("%w: TargetSettingGoal: replicad gives new targets the source's settings; pass NULL", replica.ErrNotSupported)
	}
	return nil
}

// settingsOf reads the replication settings replicad acts on from an
// embedded CIM_ReplicationSettingData: values outside a property's ValueMap
// are invalid, wishes replicad cannot grant (unequal groups, several hops)
// not supported.
func settingsOf(inst *cimmodel.Instance) (replica.Settings, error) {
	var s replica.Settings
	if inst == nil {
		return s, nil
	}
	if err := checkSettingMaps(inst); err != nil {
		return s, err
	}
	if v := inst.Get("ConsistentPointInTime"); !v.IsNull() {
		b, _ := v.AsBool()
		s.ConsistentPointInTime = &b
	}
	u := func(name string) uint16 {
		n, _ := inst.Get(name).AsUint64()
		return uint16(n)
	}
	// Pairing: replicad pairs in order, which each of 2 Instrumentation
	// decides, 3 Exact order and 4 Optimum allows.
	switch p := u("Pairing"); p {
	case 0, 2, 3, 4:
	default:
		return s, invalidArg("ReplicationSettingData.Pairing %d: must be 2, 3 or 4", p)
	}
	switch a := u("UnequalGroupsAction"); a {
	case 0, 2:
	case 3, 4:
		return s, fmt.Errorf("%w: ReplicationSettingData.UnequalGroupsAction %d: replicad needs groups of equal size (2)", replica.ErrNotSupported, a)
	default:
		return s, invalidArg("ReplicationSettingData.UnequalGroupsAction %d: must be 2, 3 or 4", a)
	}
	if supplier := u("TargetElementSupplier"); supplier != 0 {
		supply, ok := cimSupplies[supplier]
		if !ok {
			return s, invalidArg("ReplicationSettingData.TargetElementSupplier %d: must be 1 to 5", supplier)
		}
		s.Supply = supply
	}
	if u("Multihop") > 1 {
		return s, fmt.Errorf("%w: ReplicationSettingData.Multihop %d: replicad copies in one hop", replica.ErrNotSupported, u("Multihop"))
	}
	return s, nil
}

// checkSettingMaps checks every valued property of inst against its
// declared ValueMap, with the router's own rules.
func checkSettingMaps(inst *cimmodel.Instance) error {
	m := &cimmodel.Method{Name: "ReplicationSettingData"}
	args := cimmodel.Args{}
	for _, pr := range inst.Class.Properties {
		if len(pr.ValueMap) == 0 {
			continue
		}
		if v := inst.Get(pr.Name); !v.IsNull() {
			m.Params = append(m.Params, cimmodel.Parameter{Name: pr.Name, Type: pr.Type, In: true, ValueMap: pr.ValueMap, Values: pr.Values})
			args[pr.Name] = v
		}
	}
	if ipe := cimmodel.CheckArgs(m, args); ipe != nil {
		return invalidArg("ReplicationSettingData.%s: %s", ipe.Param, ipe.Reason)
	}
	return nil
}
