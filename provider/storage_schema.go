package provider

import "github.com/replicad/replicad/cimmodel"

// The abstract DMTF classes (CIM schema 2.51) the storage classes derive
// from, so that enumerating or filtering on a CIM_ name finds the
// MSISCSITARGET_ subclass, as WMI does. Only the properties our instances
// fill are declared.

// ref declares a key reference property of an association.
func ref(name, class string) cimmodel.Property {
	return cimmodel.Property{Name: name, Type: cimmodel.TypeReference, Key: true, RefClass: class}
}

// abstractAssociation declares an abstract DMTF association class.
func abstractAssociation(name, super string, props ...cimmodel.Property) *cimmodel.Class {
	c := abstractClass(name, super, props...)
	c.Association = true
	return c
}

// storageExtentUsage is CIM_StorageExtent.Usage (2.51,
// Device/CIM_StorageExtent.mof); cim-replication.md §3.8.
var storageExtentUsage = valueMapped(prop("Usage", cimmodel.TypeUint16),
	[]string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "..", "32768..65535"},
	[]string{"Other", "Unrestricted", "Reserved for ComputerSystem (the block server)", "Reserved by Replication Services",
		"Reserved by Migration Services", "Local Replica Source", "Remote Replica Source", "Local Replica Target",
		"Remote Replica Target", "Local Replica Source or Target", "Remote Replica Source or Target", "Delta Replica Target",
		"DMTF Reserved", "Vendor Reserved"})

// StorageExtent.Usage values our volumes show (§3.8).
const (
	usageUnrestricted          uint16 = 2
	usageLocalReplicaSource    uint16 = 6
	usageLocalReplicaTarget    uint16 = 8
	usageLocalReplicaSourceTgt uint16 = 10
)

// storagePoolUsage is CIM_StoragePool.Usage (2.51); §3.9.
var storagePoolUsage = valueMapped(prop("Usage", cimmodel.TypeUint16),
	[]string{"1", "2", "3", "4", "5", "6", "7", "8", "..", "32768..65535"},
	[]string{"Other", "Unrestricted", "Reserved for ComputerSystem (the block server)", "Reserved as a Delta Replica Container",
		"Reserved for Migration Services", "Reserved for Local Replication Services", "Reserved for Remote Replication Services",
		"Reserved for Sparing", "DMTF Reserved", "Vendor Reserved"})

// resourceTypeStorageExtent is CIM_ResourcePool.ResourceType 19, "Storage
// Extent" (2.44, Core/CIM_ResourcePool.mof); §3.9.
const resourceTypeStorageExtent uint16 = 19

