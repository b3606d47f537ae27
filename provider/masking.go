package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/iscsi"
	"github.com/replicad/replicad/volumes"
)

// The SMI-S Masking and Mapping and iSCSI Target Ports classes, as the
// Windows iSCSI Target SMI-S provider names them (WIN msiscsitarget-*.md,
// provider/testdata/SOURCES.md; the choices the documents leave open are in
// docs/iscsi.md). One iSCSI target of the data plane (package iscsi) is one
// MSISCSITARGET_SCSIProtocolController (SPC); its LUNs are
// ProtocolControllerForUnit associations to the volumes; the initiators it
// allows are StorageHardwareIDs, tied to it through one AuthorizedPrivilege
// per target (AuthorizedSubject from each ID, AuthorizedTarget to the SPC);
// its portal is an iSCSIProtocolEndpoint (the target port) bound to the one
// TCPProtocolEndpoint tgtd listens on.
const (
	spcClassName                   = "MSISCSITARGET_SCSIProtocolController"
	pcfuClassName                  = "MSISCSITARGET_ProtocolControllerForUnit"
	hardwareIDClassName            = "MSISCSITARGET_StorageHardwareID"
	privilegeClassName             = "MSISCSITARGET_AuthorizedPrivilege"
	authorizedSubjectClassName     = "MSISCSITARGET_AuthorizedSubject"
	authorizedTargetClassName      = "MSISCSITARGET_AuthorizedTarget"
	controllerConfigServiceClass   = "MSISCSITARGET_ControllerConfigurationService"
	hardwareIDServiceClassName     = "MSISCSITARGET_StorageHardwareIDManagementService"
	iscsiConfigServiceClassName    = "MSISCSITARGET_iSCSIConfigurationService"
	maskingCapabilitiesClassName   = "MSISCSITARGET_ProtocolControllerMaskingCapabilities"
	concreteDependencyClassName    = "MSISCSITARGET_ConcreteDependency"
	hardwareIDInstancePrefix       = "replicad:hardwareid:"
	privilegeInstancePrefix        = "replicad:privilege:"
	maskingCapabilitiesInstanceID  = "replicad:ProtocolControllerMaskingCapabilities"
	iscsiCapabilitiesInstanceID    = "replicad:iSCSICapabilities"
	iscsiConfigCapabilitiesInstID  = "replicad:iSCSIConfigurationCapabilities"
	iscsiCapabilitiesClassName     = "MSISCSITARGET_iSCSICapabilities"
	iscsiConfigCapabilitiesClsName = "MSISCSITARGET_iSCSIConfigurationCapabilities"
)

// errISCSIOff is the reason of every masking method's Not Supported while
// the data plane is off.
var errISCSIOff = errors.New("the iSCSI data plane is off (replicad --iscsi=off)")

// maskingServiceClassNames are the services of this family, for
// MSISCSITARGET_HostedService.
func maskingServiceClassNames() []string {
	return []string{controllerConfigServiceClass, hardwareIDServiceClassName, iscsiConfigServiceClassName}
}

// maskingClasses declares the SMI-S Masking and Mapping and iSCSI Target
// Ports classes over the iSCSI data plane: the DMTF parents
// (iscsi_schema.go), then the SPC, hardware IDs, privileges, services,
// capabilities, endpoints, sessions and the associations between them.
func (p *Provider) maskingClasses() []*cimmodel.Class {
	classes := iscsiSchemaClasses()
	classes = append(classes,
		p.spcClass(),
		p.hardwareIDClass(),
		p.privilegeClass(),
		p.controllerConfigurationServiceClass(),
		p.hardwareIDServiceClass(),
		p.iscsiConfigurationServiceClass(),
		p.maskingCapabilitiesClass(),
		p.iscsiCapabilitiesClass(),
		p.iscsiConfigurationCapabilitiesClass(),
	)
	classes = append(classes, p.iscsiEndpointClasses()...)
	classes = append(classes, p.maskingAssociationClasses()...)
	return classes
}

