package provider

import (
	"context"
	"fmt"
	"slices"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/replica"
)

// Replication types (CIM_ReplicationServiceCapabilities.SupportedReplicationTypes,
// §3.5) replicad supports: local snapshots and clones, synchronous or
// asynchronous (a Synchronous request waits for its copy within the call).
// A Synchronous Mirror (2) would need every write to pass through replicad,
// which serves no I/O: only the Asynchronous Mirror (3), which follows its
// source within a lag, is offered.
var supportedReplicationTypes = []uint16{3, 6, 7, 10, 11}

// What the capabilities answer (§3.5). Asynchronous: the creates,
// ModifyReplicaSynchronization and ModifyListSynchronization (they may
// return 4096 and a Job). Synchronous: those too (with WaitForCopyState
// they can complete within the call), GetAvailableTargetElements,
// GetReplicationRelationships and the group methods.
var (
	supportedAsyncActions = []uint16{2, 3, 5, 6}
	supportedSyncActions  = []uint16{2, 3, 5, 6, 8, 10, 12, 13, 14, 15}
	// supportedFeatures: 8 targets allocated from any storage pool, 44 local
	// targets allocated from the source's pool by default, 51 the client can
	// supply the target ElementName.
	supportedFeatures = []uint16{8, 44, 51}
	// supportedGroupFeatures: 2 one-to-many, 5 empty groups allowed, 14
	// groups are nameable, 15 TargetElementCount, 38 provider creates local
	// target groups, 56 client can supply RelationshipName. Not 11/12
	// (source/target element can be removed from a group while it is in a
	// relationship): RemoveMembers answers 6 In Use then.
	supportedGroupFeatures = []uint16{2, 5, 14, 15, 38, 56}
)

// consistencyFor is GetSupportedConsistency for replication type t: 2 No
// Consistency, and for Snapshot and Clone groups 3 Sequential Consistency
// (every source stays leased until the last member is copied, so all
// targets show one instant). A Mirror group's members each follow their
// source on their own: No Consistency only.
func consistencyFor(t uint16) []uint16 {
	if t <= 5 {
		return []uint16{2}
	}
	return []uint16{2, 3}
}

// operationCodes are the ModifyReplicaSynchronization operations replica
// performs on replication type t: 2 Abort (of a Resync), 8 Detach, 9
// Dissolve, 12 Fracture, 14 Resync Replica, 15 Restore from Replica, 19
// Return To ResourcePool, 21 Split, and for mirrors 16 Resume, 22 Suspend.
func operationCodes(t uint16) []uint16 {
	st := replica.SyncTypeClone
	if t <= 5 {
		st = replica.SyncTypeMirror
	}
	var out []uint16
	for _, op := range replica.OperationsFor(st) {
		out = append(out, uint16(op))
	}
	return out
}

func replicationTypeParam() cimmodel.Parameter {
	return rRequired(rParamMap(rIn("ReplicationType", cimmodel.TypeUint16),
		[]string{"2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "..", "0x8000.."},
		[]string{"Synchronous Mirror Local", "Asynchronous Mirror Local", "Synchronous Mirror Remote", "Asynchronous Mirror Remote",
			"Synchronous Snapshot Local", "Asynchronous Snapshot Local", "Synchronous Snapshot Remote", "Asynchronous Snapshot Remote",
			"Synchronous Clone Local", "Asynchronous Clone Local", "Synchronous Clone Remote", "Asynchronous Clone Remote",
			"DMTF Reserved", "Vendor Specific"}))
}

var capabilityReturnMap = []string{"0", "1", "2", "3", "4", "5", "6", "7", "..", "0x8000.."}

func capabilityReturnValues(seven string) []string {
	return []string{"Success", "Not Supported", "Unknown", "Timeout", "Failed", "Invalid Parameter", "In Use", seven, "DMTF Reserved", "Vendor Specific"}
}

// listMethod declares a capabilities method that answers a uint16 array
// out-parameter for a supported ReplicationType (1 Not Supported otherwise).
func (p *Provider) listMethod(name, out string, list []uint16) *cimmodel.Method {
	return p.listMethodOf(name, out, func(uint16) []uint16 { return list })
}

// listMethodOf is listMethod with a list per ReplicationType.
func (p *Provider) listMethodOf(name, out string, listOf func(replicationType uint16) []uint16) *cimmodel.Method {
	return &cimmodel.Method{
		Name: name, ReturnType: cimmodel.TypeUint32,
		ReturnValueMap: capabilityReturnMap, ReturnValues: capabilityReturnValues("DMTF Reserved"),
		Params: []cimmodel.Parameter{replicationTypeParam(),
			{Name: out, Type: cimmodel.TypeUint16, Array: true, Out: true}},
		Func: func(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
			t, _ := argUint16(in, "ReplicationType")
			if !slices.Contains(supportedReplicationTypes, t) {
				return p.unsupportedType(name, t), nil
			}
			return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{out: cimmodel.Uint16s(slices.Clone(listOf(t)))}}, nil
		},
	}
}

