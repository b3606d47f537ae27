package volumes

import (
	"context"
	"fmt"

	"github.com/replicad/replicad/store"
)

// InUseCheck is asked before a volume is deleted whether a layer above
// still uses it (the iSCSI data plane: the volume is exposed in a target).
// A non-nil error refuses the delete; its text names the users ("iSCSI
// target(s) backup, test").
type InUseCheck func(pool, name string) error

// SetInUse installs check, asked by Delete while the volume is held (so no
// other delete or grow of it runs meanwhile); nil removes it. The daemon
// installs the iSCSI data plane's guard.
func (s *Service) SetInUse(check InUseCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inUse = check
}

// checkInUse returns an *InUseError (errors.Is ErrInUse, text "volumes:
// volume in use by <users>") when the installed check refuses rec.
func (s *Service) checkInUse(rec volumeRecord) error {
	s.mu.Lock()
	check := s.inUse
	s.mu.Unlock()
	if check == nil {
		return nil
	}
	if err := check(rec.Pool, rec.Name); err != nil {
		return &InUseError{ID: rec.ID, Purpose: err.Error()}
	}
	return nil
}

// CheckInUse asks the installed check about volume id without deleting
// it: nil, or the *InUseError Delete would return. Callers that will
// delete the volume later (replica's Return To ResourcePool) ask first, so
// that they refuse up front instead of failing half way. Errors also:
// ErrNotFound.
func (s *Service) CheckInUse(ctx context.Context, id ID) error {
	if err := s.checkOpen(ctx); err != nil {
		return err
	}
	var rec volumeRecord
	if err := s.db.View(func(tx *store.Tx) (err error) {
		rec, err = getVolume(tx, id)
		return err
	}); err != nil {
		return fmt.Errorf("volume %s: %w", id, err)
	}
	return s.checkInUse(rec)
}