// listClass declares a concrete class whose instances list builds on
// every call (assocProvider serves any computed class).
func listClass(name, super string, props []cimmodel.Property, list func(context.Context, *cimmodel.Class) ([]*cimmodel.Instance, error)) *cimmodel.Class {
	c := &cimmodel.Class{Name: name, Superclass: super, Namespace: Namespace, Properties: props}
	c.Provider = &assocProvider{class: c, list: list}
	return c
}

// serviceClass declares a singleton service class hosted by the system
// (CIM_Service keys from servicePath) with methods.
func (p *Provider) serviceClass(name, super, elementName, description string, methods []*cimmodel.Method) *cimmodel.Class {
	c := &cimmodel.Class{Name: name, Superclass: super, Namespace: Namespace, Methods: methods}
	path := p.servicePath(name)
	c.Provider = singleton(func() *cimmodel.Instance {
		inst := cimmodel.NewInstance(c)
		for _, k := range path.Keys {
			inst.Set(k.Name, k.Value)
		}
		status, started := statusOK, true
		if p.iscsi == nil {
			status, started = statusStopped, false
		}
		return inst.
			Set("ElementName", cimmodel.String(elementName)).
			Set("Description", cimmodel.String(description)).
			Set("OperationalStatus", cimmodel.Uint16s([]uint16{status})).
			Set("Started", cimmodel.Bool(started)).
			Set("StartMode", cimmodel.String("Automatic")).
			Set("EnabledState", cimmodel.Uint16(enabledStateNotApplicable)).
			Set("RequestedState", cimmodel.Uint16(requestedStateNotApplic)).
			Set("EnabledDefault", cimmodel.Uint16(enabledDefaultEnabled))
	})
	return c
}

// spcPath is the object path of the SPC of target name: the
// CIM_LogicalDevice keys, DeviceID = the target's name (at most
// iscsi.MaxNameLen = 64 characters, DeviceID's MaxLen).
func (p *Provider) spcPath(name string) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: spcClassName, Keys: []cimmodel.KeyBinding{
		{Name: "SystemCreationClassName", Value: cimmodel.String(systemClassName)},
		{Name: "SystemName", Value: cimmodel.String(p.system)},
		{Name: "CreationClassName", Value: cimmodel.String(spcClassName)},
		{Name: "DeviceID", Value: cimmodel.String(name)},
	}}
}

// hardwareIDPath is the object path of the StorageHardwareID of initiator
// name id.
func (p *Provider) hardwareIDPath(id string) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: hardwareIDClassName, Keys: []cimmodel.KeyBinding{
		{Name: "InstanceID", Value: cimmodel.String(hardwareIDInstancePrefix + id)},
	}}
}

// privilegePath is the object path of the AuthorizedPrivilege of target
// name.
func (p *Provider) privilegePath(name string) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: privilegeClassName, Keys: []cimmodel.KeyBinding{
		{Name: "InstanceID", Value: cimmodel.String(privilegeInstancePrefix + name)},
	}}
}

// capabilitiesPathOf is the object path of a capabilities singleton.
func capabilitiesPathOf(class, id string) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: class, Keys: []cimmodel.KeyBinding{
		{Name: "InstanceID", Value: cimmodel.String(id)},
	}}
}

// targets returns the data plane's targets (none while it is off).
func (p *Provider) targets() ([]iscsi.Target, error) {
	if p.iscsi == nil {
		return nil, nil
	}
	ts, err := p.iscsi.Targets()
	if err != nil {
		return nil, maskingError(fmt.Errorf("list targets: %w", err))
	}
	return ts, nil
}

// maskingError is cimError for the masking classes' intrinsic operations.
func maskingError(err error) error { return cimError(maskingFamily, err) }

// spcClass declares MSISCSITARGET_SCSIProtocolController: one instance per
// target. Name is the target's IQN (NameFormat 3, iSCSI Name), ElementName
// its name; MaxUnitsControlled 255 (LUN 0 is tgt's controller).
func (p *Provider) spcClass() *cimmodel.Class {
	return listClass(spcClassName, "CIM_SCSIProtocolController", nil, func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ts, err := p.targets()
		if err != nil {
			return nil, err
		}
		out := make([]*cimmodel.Instance, 0, len(ts))
		for _, t := range ts {
			out = append(out, p.spcInstance(c, t))
		}
		return out, nil
	})
}

