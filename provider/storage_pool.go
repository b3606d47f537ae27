package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/volumes"
)

// storagePoolClass declares MSISCSITARGET_StoragePool: one instance per
// volumes pool, InstanceID "replicad:pool:" + name, PoolID the name. The
// space properties are those of the pool's filesystem in bytes:
// TotalManagedSpace its size, RemainingManagedSpace the largest volume the
// pool's provisioning policy accepts now (volumes.Pool.AvailableBytes, the
// limit Create and Grow check), and the policy (CIM_StoragePool 2.51, the
// Thin Provisioning profile): SpaceLimitDetermination 2 Allocated for a
// thick pool, 3 Quota for a thin one with an over-commit limit (SpaceLimit,
// in bytes), 4 Limitless for a thin one without; LowSpaceWarningThreshold
// the percentage of free space below which the pool warns. Windows adds the
// non-key SystemName (§3.9).
func (p *Provider) storagePoolClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: storagePoolClassName, Superclass: "CIM_StoragePool", Namespace: Namespace,
		Properties: []cimmodel.Property{
			{Name: "SystemName", Type: cimmodel.TypeString, Description: "Name of the hosting system"},
		}}
	c.Provider = &poolProvider{p: p, class: c}
	return c
}

// poolProvider serves MSISCSITARGET_StoragePool.
type poolProvider struct {
	p     *Provider
	class *cimmodel.Class
}

// EnumerateInstances returns one instance per pool.
func (pp *poolProvider) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	pools, err := pp.p.volumes.Pools(ctx)
	if err != nil {
		return nil, storageError(fmt.Errorf("list pools: %w", err))
	}
	out := make([]*cimmodel.Instance, 0, len(pools))
	for _, pool := range pools {
		out = append(out, pp.p.poolInstance(pp.class, pool))
	}
	return out, nil
}

// GetInstance returns the pool whose InstanceID path names.
func (pp *poolProvider) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	pool, err := pp.p.poolFromPath(ctx, path)
	if err != nil {
		return nil, storageError(err)
	}
	return pp.p.poolInstance(pp.class, pool), nil
}

// poolInstance maps pool onto an instance of c.
func (p *Provider) poolInstance(c *cimmodel.Class, pool *volumes.Pool) *cimmodel.Instance {
	status := statusOK
	if pool.Missing {
		status = statusLostComm
	}
	inst := cimmodel.NewInstance(c).
		Set("InstanceID", cimmodel.String(poolInstancePrefix+pool.Name)).
		Set("PoolID", cimmodel.String(pool.Name)).
		Set("ElementName", cimmodel.String(pool.Name)).
		Set("SystemName", cimmodel.String(p.system)).
		Set("Primordial", cimmodel.Bool(false)).
		Set("ResourceType", cimmodel.Uint16(resourceTypeStorageExtent)).
		Set("AllocationUnits", cimmodel.String("bytes")).
		Set("Capacity", cimmodel.Uint64(pool.TotalBytes)).
		Set("Reserved", cimmodel.Uint64(pool.ProvisionedBytes)).
		Set("TotalManagedSpace", cimmodel.Uint64(pool.TotalBytes)).
		Set("RemainingManagedSpace", cimmodel.Uint64(pool.AvailableBytes)).
		Set("SpaceLimitDetermination", cimmodel.Uint16(spaceLimitDetermination(pool))).
		Set("ElementsShareSpace", cimmodel.Bool(true)).
		Set("Usage", cimmodel.Uint16(2)). // Unrestricted
		Set("OperationalStatus", cimmodel.Uint16s([]uint16{status}))
	if pool.SpaceLimitBytes > 0 {
		inst.Set("SpaceLimit", cimmodel.Uint64(pool.SpaceLimitBytes))
	}
	if pool.Policy.LowSpacePercent > 0 {
		inst.Set("LowSpaceWarningThreshold", cimmodel.Uint16(uint16(pool.Policy.LowSpacePercent)))
	}
	return inst
}

// poolFromPath returns the pool an object path (or a reference parameter)
// names by its InstanceID; anything else is volumes.ErrPoolNotFound.
func (p *Provider) poolFromPath(ctx context.Context, path cimmodel.ObjectPath) (*volumes.Pool, error) {
	id := keyText(path, "InstanceID")
	name, ok := strings.CutPrefix(id, poolInstancePrefix)
	if !ok || name == "" || !inNamespace(path) {
		return nil, fmt.Errorf("no pool %s: %w", path, volumes.ErrPoolNotFound)
	}
	pool, err := p.volumes.Pool(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("pool %q: %w", name, err)
	}
	return pool, nil
}

// spaceLimitDetermination is CIM_StoragePool.SpaceLimitDetermination for
// pool's policy: 2 Allocated (thick), 3 Quota (thin with an over-commit
// limit), 4 Limitless (thin without).
func spaceLimitDetermination(pool *volumes.Pool) uint16 {
	switch {
	case pool.Policy.Provisioning != volumes.Thin:
		return 2
	case pool.SpaceLimitBytes > 0:
		return 3
	}
	return 4
}
