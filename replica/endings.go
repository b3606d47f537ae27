package replica

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/replicad/replicad/store"
)

// Ending says how a synchronization ends.
type Ending int

// The endings (ModifyReplicaSynchronization operations).
const (
	// EndDetach forgets the relationship; source and target become
	// independent volumes (Detach 8).
	EndDetach Ending = iota + 1
	// EndDissolve removes the synchronization and keeps the target
	// (Dissolve 9). replicad keeps no SettingsDefineState, so it is Detach.
	EndDissolve
	// EndReturnToPool removes the synchronization and deletes the target
	// volume (Return To ResourcePool 19).
	EndReturnToPool
)

// String names the ending.
func (e Ending) String() string {
	switch e {
	case EndDetach:
		return "Detach"
	case EndDissolve:
		return "Dissolve"
	case EndReturnToPool:
		return "Return To ResourcePool"
	}
	return fmt.Sprintf("Ending(%d)", int(e))
}

// EndSynchronization ends synchronization id, which must be settled
// (Synchronized, Fractured, Split, Broken or Aborted; ErrCopyInProgress
// while a job copies). A member of a group
// synchronization must be ended through the group (ErrInRelationship).
// Errors: ErrSyncNotFound, ErrCopyInProgress, ErrInRelationship, and the
// volume delete errors for EndReturnToPool.
func (s *Service) EndSynchronization(ctx context.Context, id string, how Ending) error {
	x, err := s.Synchronization(ctx, id)
	if err != nil {
		return err
	}
	if x.GroupSync != "" {
		return fmt.Errorf("%w: synchronization %s → %s belongs to a group synchronization; modify that one", ErrInRelationship, x.Source, x.Target)
	}
	return s.end(ctx, []*Synchronization{x}, "", how)
}

// EndGroupSynchronization ends group synchronization id and all its member
// synchronizations; with EndReturnToPool it deletes the target volumes and
// a target group made by the system. Errors as EndSynchronization.
func (s *Service) EndGroupSynchronization(ctx context.Context, id string, how Ending) error {
	gs, err := s.GroupSynchronization(ctx, id)
	if err != nil {
		return err
	}
	var members []*Synchronization
	for _, mid := range gs.Members {
		x, err := s.Synchronization(ctx, mid)
		if errors.Is(err, ErrSyncNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		members = append(members, x)
	}
	return s.end(ctx, members, gs.ID, how)
}

func (s *Service) end(ctx context.Context, syncs []*Synchronization, groupSync string, how Ending) error {
	switch how {
	case EndDetach, EndDissolve, EndReturnToPool:
	default:
		return fmt.Errorf("%w: unknown ending %d", ErrNotSupported, how)
	}
	intent, err := s.endRecords(ctx, syncs, groupSync, how)
	if err != nil {
		return fmt.Errorf("%s: %w", how, err)
	}
	s.logger.Info("synchronization ended", zap.Stringer("how", how), zap.Int("pairs", len(syncs)), zap.String("groupSync", groupSync))
	if err := s.finishIntent(context.WithoutCancel(ctx), intent); err != nil {
		return fmt.Errorf("%s: the relationship ended, but %w (finished at the next start)", how, err)
	}
	return nil
}

// endRecords deletes the records of syncs (and of group synchronization
// groupSync, when not "") in one transaction, with the journaled intent
// that finishes the ending outside the store.
func (s *Service) endRecords(ctx context.Context, syncs []*Synchronization, groupSync string, how Ending) (*intentRecord, error) {
	targets, err := s.targetsOf(ctx, syncs)
	if err != nil {
		return nil, err
	}
	if how == EndReturnToPool {
		// A target that something outside replica holds (an iSCSI target
		// exposing it) is refused before anything ends, rather than
		// left to a deletion that fails after the records are gone.
		for id := range targets {
			if err := s.vols.CheckInUse(ctx, id); err != nil {
				return nil, fmt.Errorf("target %s: %w", targets[id].Name, err)
			}
		}
	}
	s.followMu.Lock()
	defer s.followMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	// What is left to do outside the store (hidden files, target volumes)
	// is journaled in the transaction that deletes the synchronizations,
	// and finished at once or, after a crash, by Open.
	intent := s.endIntent(syncs, targets, how)
	var gs *GroupSynchronization
	var deleteGroups []string
	err = s.db.Update(func(tx *store.Tx) error {
		if groupSync != "" {
			var err error
			if gs, err = getRecord[GroupSynchronization](tx, bucketGroupSyncs, groupSync); err != nil {
				return err
			}
			if gs == nil {
				return fmt.Errorf("%w: %s", ErrSyncNotFound, groupSync)
			}
			if err := tx.Delete(bucketGroupSyncs, groupSync); err != nil {
				return err
			}
			// A system-made source group of a one-element source goes
			// with its relationship; so does a system-made target group
			// whose targets are returned to the pool.
			for _, gid := range []string{gs.SourceGroup, gs.TargetGroup} {
				g, err := getRecord[Group](tx, bucketGroups, gid)
				if err != nil {
					return err
				}
				if g == nil || !g.SystemGenerated {
					continue
				}
				if (gid == gs.SourceGroup && g.DeleteOnUnassociated) || (gid == gs.TargetGroup && how == EndReturnToPool) {
					deleteGroups = append(deleteGroups, gid)
					if err := tx.Delete(bucketGroups, gid); err != nil {
						return err
					}
				}
			}
			if how == EndReturnToPool {
				if g, err := getRecord[Group](tx, bucketGroups, gs.TargetGroup); err != nil {
					return err
				} else if g != nil {
					g.Members = nil
					if err := tx.Put(bucketGroups, g.ID, g); err != nil {
						return err
					}
				}
			}
		}
		for _, x := range syncs {
			// Checked again inside the transaction: a Resync may have
			// started since the caller looked.
			cur, err := getRecord[Synchronization](tx, bucketSyncs, x.ID)
			if err != nil {
				return err
			}
			if cur == nil {
				return fmt.Errorf("%w: %s", ErrSyncNotFound, x.ID)
			}
			if !slices.Contains(AllowedFrom(OpDetach, cur.SyncType), cur.CopyState) {
				return fmt.Errorf("%w: %s → %s is %s; terminate or abort its job to stop it", ErrCopyInProgress, x.Source, x.Target, cur.CopyState)
			}
			if err := tx.Delete(bucketSyncs, x.ID); err != nil {
				return err
			}
		}
		return tx.Put(bucketIntents, intent.ID, intent)
	})
	if err != nil {
		return nil, err
	}
	return intent, nil
}
