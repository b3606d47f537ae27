package replica

import "errors"

// Sentinel errors. Errors returned by Service wrap one of these (or a
// volumes or jobqueue sentinel) with the details a client needs.
var (
	// ErrInvalidRequest is returned when a request breaks a parameter rule:
	// a wrong combination, a value outside its range, a reference to
	// something that does not exist or does not fit.
	ErrInvalidRequest = errors.New("replica: invalid request")
	// ErrNotSupported is returned for a valid request replicad cannot do
	// (Mirror, remote access points, vendor values, TargetSettingGoal).
	ErrNotSupported = errors.New("replica: not supported")
	// ErrInUse is returned when a source or target is busy with another
	// operation (it also matches volumes.ErrInUse when a lease was refused).
	ErrInUse = errors.New("replica: in use")
	// ErrGroupNotFound is returned for an unknown replication group.
	ErrGroupNotFound = errors.New("replica: group not found")
	// ErrGroupExists is returned by CreateGroup when a group has that name.
	ErrGroupExists = errors.New("replica: group name already used")
	// ErrNotMember is returned by RemoveMembers for a volume not in the group.
	ErrNotMember = errors.New("replica: member not in group")
	// ErrInRelationship is returned when a group or volume cannot change
	// because it takes part in a synchronization.
	ErrInRelationship = errors.New("replica: element in a replication relationship")
	// ErrGroupNotEmpty is returned by DeleteGroup for a group with members
	// when RemoveElements is not set.
	ErrGroupNotEmpty = errors.New("replica: group not empty")
	// ErrSyncNotFound is returned for an unknown synchronization.
	ErrSyncNotFound = errors.New("replica: synchronization not found")
	// ErrCopyInProgress is returned by a modification that needs a finished
	// copy while the copy still runs.
	ErrCopyInProgress = errors.New("replica: copy in progress")
	// ErrInvalidState is returned by Modify for an operation that is not
	// allowed from the synchronization's CopyState.
	ErrInvalidState = errors.New("replica: operation not allowed in this copy state")
	// ErrOperationNotFound is returned by Terminate for a job that is not a
	// replication operation.
	ErrOperationNotFound = errors.New("replica: operation not found")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("replica: service closed")
)
