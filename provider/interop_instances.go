package provider

import (
	"context"
	"strings"

	"github.com/replicad/replicad/cimmodel"
)

// interopProvider serves a class whose instances are all built on demand.
type interopProvider struct {
	build func(ctx context.Context) ([]*cimmodel.Instance, error)
}

// EnumerateInstances returns every instance.
func (i *interopProvider) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	return i.build(ctx)
}

// GetInstance returns the instance path names.
func (i *interopProvider) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	insts, err := i.build(ctx)
	if err != nil {
		return nil, err
	}
	for _, inst := range insts {
		if inst.Path().Equal(path) {
			return inst, nil
		}
	}
	return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "no %s instance with the keys %s", path.Class, path)
}

// interopView builds the interop instances of one interop namespace.
type interopView struct {
	p   *Provider
	reg *cimmodel.Registry
	ns  string

	om, nsClass, rp, comm, ectp, refProfile, commFor, nsIn *cimmodel.Class
}

func (v *interopView) provider(build func(context.Context) ([]*cimmodel.Instance, error)) *interopProvider {
	return &interopProvider{build: build}
}

// objectManagerName names the object manager (CIM_ObjectManager.Name).
const objectManagerName = "replicad"

func (v *interopView) serviceKeys(inst *cimmodel.Instance, class, name string) *cimmodel.Instance {
	return inst.Set("SystemCreationClassName", cimmodel.String(systemClassName)).
		Set("SystemName", cimmodel.String(v.p.system)).
		Set("CreationClassName", cimmodel.String(class)).
		Set("Name", cimmodel.String(name))
}

func (v *interopView) objectManager() *cimmodel.Instance {
	return v.serviceKeys(cimmodel.NewInstance(v.om), v.om.Name, objectManagerName).
		Set("ElementName", cimmodel.String("replicad")).
		Set("Description", cimmodel.String("replicad CIM object manager (WS-Management on /wsman, CIM-XML on /cimom)")).
		Set("OperationalStatus", cimmodel.Uint16s([]uint16{statusOK})).
		Set("EnabledState", cimmodel.Uint16(2)).
		Set("Started", cimmodel.Bool(true)).
		Set("GatherStatisticalData", cimmodel.Bool(false))
}

// namespaces are the CIM_Namespace instances: every namespace the registry serves.
func (v *interopView) namespaces() []*cimmodel.Instance {
	var out []*cimmodel.Instance
	for _, name := range v.reg.Namespaces() {
		out = append(out, cimmodel.NewInstance(v.nsClass).
			Set("SystemCreationClassName", cimmodel.String(systemClassName)).
			Set("SystemName", cimmodel.String(v.p.system)).
			Set("ObjectManagerCreationClassName", cimmodel.String(v.om.Name)).
			Set("ObjectManagerName", cimmodel.String(objectManagerName)).
			Set("CreationClassName", cimmodel.String(v.nsClass.Name)).
			Set("Name", cimmodel.String(name)).
			Set("ElementName", cimmodel.String(name)))
	}
	return out
}

// present reports whether an optional profile's conformant classes have
// instances (the masking classes are registered by another part).
func (v *interopView) present(ctx context.Context, prof registeredProfile) (bool, error) {
	if !prof.optional {
		return true, nil
	}
	elems, err := conformantElements(ctx, v.reg, prof)
	return len(elems) > 0, err
}

func (v *interopView) registeredProfiles(ctx context.Context) ([]*cimmodel.Instance, error) {
	var out []*cimmodel.Instance
	for _, prof := range profiles {
		ok, err := v.present(ctx, prof)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, v.profile(prof))
		}
	}
	return out, nil
}

func (v *interopView) profile(prof registeredProfile) *cimmodel.Instance {
	return cimmodel.NewInstance(v.rp).
		Set("InstanceID", cimmodel.String(profileID(prof.name))).
		Set("ElementName", cimmodel.String(prof.name)).
		Set("RegisteredOrganization", cimmodel.Uint16(snia)).
		Set("RegisteredName", cimmodel.String(prof.name)).
		Set("RegisteredVersion", cimmodel.String(smisVersion)).
		Set("AdvertiseTypes", cimmodel.Uint16s([]uint16{2})). // Not Advertised: no SLP
		Set("AdvertiseTypeDescriptions", cimmodel.Strings([]string{"Not Advertised"}))
}

func (v *interopView) profilePath(name string) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: v.ns, Class: v.rp.Name,
		Keys: []cimmodel.KeyBinding{{Name: "InstanceID", Value: cimmodel.String(profileID(name))}}}
}

// references are the CIM_ReferencedProfile instances: Array references
// its component profiles (Dependent Array, Antecedent the component), and
// Server references Array.
func (v *interopView) references(ctx context.Context) ([]*cimmodel.Instance, error) {
	var out []*cimmodel.Instance
	link := func(dependent, antecedent string) {
		out = append(out, cimmodel.NewInstance(v.refProfile).
			Set("Antecedent", cimmodel.Ref(v.profilePath(antecedent))).
			Set("Dependent", cimmodel.Ref(v.profilePath(dependent))))
	}
	link("Server", "Array")
	for _, prof := range profiles {
		if prof.name == "SMI-S" || prof.name == "Server" || prof.name == "Array" {
			continue
		}
		ok, err := v.present(ctx, prof)
		if err != nil {
			return nil, err
		}
		if ok {
			link("Array", prof.name)
		}
	}
	return out, nil
}

