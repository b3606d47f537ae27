package provider

import "github.com/replicad/replicad/cimmodel"

// The abstract DMTF classes (CIM schema 2.51, repo freebsd-ext/CIM commit
// 0e139a1; provider/testdata/SOURCES.md) that the masking and iSCSI classes
// derive from, parents first, so that enumerating, filtering or following
// an association by a CIM_ name finds the MSISCSITARGET_ subclass. Only the
// properties our instances fill or clients filter on are declared, with the
// 2.51 value maps. The classes the storage and replication families
// already declare (CIM_LogicalDevice, CIM_Service, CIM_ServiceAccessPoint,
// CIM_Capabilities, CIM_Dependency, CIM_HostedService, CIM_SystemDevice,
// CIM_ElementCapabilities) are reused.

// deviceAccess is CIM_ProtocolControllerForUnit.DeviceAccess and
// ExposePaths' DeviceAccesses (Device/CIM_ProtocolControllerForUnit.mof,
// Device/CIM_ControllerConfigurationService.mof).
var (
	deviceAccessMap    = []string{"0", "2", "3", "4", "5..15999", "16000.."}
	deviceAccessValues = []string{"Unknown", "Read Write", "Read-Only", "No Access", "DMTF Reserved", "Vendor Reserved"}
)

// DeviceAccess values.
const (
	deviceAccessReadWrite uint16 = 2
	deviceAccessReadOnly  uint16 = 3
	deviceAccessNoAccess  uint16 = 4
)

// hardwareIDTypes is CIM_StorageHardwareID.IDType (User/CIM_StorageHardwareID.mof).
var (
	hardwareIDTypeMap    = []string{"1", "2", "3", "4", "5", "6", "7"}
	hardwareIDTypeValues = []string{"Other", "PortWWN", "NodeWWN", "Hostname", "iSCSI Name", "SwitchWWN", "SAS Address"}
)

// idTypeISCSIName is IDType 5, iSCSI Name (iqn., eui. or naa. forms).
const idTypeISCSIName uint16 = 5

// u16Map declares a uint16 property with a value map.
func u16Map(name string, valueMap, values []string) cimmodel.Property {
	return valueMapped(prop(name, cimmodel.TypeUint16), valueMap, values)
}

