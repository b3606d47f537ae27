package replica

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// Role says how a volume takes part in synchronizations: as the source of
// Sources of them and the target of Targets (at most one). It is read from
// the synchronization records, so it is true after any crash.
type Role struct {
	Sources, Targets int
}

// InRelationship reports whether the volume is the source or the target of
// a synchronization.
func (r Role) InRelationship() bool { return r.Sources > 0 || r.Targets > 0 }

// roleIn returns the role of volume id among syncs.
func roleIn(syncs []Synchronization, id volumes.ID) Role {
	var r Role
	for _, x := range syncs {
		if x.Source == id {
			r.Sources++
		}
		if x.Target == id {
			r.Targets++
		}
	}
	return r
}

// Relationships returns the synchronizations volume id is the source or
// the target of, read in one transaction and made honest about sizes
// (honest).
func (s *Service) Relationships(ctx context.Context, id volumes.ID) ([]Synchronization, error) {
	all, err := listRecordsView[Synchronization](s.db, bucketSyncs)
	if err != nil {
		return nil, fmt.Errorf("relationships of %s: %w", id, err)
	}
	var out []Synchronization
	for _, x := range all {
		if x.Source == id || x.Target == id {
			out = append(out, x)
		}
	}
	s.honestAll(ctx, out)
	return out, nil
}

// RoleOf returns the role of volume id (the zero Role for a volume in no
// relationship, or one that does not exist).
func (s *Service) RoleOf(ctx context.Context, id volumes.ID) (Role, error) {
	roles, err := s.roles.of(s.db) // roles need no states: no size check
	if err != nil {
		return Role{}, fmt.Errorf("role of %s: %w", id, err)
	}
	return roles[id], nil
}

// Roles returns the role of every volume in a relationship, as one
// transaction reads them; a volume not in the map is in none. The map is
// shared with other callers: it must not be changed.
func (s *Service) Roles(ctx context.Context) (map[volumes.ID]Role, error) {
	roles, err := s.roles.of(s.db) // roles need no states: no size check
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	return roles, nil
}

// keptRoles keeps the roles read from the synchronization records while the
// store's Generation says no Update has run since (store.DB.Generation), so
// that Roles and RoleOf, asked on every page and Get of the volumes, read
// and decode the records once per change of the store, not once per call.
// Every Update, by any path, changes the generation, and only the roles of
// the present generation are used: a change is seen at once. The zero value
// is ready; safe for concurrent use.
type keptRoles struct {
	mu    sync.Mutex
	gen   uint64
	roles map[volumes.ID]Role // nil: none kept
}

// of returns the roles of every volume in a relationship, as db holds them
// now: the kept ones when db's generation is theirs, else read in one
// transaction (and kept when no Update ran during the read).
func (k *keptRoles) of(db *store.DB) (map[volumes.ID]Role, error) {
	gen := db.Generation()
	if gen%2 == 0 {
		k.mu.Lock()
		roles, g := k.roles, k.gen
		k.mu.Unlock()
		if roles != nil && g == gen {
			return roles, nil
		}
	}
	all, err := listRecordsView[Synchronization](db, bucketSyncs)
	if err != nil {
		return nil, err
	}
	roles := make(map[volumes.ID]Role, 2*len(all))
	for _, x := range all {
		r := roles[x.Source]
		r.Sources++
		roles[x.Source] = r
		r = roles[x.Target]
		r.Targets++
		roles[x.Target] = r
	}
	if after := db.Generation(); gen%2 == 0 && after == gen {
		k.mu.Lock()
		k.roles, k.gen = roles, gen
		k.mu.Unlock()
	}
	return roles, nil
}

// DeleteVolume deletes volume id and its image file unless it is the
// source or target of a synchronization (ErrInRelationship). The check and
// the delete happen under the lock every change of synchronizations takes,
// so no request can pair the volume in between. Errors also: the
// volumes.Service.Delete errors (ErrNotFound, ErrInUse while leased).
func (s *Service) DeleteVolume(ctx context.Context, id volumes.ID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.deleteUnpaired(ctx, id)
}

// deleteUnpaired deletes volume id unless a synchronization names it.
// s.mu must be held.
func (s *Service) deleteUnpaired(ctx context.Context, id volumes.ID) error {
	var syncs []Synchronization
	if err := s.db.View(func(tx *store.Tx) error {
		var err error
		syncs, err = listRecords[Synchronization](tx, bucketSyncs)
		return err
	}); err != nil {
		return fmt.Errorf("delete volume %s: %w", id, err)
	}
	if r := roleIn(syncs, id); r.InRelationship() {
		return fmt.Errorf("%w: volume %s is the source of %d and the target of %d synchronization(s); end them first",
			ErrInRelationship, id, r.Sources, r.Targets)
	}
	if err := s.vols.Delete(ctx, id); err != nil {
		return err
	}
	return nil
}

// errVolumeGone reports whether err says the volume no longer exists.
func errVolumeGone(err error) bool { return errors.Is(err, volumes.ErrNotFound) }
