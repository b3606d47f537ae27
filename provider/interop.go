package provider

import (
	"context"
	"strings"

	"github.com/replicad/replicad/cimmodel"
)

// SMI-S registration (SNIA SMI-S 1.6 "Server" profile, DMTF DSP1033
// Profile Registration): the interop namespace, where clients look before
// they call anything, holds the object manager, the namespaces it serves,
// the registered profiles, and the associations from each profile to the
// element that conforms to it in our namespace. libstoragemgmt's SMI-S
// plugin enumerates CIM_RegisteredProfile in "interop", then "root/interop",
// keeps those with RegisteredOrganization 11 (SNIA), needs "Array" at
// version 1.4 or later, and follows CIM_ElementConformsToProfile from the
// Array profile to the CIM_ComputerSystem, whose namespace it then uses
// for everything else; the Windows Storage Service reads the same classes
// in root/interop. The names, versions and sources are in
// provider/testdata/interop/SOURCES.md.

// InteropNamespace is the SMI-S interop namespace; InteropNamespaceAlias
// serves the same classes and instances under the name Windows and pywbem
// also try.
const (
	InteropNamespace      = "interop"
	InteropNamespaceAlias = "root/interop"
)

// interopNamespaces are the namespaces the interop classes are registered in.
var interopNamespaces = []string{InteropNamespace, InteropNamespaceAlias}

// snia is RegisteredOrganization's value for SNIA (CIM_RegisteredProfile,
// DMTF schema 2.51 Interop/CIM_RegisteredProfile.mof: 11 = "SNIA").
const snia uint16 = 11

// smisVersion is the SMI-S release whose profiles we register.
const smisVersion = "1.6.1"

// registeredProfile is one profile we register; conformant lists the
// classes in Namespace whose instances conform to it (their
// ElementConformsToProfile), and optional means it is registered only
// when one of them has instances.
type registeredProfile struct {
	name       string
	conformant []string
	optional   bool
}

// profiles are the SMI-S profiles replicad implements: SMI-S (the
// release), Server (the object manager, in the interop namespace
// itself), Array (the computer
// system), its component profiles, and Masking and Mapping when the
// masking classes are present.
var profiles = []registeredProfile{
	{name: "SMI-S"}, // the specification release itself (SMI-S CPIS, "Required Server Level Instances")
	{name: "Server"},
	{name: "Array", conformant: []string{"CIM_ComputerSystem"}},
	{name: "Block Services", conformant: []string{"CIM_StorageConfigurationService"}},
	{name: "Replication Services", conformant: []string{"CIM_ReplicationService"}},
	{name: "Job Control"},
	{name: "Masking and Mapping", conformant: []string{"CIM_ControllerConfigurationService"}, optional: true},
}

func profileID(name string) string {
	return "SNIA:" + strings.ReplaceAll(name, " ", "") + ":" + smisVersion
}

// interopClasses declares the interop classes in both interop namespaces;
// reg answers the conformant elements when instances are built.
// CIM_ElementConformsToProfile lives in the interop namespaces only, where
// SMI-S clients start (libstoragemgmt, the Windows Storage Service): an
// unfiltered Associators of a volume, service or system in our namespace
// keeps answering our own classes alone.
func (p *Provider) interopClasses(reg *cimmodel.Registry) []*cimmodel.Class {
	var out []*cimmodel.Class
	for _, ns := range interopNamespaces {
		out = append(out, p.interopNamespaceClasses(reg, ns)...)
	}
	return out
}

func interopAbstract(ns, name, super string, props ...cimmodel.Property) *cimmodel.Class {
	return &cimmodel.Class{Name: name, Superclass: super, Namespace: ns, Abstract: true, Properties: props}
}

