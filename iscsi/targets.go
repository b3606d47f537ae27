package iscsi

import "context"

// Targets returns every target, sorted by Name.
func (s *Service) Targets() ([]Target, error) { return nil, errNotImplemented }

// Target returns the target called name. Errors: ErrNotFound.
func (s *Service) Target(name string) (Target, error) { return Target{}, errNotImplemented }

// TargetByIQN returns the target whose IQN is iqn. Errors: ErrNotFound.
func (s *Service) TargetByIQN(iqn string) (Target, error) { return Target{}, errNotImplemented }

// CreateTarget creates an empty target that allows initiators. Errors:
// ErrInvalid (name or an IQN), ErrExists, ErrUnavailable.
func (s *Service) CreateTarget(name string, initiators []string) (Target, error) {
	return Target{}, errNotImplemented
}

// DeleteTarget removes the target called name. Without force it fails with
// ErrInUse while the target maps LUNs or has live sessions.
func (s *Service) DeleteTarget(name string, force bool) error { return errNotImplemented }

// Expose maps vols into target (creating it, with a generated name, when
// target is ""), allows initiators, and returns the target. LUN numbers are
// the next free ones; a volume already mapped keeps its number. One
// transaction in the store, then tgtadm; if tgtadm fails the store change is
// rolled back and tgtd is reconciled to it (no partial state). Errors:
// ErrInvalid, ErrNotFound (target or volume), ErrUnavailable.
func (s *Service) Expose(target string, vols []VolumeRef, initiators []string, readOnly bool) (Target, error) {
	return Target{}, errNotImplemented
}

// Hide unmaps vols from target and disallows initiators; either may be
// empty. Errors: ErrNotFound, ErrUnavailable.
func (s *Service) Hide(target string, vols []VolumeRef, initiators []string) (Target, error) {
	return Target{}, errNotImplemented
}

// HardwareIDs returns the known initiator identities, sorted by ID.
func (s *Service) HardwareIDs() ([]HardwareID, error) { return nil, errNotImplemented }

// CreateHardwareID records an initiator identity. Errors: ErrInvalid (not
// an IQN), ErrExists.
func (s *Service) CreateHardwareID(id, elementName string) (HardwareID, error) {
	return HardwareID{}, errNotImplemented
}

// DeleteHardwareID forgets an initiator identity; targets that allow it
// keep allowing it. Errors: ErrNotFound.
func (s *Service) DeleteHardwareID(id string) error { return errNotImplemented }

// Sessions returns the live sessions, from tgtadm --op show. Errors:
// ErrUnavailable.
func (s *Service) Sessions() ([]Session, error) { return nil, errNotImplemented }

// ExposedIn lists the names of the targets that map the volume, sorted;
// nil when none does.
func (s *Service) ExposedIn(pool, volume string) []string { return nil }

// Quiesce sets the targets that map vols offline (tgt's target state
// offline: new commands are refused with a retryable status), waits for
// in-flight commands to drain, and returns resume, which sets them ready
// again. Volumes no target maps need nothing: resume is then a no-op.
func (s *Service) Quiesce(ctx context.Context, vols []VolumeRef) (resume func(), err error) {
	return func() {}, nil
}