// spcInstance maps target t onto an instance of c.
func (p *Provider) spcInstance(c *cimmodel.Class, t iscsi.Target) *cimmodel.Instance {
	inst := cimmodel.NewInstance(c)
	for _, k := range p.spcPath(t.Name).Keys {
		inst.Set(k.Name, k.Value)
	}
	return inst.
		Set("Name", cimmodel.String(t.IQN)).
		Set("NameFormat", cimmodel.Uint16(3)). // iSCSI Name
		Set("ElementName", cimmodel.String(t.Name)).
		Set("MaxUnitsControlled", cimmodel.Uint32(255)).
		Set("OperationalStatus", cimmodel.Uint16s([]uint16{statusOK})).
		Set("EnabledState", cimmodel.Uint16(enabledStateNotApplicable)).
		Set("RequestedState", cimmodel.Uint16(requestedStateNotApplic)).
		Set("EnabledDefault", cimmodel.Uint16(enabledDefaultEnabled))
}

// errNoTarget is wrapped by errors about references that name no target.
var errNoTarget = fmt.Errorf("no such iSCSI target: %w", iscsi.ErrNotFound)

// targetFromPath returns the target an SPC reference names. Its class may
// be any along the SCSIProtocolController line; the keys decide.
func (p *Provider) targetFromPath(path cimmodel.ObjectPath) (iscsi.Target, error) {
	name := keyText(path, "DeviceID")
	if name == "" || !inNamespace(path) ||
		!strings.EqualFold(keyText(path, "CreationClassName"), spcClassName) ||
		!strings.EqualFold(keyText(path, "SystemCreationClassName"), systemClassName) ||
		!strings.EqualFold(keyText(path, "SystemName"), p.system) {
		return iscsi.Target{}, fmt.Errorf("%s: %w", path, errNoTarget)
	}
	t, err := p.iscsi.Target(name)
	if err != nil {
		return iscsi.Target{}, fmt.Errorf("target %q: %w", name, err)
	}
	return t, nil
}

// hardwareIDs returns the initiator identities the model shows: the ones
// recorded (CreateStorageHardwareID, or implicitly by ExposePaths) and any
// initiator a target allows that is not recorded (ElementName empty), by
// IQN.
func (p *Provider) hardwareIDs(ts []iscsi.Target) ([]iscsi.HardwareID, error) {
	if p.iscsi == nil {
		return nil, nil
	}
	ids, err := p.iscsi.HardwareIDs()
	if err != nil {
		return nil, maskingError(fmt.Errorf("list hardware IDs: %w", err))
	}
	seen := map[string]bool{}
	for _, h := range ids {
		seen[h.ID] = true
	}
	for _, t := range ts {
		for _, in := range t.Initiators {
			if !seen[in] {
				seen[in] = true
				ids = append(ids, iscsi.HardwareID{ID: in})
			}
		}
	}
	return ids, nil
}

// hardwareIDClass declares MSISCSITARGET_StorageHardwareID: one instance per
// known initiator (IDType 5, iSCSI Name; StorageID its IQN);
// CurrentlyAuthenticated is true while it has a live session.
func (p *Provider) hardwareIDClass() *cimmodel.Class {
	return listClass(hardwareIDClassName, "CIM_StorageHardwareID", nil, func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ts, err := p.targets()
		if err != nil {
			return nil, err
		}
		ids, err := p.hardwareIDs(ts)
		if err != nil {
			return nil, err
		}
		// CurrentlyAuthenticated is a live fact: when tgtd cannot say
		// (it is restarting), every ID shows false rather than failing
		// the enumeration.
		loggedOn := map[string]bool{}
		if len(ids) > 0 {
			if ss, err := p.iscsi.Sessions(); err == nil {
				for _, s := range ss {
					loggedOn[s.Initiator] = true
				}
			}
		}
		out := make([]*cimmodel.Instance, 0, len(ids))
		for _, h := range ids {
			out = append(out, cimmodel.NewInstance(c).
				Set("InstanceID", cimmodel.String(hardwareIDInstancePrefix+h.ID)).
				Set("ElementName", cimmodel.String(h.ElementName)).
				Set("StorageID", cimmodel.String(h.ID)).
				Set("IDType", cimmodel.Uint16(idTypeISCSIName)).
				Set("CurrentlyAuthenticated", cimmodel.Bool(loggedOn[h.ID])))
		}
		return out, nil
	})
}