// unsupportedType is a capabilities method's answer to a ReplicationType
// replicad does not offer: 1 Not Supported, naming the ones it does.
func (p *Provider) unsupportedType(method string, t uint16) cimmodel.Result {
	return p.refusal(returnNotSupported, cimmodel.StatusNotSupported,
		fmt.Sprintf("%s: ReplicationType %d is not offered; replicad offers %v", method, t, supportedReplicationTypes))
}

// capabilitiesClass declares MSISCSITARGET_ReplicationServiceCapabilities,
// associated to the replication service by ElementCapabilities.
func (p *Provider) capabilitiesClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: replicationCapabilitiesClass, Superclass: "CIM_ReplicationServiceCapabilities", Namespace: Namespace}
	c.Provider = singleton(func() *cimmodel.Instance {
		return cimmodel.NewInstance(c).
			Set("InstanceID", cimmodel.String(replicationCapabilitiesInstID)).
			Set("ElementName", cimmodel.String("replicad replication capabilities")).
			Set("SupportedReplicationTypes", cimmodel.Uint16s(slices.Clone(supportedReplicationTypes))).
			Set("SupportedStorageObjects", cimmodel.Uint16s([]uint16{2})). // StorageVolume
			Set("SupportedAsynchronousActions", cimmodel.Uint16s(slices.Clone(supportedAsyncActions))).
			Set("SupportedSynchronousActions", cimmodel.Uint16s(slices.Clone(supportedSyncActions)))
	})
	c.Methods = []*cimmodel.Method{
		{
			Name: "GetDefaultReplicationSettingData", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: capabilityReturnMap, ReturnValues: capabilityReturnValues("No default ReplicationSettingData"),
			Params: []cimmodel.Parameter{replicationTypeParam(),
				{Name: "DefaultInstance", Type: cimmodel.TypeInstance, Out: true, EmbeddedClass: replicationSettingDataClass}},
			Func: p.getDefaultReplicationSettingData,
		},
		p.listMethodOf("GetSupportedOperations", "SupportedOperations", operationCodes),
		p.listMethodOf("GetSupportedGroupOperations", "SupportedOperations", operationCodes),
		p.listMethod("GetSupportedFeatures", "Features", supportedFeatures),
		p.listMethod("GetSupportedGroupFeatures", "GroupFeatures", supportedGroupFeatures),
		p.listMethodOf("GetSupportedConsistency", "SupportedConsistency", consistencyFor),
		{
			Name: "GetSupportedWaitForCopyStates", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: capabilityReturnMap, ReturnValues: capabilityReturnValues("DMTF Reserved"),
			Params: []cimmodel.Parameter{replicationTypeParam(),
				rRequired(rParamMap(rIn("MethodName", cimmodel.TypeUint16),
					[]string{"2", "3", "4", "5", "6", "..", "0x8000.."},
					[]string{"CreateElementReplica", "CreateGroupReplica", "ModifyReplicaSynchronization", "ModifyListSynchronization",
						"ModifySettingsDefineState", "DMTF Reserved", "Vendor Specific"})),
				{Name: "SupportedCopyStates", Type: cimmodel.TypeUint16, Array: true, Out: true}},
			Func: func(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
				t, _ := argUint16(in, "ReplicationType")
				m, _ := argUint16(in, "MethodName")
				var states []uint16
				switch {
				case !slices.Contains(supportedReplicationTypes, t):
				case m == 2 || m == 3:
					states = []uint16{uint16(replica.CopyStateInitialized), uint16(replica.CopyStateUnsynchronized), uint16(replica.CopyStateSynchronized)}
				case m == 4 || m == 5:
					// What modifyReaches lets a client wait for.
					states = []uint16{uint16(replica.CopyStateSynchronized), uint16(replica.CopyStateFractured), uint16(replica.CopyStateSplit),
						uint16(replica.CopyStateAborted), uint16(replica.CopyStateNotApplicable)}
					if t <= 5 { // mirrors: Resume, Suspend
						states = append(states, uint16(replica.CopyStateUnsynchronized), uint16(replica.CopyStateSuspended))
						slices.Sort(states)
					}
				}
				if states == nil {
					if !slices.Contains(supportedReplicationTypes, t) {
						return p.unsupportedType("GetSupportedWaitForCopyStates", t), nil
					}
					return p.refusal(returnNotSupported, cimmodel.StatusNotSupported,
						fmt.Sprintf("GetSupportedWaitForCopyStates: MethodName %d: replicad has no ModifySettingsDefineState", m)), nil
				}
				return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{"SupportedCopyStates": cimmodel.Uint16s(states)}}, nil
			},
		},
		{
			Name: "ConvertSyncTypeToReplicationType", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: capabilityReturnMap, ReturnValues: capabilityReturnValues("DMTF Reserved"),
			Params: []cimmodel.Parameter{
				rRequired(rParamMap(rIn("SyncType", cimmodel.TypeUint16), []string{"6", "7", "8", "..", "0x8000.."},
					[]string{"Mirror", "Snapshot", "Clone", "DMTF Reserved", "Vendor Specific"})),
				rRequired(rParamMap(rIn("Mode", cimmodel.TypeUint16), []string{"2", "3", "..", "0x8000.."},
					[]string{"Synchronous", "Asynchronous", "DMTF Reserved", "Vendor Specific"})),
				rRequired(rParamMap(rIn("LocalOrRemote", cimmodel.TypeUint16), []string{"2", "3", "..", "0x8000.."},
					[]string{"Local", "Remote", "DMTF Reserved", "Vendor Specific"})),
				{Name: "SupportedReplicationTypes", Type: cimmodel.TypeUint16, Out: true}},
			Func: func(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
				st, _ := argUint16(in, "SyncType")
				mode, _ := argUint16(in, "Mode")
				where, _ := argUint16(in, "LocalOrRemote")
				if st > 8 || mode > 3 || where > 3 {
					return p.refusal(returnNotSupported, cimmodel.StatusNotSupported,
						"ConvertSyncTypeToReplicationType: vendor-specific SyncType, Mode or LocalOrRemote"), nil
				}
				t := 2 + 4*(st-6) + 2*(where-2) + (mode - 2)
				return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{"SupportedReplicationTypes": cimmodel.Uint16(t)}}, nil
			},
		},
	}
	return c
}

