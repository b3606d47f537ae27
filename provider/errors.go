package provider

import (
	"errors"
	"regexp"
	"strings"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// Method return values of the replication classes beyond the common 0..6
// (storage.go): CIM_ReplicationService (§1.1, §1.2) and CIM_ConcreteJob
// (§3.6).
const (
	returnUnknown           uint32 = 2
	returnTimeout           uint32 = 3
	returnJobStarted        uint32 = 4096 // Method Parameters Checked - Job Started
	returnGroupMethodCode7  uint32 = 7    // CreateGroup: not nameable; DeleteGroup: in a relationship; Add/RemoveMembers: group does not exist
	returnNotMember         uint32 = 8    // RemoveMembers: member not in group
	returnNoDefault         uint32 = 7    // GetDefaultReplicationSettingData: no default
	returnInvalidTransition uint32 = 4097 // RequestStateChange: Invalid State Transition
	returnTimeoutNotSupport uint32 = 4098 // RequestStateChange: Use of Timeout Parameter Not Supported
)

// replicationErrorRow maps a domain error to a method return value (code,
// or byMethod[method] for the methods that give it a code of their own)
// and to the CIM status of an intrinsic operation (Get, Delete, Put).
type replicationErrorRow struct {
	err      error
	code     uint32
	byMethod map[string]uint32
	status   cimmodel.Status
}

// replicationErrors is the one table from domain errors to what the
// replication classes answer. Every replica.Err* sentinel has a row (a test
// checks); rows are tried in order, so the more specific come first.
var replicationErrors = []replicationErrorRow{
	{err: replica.ErrInvalidRequest, code: returnInvalidParameter, status: cimmodel.StatusInvalidParameter},
	{err: replica.ErrNotSupported, code: returnNotSupported, status: cimmodel.StatusNotSupported},
	{err: replica.ErrInUse, code: returnInUse, status: cimmodel.StatusFailed},
	{err: replica.ErrGroupNotFound, code: returnInvalidParameter, status: cimmodel.StatusNotFound,
		byMethod: map[string]uint32{"AddMembers": returnGroupMethodCode7, "RemoveMembers": returnGroupMethodCode7}},
	{err: replica.ErrGroupExists, code: returnInvalidParameter, status: cimmodel.StatusAlreadyExists},
	{err: replica.ErrNotMember, code: returnInvalidParameter, status: cimmodel.StatusInvalidParameter,
		byMethod: map[string]uint32{"RemoveMembers": returnNotMember}},
	{err: replica.ErrInRelationship, code: returnInUse, status: cimmodel.StatusFailed,
		byMethod: map[string]uint32{"DeleteGroup": returnGroupMethodCode7}},
	{err: replica.ErrGroupNotEmpty, code: returnFailed, status: cimmodel.StatusFailed},
	{err: replica.ErrSyncNotFound, code: returnInvalidParameter, status: cimmodel.StatusNotFound},
	{err: replica.ErrCopyInProgress, code: returnInUse, status: cimmodel.StatusFailed},
	// ModifyReplicaSynchronization has no "invalid state transition" code:
	// an Operation the synchronization's CopyState forbids is an invalid
	// Operation parameter for it.
	{err: replica.ErrInvalidState, code: returnInvalidParameter, status: cimmodel.StatusFailed},
	{err: replica.ErrOperationNotFound, code: returnInvalidParameter, status: cimmodel.StatusNotFound},
	{err: replica.ErrClosed, code: returnFailed, status: cimmodel.StatusFailed},
	{err: errNotOurs, code: returnInvalidParameter, status: cimmodel.StatusInvalidParameter},
	{err: volumes.ErrInUse, code: returnInUse, status: cimmodel.StatusFailed},
	{err: volumes.ErrNotFound, code: returnInvalidParameter, status: cimmodel.StatusNotFound},
	{err: volumes.ErrPoolNotFound, code: returnInvalidParameter, status: cimmodel.StatusNotFound},
	{err: volumes.ErrNoSpace, code: returnFailed, status: cimmodel.StatusFailed},
	{err: volumes.ErrExists, code: returnInvalidParameter, status: cimmodel.StatusAlreadyExists},
	{err: volumes.ErrInvalidName, code: returnInvalidParameter, status: cimmodel.StatusInvalidParameter},
	{err: jobqueue.ErrQueueFull, code: returnInUse, status: cimmodel.StatusFailed},
	{err: jobqueue.ErrFinished, code: returnInvalidTransition, status: cimmodel.StatusFailed},
	{err: jobqueue.ErrNotFinished, code: returnInUse, status: cimmodel.StatusFailed},
	{err: jobqueue.ErrNotFound, code: returnInvalidParameter, status: cimmodel.StatusNotFound},
}

// replicationReturnCode is the return value of method for err: 0 for nil,
// the table's code for a known error, 4 (Failed) otherwise.
func replicationReturnCode(method string, err error) uint32 {
	if err == nil {
		return returnOK
	}
	for _, r := range replicationErrors {
		if errors.Is(err, r.err) {
			if c, ok := r.byMethod[method]; ok {
				return c
			}
			return r.code
		}
	}
	return returnFailed
}

// replicationStatus is the CIM status the table gives err, and whether a
// row names it.
func replicationStatus(err error) (cimmodel.Status, bool) {
	for _, r := range replicationErrors {
		if errors.Is(err, r.err) {
			return r.status, true
		}
	}
	for _, r := range storageErrors() {
		if errors.Is(err, r.err) {
			return r.status, true
		}
	}
	return cimmodel.StatusFailed, false
}

// replicationError turns a domain error into a *cimmodel.Error for an
// intrinsic operation; a *cimmodel.Error passes through.
func replicationError(err error) error {
	if err == nil {
		return nil
	}
	var ce *cimmodel.Error
	if errors.As(err, &ce) {
		return err
	}
	status := cimmodel.StatusFailed
	for _, r := range replicationErrors {
		if errors.Is(err, r.err) {
			status = r.status
			break
		}
	}
	return cimmodel.Errorf(status, "%w", err)
}

// clientMessage is the text of err for logs and CIM_Error messages a client
// reads: without the package prefixes of the error chain ("replica: ",
// "engine: " ...) and without the server's own folders (a path under the data
// folder is shown from "pools/" on).
func clientMessage(err error) string {
	parts := strings.Split(err.Error(), ": ")
	kept := parts[:0]
	for _, part := range parts {
		switch part {
		case "replica", "volumes", "jobqueue", "provider", "engine":
			continue
		}
		kept = append(kept, serverPath.ReplaceAllString(part, "pools/"))
	}
	return strings.Join(kept, ": ")
}

// serverPath matches the absolute folders in front of a pool's path.
var serverPath = regexp.MustCompile(`/[^\s:]*/pools/`)