// Communication mechanisms: one per protocol, both always listed (a
// client reaching either endpoint learns of the other); the values are
// CIM_ObjectManagerCommunicationMechanism's ValueMaps.
func (v *interopView) mechanisms() []*cimmodel.Instance {
	mech := func(name string, kind uint16, version string) *cimmodel.Instance {
		return v.serviceKeys(cimmodel.NewInstance(v.comm), v.comm.Name, name).
			Set("ElementName", cimmodel.String(name)).
			Set("CommunicationMechanism", cimmodel.Uint16(kind)).
			Set("Version", cimmodel.String(version)).
			// Basic Read, Basic Write, Instance Manipulation, Association
			// Traversal, Query Execution.
			Set("FunctionalProfilesSupported", cimmodel.Uint16s([]uint16{2, 3, 5, 6, 7})).
			Set("MultipleOperationsSupported", cimmodel.Bool(false)).
			Set("AuthenticationMechanismsSupported", cimmodel.Uint16s([]uint16{3})). // Basic
			Set("AuthenticationMechanismDescriptions", cimmodel.Strings([]string{"Basic"})).
			Set("OperationalStatus", cimmodel.Uint16s([]uint16{statusOK})).
			Set("EnabledState", cimmodel.Uint16(2))
	}
	wsman := mech("WS-Management", 4, "1.1.0")
	wsman.Set("AuthenticationMechanismsSupported", cimmodel.Uint16s([]uint16{3, 1})).
		Set("AuthenticationMechanismDescriptions", cimmodel.Strings([]string{"Basic", "Negotiate (NTLM, Kerberos), client certificates"}))
	return []*cimmodel.Instance{mech("CIM-XML", 2, "1.3.1"), wsman}
}

func (v *interopView) commForManager() []*cimmodel.Instance {
	var out []*cimmodel.Instance
	for _, m := range v.mechanisms() {
		out = append(out, cimmodel.NewInstance(v.commFor).
			Set("Antecedent", cimmodel.Ref(v.objectManager().Path())).
			Set("Dependent", cimmodel.Ref(m.Path())))
	}
	return out
}

func (v *interopView) namespacesInManager() []*cimmodel.Instance {
	var out []*cimmodel.Instance
	for _, n := range v.namespaces() {
		out = append(out, cimmodel.NewInstance(v.nsIn).
			Set("Antecedent", cimmodel.Ref(v.objectManager().Path())).
			Set("Dependent", cimmodel.Ref(n.Path())))
	}
	return out
}

// conformantElements returns the paths of the instances in Namespace that
// conform to prof.
func conformantElements(ctx context.Context, reg *cimmodel.Registry, prof registeredProfile) ([]cimmodel.ObjectPath, error) {
	var out []cimmodel.ObjectPath
	for _, class := range prof.conformant {
		if _, ok := reg.Class(Namespace, class); !ok {
			continue
		}
		insts, err := reg.Enumerate(ctx, Namespace, class)
		if err != nil {
			return nil, err
		}
		for _, inst := range insts {
			out = append(out, inst.Path())
		}
	}
	return out, nil
}

// conformance returns the CIM_ElementConformsToProfile instances of class
// c in the interop namespace profileNS: Server → the object manager, and
// each other profile → the elements of its conformant classes in Namespace.
func (p *Provider) conformance(ctx context.Context, reg *cimmodel.Registry, profileNS string, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
	v := &interopView{p: p, reg: reg, ns: profileNS, rp: &cimmodel.Class{Name: "CIM_RegisteredProfile"},
		om: &cimmodel.Class{Name: "CIM_ObjectManager"}}
	link := func(profile string, elem cimmodel.ObjectPath) *cimmodel.Instance {
		return cimmodel.NewInstance(c).
			Set("ConformantStandard", cimmodel.Ref(v.profilePath(profile))).
			Set("ManagedElement", cimmodel.Ref(elem))
	}
	om := cimmodel.ObjectPath{Namespace: profileNS, Class: "CIM_ObjectManager", Keys: []cimmodel.KeyBinding{
		{Name: "SystemCreationClassName", Value: cimmodel.String(systemClassName)},
		{Name: "SystemName", Value: cimmodel.String(p.system)},
		{Name: "CreationClassName", Value: cimmodel.String("CIM_ObjectManager")},
		{Name: "Name", Value: cimmodel.String(objectManagerName)},
	}}
	out := []*cimmodel.Instance{link("Server", om)}
	for _, prof := range profiles {
		elems, err := conformantElements(ctx, reg, prof)
		if err != nil {
			return nil, err
		}
		for _, e := range elems {
			if !strings.EqualFold(e.Namespace, Namespace) {
				continue
			}
			out = append(out, link(prof.name, e))
		}
	}
	return out, nil
}
