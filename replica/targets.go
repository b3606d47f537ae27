package replica

import (
	"context"
	"errors"

	"github.com/replicad/replicad/volumes"
)

// AvailableTargets returns the volumes that could receive a replica of
// source: same size, not source itself, not the target of a synchronization,
// and (when pools is not empty) in one of pools. Errors: ErrInvalidRequest
// (unknown source or pool).
func (s *Service) AvailableTargets(ctx context.Context, source volumes.ID, pools []string) ([]*volumes.Volume, error) {
	src, err := s.vols.Get(ctx, source)
	if errors.Is(err, volumes.ErrNotFound) {
		return nil, invalid("source element %s does not exist", source)
	} else if err != nil {
		return nil, err
	}
	syncs, err := s.Synchronizations(ctx)
	if err != nil {
		return nil, err
	}
	busy := map[volumes.ID]bool{source: true}
	for _, x := range syncs {
		busy[x.Target] = true
	}
	var all []*volumes.Volume
	if len(pools) == 0 {
		if all, err = s.vols.List(ctx, ""); err != nil {
			return nil, err
		}
	}
	for _, p := range pools {
		vs, err := s.vols.List(ctx, p)
		if errors.Is(err, volumes.ErrPoolNotFound) {
			return nil, invalid("target pool %s does not exist", p)
		} else if err != nil {
			return nil, err
		}
		all = append(all, vs...)
	}
	var out []*volumes.Volume
	for _, v := range all {
		if !busy[v.ID] && !v.Missing && v.SizeBytes == src.SizeBytes {
			out = append(out, v)
		}
	}
	return out, nil
}
