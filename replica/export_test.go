package replica

import (
	"context"

	"github.com/replicad/replicad/volumes"
)

// EndRecordsOnly ends group synchronization id as a daemon killed right
// after the store transaction would: the records and the journal are
// written, nothing outside the store is done.
func (s *Service) EndRecordsOnly(ctx context.Context, id string, how Ending) error {
	gs, err := s.GroupSynchronization(ctx, id)
	if err != nil {
		return err
	}
	var members []*Synchronization
	for _, mid := range gs.Members {
		x, err := s.Synchronization(ctx, mid)
		if err != nil {
			return err
		}
		members = append(members, x)
	}
	_, err = s.endRecords(ctx, members, gs.ID, how)
	return err
}

// JournalCreate journals that request opID creates volume name in pool, as
// Replicate does before it creates a target.
func (s *Service) JournalCreate(opID, pool, name string) error {
	_, err := s.createIntent(opID, []string{pool}, []string{name})
	return err
}

// Intents is the number of journaled changes not yet finished.
func (s *Service) Intents() int {
	ins, err := listRecordsView[intentRecord](s.db, bucketIntents)
	if err != nil {
		panic(err)
	}
	return len(ins)
}

// SidecarName is the hash sidecar's file name of volume v.
func SidecarName(v *volumes.Volume) string { return "." + v.Name + sidecarSuffix }

// ScrubRunning reports whether the scrub loop was started.
func (s *Service) ScrubRunning() bool { return s.integrity.stopScrub != nil }
