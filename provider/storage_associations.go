package provider

import (
	"context"
	"fmt"

	"github.com/replicad/replicad/cimmodel"
)

// hostedServiceClassNames lists every service class the system hosts; a
// new service class adds its name here (a test checks that every
// registered service has a HostedService).
func hostedServiceClassNames() []string {
	return append([]string{
		storageConfigurationServiceClassName,
		replicationServiceClassName,
	}, maskingServiceClassNames()...)
}

// storageAssociationClasses declares the associations between the system,
// its services, pools and volumes (§3.8, §3.9; WIN msiscsitarget-*.md):
//   - MSISCSITARGET_HostedService: Antecedent system, Dependent each service;
//   - MSISCSITARGET_HostedStoragePool: GroupComponent system, PartComponent
//     each pool;
//   - MSISCSITARGET_AllocatedFromStoragePool: Antecedent pool, Dependent
//     each of its volumes, SpaceConsumed the bytes its image file occupies;
//   - MSISCSITARGET_SystemDevice: GroupComponent system, PartComponent each
//     volume.
func (p *Provider) storageAssociationClasses() []*cimmodel.Class {
	hosted := assocClass("MSISCSITARGET_HostedService", "CIM_HostedService", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		names := hostedServiceClassNames()
		out := make([]*cimmodel.Instance, 0, len(names))
		for _, name := range names {
			out = append(out, cimmodel.NewInstance(c).
				Set("Antecedent", cimmodel.Ref(p.systemPath())).
				Set("Dependent", cimmodel.Ref(p.servicePath(name))))
		}
		return out, nil
	})
	hostedPool := assocClass("MSISCSITARGET_HostedStoragePool", "CIM_HostedStoragePool", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		pools, err := p.volumes.Pools(ctx)
		if err != nil {
			return nil, storageError(fmt.Errorf("list pools: %w", err))
		}
		out := make([]*cimmodel.Instance, 0, len(pools))
		for _, pool := range pools {
			out = append(out, cimmodel.NewInstance(c).
				Set("GroupComponent", cimmodel.Ref(p.systemPath())).
				Set("PartComponent", cimmodel.Ref(p.poolPath(pool.Name))))
		}
		return out, nil
	})
	allocated := assocClass("MSISCSITARGET_AllocatedFromStoragePool", "CIM_AllocatedFromStoragePool", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		vols, err := p.volumes.List(ctx, "")
		if err != nil {
			return nil, storageError(fmt.Errorf("list volumes: %w", err))
		}
		out := make([]*cimmodel.Instance, 0, len(vols))
		for _, v := range vols {
			out = append(out, cimmodel.NewInstance(c).
				Set("Antecedent", cimmodel.Ref(p.poolPath(v.Pool))).
				Set("Dependent", cimmodel.Ref(p.volumePath(v.ID))).
				Set("SpaceConsumed", cimmodel.Uint64(v.AllocatedBytes)))
		}
		return out, nil
	})
	device := assocClass("MSISCSITARGET_SystemDevice", "CIM_SystemDevice", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		vols, err := p.volumes.List(ctx, "")
		if err != nil {
			return nil, storageError(fmt.Errorf("list volumes: %w", err))
		}
		out := make([]*cimmodel.Instance, 0, len(vols))
		for _, v := range vols {
			out = append(out, cimmodel.NewInstance(c).
				Set("GroupComponent", cimmodel.Ref(p.systemPath())).
				Set("PartComponent", cimmodel.Ref(p.volumePath(v.ID))))
		}
		return p.spcSystemDevices(c, out) // the iSCSI targets (masking.go)
	})
	return []*cimmodel.Class{hosted, hostedPool, allocated, device}
}

// assocClass declares a concrete association class whose instances list
// builds; its keys are the reference properties inherited from super.
func assocClass(name, super string, list func(context.Context, *cimmodel.Class) ([]*cimmodel.Instance, error)) *cimmodel.Class {
	c := &cimmodel.Class{Name: name, Superclass: super, Namespace: Namespace, Association: true}
	c.Provider = &assocProvider{class: c, list: list}
	return c
}

// assocProvider serves an association class computed from the domain on
// every call.
type assocProvider struct {
	class *cimmodel.Class
	list  func(context.Context, *cimmodel.Class) ([]*cimmodel.Instance, error)
}

// EnumerateInstances returns every association instance.
func (a *assocProvider) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	return a.list(ctx, a.class)
}

// GetInstance returns the association instance whose references path's
// keys name.
func (a *assocProvider) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	insts, err := a.list(ctx, a.class)
	if err != nil {
		return nil, err
	}
	for _, inst := range insts {
		if inst.Path().Equal(path) {
			return inst, nil
		}
	}
	return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "no %s instance %s", a.class.Name, path)
}