// defaultSettings is the CIM_ReplicationSettingData replicad applies when a
// request carries none, for replication type t (§3.4).
func (p *Provider) defaultSettings(t uint16) *cimmodel.Instance {
	return cimmodel.NewInstance(p.class(replicationSettingDataClass)).
		Set("InstanceID", cimmodel.String(fmt.Sprintf("replicad:ReplicationSettingData:%d", t))).
		Set("ElementName", cimmodel.String("replicad default replication settings")).
		Set("ConsistentPointInTime", cimmodel.Bool(false)).
		Set("DesiredCopyMethodology", cimmodel.Uint16(3)). // Full-Copy
		Set("Multihop", cimmodel.Uint16(1)).
		Set("OnGroupOrListError", cimmodel.Uint16(3)).      // Stop
		Set("UnequalGroupsAction", cimmodel.Uint16(2)).     // Return an error
		Set("TargetElementSupplier", cimmodel.Uint16(4)).   // Instrumentation decides
		Set("ThinProvisioningPolicy", cimmodel.Uint16(2)).  // thin source to thin target (sparse)
		Set("Pairing", cimmodel.Uint16(3)).                 // Exact order
		Set("FailedCopyStopsHostIO", cimmodel.Bool(false)). //
		Set("CopyRecoveryMode", cimmodel.Uint16(3)).        // Manual
		Set("UnequalListsAction", cimmodel.Uint16(2))
}

