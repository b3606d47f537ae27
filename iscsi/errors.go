package iscsi

import "errors"

// Errors of this package; they are wrapped with %w and context, so match
// them with errors.Is. provider/errors.go maps them onto CIM statuses and
// return codes.
var (
	// ErrNotFound: no such target, LUN or hardware ID.
	ErrNotFound = errors.New("iscsi: not found")
	// ErrExists: a target or hardware ID of that name already exists, or a
	// LUN number is taken.
	ErrExists = errors.New("iscsi: already exists")
	// ErrInvalid: a bad IQN, target name, LUN number or CHAP credential.
	ErrInvalid = errors.New("iscsi: invalid")
	// ErrInUse: e.g. deleting a target that still maps LUNs or has live
	// sessions without force, or deleting or shrinking an exposed volume.
	ErrInUse = errors.New("iscsi: in use")
	// ErrUnavailable: the data plane is off (--iscsi=off), not started, or
	// tgtd is down.
	ErrUnavailable = errors.New("iscsi: data plane unavailable")
)
