package provider

import (
	"context"

	"github.com/replicad/replicad/cimmodel"
)

// systemClassName is the hosting computer system's class, as the Windows
// storage providers name it (MSFTSM_ComputerSystem : CIM_ComputerSystem).
const systemClassName = "MSFTSM_ComputerSystem"

func (p *Provider) systemClasses() []*cimmodel.Class {
	c := &cimmodel.Class{Name: systemClassName, Superclass: "CIM_ComputerSystem", Namespace: Namespace}
	c.Provider = singleton(func() *cimmodel.Instance {
		return cimmodel.NewInstance(c).
			Set("CreationClassName", cimmodel.String(systemClassName)).
			Set("Name", cimmodel.String(p.system)).
			Set("ElementName", cimmodel.String(p.system)).
			Set("NameFormat", cimmodel.String("Other")).
			Set("Dedicated", cimmodel.Uint16s([]uint16{3})). // Storage
			Set("OperationalStatus", cimmodel.Uint16s([]uint16{statusOK})).
			Set("EnabledState", cimmodel.Uint16(2)).
			Set("RequestedState", cimmodel.Uint16(12)).
			Set("EnabledDefault", cimmodel.Uint16(2))
	})
	return []*cimmodel.Class{c}
}

// systemPath is the object path of the hosting computer system.
func (p *Provider) systemPath() cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: systemClassName, Keys: []cimmodel.KeyBinding{
		{Name: "CreationClassName", Value: cimmodel.String(systemClassName)},
		{Name: "Name", Value: cimmodel.String(p.system)},
	}}
}

// singletonProvider serves a class with exactly one instance, built on demand.
type singletonProvider struct {
	build func() *cimmodel.Instance
}

func singleton(build func() *cimmodel.Instance) *singletonProvider {
	return &singletonProvider{build: build}
}

// EnumerateInstances returns the one instance.
func (s *singletonProvider) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	return []*cimmodel.Instance{s.build()}, nil
}

// GetInstance returns the instance when path names it.
func (s *singletonProvider) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	inst := s.build()
	if !inst.Path().Equal(path) {
		return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "no %s instance with the keys %s", path.Class, path)
	}
	return inst, nil
}
