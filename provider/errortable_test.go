package provider

import (
	"errors"
	"fmt"
	"testing"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/iscsi"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// errorAnswers is what the provider answered for each domain error before
// its two tables (storageErrors, replicationErrors) became domainErrors,
// taken from the two tables' functions at the commit before the merge and
// kept here as literals: the storage method code and intrinsic status, the
// replication code for any method and for AddMembers, RemoveMembers and
// DeleteGroup, the replication intrinsic status, whether a refusal names the
// reason (known) and the refusal's CIMStatusCode. Errors that wrap two
// sentinels (as replica and the provider build them) are here too, since
// the order of rows decides them.
var errorAnswers = []struct {
	name                                   string
	err                                    error
	storageCode                            uint32
	storageStatus                          cimmodel.Status
	replCode, addCode, removeCode, delCode uint32
	replStatus                             cimmodel.Status
	known                                  bool
	refusalStatus                          cimmodel.Status
}{
	{"replica.ErrInvalidRequest", replica.ErrInvalidRequest, 4, 1, 5, 5, 5, 5, 4, true, 4},
	{"replica.ErrNotSupported", replica.ErrNotSupported, 4, 1, 1, 1, 1, 1, 7, true, 7},
	{"replica.ErrInUse", replica.ErrInUse, 4, 1, 6, 6, 6, 6, 1, true, 1},
	{"replica.ErrGroupNotFound", replica.ErrGroupNotFound, 4, 1, 5, 7, 7, 5, 6, true, 6},
	{"replica.ErrGroupExists", replica.ErrGroupExists, 4, 1, 5, 5, 5, 5, 11, true, 11},
	{"replica.ErrNotMember", replica.ErrNotMember, 4, 1, 5, 5, 8, 5, 4, true, 4},
	{"replica.ErrInRelationship", replica.ErrInRelationship, 32768, 1, 6, 6, 6, 7, 1, true, 1},
	{"replica.ErrGroupNotEmpty", replica.ErrGroupNotEmpty, 4, 1, 4, 4, 4, 4, 1, true, 1},
	{"replica.ErrSyncNotFound", replica.ErrSyncNotFound, 4, 1, 5, 5, 5, 5, 6, true, 6},
	{"replica.ErrCopyInProgress", replica.ErrCopyInProgress, 4, 1, 6, 6, 6, 6, 1, true, 1},
	{"replica.ErrInvalidState", replica.ErrInvalidState, 4, 1, 5, 5, 5, 5, 1, true, 1},
	{"replica.ErrOperationNotFound", replica.ErrOperationNotFound, 4, 1, 5, 5, 5, 5, 6, true, 6},
	{"replica.ErrClosed", replica.ErrClosed, 4, 1, 4, 4, 4, 4, 1, true, 1},
	{"volumes.ErrInvalidName", volumes.ErrInvalidName, 5, 4, 5, 5, 5, 5, 4, true, 4},
	{"volumes.ErrInvalidSize", volumes.ErrInvalidSize, 4097, 4, 4, 4, 4, 4, 1, true, 4},
	// Issue 20: space that really runs out answers 40000 (Not enough
	// available capacity), a thin pool's over-commit limit 4097.
	{"volumes.ErrNoSpace", volumes.ErrNoSpace, 40000, 1, 4, 4, 4, 4, 1, true, 1},
	{"volumes.ErrOverCommit", volumes.ErrOverCommit, 4097, 1, 4, 4, 4, 4, 1, true, 1},
	{"volumes.ErrExists", volumes.ErrExists, 5, 11, 5, 5, 5, 5, 11, true, 11},
	{"volumes.ErrNotFound", volumes.ErrNotFound, 5, 6, 5, 5, 5, 5, 6, true, 6},
	{"volumes.ErrPoolNotFound", volumes.ErrPoolNotFound, 5, 6, 5, 5, 5, 5, 6, true, 6},
	{"volumes.ErrPoolExists", volumes.ErrPoolExists, 4, 11, 4, 4, 4, 4, 1, true, 11},
	{"volumes.ErrPoolNotEmpty", volumes.ErrPoolNotEmpty, 6, 1, 4, 4, 4, 4, 1, true, 1},
	{"volumes.ErrDefaultPool", volumes.ErrDefaultPool, 1, 7, 4, 4, 4, 4, 1, true, 7},
	{"volumes.ErrInUse", volumes.ErrInUse, 6, 1, 6, 6, 6, 6, 1, true, 1},
	{"volumes.ErrInvalidLabel", volumes.ErrInvalidLabel, 5, 4, 4, 4, 4, 4, 1, true, 4},
	{"volumes.ErrMissing", volumes.ErrMissing, 4, 1, 4, 4, 4, 4, 1, true, 1},
	{"volumes.ErrClosed", volumes.ErrClosed, 4, 1, 4, 4, 4, 4, 1, true, 1},
	{"volumes.ErrSymlink", volumes.ErrSymlink, 4, 1, 4, 4, 4, 4, 1, false, 1},
	{"jobqueue.ErrNotFound", jobqueue.ErrNotFound, 4, 1, 5, 5, 5, 5, 6, true, 6},
	{"jobqueue.ErrFinished", jobqueue.ErrFinished, 4, 1, 4097, 4097, 4097, 4097, 1, true, 1},
	{"jobqueue.ErrNotFinished", jobqueue.ErrNotFinished, 4, 1, 6, 6, 6, 6, 1, true, 1},
	{"jobqueue.ErrQueueFull", jobqueue.ErrQueueFull, 4, 1, 6, 6, 6, 6, 1, true, 1},
	{"jobqueue.ErrUnknownKind", jobqueue.ErrUnknownKind, 4, 1, 4, 4, 4, 4, 1, false, 1},
	{"jobqueue.ErrClosed", jobqueue.ErrClosed, 4, 1, 4, 4, 4, 4, 1, false, 1},
	{"jobqueue.ErrTerminated", jobqueue.ErrTerminated, 4, 1, 4, 4, 4, 4, 1, false, 1},
	{"jobqueue.ErrNotRunning", jobqueue.ErrNotRunning, 4, 1, 4, 4, 4, 4, 1, false, 1},
	{"errNotOurs", errNotOurs, 4, 1, 5, 5, 5, 5, 4, true, 4},
	{"errReplicationMember", errReplicationMember, 32768, 1, 4, 4, 4, 4, 1, true, 1},
	{"iscsi.ErrInvalid", iscsi.ErrInvalid, 4, 1, 4, 4, 4, 4, 1, true, 4},
	{"iscsi.ErrNotFound", iscsi.ErrNotFound, 4, 1, 4, 4, 4, 4, 1, true, 6},
	{"iscsi.ErrExists", iscsi.ErrExists, 4, 1, 4, 4, 4, 4, 1, true, 11},
	{"iscsi.ErrInUse", iscsi.ErrInUse, 6, 1, 6, 6, 6, 6, 1, true, 1},
	{"iscsi.ErrUnavailable", iscsi.ErrUnavailable, 4, 1, 4, 4, 4, 4, 1, true, 1},
	{"other", errors.New("disk on fire"), 4, 1, 4, 4, 4, 4, 1, false, 1},
	{"replica.ErrInUse+volumes.ErrInUse", fmt.Errorf("%w: %w", replica.ErrInUse, volumes.ErrInUse), 6, 1, 6, 6, 6, 6, 1, true, 1},
	{"replica.ErrInUse+volumes.ErrNotFound", fmt.Errorf("%w: %w", replica.ErrInUse, volumes.ErrNotFound), 5, 6, 6, 6, 6, 6, 1, true, 1},
	{"replica.ErrInUse+volumes.ErrMissing", fmt.Errorf("%w: %w", replica.ErrInUse, volumes.ErrMissing), 4, 1, 6, 6, 6, 6, 1, true, 1},
	{"replica.ErrGroupNotFound+volumes.ErrNotFound", fmt.Errorf("%w: %w", replica.ErrGroupNotFound, volumes.ErrNotFound), 5, 6, 5, 7, 7, 5, 6, true, 6},
	{"replica.ErrSyncNotFound+errNotOurs", fmt.Errorf("%w: %w", replica.ErrSyncNotFound, errNotOurs), 4, 1, 5, 5, 5, 5, 6, true, 6},
	{"errReplicationMember+replica.ErrInRelationship", fmt.Errorf("%w: %w", errReplicationMember, replica.ErrInRelationship), 32768, 1, 6, 6, 6, 7, 1, true, 1},
	{"volumes.ErrMissing+other", fmt.Errorf("%w: %w", volumes.ErrMissing, errors.New("disk on fire")), 4, 1, 4, 4, 4, 4, 1, true, 1},
}

// TestErrorTableAnswersAsBefore walks the domain errors and checks that the
// one table answers each as the two tables did.
func TestErrorTableAnswersAsBefore(t *testing.T) {
	for _, tt := range errorAnswers {
		t.Run(tt.name, func(t *testing.T) {
			if got := storageReturnCode(tt.err); got != tt.storageCode {
				t.Errorf("storage return code = %d, want %d", got, tt.storageCode)
			}
			if got := cimmodel.StatusOf(storageError(tt.err)); got != tt.storageStatus {
				t.Errorf("storage intrinsic status = %v, want %v", got, tt.storageStatus)
			}
			for method, want := range map[string]uint32{"CreateElementReplica": tt.replCode, "AddMembers": tt.addCode,
				"RemoveMembers": tt.removeCode, "DeleteGroup": tt.delCode} {
				if got := replicationReturnCode(method, tt.err); got != want {
					t.Errorf("%s return code = %d, want %d", method, got, want)
				}
			}
			if got := cimmodel.StatusOf(replicationError(tt.err)); got != tt.replStatus {
				t.Errorf("replication intrinsic status = %v, want %v", got, tt.replStatus)
			}
			status, known := errorStatus(tt.err)
			if status != tt.refusalStatus || known != tt.known {
				t.Errorf("refusal status = %v, %v, want %v, %v", status, known, tt.refusalStatus, tt.known)
			}
		})
	}
}

// TestErrorAnswersCoverTheTable fails when a row of domainErrors is not
// walked by errorAnswers (a new row needs its expected answers written down).
func TestErrorAnswersCoverTheTable(t *testing.T) {
	for _, r := range domainErrors {
		found := false
		for _, tt := range errorAnswers {
			if tt.err == r.err {
				found = true
			}
		}
		if !found {
			t.Errorf("domainErrors row %q has no line in errorAnswers", r.err)
		}
	}
}