// iscsiSchemaClasses declares the abstract parents of the masking and iSCSI
// classes; maskingClasses returns them before its own.
func iscsiSchemaClasses() []*cimmodel.Class {
	return []*cimmodel.Class{
		// Device/CIM_ProtocolController.mof, Device/CIM_SCSIProtocolController.mof.
		abstractClass("CIM_ProtocolController", "CIM_LogicalDevice",
			prop("MaxUnitsControlled", cimmodel.TypeUint32)),
		abstractClass("CIM_SCSIProtocolController", "CIM_ProtocolController",
			u16Map("NameFormat", []string{"0", "1", "2", "3"}, []string{"Unknown", "Other", "FC Port WWN", "iSCSI Name"}),
			prop("OtherNameFormat", cimmodel.TypeString)),
		// User/CIM_Identity.mof, User/CIM_StorageHardwareID.mof.
		abstractClass("CIM_Identity", "CIM_ManagedElement",
			cimmodel.Property{Name: "InstanceID", Type: cimmodel.TypeString, Key: true},
			prop("CurrentlyAuthenticated", cimmodel.TypeBoolean)),
		abstractClass("CIM_StorageHardwareID", "CIM_Identity",
			cimmodel.Property{Name: "StorageID", Type: cimmodel.TypeString, Required: true, MaxLen: 256},
			cimmodel.Property{Name: "IDType", Type: cimmodel.TypeUint16, Required: true,
				ValueMap: hardwareIDTypeMap, Values: hardwareIDTypeValues},
			prop("OtherIDType", cimmodel.TypeString)),
		// User/CIM_Privilege.mof, User/CIM_AuthorizedPrivilege.mof.
		abstractClass("CIM_Privilege", "CIM_ManagedElement",
			cimmodel.Property{Name: "InstanceID", Type: cimmodel.TypeString, Key: true},
			prop("PrivilegeGranted", cimmodel.TypeBoolean),
			valueMapped(arrayProp("Activities", cimmodel.TypeUint16),
				[]string{"1", "2", "3", "4", "5", "6", "7", "..", "16000.."},
				[]string{"Other", "Create", "Delete", "Detect", "Read", "Write", "Execute", "DMTF Reserved", "Vendor Reserved"}),
			arrayProp("ActivityQualifiers", cimmodel.TypeString),
			valueMapped(arrayProp("QualifierFormats", cimmodel.TypeUint16),
				[]string{"2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "..", "16000.."},
				[]string{"Class Name", "<Class.>Property", "<Class.>Method", "Object Reference", "Namespace", "URL",
					"Directory/File Name", "Command Line Instruction", "SCSI Command", "Packets", "DMTF Reserved", "Vendor Reserved"}),
			prop("RepresentsAuthorizationRights", cimmodel.TypeBoolean)),
		abstractClass("CIM_AuthorizedPrivilege", "CIM_Privilege"),
		// Services: Device/CIM_ControllerConfigurationService.mof,
		// User/CIM_StorageHardwareIDManagementService.mof (: CIM_IdentityManagementService
		// : CIM_SecurityService : CIM_Service), Network/CIM_iSCSIConfigurationService.mof.
		// Their methods are declared on the concrete classes.
		abstractClass("CIM_ControllerConfigurationService", "CIM_Service"),
		abstractClass("CIM_SecurityService", "CIM_Service"),
		abstractClass("CIM_IdentityManagementService", "CIM_SecurityService"),
		abstractClass("CIM_StorageHardwareIDManagementService", "CIM_IdentityManagementService"),
		abstractClass("CIM_iSCSIConfigurationService", "CIM_Service"),
		// Endpoints: Core/CIM_ProtocolEndpoint.mof, Network/CIM_SCSIProtocolEndpoint.mof,
		// Network/CIM_iSCSIProtocolEndpoint.mof, Network/CIM_TCPProtocolEndpoint.mof.
		// ProtocolIFType's 2.51 value map is IANA's ifType list (0..224) and
		// DMTF's 4096..4406: declared here only by the values we use.
		abstractClass("CIM_ProtocolEndpoint", "CIM_ServiceAccessPoint",
			cimmodel.Property{Name: "NameFormat", Type: cimmodel.TypeString, MaxLen: 256},
			prop("ProtocolType", cimmodel.TypeUint16),
			prop("ProtocolIFType", cimmodel.TypeUint16),
			cimmodel.Property{Name: "OtherTypeDescription", Type: cimmodel.TypeString, MaxLen: 64}),
		abstractClass("CIM_SCSIProtocolEndpoint", "CIM_ProtocolEndpoint",
			u16Map("ConnectionType", []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"},
				[]string{"Other", "Fibre Channel", "Parallel SCSI", "SSA", "IEEE 1394", "RDMA", "iSCSI", "SAS", "ADT"}),
			u16Map("Role", []string{"0", "2", "3", "4"}, []string{"Unknown", "Initiator", "Target", "Both Initiator and Target"}),
			prop("TargetRelativePortNumber", cimmodel.TypeUint32),
			prop("OtherConnectionType", cimmodel.TypeString)),
		abstractClass("CIM_iSCSIProtocolEndpoint", "CIM_SCSIProtocolEndpoint",
			cimmodel.Property{Name: "Identifier", Type: cimmodel.TypeString, Required: true, MaxLen: 13},
			u16Map("Role", []string{"2", "3"}, []string{"Initiator", "Target"})),
		abstractClass("CIM_TCPProtocolEndpoint", "CIM_ProtocolEndpoint",
			prop("PortNumber", cimmodel.TypeUint32),
			u16Map("ProtocolIFType", []string{"1", "225..4095", "4111", "4204", "4406", "4301..32767", "32768.."},
				[]string{"Other", "IANA Reserved", "TCP", "HTTP", "HTTPS", "DMTF Reserved", "Vendor Reserved"})),
		// Sessions: Network/CIM_NetworkPipe.mof, Network/CIM_iSCSISession.mof,
		// Network/CIM_iSCSIConnection.mof.
		abstractClass("CIM_NetworkPipe", "CIM_EnabledLogicalElement",
			cimmodel.Property{Name: "InstanceID", Type: cimmodel.TypeString, Key: true},
			u16Map("Directionality", []string{"0", "2", "3"}, []string{"Unknown", "Bi-Directional", "Unidirectional"}),
			u16Map("AggregationBehavior", []string{"0", "2", "3", "4"},
				[]string{"Unknown", "No Lower-Level Composition", "Combined In Parallel", "Combined In Sequence"})),
		abstractClass("CIM_iSCSISession", "CIM_NetworkPipe",
			u16Map("SessionType", []string{"2", "3"}, []string{"Discovery", "Normal"}),
			prop("TSIH", cimmodel.TypeUint32),
			prop("EndPointName", cimmodel.TypeString),
			prop("CurrentConnections", cimmodel.TypeUint32)),
		abstractClass("CIM_iSCSIConnection", "CIM_NetworkPipe",
			prop("ConnectionID", cimmodel.TypeUint32),
			u16Map("AuthenticationMethodUsed", []string{"2", "3", "4", "5"}, []string{"No Authentication", "SRP", "CHAP", "Kerberos"}),
			prop("MutualAuthentication", cimmodel.TypeBoolean)),
		// Capabilities: Device/CIM_ProtocolControllerMaskingCapabilities.mof,
		// Network/CIM_iSCSICapabilities.mof, Network/CIM_iSCSIConfigurationCapabilities.mof.
		abstractClass("CIM_ProtocolControllerMaskingCapabilities", "CIM_Capabilities",
			valueMapped(arrayProp("ValidHardwareIdTypes", cimmodel.TypeUint16),
				[]string{"1", "2", "3", "4", "5", "7"}, []string{"Other", "Port WWN", "Node WWN", "Host Name", "iSCSI Name", "SAS Address"}),
			arrayProp("OtherValidHardwareIDTypes", cimmodel.TypeString),
			u16Map("PortsPerView", []string{"2", "3", "4"}, []string{"One Port per View", "Multiple Ports per View", "All Ports share the same View"}),
			prop("ClientSelectableDeviceNumbers", cimmodel.TypeBoolean),
			prop("AttachDeviceSupported", cimmodel.TypeBoolean),
			prop("OneHardwareIDPerView", cimmodel.TypeBoolean),
			prop("UniqueUnitNumbersPerPort", cimmodel.TypeBoolean),
			prop("PrivilegeDeniedSupported", cimmodel.TypeBoolean),
			prop("ProtocolControllerRequiresAuthorizedIdentity", cimmodel.TypeBoolean),
			prop("ProtocolControllerSupportsCollections", cimmodel.TypeBoolean),
			prop("ExposePathsSupported", cimmodel.TypeBoolean),
			prop("CreateProtocolControllerSupported", cimmodel.TypeBoolean),
			prop("MaximumMapCount", cimmodel.TypeUint16),
			prop("SPCAllowsNoLUs", cimmodel.TypeBoolean),
			prop("SPCAllowsNoTargets", cimmodel.TypeBoolean),
			prop("SPCAllowsNoInitiators", cimmodel.TypeBoolean),
			prop("SPCSupportsDefaultViews", cimmodel.TypeBoolean),
			prop("ExposePathsWithNameAndHostTypeSupported", cimmodel.TypeBoolean),
			valueMapped(arrayProp("SupportedAsynchronousActions", cimmodel.TypeUint16), maskingActionMap, maskingActionValues),
			valueMapped(arrayProp("SupportedSynchronousActions", cimmodel.TypeUint16), maskingActionMap, maskingActionValues)),
		abstractClass("CIM_iSCSICapabilities", "CIM_Capabilities",
			prop("MinimumSpecificationVersionSupported", cimmodel.TypeUint8),
			prop("MaximumSpecificationVersionSupported", cimmodel.TypeUint8),
			valueMapped(arrayProp("AuthenticationMethodsSupported", cimmodel.TypeUint16),
				[]string{"2", "3", "4", "5"}, []string{"(None", "SRP", "CHAP", "Kerberos"})),
		abstractClass("CIM_iSCSIConfigurationCapabilities", "CIM_Capabilities",
			prop("iSCSIProtocolEndpointCreationSupported", cimmodel.TypeBoolean),
			prop("IdentifierSelectionSupported", cimmodel.TypeBoolean),
			prop("iSCSINodeCreationSupported", cimmodel.TypeBoolean)),

		// Associations: Device/CIM_AbstractProtocolControllerForDevice.mof,
		// Device/CIM_ProtocolControllerForDevice.mof, Device/CIM_ProtocolControllerForUnit.mof.
		abstractAssociation("CIM_AbstractProtocolControllerForDevice", "CIM_Dependency",
			ref("Antecedent", "CIM_ManagedElement"), ref("Dependent", "CIM_ManagedElement"),
			prop("DeviceNumber", cimmodel.TypeString),
			prop("AccessPriority", cimmodel.TypeUint16),
			u16Map("AccessState", []string{"0", "2", "3", "4", "5", "..", "32768..65535"},
				[]string{"Unknown", "Active", "Inactive", "Replication In Progress", "Mapping Inconsistency", "DMTF Reserved", "Vendor Reserved"})),
		abstractAssociation("CIM_ProtocolControllerForDevice", "CIM_AbstractProtocolControllerForDevice",
			ref("Antecedent", "CIM_ProtocolController"), ref("Dependent", "CIM_LogicalDevice")),
		abstractAssociation("CIM_ProtocolControllerForUnit", "CIM_ProtocolControllerForDevice",
			ref("Antecedent", "CIM_ProtocolController"), ref("Dependent", "CIM_LogicalDevice"),
			u16Map("DeviceAccess", deviceAccessMap, deviceAccessValues)),
		// User/CIM_AuthorizedSubject.mof, User/CIM_AuthorizedTarget.mof.
		abstractAssociation("CIM_AuthorizedSubject", "",
			ref("Privilege", "CIM_AuthorizedPrivilege"), ref("PrivilegedElement", "CIM_ManagedElement")),
		abstractAssociation("CIM_AuthorizedTarget", "",
			ref("Privilege", "CIM_AuthorizedPrivilege"), ref("TargetElement", "CIM_ManagedElement")),
		// Core/CIM_ConcreteDependency.mof (the hardware ID service's IDs).
		abstractAssociation("CIM_ConcreteDependency", "CIM_Dependency",
			ref("Antecedent", "CIM_ManagedElement"), ref("Dependent", "CIM_ManagedElement")),
		// Core/CIM_SAPSAPDependency.mof, Core/CIM_BindsTo.mof.
		abstractAssociation("CIM_SAPSAPDependency", "CIM_Dependency",
			ref("Antecedent", "CIM_ServiceAccessPoint"), ref("Dependent", "CIM_ServiceAccessPoint")),
		abstractAssociation("CIM_BindsTo", "CIM_SAPSAPDependency",
			ref("Antecedent", "CIM_ProtocolEndpoint"), ref("Dependent", "CIM_ServiceAccessPoint")),
		// Core/CIM_HostedDependency.mof, Core/CIM_HostedAccessPoint.mof.
		abstractAssociation("CIM_HostedDependency", "CIM_Dependency",
			ref("Antecedent", "CIM_ManagedElement"), ref("Dependent", "CIM_ManagedElement")),
		abstractAssociation("CIM_HostedAccessPoint", "CIM_HostedDependency",
			ref("Antecedent", "CIM_System"), ref("Dependent", "CIM_ServiceAccessPoint")),
		// Core/CIM_SAPAvailableForElement.mof.
		abstractAssociation("CIM_SAPAvailableForElement", "",
			ref("AvailableSAP", "CIM_ServiceAccessPoint"), ref("ManagedElement", "CIM_ManagedElement")),
		// Network/CIM_EndpointOfNetworkPipe.mof, Network/CIM_NetworkPipeComposition.mof.
		abstractAssociation("CIM_EndpointOfNetworkPipe", "CIM_Dependency",
			ref("Antecedent", "CIM_ServiceAccessPoint"), ref("Dependent", "CIM_NetworkPipe"),
			u16Map("SourceOrSink", []string{"0", "2", "3", "4"}, []string{"Unknown", "Source", "Sink", "Not Applicable"})),
		abstractAssociation("CIM_NetworkPipeComposition", "CIM_Component",
			ref("GroupComponent", "CIM_NetworkPipe"), ref("PartComponent", "CIM_NetworkPipe"),
			prop("AggregationSequence", cimmodel.TypeUint16)),
	}
}

// maskingActionMap is CIM_ProtocolControllerMaskingCapabilities'
// SupportedSynchronousActions and SupportedAsynchronousActions.
var (
	maskingActionMap = []string{"2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18",
		"..", "32768..65535"}
	maskingActionValues = []string{"Create StorageHardwareID", "Create StorageHardwareID by ExposePaths",
		"Delete StorageHardwareID", "Create Gateway Path ID", "Delete Gateway Path ID", "Create StorageHardwareID Collection",
		"Delete StorageHardwareID Collection", "Add StorageHardwareIDs to Collection", "Remove StorageHardwareIDs from Collection",
		"Expose Paths", "Hide Paths", "Expose Default Views", "Hide Default Views", "Attach Device", "Detach Device",
		"Create ProtocolController With Ports", "Delete ProtocolController", "DMTF Reserved", "Vendor Specific"}
)
