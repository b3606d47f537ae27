package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// replicationGroupClass declares MSISCSITARGET_ReplicationGroup (an
// extension: the Windows provider has no group class), key InstanceID
// "replicad:group:<uuid>", name in ElementName (Cinder matches its id
// there, §3.2).
func (p *Provider) replicationGroupClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: replicationGroupClassName, Superclass: "CIM_ReplicationGroup", Namespace: Namespace}
	c.Provider = &groupProvider{p: p, class: c}
	return c
}

// groupProvider serves the replication groups.
type groupProvider struct {
	p     *Provider
	class *cimmodel.Class
}

// EnumerateInstances returns every group.
func (gp *groupProvider) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	groups, err := gp.p.repl.svc.Groups(ctx)
	if err != nil {
		return nil, replicationError(err)
	}
	out := make([]*cimmodel.Instance, 0, len(groups))
	for i := range groups {
		out = append(out, gp.p.groupInstance(gp.class, &groups[i]))
	}
	return out, nil
}

// GetInstance returns the group path names.
func (gp *groupProvider) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	g, err := gp.p.groupOf(ctx, path)
	if err != nil {
		return nil, err
	}
	return gp.p.groupInstance(gp.class, g), nil
}

// groupOf returns the group path names, or a NotFound *cimmodel.Error.
func (p *Provider) groupOf(ctx context.Context, path cimmodel.ObjectPath) (*replica.Group, error) {
	id, err := groupIDOf(path, "path")
	if err != nil {
		return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "%v", err)
	}
	g, err := p.repl.svc.Group(ctx, id)
	if err != nil {
		return nil, replicationError(fmt.Errorf("group %s: %w", id, err))
	}
	return g, nil
}

func (p *Provider) groupInstance(c *cimmodel.Class, g *replica.Group) *cimmodel.Instance {
	return cimmodel.NewInstance(c).
		Set("InstanceID", cimmodel.String(groupInstancePrefix+g.ID)).
		Set("ElementName", cimmodel.String(g.Name)).
		Set("Persistent", cimmodel.Bool(g.Persistent)).
		Set("DeleteOnEmptyElement", cimmodel.Bool(g.DeleteOnEmptyElement)).
		Set("DeleteOnUnassociated", cimmodel.Bool(g.DeleteOnUnassociated)).
		Set("ConsistentPointInTime", cimmodel.Bool(g.ConsistentPointInTime)).
		Set("SupportedSyncTypes", cimmodel.Uint16s([]uint16{uint16(replica.SyncTypeSnapshot), uint16(replica.SyncTypeClone)})).
		Set("MemberPolicy", cimmodel.Uint16s([]uint16{2, 4})). // can add existing members, can remove members
		Set("SystemGenerated", cimmodel.Bool(g.SystemGenerated))
}