// storageSchemaClasses declares the abstract DMTF parents of the storage
// classes, parents first; storageClasses returns them before its own.
func storageSchemaClasses() []*cimmodel.Class {
	return []*cimmodel.Class{
		// Core/CIM_LogicalDevice.mof: the keys of every device; DeviceID MaxLen 64 (§3.8).
		abstractClass("CIM_LogicalDevice", "CIM_EnabledLogicalElement",
			key("SystemCreationClassName", 256),
			key("SystemName", 256),
			key("CreationClassName", 256),
			key("DeviceID", 64)),
		// Device/CIM_StorageExtent.mof (§3.8).
		abstractClass("CIM_StorageExtent", "CIM_LogicalDevice",
			valueMapped(prop("DataOrganization", cimmodel.TypeUint16),
				[]string{"0", "1", "2", "3", "4"},
				[]string{"Other", "Unknown", "Fixed Block", "Variable Block", "Count Key Data"}),
			prop("BlockSize", cimmodel.TypeUint64),
			prop("NumberOfBlocks", cimmodel.TypeUint64),
			prop("ConsumableBlocks", cimmodel.TypeUint64),
			valueMapped(prop("Access", cimmodel.TypeUint16),
				[]string{"0", "1", "2", "3", "4"},
				[]string{"Unknown", "Readable", "Writeable", "Read/Write Supported", "Write Once"}),
			prop("Primordial", cimmodel.TypeBoolean),
			valueMapped(prop("NameFormat", cimmodel.TypeUint16),
				[]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"},
				[]string{"Unknown", "Other", "VPD83NAA6", "VPD83NAA5", "VPD83Type2", "VPD83Type1", "VPD83Type0", "SNVM",
					"NodeWWN", "NAA", "EUI64", "T10VID"}),
			valueMapped(prop("NameNamespace", cimmodel.TypeUint16),
				[]string{"0", "1", "2", "3", "4", "5", "6", "7"},
				[]string{"Unknown", "Other", "VPD83Type3", "VPD83Type2", "VPD83Type1", "VPD80", "NodeWWN", "SNVM"}),
			prop("ThinlyProvisioned", cimmodel.TypeBoolean),
			storageExtentUsage),
		// Device/CIM_StorageVolume.mof.
		abstractClass("CIM_StorageVolume", "CIM_StorageExtent",
			prop("CanDelete", cimmodel.TypeBoolean)),
		// Core/CIM_ResourcePool.mof: key InstanceID (§3.9).
		abstractClass("CIM_ResourcePool", "CIM_LogicalElement",
			cimmodel.Property{Name: "InstanceID", Type: cimmodel.TypeString, Key: true},
			cimmodel.Property{Name: "PoolID", Type: cimmodel.TypeString, Required: true, MaxLen: 256},
			prop("Primordial", cimmodel.TypeBoolean),
			prop("Capacity", cimmodel.TypeUint64),
			prop("Reserved", cimmodel.TypeUint64),
			valueMapped(prop("ResourceType", cimmodel.TypeUint16),
				[]string{"1", "19", "31", "32", ".."},
				[]string{"Other", "Storage Extent", "Logical Disk", "Storage Volume", "DMTF Reserved"}),
			prop("AllocationUnits", cimmodel.TypeString)),
		// Device/CIM_StoragePool.mof (§3.9).
		abstractClass("CIM_StoragePool", "CIM_ResourcePool",
			cimmodel.Property{Name: "TotalManagedSpace", Type: cimmodel.TypeUint64, Required: true},
			cimmodel.Property{Name: "RemainingManagedSpace", Type: cimmodel.TypeUint64, Required: true},
			prop("ElementsShareSpace", cimmodel.TypeBoolean),
			valueMapped(prop("SpaceLimitDetermination", cimmodel.TypeUint16),
				[]string{"2", "3", "4"},
				[]string{"Allocated", "Quote", "Limitless"}),
			prop("SpaceLimit", cimmodel.TypeUint64),
			prop("LowSpaceWarningThreshold", cimmodel.TypeUint16),
			storagePoolUsage),
		// Device/CIM_StorageConfigurationService.mof; the methods are declared
		// here without an implementation and overridden by the concrete class.
		func() *cimmodel.Class {
			c := abstractClass("CIM_StorageConfigurationService", "CIM_Service")
			c.Methods = storageConfigurationMethods(nil, nil)
			return c
		}(),

		// Associations (Core/CIM_Dependency.mof, Core/CIM_Component.mof and
		// their subclasses).
		abstractAssociation("CIM_Dependency", "",
			ref("Antecedent", "CIM_ManagedElement"),
			ref("Dependent", "CIM_ManagedElement")),
		abstractAssociation("CIM_HostedService", "CIM_Dependency",
			ref("Antecedent", "CIM_System"),
			ref("Dependent", "CIM_Service")),
		abstractAssociation("CIM_AllocatedFromStoragePool", "CIM_Dependency",
			ref("Antecedent", "CIM_StoragePool"),
			ref("Dependent", "CIM_LogicalElement"),
			cimmodel.Property{Name: "SpaceConsumed", Type: cimmodel.TypeUint64, Required: true}),
		abstractAssociation("CIM_Component", "",
			ref("GroupComponent", "CIM_ManagedElement"),
			ref("PartComponent", "CIM_ManagedElement")),
		abstractAssociation("CIM_SystemComponent", "CIM_Component",
			ref("GroupComponent", "CIM_System"),
			ref("PartComponent", "CIM_ManagedSystemElement")),
		abstractAssociation("CIM_SystemDevice", "CIM_SystemComponent",
			ref("GroupComponent", "CIM_System"),
			ref("PartComponent", "CIM_LogicalDevice")),
		abstractAssociation("CIM_HostedStoragePool", "CIM_SystemComponent",
			ref("GroupComponent", "CIM_System"),
			ref("PartComponent", "CIM_StoragePool")),
	}
}
