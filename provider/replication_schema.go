package provider

import "github.com/replicad/replicad/cimmodel"

// The DMTF classes (CIM schema 2.51, Windows' 2.28/2.29 generation where the
// value maps differ; cim-replication.md §2, §3) that the replication classes
// derive from or embed. Only the properties our instances fill, or clients
// send back, are declared.

// copyStateMap is CIM_Synchronized.CopyState as Windows declares it (2..17);
// §2.2.
var copyStateMap = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "..", "0x8000.."}
var copyStateValues = []string{"Unknown", "Unknown", "Initialized", "Unsynchronized", "Synchronized", "Broken", "Fractured", "Split",
	"Inactive", "Suspended", "Failedover", "Prepared", "Aborted", "Skewed", "Mixed", "Not Applicable", "Partitioned", "Invalid",
	"DMTF Reserved", "Vendor Specific"}

// waitCopyStateMap is the ValueMap of WaitForCopyState parameters: the
// CopyState values (ModelCorrespondence CIM_Synchronized.CopyState).
var waitCopyStateMap = []string{"2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "..", "0x8000.."}
var waitCopyStateValues = []string{"Initialized", "Unsynchronized", "Synchronized", "Broken", "Fractured", "Split",
	"Inactive", "Suspended", "Failedover", "Prepared", "Aborted", "Skewed", "Mixed", "Not Applicable", "Partitioned", "Invalid",
	"DMTF Reserved", "Vendor Specific"}

func rU16(name string) cimmodel.Property { return prop(name, cimmodel.TypeUint16) }

func rU16Map(name string, valueMap ...string) cimmodel.Property {
	values := make([]string, len(valueMap))
	for i, v := range valueMap {
		values[i] = v
		switch v {
		case "..":
			values[i] = "DMTF Reserved"
		case "0x8000..":
			values[i] = "Vendor Specific"
		}
	}
	return valueMapped(rU16(name), valueMap, values)
}

func rWritable(p cimmodel.Property) cimmodel.Property {
	p.Write = true
	return p
}

// replicationSchemaClasses declares the DMTF parents of the replication
// classes, parents first. They come after the storage schema, whose
// CIM_Dependency and CIM_Component they reuse.
func replicationSchemaClasses() []*cimmodel.Class {
	rsd := &cimmodel.Class{Name: "CIM_ReplicationSettingData", Superclass: "CIM_SettingData", Namespace: Namespace,
		Description: "Replication settings (Device/CIM_ReplicationSettingData.mof); sent embedded in ReplicationSettingData parameters.",
		Properties: []cimmodel.Property{
			prop("ConsistentPointInTime", cimmodel.TypeBoolean),
			rU16Map("DesiredCopyMethodology", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "..", "0x8000.."),
			rU16("Multihop"),
			rU16Map("OnGroupOrListError", "2", "3", "..", "0x8000.."),
			rU16Map("UnequalGroupsAction", "2", "3", "4", "..", "0x8000.."),
			rU16Map("TargetElementSupplier", "1", "2", "3", "4", "5", "..", "0x8000.."),
			rU16Map("ThinProvisioningPolicy", "2", "3", "4", "5", "6", "7", "..", "0x8000.."),
			rU16Map("Pairing", "2", "3", "4", "..", "0x8000.."),
			prop("FailedCopyStopsHostIO", cimmodel.TypeBoolean),
			rU16Map("CopyRecoveryMode", "0", "2", "3", "4", "..", "0x8000.."),
			rU16Map("UnequalListsAction", "2", "3", "4", "..", "0x8000.."),
			prop("DeltaUpdateInterval", cimmodel.TypeDatetime),
			prop("DeltaUpdateBlocks", cimmodel.TypeUint64),
			rU16Map("ReadOnly", "2", "3", "4", "..", "0x8000.."),
			rU16Map("CopyPriority", "0", "1", "2", "3", "4", "..", "0x8000.."),
			rU16Map("StorageCompressionPolicy", "2", "3", "4", "5", "6", "7", "..", "0x8000.."),
			prop("AutoDelete", cimmodel.TypeBoolean),
			prop("RRCHardwareCompressionEnabled", cimmodel.TypeBoolean),
			prop("RRCSoftwareCompressionEnabled", cimmodel.TypeBoolean),
			rU16Map("TargetElementGoal", "2", "3", "..", "0x8000.."),
			rU16Map("TargetElementResourcePool", "2", "3", "..", "0x8000.."),
			prop("TimeBeforeRemoval", cimmodel.TypeDatetime),
			prop("ConsistencyExempt", cimmodel.TypeBoolean),
			prop("ConsistentAsyncCopy", cimmodel.TypeBoolean),
			prop("DesiredRPO", cimmodel.TypeDatetime),
			prop("MaximumSkew", cimmodel.TypeUint64),
		}}
	cimError := &cimmodel.Class{Name: "CIM_Error", Namespace: Namespace,
		Description: "An error (Interop/CIM_Error.mof 2.30); returned embedded by CIM_ConcreteJob.GetError.",
		Properties: []cimmodel.Property{
			rU16("ErrorType"), prop("OtherErrorType", cimmodel.TypeString),
			prop("OwningEntity", cimmodel.TypeString), prop("MessageID", cimmodel.TypeString),
			prop("Message", cimmodel.TypeString), arrayProp("MessageArguments", cimmodel.TypeString),
			rU16("PerceivedSeverity"), rU16("ProbableCause"), prop("ProbableCauseDescription", cimmodel.TypeString),
			arrayProp("RecommendedActions", cimmodel.TypeString),
			prop("ErrorSource", cimmodel.TypeString), rU16("ErrorSourceFormat"), prop("OtherErrorSourceFormat", cimmodel.TypeString),
			prop("CIMStatusCode", cimmodel.TypeUint32), prop("CIMStatusCodeDescription", cimmodel.TypeString),
		}}
	synchronized := []cimmodel.Property{
		ref("SystemElement", "CIM_ManagedElement"), ref("SyncedElement", "CIM_ManagedElement"),
		prop("WhenSynced", cimmodel.TypeDatetime), prop("SyncMaintained", cimmodel.TypeBoolean),
		valueMapped(rU16("CopyState"), copyStateMap, copyStateValues),
		valueMapped(rU16("RequestedCopyState"), copyStateMap, copyStateValues),
		rU16Map("SyncType", "..", "6", "7", "8", "..", "0x8000.."),
		rU16Map("Mode", "0", "2", "3", "..", "0x8000.."),
		rU16("PercentSynced"), rU16("ProgressStatus"), rU16("CopyRecoveryMode"),
		prop("WhenActivated", cimmodel.TypeDatetime), prop("WhenDeactivated", cimmodel.TypeDatetime),
		prop("WhenEstablished", cimmodel.TypeDatetime), prop("WhenSuspended", cimmodel.TypeDatetime),
		prop("WhenSynchronized", cimmodel.TypeDatetime), prop("FailedCopyStopsHostIO", cimmodel.TypeBoolean),
	}
	return []*cimmodel.Class{
		// Access points, so that a SourceAccessPoint or TargetAccessPoint
		// reaches the method and is answered Not Supported (local
		// replication only) instead of a fault (Core/CIM_ServiceAccessPoint.mof,
		// Core/CIM_RemoteServiceAccessPoint.mof).
		abstractClass("CIM_ServiceAccessPoint", "CIM_EnabledLogicalElement",
			key("SystemCreationClassName", 256), key("SystemName", 256),
			key("CreationClassName", 256), key("Name", 256)),
		abstractClass("CIM_RemoteServiceAccessPoint", "CIM_ServiceAccessPoint",
			prop("AccessInfo", cimmodel.TypeString), rU16("InfoFormat")),
		// Jobs (Core/CIM_Job.mof, Core/CIM_ConcreteJob.mof; §3.6).
		abstractClass("CIM_Job", "CIM_LogicalElement",
			prop("JobStatus", cimmodel.TypeString), prop("TimeSubmitted", cimmodel.TypeDatetime),
			prop("StartTime", cimmodel.TypeDatetime), prop("ElapsedTime", cimmodel.TypeDatetime),
			prop("JobRunTimes", cimmodel.TypeUint32), prop("Priority", cimmodel.TypeUint32),
			rU16("PercentComplete"), rWritable(prop("DeleteOnCompletion", cimmodel.TypeBoolean)),
			rU16("ErrorCode"), prop("ErrorDescription", cimmodel.TypeString),
			rU16("RecoveryAction"), rU16("LocalOrUtcTime"), prop("Owner", cimmodel.TypeString)),
		abstractClass("CIM_ConcreteJob", "CIM_Job",
			cimmodel.Property{Name: "InstanceID", Type: cimmodel.TypeString, Key: true},
			cimmodel.Property{Name: "Name", Type: cimmodel.TypeString, Required: true},
			rU16Map("JobState", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13..32767", "32768..65535"),
			prop("TimeOfLastStateChange", cimmodel.TypeDatetime),
			rWritable(prop("TimeBeforeRemoval", cimmodel.TypeDatetime))),
		// Groups (Core/CIM_Collection.mof … Device/CIM_ReplicationGroup.mof; §3.1).
		abstractClass("CIM_Collection", "CIM_ManagedElement"),
		abstractClass("CIM_SystemSpecificCollection", "CIM_Collection",
			cimmodel.Property{Name: "InstanceID", Type: cimmodel.TypeString, Key: true}),
		abstractClass("CIM_ReplicationGroup", "CIM_SystemSpecificCollection",
			prop("Persistent", cimmodel.TypeBoolean), prop("DeleteOnEmptyElement", cimmodel.TypeBoolean),
			prop("DeleteOnUnassociated", cimmodel.TypeBoolean), prop("ConsistentPointInTime", cimmodel.TypeBoolean),
			rU16("ReservedAs"), arrayProp("SupportedSyncTypes", cimmodel.TypeUint16),
			arrayProp("MemberPolicy", cimmodel.TypeUint16), prop("SystemGenerated", cimmodel.TypeBoolean)),
		// Synchronizations (Core/CIM_Synchronized.mof, Device/CIM_StorageSynchronized.mof,
		// Core/CIM_GroupSynchronized.mof; §2, §3.3).
		abstractAssociation("CIM_Synchronized", "", synchronized...),
		abstractAssociation("CIM_StorageSynchronized", "CIM_Synchronized",
			rU16Map("CopyType", "2", "3", "4", "5", "..", "0x8000.."),
			rU16("ReplicaType"), rU16("SyncState"), rWritable(rU16("CopyPriority")), rU16("CopyMethodology"),
			rU16("UndiscoveredElement"), rU16("ReadOnly")),
		abstractAssociation("CIM_GroupSynchronized", "CIM_Synchronized",
			ref("SystemElement", "CIM_ReplicationGroup"), ref("SyncedElement", "CIM_ReplicationGroup"),
			prop("RelationshipName", cimmodel.TypeString), prop("ConsistencyEnabled", cimmodel.TypeBoolean),
			rU16("ConsistencyType"), rU16("ConsistencyState"), rU16("ConsistencyStatus")),
		// Capabilities and settings (§3.4, §3.5).
		abstractClass("CIM_Capabilities", "CIM_ManagedElement",
			cimmodel.Property{Name: "InstanceID", Type: cimmodel.TypeString, Key: true}),
		abstractClass("CIM_ReplicationServiceCapabilities", "CIM_Capabilities",
			arrayProp("SupportedReplicationTypes", cimmodel.TypeUint16),
			arrayProp("SupportedStorageObjects", cimmodel.TypeUint16),
			arrayProp("SupportedAsynchronousActions", cimmodel.TypeUint16),
			arrayProp("SupportedSynchronousActions", cimmodel.TypeUint16)),
		abstractClass("CIM_StorageReplicationCapabilities", "CIM_Capabilities",
			arrayProp("SupportedSynchronizationType", cimmodel.TypeUint16),
			arrayProp("SupportedAsynchronousActions", cimmodel.TypeUint16),
			arrayProp("SupportedSynchronousActions", cimmodel.TypeUint16),
			rU16("InitialReplicationState"),
			arrayProp("SupportedSpecializedElements", cimmodel.TypeUint16),
			arrayProp("SupportedModifyOperations", cimmodel.TypeUint16),
			rU16("ReplicaHostAccessibility"),
			arrayProp("HostAccessibleState", cimmodel.TypeUint16),
			prop("PersistentReplicasSupported", cimmodel.TypeBoolean),
			prop("LocalMirrorSnapshotSupported", cimmodel.TypeBoolean),
			prop("IncrementalDeltasSupported", cimmodel.TypeBoolean),
			prop("MaximumLocalReplicationDepth", cimmodel.TypeUint16)),
		abstractClass("CIM_SettingData", "CIM_ManagedElement",
			cimmodel.Property{Name: "InstanceID", Type: cimmodel.TypeString, Key: true}),
		rsd,
		cimError,
		// Associations (§3.1, §3.2, §3.5, §3.6).
		abstractAssociation("CIM_ElementCapabilities", "",
			ref("ManagedElement", "CIM_ManagedElement"), ref("Capabilities", "CIM_Capabilities"),
			arrayProp("Characteristics", cimmodel.TypeUint16)),
		abstractAssociation("CIM_AffectedJobElement", "",
			ref("AffectedElement", "CIM_ManagedElement"), ref("AffectingElement", "CIM_Job"),
			arrayProp("ElementEffects", cimmodel.TypeUint16),
			arrayProp("OtherElementEffectsDescriptions", cimmodel.TypeString)),
		abstractAssociation("CIM_OwningJobElement", "",
			ref("OwningElement", "CIM_ManagedElement"), ref("OwnedElement", "CIM_Job")),
		abstractAssociation("CIM_MemberOfCollection", "",
			ref("Collection", "CIM_Collection"), ref("Member", "CIM_ManagedElement")),
		abstractAssociation("CIM_OrderedMemberOfCollection", "CIM_MemberOfCollection",
			prop("AssignedSequence", cimmodel.TypeUint64)),
		abstractAssociation("CIM_ServiceAffectsElement", "",
			ref("AffectedElement", "CIM_ManagedElement"), ref("AffectingElement", "CIM_Service"),
			arrayProp("ElementEffects", cimmodel.TypeUint16)),
		abstractAssociation("CIM_HostedCollection", "CIM_Dependency",
			ref("Antecedent", "CIM_System"), ref("Dependent", "CIM_SystemSpecificCollection")),
	}
}
