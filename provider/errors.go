package provider

import (
	"errors"
	"regexp"
	"strings"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/iscsi"
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

// returnNone marks a class family without a code of its own for an error:
// the family does not know it (family below).
const returnNone uint32 = 0

// errorRow maps a domain error to what the provider answers: the CIM
// status of an intrinsic operation (Get, Put, Delete, Enumerate) and of a
// refusal's CIM_Error, and the method return value of each class family —
// storage for CIM_StorageConfigurationService's methods, replication for
// the replication service's, the groups' and the jobs', masking for the
// masking and iSCSI services' (byMethod for the methods that give the
// error a code of their own). returnNone: 4 (Failed).
type errorRow struct {
	err         error
	status      cimmodel.Status
	storage     uint32
	replication uint32
	masking     uint32
	byMethod    map[string]uint32
}

// domainErrors is the one table from domain errors to what the CIM classes
// answer. Every replica.Err* and volumes.Err* sentinel has a row (tests
// check); rows are tried in order, so the more specific come first.
var domainErrors = []errorRow{
	{err: replica.ErrInvalidRequest, status: cimmodel.StatusInvalidParameter, replication: returnInvalidParameter},
	{err: replica.ErrNotSupported, status: cimmodel.StatusNotSupported, replication: returnNotSupported},
	{err: replica.ErrInUse, status: cimmodel.StatusFailed, replication: returnInUse},
	{err: replica.ErrGroupNotFound, status: cimmodel.StatusNotFound, replication: returnInvalidParameter,
		byMethod: map[string]uint32{"AddMembers": returnGroupMethodCode7, "RemoveMembers": returnGroupMethodCode7}},
	{err: replica.ErrGroupExists, status: cimmodel.StatusAlreadyExists, replication: returnInvalidParameter},
	{err: replica.ErrNotMember, status: cimmodel.StatusInvalidParameter, replication: returnInvalidParameter,
		byMethod: map[string]uint32{"RemoveMembers": returnNotMember}},
	// A volume in a relationship must leave it before ReturnToStoragePool
	// deletes it (32768, vendor-specific).
	{err: replica.ErrInRelationship, status: cimmodel.StatusFailed, storage: returnReplicationMember, replication: returnInUse,
		byMethod: map[string]uint32{"DeleteGroup": returnGroupMethodCode7}},
	{err: errReplicationMember, status: cimmodel.StatusFailed, storage: returnReplicationMember},
	{err: replica.ErrGroupNotEmpty, status: cimmodel.StatusFailed, replication: returnFailed},
	{err: replica.ErrSyncNotFound, status: cimmodel.StatusNotFound, replication: returnInvalidParameter},
	{err: replica.ErrCopyInProgress, status: cimmodel.StatusFailed, replication: returnInUse},
	// ModifyReplicaSynchronization has no "invalid state transition" code:
	// an Operation the synchronization's CopyState forbids is an invalid
	// Operation parameter for it.
	{err: replica.ErrInvalidState, status: cimmodel.StatusFailed, replication: returnInvalidParameter},
	{err: replica.ErrOperationNotFound, status: cimmodel.StatusNotFound, replication: returnInvalidParameter},
	{err: replica.ErrClosed, status: cimmodel.StatusFailed, replication: returnFailed},
	{err: errNotOurs, status: cimmodel.StatusInvalidParameter, replication: returnInvalidParameter},
	{err: volumes.ErrInvalidName, status: cimmodel.StatusInvalidParameter, storage: returnInvalidParameter, replication: returnInvalidParameter},
	{err: volumes.ErrInvalidSize, status: cimmodel.StatusInvalidParameter, storage: returnSizeNotSupported},
	// Space that really runs out is 40000 (Not enough available capacity);
	// a size past a thin pool's over-commit limit is one the pool does not
	// support (4097, Size set to the most it accepts).
	{err: volumes.ErrOverCommit, status: cimmodel.StatusFailed, storage: returnSizeNotSupported, replication: returnFailed},
	{err: volumes.ErrNoSpace, status: cimmodel.StatusFailed, storage: returnNoCapacity, replication: returnFailed},
	{err: volumes.ErrExists, status: cimmodel.StatusAlreadyExists, storage: returnInvalidParameter, replication: returnInvalidParameter},
	{err: volumes.ErrNotFound, status: cimmodel.StatusNotFound, storage: returnInvalidParameter, replication: returnInvalidParameter,
		masking: returnInvalidParameter},
	{err: volumes.ErrPoolNotFound, status: cimmodel.StatusNotFound, storage: returnInvalidParameter, replication: returnInvalidParameter},
	{err: volumes.ErrPoolExists, status: cimmodel.StatusAlreadyExists, storage: returnFailed},
	{err: volumes.ErrPoolNotEmpty, status: cimmodel.StatusFailed, storage: returnInUse},
	{err: volumes.ErrDefaultPool, status: cimmodel.StatusNotSupported, storage: returnNotSupported},
	{err: volumes.ErrInUse, status: cimmodel.StatusFailed, storage: returnInUse, replication: returnInUse},
	{err: volumes.ErrInvalidLabel, status: cimmodel.StatusInvalidParameter, storage: returnInvalidParameter},
	{err: volumes.ErrMissing, status: cimmodel.StatusFailed, storage: returnFailed},
	{err: volumes.ErrClosed, status: cimmodel.StatusFailed, storage: returnFailed},
	{err: jobqueue.ErrQueueFull, status: cimmodel.StatusFailed, replication: returnInUse},
	{err: jobqueue.ErrFinished, status: cimmodel.StatusFailed, replication: returnInvalidTransition},
	{err: jobqueue.ErrNotFinished, status: cimmodel.StatusFailed, replication: returnInUse},
	{err: jobqueue.ErrNotFound, status: cimmodel.StatusNotFound, replication: returnInvalidParameter},
	// The iSCSI data plane (provider/masking*.go). An exposed volume cannot
	// be deleted or shrunk: In Use, naming the targets.
	{err: iscsi.ErrInvalid, status: cimmodel.StatusInvalidParameter, masking: returnInvalidParameter},
	{err: iscsi.ErrNotFound, status: cimmodel.StatusNotFound, masking: returnInvalidParameter,
		byMethod: map[string]uint32{"DeleteStorageHardwareID": 4096, "DeleteiSCSINode": 4096}},
	{err: iscsi.ErrExists, status: cimmodel.StatusAlreadyExists, masking: returnInvalidParameter,
		byMethod: map[string]uint32{"ExposePaths": 4102, "CreateStorageHardwareID": 4096, "CreateiSCSINode": 4097}},
	{err: iscsi.ErrInUse, status: cimmodel.StatusFailed, storage: returnInUse, replication: returnInUse, masking: returnFailed,
		byMethod: map[string]uint32{"DeleteProtocolController": 4097, "DeleteiSCSINode": 4097}},
	{err: iscsi.ErrUnavailable, status: cimmodel.StatusFailed, masking: returnFailed},
}

// family is a class family: the column of domainErrors its methods answer
// from. A family treats an error without a code of its own as unknown: 4
// (Failed) from a method, StatusFailed from an intrinsic operation.
type family int

const (
	storageFamily     family = iota // CIM_StorageConfigurationService, volumes, pools
	replicationFamily               // the replication service, groups, synchronizations, jobs
	maskingFamily                   // the controller, hardware ID and iSCSI configuration services
)

// code is r's return value in f, or returnNone.
func (r *errorRow) code(f family) uint32 {
	switch f {
	case storageFamily:
		return r.storage
	case maskingFamily:
		return r.masking
	}
	return r.replication
}

// rowFor is the first row of the table that matches err and has a code in
// f, or nil.
func rowFor(f family, err error) *errorRow {
	if err == nil {
		return nil
	}
	for i := range domainErrors {
		r := &domainErrors[i]
		if r.code(f) != returnNone && errors.Is(err, r.err) {
			return r
		}
	}
	return nil
}

// storageReturnCode is the return value of a CIM_StorageConfigurationService
// method for err: 0 for nil, the table's storage code, 4 (Failed) otherwise.
func storageReturnCode(err error) uint32 {
	if err == nil {
		return returnOK
	}
	if r := rowFor(storageFamily, err); r != nil {
		return r.storage
	}
	return returnFailed
}

// replicationReturnCode is the return value of a replication method for
// err: 0 for nil, the table's code for a known error, 4 (Failed) otherwise.
func replicationReturnCode(method string, err error) uint32 {
	if err == nil {
		return returnOK
	}
	return familyReturnCode(replicationFamily, method, err)
}

// maskingReturnCode is the return value of a masking or iSCSI
// configuration method for err: 0 for nil, the table's code for a known
// error (the method's own first), 4 (Failed) otherwise.
func maskingReturnCode(method string, err error) uint32 {
	return familyReturnCode(maskingFamily, method, err)
}

// familyReturnCode is the return value of method of family f for err.
func familyReturnCode(f family, method string, err error) uint32 {
	if err == nil {
		return returnOK
	}
	r := rowFor(f, err)
	if r == nil {
		return returnFailed
	}
	if c, ok := r.byMethod[method]; ok {
		return c
	}
	return r.code(f)
}

// errorStatus is the CIMStatusCode of a refusal's CIM_Error for err: the
// status of the table's first row that matches err, and whether one does
// (StatusFailed, false otherwise).
func errorStatus(err error) (cimmodel.Status, bool) {
	for _, f := range []family{replicationFamily, storageFamily, maskingFamily} {
		if r := rowFor(f, err); r != nil {
			return r.status, true
		}
	}
	return cimmodel.StatusFailed, false
}

// storageError is cimError for the storage classes' intrinsic operations.
func storageError(err error) error { return cimError(storageFamily, err) }

// replicationError is cimError for the replication classes' intrinsic
// operations.
func replicationError(err error) error { return cimError(replicationFamily, err) }

// cimError turns a domain error into a *cimmodel.Error for an intrinsic
// operation of family f, with the table's status (StatusFailed for an error
// f does not know) and err as its cause; a *cimmodel.Error passes through
// unchanged.
func cimError(f family, err error) error {
	if err == nil {
		return nil
	}
	var ce *cimmodel.Error
	if errors.As(err, &ce) {
		return err
	}
	status := cimmodel.StatusFailed
	if r := rowFor(f, err); r != nil {
		status = r.status
		if status == cimmodel.StatusFailed {
			// A known refusal (in use, in a relationship): the client is
			// told why (storage_refused.go).
			err = &refusedError{msg: scrubPaths(clientMessage(err)), err: err}
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
		case "replica", "volumes", "jobqueue", "provider", "engine", "iscsi":
			continue
		}
		kept = append(kept, serverPath.ReplaceAllString(part, "pools/"))
	}
	return strings.Join(kept, ": ")
}

// serverPath matches the absolute folders in front of a pool's path.
var serverPath = regexp.MustCompile(`/[^\s:]*/pools/`)