// privilegeClass declares MSISCSITARGET_AuthorizedPrivilege: one instance
// per target, granting its allowed initiators Read, Write and Execute of
// every SCSI command (the LUNs' DeviceAccess says which are read-only).
func (p *Provider) privilegeClass() *cimmodel.Class {
	return listClass(privilegeClassName, "CIM_AuthorizedPrivilege", nil, func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ts, err := p.targets()
		if err != nil {
			return nil, err
		}
		out := make([]*cimmodel.Instance, 0, len(ts))
		for _, t := range ts {
			out = append(out, cimmodel.NewInstance(c).
				Set("InstanceID", cimmodel.String(privilegeInstancePrefix+t.Name)).
				Set("ElementName", cimmodel.String("access to iSCSI target "+t.Name)).
				Set("PrivilegeGranted", cimmodel.Bool(true)).
				Set("Activities", cimmodel.Uint16s([]uint16{5, 6, 7})). // Read, Write, Execute
				Set("ActivityQualifiers", cimmodel.Strings([]string{"CDB=*", "CDB=*", "CDB=*"})).
				Set("QualifierFormats", cimmodel.Uint16s([]uint16{10, 10, 10})). // SCSI Command
				Set("RepresentsAuthorizationRights", cimmodel.Bool(false)))
		}
		return out, nil
	})
}

// maskingCapabilitiesClass declares
// MSISCSITARGET_ProtocolControllerMaskingCapabilities (a [Static] class on
// Windows whose values are not published; ours say what ExposePaths and
// HidePaths do: docs/iscsi.md).
func (p *Provider) maskingCapabilitiesClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: maskingCapabilitiesClassName, Superclass: "CIM_ProtocolControllerMaskingCapabilities", Namespace: Namespace}
	c.Provider = singleton(func() *cimmodel.Instance {
		return cimmodel.NewInstance(c).
			Set("InstanceID", cimmodel.String(maskingCapabilitiesInstanceID)).
			Set("ElementName", cimmodel.String("replicad masking and mapping capabilities")).
			Set("ValidHardwareIdTypes", cimmodel.Uint16s([]uint16{idTypeISCSIName})).
			Set("PortsPerView", cimmodel.Uint16(2)). // One Port per View: each target has its own portal
			Set("ClientSelectableDeviceNumbers", cimmodel.Bool(clientSelectableDeviceNumbers)).
			Set("AttachDeviceSupported", cimmodel.Bool(false)).
			Set("OneHardwareIDPerView", cimmodel.Bool(false)).
			Set("UniqueUnitNumbersPerPort", cimmodel.Bool(false)).
			Set("PrivilegeDeniedSupported", cimmodel.Bool(false)).
			Set("ProtocolControllerRequiresAuthorizedIdentity", cimmodel.Bool(false)).
			Set("ProtocolControllerSupportsCollections", cimmodel.Bool(false)).
			Set("ExposePathsSupported", cimmodel.Bool(true)).
			Set("CreateProtocolControllerSupported", cimmodel.Bool(false)).
			Set("MaximumMapCount", cimmodel.Uint16(0)). // no limit
			Set("SPCAllowsNoLUs", cimmodel.Bool(true)).
			Set("SPCAllowsNoTargets", cimmodel.Bool(false)).
			Set("SPCAllowsNoInitiators", cimmodel.Bool(true)).
			Set("SPCSupportsDefaultViews", cimmodel.Bool(false)).
			Set("ExposePathsWithNameAndHostTypeSupported", cimmodel.Bool(false)).
			Set("SupportedAsynchronousActions", cimmodel.Uint16s([]uint16{})).
			// Create StorageHardwareID (also by ExposePaths), Delete
			// StorageHardwareID, Expose Paths, Hide Paths, Delete
			// ProtocolController.
			Set("SupportedSynchronousActions", cimmodel.Uint16s([]uint16{2, 3, 4, 11, 12, 18}))
	})
	return c
}