func (p *Provider) getDefaultReplicationSettingData(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	t, _ := argUint16(in, "ReplicationType")
	if !slices.Contains(supportedReplicationTypes, t) {
		return p.unsupportedType("GetDefaultReplicationSettingData", t), nil
	}
	return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{"DefaultInstance": cimmodel.Embedded(p.defaultSettings(t))}}, nil
}

// storageReplicationCapabilitiesClass declares
// MSISCSITARGET_StorageReplicationCapabilities, the older Copy Services view
// of the same abilities (§3.5; a [Static] class on Windows), for clients that
// read SupportedModifyOperations: full copies that stay associated until
// Detach (SupportedSynchronizationType 4 UnSyncAssoc-Full, 6
// UnSyncUnAssoc), created locally as a job or within the call, modified by
// Detach (2), Fracture (3), Resync Replica (4, incremental: only changed
// blocks) and Restore from Replica (5).
func (p *Provider) storageReplicationCapabilitiesClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: storageReplicationCapabilitiesClass, Superclass: "CIM_StorageReplicationCapabilities", Namespace: Namespace}
	c.Provider = singleton(func() *cimmodel.Instance {
		return cimmodel.NewInstance(c).
			Set("InstanceID", cimmodel.String(storageReplicationCapabilitiesID)).
			Set("ElementName", cimmodel.String("replicad storage replication capabilities")).
			Set("SupportedSynchronizationType", cimmodel.Uint16s([]uint16{2, 4, 6})). // + Async (mirrors)
			Set("SupportedAsynchronousActions", cimmodel.Uint16s([]uint16{2})).       // Local Replica Creation
			Set("SupportedSynchronousActions", cimmodel.Uint16s([]uint16{2, 4})).     // + Local Replica Modification
			Set("InitialReplicationState", cimmodel.Uint16(4)).                       // Synchronized (once the job completes)
			Set("SupportedSpecializedElements", cimmodel.Uint16s([]uint16{6})).       // Full Snapshot
			Set("SupportedModifyOperations", cimmodel.Uint16s([]uint16{2, 3, 4, 5})). // Detach, Fracture, Resync, Restore
			Set("ReplicaHostAccessibility", cimmodel.Uint16(3)).                      // No Restrictions
			Set("HostAccessibleState", cimmodel.Uint16s([]uint16{6})).                // Synchronized
			Set("PersistentReplicasSupported", cimmodel.Bool(true)).
			Set("LocalMirrorSnapshotSupported", cimmodel.Bool(false)).
			Set("IncrementalDeltasSupported", cimmodel.Bool(true)).
			Set("MaximumLocalReplicationDepth", cimmodel.Uint16(1))
	})
	return c
}

// storageReplicationCapabilitiesPath is the path of its one instance.
func (p *Provider) storageReplicationCapabilitiesPath() cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: storageReplicationCapabilitiesClass, Keys: []cimmodel.KeyBinding{
		{Name: "InstanceID", Value: cimmodel.String(storageReplicationCapabilitiesID)},
	}}
}