func elementConformsToProfileClass(ns string) *cimmodel.Class {
	return &cimmodel.Class{Name: "CIM_ElementConformsToProfile", Namespace: ns, Association: true,
		Properties: []cimmodel.Property{
			{Name: "ConformantStandard", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_RegisteredProfile"},
			{Name: "ManagedElement", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_ManagedElement"},
		}}
}

func (p *Provider) interopNamespaceClasses(reg *cimmodel.Registry, ns string) []*cimmodel.Class {
	managed := interopAbstract(ns, "CIM_ManagedElement", "",
		prop("InstanceID", cimmodel.TypeString), prop("Caption", cimmodel.TypeString),
		prop("Description", cimmodel.TypeString), prop("ElementName", cimmodel.TypeString))
	system := interopAbstract(ns, "CIM_ManagedSystemElement", "CIM_ManagedElement", prop("Name", cimmodel.TypeString), operationalStatus)
	logical := interopAbstract(ns, "CIM_LogicalElement", "CIM_ManagedSystemElement")
	enabled := interopAbstract(ns, "CIM_EnabledLogicalElement", "CIM_LogicalElement",
		prop("EnabledState", cimmodel.TypeUint16), prop("RequestedState", cimmodel.TypeUint16))
	service := interopAbstract(ns, "CIM_Service", "CIM_EnabledLogicalElement",
		key("SystemCreationClassName", 256), key("SystemName", 256), key("CreationClassName", 256), key("Name", 256),
		prop("Started", cimmodel.TypeBoolean))
	wbem := interopAbstract(ns, "CIM_WBEMService", "CIM_Service")
	sap := interopAbstract(ns, "CIM_ServiceAccessPoint", "CIM_EnabledLogicalElement",
		key("SystemCreationClassName", 256), key("SystemName", 256), key("CreationClassName", 256), key("Name", 256))

	om := &cimmodel.Class{Name: "CIM_ObjectManager", Superclass: "CIM_WBEMService", Namespace: ns,
		Properties: []cimmodel.Property{prop("GatherStatisticalData", cimmodel.TypeBoolean)}}
	nsClass := &cimmodel.Class{Name: "CIM_Namespace", Superclass: "CIM_ManagedElement", Namespace: ns,
		Properties: []cimmodel.Property{
			key("SystemCreationClassName", 256), key("SystemName", 256),
			key("ObjectManagerCreationClassName", 256), key("ObjectManagerName", 256),
			key("CreationClassName", 256), key("Name", 256),
			prop("ClassInfo", cimmodel.TypeUint16)}}
	rp := &cimmodel.Class{Name: "CIM_RegisteredProfile", Superclass: "CIM_ManagedElement", Namespace: ns,
		Properties: []cimmodel.Property{
			{Name: "InstanceID", Type: cimmodel.TypeString, Key: true},
			valueMapped(prop("RegisteredOrganization", cimmodel.TypeUint16),
				[]string{"1", "2", "11", ".."}, []string{"Other", "DMTF", "SNIA", "DMTF Reserved"}),
			prop("OtherRegisteredOrganization", cimmodel.TypeString),
			prop("RegisteredName", cimmodel.TypeString),
			prop("RegisteredVersion", cimmodel.TypeString),
			valueMapped(arrayProp("AdvertiseTypes", cimmodel.TypeUint16),
				[]string{"1", "2", "3"}, []string{"Other", "Not Advertised", "SLP"}),
			arrayProp("AdvertiseTypeDescriptions", cimmodel.TypeString)}}
	comm := &cimmodel.Class{Name: "CIM_ObjectManagerCommunicationMechanism", Superclass: "CIM_ServiceAccessPoint", Namespace: ns,
		Properties: []cimmodel.Property{
			valueMapped(prop("CommunicationMechanism", cimmodel.TypeUint16),
				[]string{"0", "1", "2", "3", "4", "5", "..", "32768..65535"},
				[]string{"Unknown", "Other", "CIM-XML", "SM-CLP", "WS-Management", "WSDM", "DMTF Reserved", "Vendor Reserved"}),
			prop("OtherCommunicationMechanismDescription", cimmodel.TypeString),
			arrayProp("FunctionalProfilesSupported", cimmodel.TypeUint16),
			arrayProp("FunctionalProfileDescriptions", cimmodel.TypeString),
			prop("MultipleOperationsSupported", cimmodel.TypeBoolean),
			arrayProp("AuthenticationMechanismsSupported", cimmodel.TypeUint16),
			arrayProp("AuthenticationMechanismDescriptions", cimmodel.TypeString),
			prop("Version", cimmodel.TypeString)}}
	ectp := elementConformsToProfileClass(ns)
	refProfile := &cimmodel.Class{Name: "CIM_ReferencedProfile", Namespace: ns, Association: true,
		Properties: []cimmodel.Property{
			{Name: "Antecedent", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_RegisteredProfile"},
			{Name: "Dependent", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_RegisteredProfile"}}}
	commFor := &cimmodel.Class{Name: "CIM_CommMechanismForManager", Namespace: ns, Association: true,
		Properties: []cimmodel.Property{
			{Name: "Antecedent", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_ObjectManager"},
			{Name: "Dependent", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_ObjectManagerCommunicationMechanism"}}}
	nsIn := &cimmodel.Class{Name: "CIM_NamespaceInManager", Namespace: ns, Association: true,
		Properties: []cimmodel.Property{
			{Name: "Antecedent", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_ObjectManager"},
			{Name: "Dependent", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_Namespace"}}}

	v := &interopView{p: p, reg: reg, ns: ns, om: om, nsClass: nsClass, rp: rp, comm: comm, ectp: ectp,
		refProfile: refProfile, commFor: commFor, nsIn: nsIn}
	om.Provider = v.provider(func(context.Context) ([]*cimmodel.Instance, error) {
		return []*cimmodel.Instance{v.objectManager()}, nil
	})
	nsClass.Provider = v.provider(func(context.Context) ([]*cimmodel.Instance, error) { return v.namespaces(), nil })
	rp.Provider = v.provider(v.registeredProfiles)
	comm.Provider = v.provider(func(context.Context) ([]*cimmodel.Instance, error) { return v.mechanisms(), nil })
	ectp.Provider = v.provider(func(ctx context.Context) ([]*cimmodel.Instance, error) { return p.conformance(ctx, reg, ns, ectp) })
	refProfile.Provider = v.provider(v.references)
	commFor.Provider = v.provider(func(context.Context) ([]*cimmodel.Instance, error) { return v.commForManager(), nil })
	nsIn.Provider = v.provider(func(context.Context) ([]*cimmodel.Instance, error) { return v.namespacesInManager(), nil })
	// SMI-S before 1.5 registered component profiles as subprofiles; every
	// profile here is a CIM_RegisteredProfile, and a client that still asks
	// for subprofiles gets none rather than CIM_ERR_INVALID_CLASS.
	subProfile := interopAbstract(ns, "CIM_RegisteredSubProfile", "CIM_RegisteredProfile")
	requires := &cimmodel.Class{Name: "CIM_SubProfileRequiresProfile", Namespace: ns, Association: true, Abstract: true,
		Properties: []cimmodel.Property{
			{Name: "Antecedent", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_RegisteredProfile"},
			{Name: "Dependent", Type: cimmodel.TypeReference, Key: true, RefClass: "CIM_RegisteredSubProfile"}}}
	return []*cimmodel.Class{managed, system, logical, enabled, service, wbem, sap, om, nsClass, rp, subProfile, comm, ectp,
		refProfile, requires, commFor, nsIn}
}