// iscsiCapabilitiesClass declares MSISCSITARGET_iSCSICapabilities, the
// abilities of every target (iSCSI node): RFC 3720 (version 0), no
// authentication or one-way CHAP (the data plane sets CHAP per target;
// these classes do not, docs/iscsi.md).
func (p *Provider) iscsiCapabilitiesClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: iscsiCapabilitiesClassName, Superclass: "CIM_iSCSICapabilities", Namespace: Namespace}
	c.Provider = singleton(func() *cimmodel.Instance {
		return cimmodel.NewInstance(c).
			Set("InstanceID", cimmodel.String(iscsiCapabilitiesInstanceID)).
			Set("ElementName", cimmodel.String("replicad iSCSI node capabilities")).
			Set("MinimumSpecificationVersionSupported", cimmodel.Uint8(0)).
			Set("MaximumSpecificationVersionSupported", cimmodel.Uint8(0)).
			Set("AuthenticationMethodsSupported", cimmodel.Uint16s([]uint16{authNone, authCHAP}))
	})
	return c
}

// iscsiConfigurationCapabilitiesClass declares
// MSISCSITARGET_iSCSIConfigurationCapabilities: nodes (targets) can be
// created (CreateiSCSINode); their one portal cannot be created or chosen.
func (p *Provider) iscsiConfigurationCapabilitiesClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: iscsiConfigCapabilitiesClsName, Superclass: "CIM_iSCSIConfigurationCapabilities", Namespace: Namespace}
	c.Provider = singleton(func() *cimmodel.Instance {
		return cimmodel.NewInstance(c).
			Set("InstanceID", cimmodel.String(iscsiConfigCapabilitiesInstID)).
			Set("ElementName", cimmodel.String("replicad iSCSI configuration capabilities")).
			Set("iSCSIProtocolEndpointCreationSupported", cimmodel.Bool(false)).
			Set("IdentifierSelectionSupported", cimmodel.Bool(false)).
			Set("iSCSINodeCreationSupported", cimmodel.Bool(true))
	})
	return c
}

// maskingElementCapabilities are the ElementCapabilities instances of this
// family (of class c): the controller configuration service → masking
// capabilities, the iSCSI configuration service → iSCSI configuration
// capabilities, every SPC → iSCSI capabilities.
func (p *Provider) maskingElementCapabilities(c *cimmodel.Class) ([]*cimmodel.Instance, error) {
	def := cimmodel.Uint16s([]uint16{2}) // Default
	out := []*cimmodel.Instance{
		cimmodel.NewInstance(c).
			Set("ManagedElement", cimmodel.Ref(p.servicePath(controllerConfigServiceClass))).
			Set("Capabilities", cimmodel.Ref(capabilitiesPathOf(maskingCapabilitiesClassName, maskingCapabilitiesInstanceID))).
			Set("Characteristics", def),
		cimmodel.NewInstance(c).
			Set("ManagedElement", cimmodel.Ref(p.servicePath(iscsiConfigServiceClassName))).
			Set("Capabilities", cimmodel.Ref(capabilitiesPathOf(iscsiConfigCapabilitiesClsName, iscsiConfigCapabilitiesInstID))).
			Set("Characteristics", def),
	}
	ts, err := p.targets()
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		out = append(out, cimmodel.NewInstance(c).
			Set("ManagedElement", cimmodel.Ref(p.spcPath(t.Name))).
			Set("Capabilities", cimmodel.Ref(capabilitiesPathOf(iscsiCapabilitiesClassName, iscsiCapabilitiesInstanceID))).
			Set("Characteristics", cimmodel.Uint16s([]uint16{2, 3}))) // Default, Current
	}
	return out, nil
}

// volumeIDs maps (pool, name) to the volume's ID, for the LUNs.
func (p *Provider) volumeIDs(ctx context.Context) (map[iscsi.VolumeRef]volumes.ID, error) {
	vols, err := p.volumes.List(ctx, "")
	if err != nil {
		return nil, maskingError(fmt.Errorf("list volumes: %w", err))
	}
	ids := make(map[iscsi.VolumeRef]volumes.ID, len(vols))
	for _, v := range vols {
		ids[iscsi.VolumeRef{Pool: v.Pool, Volume: v.Name}] = v.ID
	}
	return ids, nil
}

