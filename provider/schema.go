package provider

import "github.com/replicad/replicad/cimmodel"

// Short constructors for declarations.
func prop(name string, t cimmodel.Type) cimmodel.Property {
	return cimmodel.Property{Name: name, Type: t}
}

func key(name string, maxLen int) cimmodel.Property {
	return cimmodel.Property{Name: name, Type: cimmodel.TypeString, Key: true, MaxLen: maxLen}
}

func arrayProp(name string, t cimmodel.Type) cimmodel.Property {
	return cimmodel.Property{Name: name, Type: t, Array: true}
}

func valueMapped(p cimmodel.Property, valueMap, values []string) cimmodel.Property {
	p.ValueMap, p.Values = valueMap, values
	return p
}

// abstractClass declares an abstract DMTF class in Namespace.
func abstractClass(name, super string, props ...cimmodel.Property) *cimmodel.Class {
	return &cimmodel.Class{Name: name, Superclass: super, Namespace: Namespace, Abstract: true, Properties: props}
}

// operationalStatus is CIM_ManagedSystemElement.OperationalStatus (DMTF CIM
// schema 2.51, Core/CIM_ManagedSystemElement.mof).
var operationalStatus = valueMapped(arrayProp("OperationalStatus", cimmodel.TypeUint16),
	[]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "..", "0x8000.."},
	[]string{"Unknown", "Other", "OK", "Degraded", "Stressed", "Predictive Failure", "Error", "Non-Recoverable Error",
		"Starting", "Stopping", "Stopped", "In Service", "No Contact", "Lost Communication", "Aborted", "Dormant",
		"Supporting Entity in Error", "Completed", "Power Mode", "DMTF Reserved", "Vendor Reserved"})

// OperationalStatus values used by our instances.
const (
	statusOK        uint16 = 2
	statusError     uint16 = 6
	statusStopped   uint16 = 10
	statusLostComm  uint16 = 13
	statusCompleted uint16 = 17
)

// schemaClasses declares the abstract DMTF classes (CIM schema 2.51) that
// our concrete classes derive from, parents first.
func schemaClasses() []*cimmodel.Class {
	return []*cimmodel.Class{
		abstractClass("CIM_ManagedElement", "",
			prop("InstanceID", cimmodel.TypeString),
			prop("Caption", cimmodel.TypeString),
			prop("Description", cimmodel.TypeString),
			prop("ElementName", cimmodel.TypeString)),
		abstractClass("CIM_ManagedSystemElement", "CIM_ManagedElement",
			prop("InstallDate", cimmodel.TypeDatetime),
			prop("Name", cimmodel.TypeString),
			operationalStatus,
			arrayProp("StatusDescriptions", cimmodel.TypeString),
			prop("Status", cimmodel.TypeString),
			prop("HealthState", cimmodel.TypeUint16)),
		abstractClass("CIM_LogicalElement", "CIM_ManagedSystemElement"),
		abstractClass("CIM_EnabledLogicalElement", "CIM_LogicalElement",
			prop("EnabledState", cimmodel.TypeUint16),
			prop("RequestedState", cimmodel.TypeUint16),
			prop("EnabledDefault", cimmodel.TypeUint16)),
		abstractClass("CIM_System", "CIM_EnabledLogicalElement",
			key("CreationClassName", 256),
			key("Name", 256),
			prop("NameFormat", cimmodel.TypeString),
			prop("PrimaryOwnerName", cimmodel.TypeString)),
		abstractClass("CIM_ComputerSystem", "CIM_System",
			arrayProp("Dedicated", cimmodel.TypeUint16)),
		abstractClass("CIM_Service", "CIM_EnabledLogicalElement",
			key("SystemCreationClassName", 256),
			key("SystemName", 256),
			key("CreationClassName", 256),
			key("Name", 256),
			prop("Started", cimmodel.TypeBoolean),
			prop("StartMode", cimmodel.TypeString)),
		abstractClass("CIM_ReplicationService", "CIM_Service"),
	}
}