// replicationAssociationClasses declares the associations around groups,
// jobs and capabilities:
//   - MSISCSITARGET_OrderedMemberOfCollection: Collection group, Member each
//     volume, AssignedSequence its position from 1 (Cinder's members, §3.1);
//   - MSISCSITARGET_HostedCollection: Antecedent system, Dependent group;
//   - MSISCSITARGET_ServiceAffectsElement: AffectingElement the replication
//     service, AffectedElement each group, ElementEffects 5 Manages (so
//     AssociatorNames(service, ResultClass=CIM_ReplicationGroup) finds them, §3.2);
//   - MSISCSITARGET_AffectedJobElement: AffectingElement each job,
//     AffectedElement every target volume (ElementEffects 5 Create when the
//     job created it, 4 Element Integrity when it overwrites a supplied one)
//     and its target group; never a source (§6.5);
//   - MSISCSITARGET_OwningJobElement: OwningElement the replication service,
//     OwnedElement each replication job;
//   - MSISCSITARGET_ElementCapabilities: ManagedElement the replication
//     service, Capabilities its ReplicationServiceCapabilities and its
//     StorageReplicationCapabilities (§3.5, §6.1).
func (p *Provider) replicationAssociationClasses() []*cimmodel.Class {
	members := assocClass(orderedMemberClassName, "CIM_OrderedMemberOfCollection", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		groups, err := p.repl.svc.Groups(ctx)
		if err != nil {
			return nil, replicationError(err)
		}
		var out []*cimmodel.Instance
		for _, g := range groups {
			for i, m := range g.Members {
				out = append(out, cimmodel.NewInstance(c).
					Set("Collection", cimmodel.Ref(p.groupPath(g.ID))).
					Set("Member", cimmodel.Ref(p.volumePath(m))).
					Set("AssignedSequence", cimmodel.Uint64(uint64(i+1))))
			}
		}
		return out, nil
	})
	hosted := assocClass(hostedCollectionClassName, "CIM_HostedCollection", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		groups, err := p.repl.svc.Groups(ctx)
		if err != nil {
			return nil, replicationError(err)
		}
		out := make([]*cimmodel.Instance, 0, len(groups))
		for _, g := range groups {
			out = append(out, cimmodel.NewInstance(c).
				Set("Antecedent", cimmodel.Ref(p.systemPath())).
				Set("Dependent", cimmodel.Ref(p.groupPath(g.ID))))
		}
		return out, nil
	})
	affects := assocClass(serviceAffectsElementClass, "CIM_ServiceAffectsElement", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		groups, err := p.repl.svc.Groups(ctx)
		if err != nil {
			return nil, replicationError(err)
		}
		out := make([]*cimmodel.Instance, 0, len(groups))
		for _, g := range groups {
			out = append(out, cimmodel.NewInstance(c).
				Set("AffectingElement", cimmodel.Ref(p.servicePath(replicationServiceClassName))).
				Set("AffectedElement", cimmodel.Ref(p.groupPath(g.ID))).
				Set("ElementEffects", cimmodel.Uint16s([]uint16{5})))
		}
		return out, nil
	})
	affected := assocClass(affectedJobElementClassName, "CIM_AffectedJobElement", p.affectedJobElements)
	owning := assocClass(owningJobElementClassName, "CIM_OwningJobElement", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		jobs, err := p.jobs.List()
		if err != nil {
			return nil, replicationError(err)
		}
		var out []*cimmodel.Instance
		for _, j := range jobs {
			out = append(out, cimmodel.NewInstance(c).
				Set("OwningElement", cimmodel.Ref(p.servicePath(replicationServiceClassName))).
				Set("OwnedElement", cimmodel.Ref(p.jobPath(j.ID))))
		}
		return out, nil
	})
	caps := assocClass(elementCapabilitiesClassName, "CIM_ElementCapabilities", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		svc := cimmodel.Ref(p.servicePath(replicationServiceClassName))
		out := []*cimmodel.Instance{
			cimmodel.NewInstance(c).Set("ManagedElement", svc).Set("Capabilities", cimmodel.Ref(p.capabilitiesPath())).
				Set("Characteristics", cimmodel.Uint16s([]uint16{2})), // Default
			cimmodel.NewInstance(c).Set("ManagedElement", svc).Set("Capabilities", cimmodel.Ref(p.storageReplicationCapabilitiesPath())).
				Set("Characteristics", cimmodel.Uint16s([]uint16{2})),
		}
		masking, err := p.maskingElementCapabilities(c) // masking.go: the masking and iSCSI services, the targets
		if err != nil {
			return nil, err
		}
		return append(out, masking...), nil
	})
	return []*cimmodel.Class{members, hosted, affects, affected, owning, caps}
}

// affectedJobElements lists, for every job, the target volumes and the
// target group it affects that still exist.
func (p *Provider) affectedJobElements(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
	jobs, err := p.jobs.List()
	if err != nil {
		return nil, replicationError(err)
	}
	vols, err := p.volumes.List(ctx, "")
	if err != nil {
		return nil, replicationError(err)
	}
	exists := map[string]bool{}
	for _, v := range vols {
		exists[string(v.ID)] = true
	}
	var out []*cimmodel.Instance
	for _, j := range jobs {
		for _, a := range j.Affected {
			kind, id, _ := strings.Cut(a, ":")
			var ref cimmodel.ObjectPath
			effect := uint16(4) // Element Integrity
			switch kind {
			case replica.AffectedCreatedVolume, replica.AffectedSuppliedVolume:
				if !exists[id] {
					continue
				}
				ref = p.volumePath(volumes.ID(id))
				if kind == replica.AffectedCreatedVolume {
					effect = 5 // Create
				}
			case replica.AffectedTargetGroup:
				g, err := p.repl.svc.Group(ctx, id)
				if errors.Is(err, replica.ErrGroupNotFound) {
					continue
				} else if err != nil {
					return nil, replicationError(err)
				}
				ref = p.groupPath(id)
				if g.SystemGenerated {
					effect = 5
				}
			default:
				continue
			}
			out = append(out, cimmodel.NewInstance(c).
				Set("AffectingElement", cimmodel.Ref(p.jobPath(j.ID))).
				Set("AffectedElement", cimmodel.Ref(ref)).
				Set("ElementEffects", cimmodel.Uint16s([]uint16{effect})))
		}
	}
	return out, nil
}