// maskingAssociationClasses declares the associations of the masking
// family:
//   - ProtocolControllerForUnit: Antecedent SPC, Dependent each volume it
//     maps, DeviceNumber the LUN (decimal), DeviceAccess 2 or 3 (read-only);
//   - AuthorizedTarget: Privilege of a target, TargetElement its SPC;
//   - AuthorizedSubject: Privilege of a target, PrivilegedElement each
//     StorageHardwareID it allows;
//   - ConcreteDependency: Antecedent the hardware ID service, Dependent
//     each StorageHardwareID.
func (p *Provider) maskingAssociationClasses() []*cimmodel.Class {
	pcfu := assocClass(pcfuClassName, "CIM_ProtocolControllerForUnit", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ts, err := p.targets()
		if err != nil || len(ts) == 0 {
			return nil, err
		}
		ids, err := p.volumeIDs(ctx)
		if err != nil {
			return nil, err
		}
		var out []*cimmodel.Instance
		for _, t := range ts {
			for _, l := range t.LUNs {
				id, ok := ids[iscsi.VolumeRef{Pool: l.Pool, Volume: l.Volume}]
				if !ok {
					continue // the volume is gone; its LUN with it
				}
				access := deviceAccessReadWrite
				if l.ReadOnly {
					access = deviceAccessReadOnly
				}
				out = append(out, cimmodel.NewInstance(c).
					Set("Antecedent", cimmodel.Ref(p.spcPath(t.Name))).
					Set("Dependent", cimmodel.Ref(p.volumePath(id))).
					Set("DeviceNumber", cimmodel.String(fmt.Sprint(l.Number))).
					Set("DeviceAccess", cimmodel.Uint16(access)).
					Set("AccessState", cimmodel.Uint16(2))) // Active
			}
		}
		return out, nil
	})
	authTarget := assocClass(authorizedTargetClassName, "CIM_AuthorizedTarget", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ts, err := p.targets()
		if err != nil {
			return nil, err
		}
		out := make([]*cimmodel.Instance, 0, len(ts))
		for _, t := range ts {
			out = append(out, cimmodel.NewInstance(c).
				Set("Privilege", cimmodel.Ref(p.privilegePath(t.Name))).
				Set("TargetElement", cimmodel.Ref(p.spcPath(t.Name))))
		}
		return out, nil
	})
	authSubject := assocClass(authorizedSubjectClassName, "CIM_AuthorizedSubject", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ts, err := p.targets()
		if err != nil {
			return nil, err
		}
		var out []*cimmodel.Instance
		for _, t := range ts {
			for _, in := range t.Initiators {
				out = append(out, cimmodel.NewInstance(c).
					Set("Privilege", cimmodel.Ref(p.privilegePath(t.Name))).
					Set("PrivilegedElement", cimmodel.Ref(p.hardwareIDPath(in))))
			}
		}
		return out, nil
	})
	concrete := assocClass(concreteDependencyClassName, "CIM_ConcreteDependency", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ts, err := p.targets()
		if err != nil {
			return nil, err
		}
		ids, err := p.hardwareIDs(ts)
		if err != nil {
			return nil, err
		}
		out := make([]*cimmodel.Instance, 0, len(ids))
		for _, h := range ids {
			out = append(out, cimmodel.NewInstance(c).
				Set("Antecedent", cimmodel.Ref(p.servicePath(hardwareIDServiceClassName))).
				Set("Dependent", cimmodel.Ref(p.hardwareIDPath(h.ID))))
		}
		return out, nil
	})
	return []*cimmodel.Class{pcfu, authTarget, authSubject, concrete}
}

// spcSystemDevices appends to out (MSISCSITARGET_SystemDevice instances of
// class c) one per SPC: the system hosts its targets as devices (WIN
// CreateiSCSINode).
func (p *Provider) spcSystemDevices(c *cimmodel.Class, out []*cimmodel.Instance) ([]*cimmodel.Instance, error) {
	ts, err := p.targets()
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		out = append(out, cimmodel.NewInstance(c).
			Set("GroupComponent", cimmodel.Ref(p.systemPath())).
			Set("PartComponent", cimmodel.Ref(p.spcPath(t.Name))))
	}
	return out, nil
}
