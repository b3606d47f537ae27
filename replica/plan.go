package replica

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// plan is a checked request: the sources, existing targets and names of the
// targets to create, pair by pair.
type plan struct {
	req         Request
	consistency Consistency
	mode        Mode
	relName     string
	sourceGroup *Group // existing source group
	targetGroup *Group // existing target group
	sources     []*volumes.Volume
	targets     []*volumes.Volume // nil where a target is to be created
	newNames    []string          // name of the target to create, per pair
	newPools    []string
	poolsFound  map[string]bool // target pools already checked to exist

	// syncs and groupSyncs are the relationships when the plan was made,
	// to check that a target takes part in none.
	syncs      []Synchronization
	groupSyncs []GroupSynchronization
}

// plan resolves the request's references and checks the rules that need
// them, step by step. It changes nothing.
func (s *Service) plan(ctx context.Context, req Request) (*plan, error) {
	p := newPlan(req)
	if err := s.loadRelationships(p); err != nil {
		return nil, err
	}
	for _, step := range []func(context.Context, *plan) error{s.planSources, s.planTargets, s.planNewTargets} {
		if err := step(ctx, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// newPlan starts the plan of req with its defaults filled in: the mode,
// the consistency (Sequential for a group, None for an element, or what
// ConsistentPointInTime asks) and a relationship name.
func newPlan(req Request) *plan {
	p := &plan{req: req, mode: req.Mode, consistency: req.Consistency, relName: req.RelationshipName}
	if p.mode == ModeUnspecified {
		p.mode = DefaultMode
	}
	if p.consistency == ConsistencyUnspecified {
		p.consistency = ConsistencyNone
		if req.Shape == ShapeGroup {
			p.consistency = ConsistencySequential
		}
		if cpit := req.Settings.ConsistentPointInTime; cpit != nil {
			p.consistency = ConsistencyNone
			if *cpit {
				p.consistency = ConsistencySequential
			}
		}
	}
	if p.relName == "" {
		p.relName = "replica-" + uuid.NewString()[:8]
	}
	return p
}

// loadRelationships reads every synchronization and group synchronization
// into p, in one transaction.
func (s *Service) loadRelationships(p *plan) error {
	return s.db.View(func(tx *store.Tx) error {
		var err error
		if p.syncs, err = listRecords[Synchronization](tx, bucketSyncs); err != nil {
			return err
		}
		p.groupSyncs, err = listRecords[GroupSynchronization](tx, bucketGroupSyncs)
		return err
	})
}

// volumeFor returns volume id, which plays role in the request; an unknown
// volume or one whose image is missing is an invalid request.
func (s *Service) volumeFor(ctx context.Context, id volumes.ID, role string) (*volumes.Volume, error) {
	v, err := s.vols.Get(ctx, id)
	if errors.Is(err, volumes.ErrNotFound) {
		return nil, invalid("%s %s does not exist", role, id)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", role, id, err)
	}
	if v.Missing {
		return nil, invalid("%s %s (%s): its image file is missing", role, v.Name, id)
	}
	return v, nil
}

// groupFor returns group id, which plays role in the request.
func (s *Service) groupFor(ctx context.Context, id, role string) (*Group, error) {
	g, err := s.Group(ctx, id)
	if errors.Is(err, ErrGroupNotFound) {
		return nil, invalid("%s %s does not exist", role, id)
	}
	return g, err
}

// planSources resolves the sources: the members of the source group, or
// the source element as many times as copies are asked.
func (s *Service) planSources(ctx context.Context, p *plan) error {
	req := p.req
	if req.SourceGroup == "" {
		v, err := s.volumeFor(ctx, req.SourceElement, "source element")
		if err != nil {
			return err
		}
		n := 1
		if req.TargetElementCount != nil {
			n = int(*req.TargetElementCount)
		}
		p.sources = repeat(v, n)
		return nil
	}
	g, err := s.groupFor(ctx, req.SourceGroup, "source group")
	if err != nil {
		return err
	}
	if len(g.Members) == 0 {
		return invalid("source group %s has no members", g.Name)
	}
	p.sourceGroup = g
	for _, id := range g.Members {
		v, err := s.volumeFor(ctx, id, "source group member")
		if err != nil {
			return err
		}
		p.sources = append(p.sources, v)
	}
	return nil
}

// repeat returns n times v.
func repeat(v *volumes.Volume, n int) []*volumes.Volume {
	out := make([]*volumes.Volume, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// planTargets resolves the supplied targets: the target element, or the
// members of a filled target group (an empty one receives new targets).
func (s *Service) planTargets(ctx context.Context, p *plan) error {
	p.targets = make([]*volumes.Volume, len(p.sources))
	switch {
	case p.req.TargetElement != "":
		t, err := s.volumeFor(ctx, p.req.TargetElement, "target element")
		if err != nil {
			return err
		}
		if err := p.checkTarget(t, p.sources[0], "target element"); err != nil {
			return err
		}
		p.targets[0] = t
	case p.req.TargetGroup != "":
		g, err := s.groupFor(ctx, p.req.TargetGroup, "target group")
		if err != nil {
			return err
		}
		if err := p.checkTargetGroup(g); err != nil {
			return err
		}
		p.targetGroup = g
		if len(g.Members) > 0 {
			return s.planTargetMembers(ctx, p, g)
		}
	}
	return nil
}

// checkTargetGroup checks that g can receive the replicas: it is not the
// source group and takes part in no group relationship.
func (p *plan) checkTargetGroup(g *Group) error {
	if p.sourceGroup != nil && g.ID == p.sourceGroup.ID {
		return invalid("the target group is the source group %s", g.Name)
	}
	for _, gs := range p.groupSyncs {
		if gs.TargetGroup == g.ID || gs.SourceGroup == g.ID {
			return fmt.Errorf("%w: target group %s is in relationship %q", ErrInRelationship, g.Name, gs.RelationshipName)
		}
	}
	return nil
}

// planTargetMembers pairs the members of target group g with the sources,
// in order; one source element is copied to every member.
func (s *Service) planTargetMembers(ctx context.Context, p *plan, g *Group) error {
	if p.req.TargetPool != "" {
		return invalid("a target pool is for new targets; target group %s supplies them", g.Name)
	}
	if p.sourceGroup == nil {
		// One source element to every member of the target group.
		p.sources = repeat(p.sources[0], len(g.Members))
		p.targets = make([]*volumes.Volume, len(p.sources))
	}
	if len(g.Members) != len(p.sources) {
		return invalid("target group %s has %d members but the source has %d: they must be equal",
			g.Name, len(g.Members), len(p.sources))
	}
	for i, id := range g.Members {
		t, err := s.volumeFor(ctx, id, "target group member")
		if err != nil {
			return err
		}
		if err := p.checkTarget(t, p.sources[i], "target group member "+strconv.Itoa(i+1)); err != nil {
			return err
		}
		if slices.ContainsFunc(p.targets[:i], func(o *volumes.Volume) bool { return o.ID == t.ID }) {
			return invalid("target group %s lists %s twice", g.Name, t.Name)
		}
		p.targets[i] = t
	}
	return nil
}

// checkTarget checks that supplied target t can receive a replica of src:
// it is no source, has src's size and is the target of no synchronization.
func (p *plan) checkTarget(t, src *volumes.Volume, role string) error {
	if slices.ContainsFunc(p.sources, func(v *volumes.Volume) bool { return v.ID == t.ID }) {
		return invalid("%s %s is also a source", role, t.Name)
	}
	if t.SizeBytes != src.SizeBytes {
		return invalid("%s %s is %d bytes but its source %s is %d bytes: sizes must match",
			role, t.Name, t.SizeBytes, src.Name, src.SizeBytes)
	}
	for _, x := range p.syncs {
		if x.Target == t.ID {
			return fmt.Errorf("%w: %s %s is already the target of a synchronization of %s", ErrInRelationship, role, t.Name, x.Source)
		}
	}
	return nil
}

// planNewTargets names the targets to create and picks their pools, all
// checked before anything is made.
func (s *Service) planNewTargets(ctx context.Context, p *plan) error {
	p.newNames = make([]string, len(p.targets))
	p.newPools = make([]string, len(p.targets))
	for i, t := range p.targets {
		if t != nil {
			continue
		}
		if p.req.Settings.Supply == SupplyExisting {
			if p.targetGroup == nil {
				return invalid("the settings allow existing targets only, and source %s has none", p.sources[i].Name)
			}
			return invalid("the settings allow existing targets only, and target group %s is empty", p.targetGroup.Name)
		}
		name, pool := p.newTargetName(i), p.req.TargetPool
		if pool == "" {
			pool = p.sources[i].Pool
		}
		if err := s.checkNewTarget(ctx, p, name, pool); err != nil {
			return err
		}
		p.newNames[i], p.newPools[i] = name, pool
	}
	return nil
}

// newTargetName is the name of new target i: RelationshipName_<i+1> in a
// group, the ElementName (or <source>_<relationship>) of one element.
func (p *plan) newTargetName(i int) string {
	if p.req.Shape != ShapeElement {
		return fmt.Sprintf("%s_%d", p.relName, i+1)
	}
	if p.req.ElementName != "" {
		return p.req.ElementName
	}
	return p.sources[i].Name + "_" + p.relName
}

// checkPool checks that target pool exists, once per plan: a group's
// targets share their pool, and one request costs one pool lookup.
func (s *Service) checkPool(ctx context.Context, p *plan, pool string) error {
	if p.poolsFound[pool] {
		return nil
	}
	if _, err := s.vols.PoolPath(ctx, pool); errors.Is(err, volumes.ErrPoolNotFound) {
		return invalid("target pool %s does not exist", pool)
	} else if err != nil {
		return err
	}
	if p.poolsFound == nil {
		p.poolsFound = map[string]bool{}
	}
	p.poolsFound[pool] = true
	return nil
}

// checkNewTarget checks that a volume called name can be made in pool:
// a valid name, an existing pool, and no volume (existing or planned)
// of that name.
func (s *Service) checkNewTarget(ctx context.Context, p *plan, name, pool string) error {
	if err := volumes.CheckName(name); err != nil {
		return invalid("target name %q: %v", name, err)
	}
	if err := s.checkPool(ctx, p, pool); err != nil {
		return err
	}
	if _, err := s.vols.Lookup(ctx, pool, name); err == nil {
		return invalid("a volume named %s already exists in pool %s; choose another relationship or element name", name, pool)
	} else if !errors.Is(err, volumes.ErrNotFound) {
		return fmt.Errorf("look up %s: %w", name, err)
	}
	if slices.Contains(p.newNames, name) {
		return invalid("two targets would be named %s", name)
	}
	return nil
}
