package replica

import (
	"fmt"
	"slices"
)

// Operation is something done to a synchronization after its copy:
// fracture, split, resync, restore, abort, suspend, resume or an ending.
// Its numbers are stored in the Resync/Restore jobs' payloads; they are
// DMTF's Operation values, which the provider passes through after checking
// them against Operations.
type Operation uint16

// The operations replicad knows. Operations shows which of them a
// synchronization accepts in which CopyState.
const (
	OpAbort        Operation = 2
	OpDetach       Operation = 8
	OpDissolve     Operation = 9
	OpFracture     Operation = 12
	OpResync       Operation = 14
	OpRestore      Operation = 15
	OpResume       Operation = 16
	OpReturnToPool Operation = 19
	OpSplit        Operation = 21
	OpSuspend      Operation = 22
)

// String names o.
func (o Operation) String() string {
	names := map[Operation]string{2: "Abort", 8: "Detach", 9: "Dissolve", 12: "Fracture", 14: "Resync Replica",
		15: "Restore from Replica", 16: "Resume", 19: "Return To ResourcePool", 21: "Split", 22: "Suspend"}
	if n, ok := names[o]; ok {
		return n
	}
	return fmt.Sprintf("Operation(%d)", uint16(o))
}

// Activity is what a job is doing to a synchronization besides its initial
// copy; it drives ProgressStatus.
type Activity string

// The activities.
const (
	ActivityNone      Activity = ""
	ActivityResyncing Activity = "resyncing"
	ActivityRestoring Activity = "restoring"
)

// transition is one row of the operation table: the copy states an
// operation is allowed from and the state it leads to (while its job runs,
// for an asynchronous one).
type transition struct {
	from []CopyState
	// mirrorFrom are further states a Mirror allows it from (Unsynchronized
	// there means: while the mirror loop catches up, not during a job).
	mirrorFrom []CopyState
	// mirrorOnly marks an operation on a mirror's background copy.
	mirrorOnly bool
	to         CopyState
	async      bool
	// end is the Ending of an operation that removes the association.
	end Ending
}

// settled are the states of a synchronization no job works on.
var settled = []CopyState{CopyStateSynchronized, CopyStateFractured, CopyStateSplit, CopyStateBroken, CopyStateAborted}

// transitions is the table of the operations replicad performs on Mirror,
// Snapshot and Clone synchronizations, element or group
// (cim-replication.md §5.3). Suspend and Resume stop and continue a
// mirror's background copy; Snapshot and Clone have none
// (ErrNotSupported).
var transitions = map[Operation]transition{
	OpFracture:     {from: []CopyState{CopyStateSynchronized}, mirrorFrom: []CopyState{CopyStateUnsynchronized}, to: CopyStateFractured},
	OpSplit:        {from: []CopyState{CopyStateSynchronized}, to: CopyStateSplit},
	OpSuspend:      {mirrorOnly: true, mirrorFrom: []CopyState{CopyStateSynchronized, CopyStateUnsynchronized}, to: CopyStateSuspended},
	OpResume:       {mirrorOnly: true, mirrorFrom: []CopyState{CopyStateSuspended}, to: CopyStateUnsynchronized},
	OpResync:       {from: settled, mirrorFrom: []CopyState{CopyStateSuspended}, to: CopyStateUnsynchronized, async: true},
	OpRestore:      {from: []CopyState{CopyStateSynchronized, CopyStateFractured, CopyStateSplit}, to: CopyStateUnsynchronized, async: true},
	OpAbort:        {from: []CopyState{CopyStateUnsynchronized}, to: CopyStateAborted},
	OpDetach:       {from: settled, mirrorFrom: []CopyState{CopyStateSuspended}, end: EndDetach},
	OpDissolve:     {from: settled, mirrorFrom: []CopyState{CopyStateSuspended}, end: EndDissolve},
	OpReturnToPool: {from: settled, mirrorFrom: []CopyState{CopyStateSuspended}, end: EndReturnToPool},
}

// Operations returns the operations replicad performs on some kind of
// synchronization, in ascending order.
func Operations() []Operation {
	var out []Operation
	for op := range transitions {
		out = append(out, op)
	}
	slices.Sort(out)
	return out
}

// OperationsFor returns the operations replicad performs on a
// synchronization of type t, in ascending order (what
// GetSupportedOperations advertises): Suspend and Resume only for a Mirror.
func OperationsFor(t SyncType) []Operation {
	var out []Operation
	for _, op := range Operations() {
		if t == SyncTypeMirror || !transitions[op].mirrorOnly {
			out = append(out, op)
		}
	}
	return out
}

// AllowedFrom returns the copy states op is allowed from for a
// synchronization of type t (nil for an operation replicad does not
// perform on t). For a Mirror, Unsynchronized means while the mirror loop
// catches up.
func AllowedFrom(op Operation, t SyncType) []CopyState {
	tr := transitions[op]
	if t != SyncTypeMirror {
		if tr.mirrorOnly {
			return nil
		}
		return slices.Clone(tr.from)
	}
	return slices.Concat(tr.from, tr.mirrorFrom)
}

// checkFrom checks that every synchronization is in a state op is allowed
// from.
func checkFrom(op Operation, tr transition, syncs []*Synchronization) error {
	for _, x := range syncs {
		if x.SyncType != SyncTypeMirror && tr.mirrorOnly {
			return fmt.Errorf("%w: %s applies to a Mirror's background copy; %s → %s is a %s", ErrNotSupported, op, x.Source, x.Target, x.SyncType)
		}
		if slices.Contains(tr.from, x.CopyState) && (x.Activity == ActivityNone || x.CopyState != CopyStateUnsynchronized || op == OpAbort) {
			continue
		}
		if x.SyncType == SyncTypeMirror && slices.Contains(tr.mirrorFrom, x.CopyState) &&
			(x.CopyState != CopyStateUnsynchronized || x.Activity == ActivityFollowing) {
			continue
		}
		if x.CopyState == CopyStateUnsynchronized || x.CopyState == CopyStateInitialized {
			return fmt.Errorf("%w: %s of %s → %s: a job works on it (%s); abort or wait for it", ErrCopyInProgress, op, x.Source, x.Target, x.CopyState)
		}
		return fmt.Errorf("%w: %s of %s → %s is not allowed from %s", ErrInvalidState, op, x.Source, x.Target, x.CopyState)
	}
	return nil
}
