package replica

import (
	"context"
	"fmt"

	"github.com/replicad/replicad/volumes"
)

// QuiesceFunc stops I/O from outside replicad on vols (the iSCSI data
// plane sets the targets exposing them offline and drains their commands)
// and returns resume, which lets it flow again and makes the outside see
// files a copy replaced. Volumes nobody serves need nothing. The daemon
// passes the iSCSI data plane's; replica does not import it.
type QuiesceFunc func(ctx context.Context, vols []volumes.ID) (resume func(), err error)

// quiesce calls Options.Quiesce; without one it is a no-op. An error
// fails the operation that asked: a Restore, a Resync or a consistent
// group Snapshot made while initiators write would not be what it claims.
func (s *Service) quiesce(ctx context.Context, ids []volumes.ID) (func(), error) {
	if s.opts.Quiesce == nil || len(ids) == 0 {
		return func() {}, nil
	}
	resume, err := s.opts.Quiesce(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("quiesce I/O of the volumes: %w", err)
	}
	return resume, nil
}

// writtenBy is the volume a Restore (the source) or a Resync (the target)
// of x writes.
func writtenBy(op Operation, x *Synchronization) volumes.ID {
	if op == OpRestore {
		return x.Source
	}
	return x.Target
}

// consistentSources are the sources to quiesce for a copy of syncs: those
// of a Snapshot (one instant of its sources; for a group with Sequential
// consistency one instant across the members), none for Clones and
// Mirrors. Without the quiesce a snapshot's copy of a source an initiator
// writes fails (the engine sees the source change under it).
func consistentSources(_ Consistency, syncs []*Synchronization) []volumes.ID {
	if len(syncs) == 0 || syncs[0].SyncType != SyncTypeSnapshot {
		return nil
	}
	ids := make([]volumes.ID, 0, len(syncs))
	for _, x := range syncs {
		ids = append(ids, x.Source)
	}
	return ids
}
