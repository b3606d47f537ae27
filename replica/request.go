package replica

import (
	"fmt"

	"github.com/replicad/replicad/volumes"
)

// MaxTargetElementCount bounds Request.TargetElementCount.
const MaxTargetElementCount = 64

// Shape says what a Request makes: one replica, or a replica group.
type Shape int

// The request shapes.
const (
	// ShapeElement makes one replica of one source element (one
	// Synchronization, no groups).
	ShapeElement Shape = iota + 1
	// ShapeGroup replicates a source group (or one source element, as
	// many times as asked) into a target group, with a
	// GroupSynchronization.
	ShapeGroup
)

// TargetSupply says where the targets of a request may come from.
type TargetSupply int

// The target supplies.
const (
	// SupplyAny uses the targets the request gives and creates the others
	// (the default).
	SupplyAny TargetSupply = iota
	// SupplyExisting uses only the targets the request gives: it creates
	// none, so the request must give them (a target element, or a target
	// group with members).
	SupplyExisting
	// SupplyNew creates every target: the request gives none.
	SupplyNew
)

// Settings are the replication settings a request may override. Zero
// values mean "the default". replicad pairs sources and targets in order
// and needs as many targets as sources; callers refuse other wishes.
type Settings struct {
	// ConsistentPointInTime, when set, asks for (true) or declines (false)
	// one instant across a group.
	ConsistentPointInTime *bool
	// Supply is where the targets come from.
	Supply TargetSupply
}

// Request asks for replicas. Exactly one of SourceGroup and SourceElement is
// set. Its values are replicad's own (SyncType, Mode, Consistency,
// CopyState constants); a caller that speaks a protocol translates and
// checks the protocol's values first (the provider package does for CIM).
type Request struct {
	// Shape is what the request makes.
	Shape Shape
	// JobName names the copy job for clients.
	JobName string
	// RelationshipName names the group relationship; new target volumes are
	// named RelationshipName_1, _2, …. "" gives a generated name.
	RelationshipName string
	// ElementName names the one new target of a ShapeElement request; ""
	// gives a generated name.
	ElementName string
	// SyncType is required: Snapshot, Clone, or Mirror with Mode
	// Asynchronous (a mirror kept in step at every write is not
	// supported, and one without a Mode might be expected to be).
	SyncType SyncType
	// Mode is Synchronous, Asynchronous or ModeUnspecified (DefaultMode).
	Mode Mode
	// SourceGroup is a group ID; SourceElement a volume ID.
	SourceGroup   string
	SourceElement volumes.ID
	// TargetGroup is an existing group to replicate into (ShapeGroup): an
	// empty one receives new targets, a filled one must fit the sources.
	TargetGroup string
	// TargetElement is an existing target (ShapeElement).
	TargetElement volumes.ID
	// TargetElementCount, when not nil, is how many copies of SourceElement
	// to make (ShapeGroup).
	TargetElementCount *uint64
	// Consistency is None, Sequential or unspecified (Sequential for groups).
	Consistency Consistency
	// TargetPool is the pool of new targets; "" means each source's pool.
	TargetPool string
	// Settings override the default replication settings.
	Settings Settings
	// WaitForCopyState is the copy state the caller will wait for with
	// Service.Wait (0: none). Initialized, Unsynchronized and Synchronized
	// can be waited for; other states are ErrNotSupported.
	WaitForCopyState CopyState
}

// Result is what Replicate made.
type Result struct {
	// OpID and JobID identify the operation and its copy job.
	OpID, JobID string
	// SourceGroup and TargetGroup are the groups of a ShapeGroup request
	// (SourceGroup is made by the system when the source is one element).
	SourceGroup, TargetGroup *Group
	// Syncs are the new synchronizations, in pairing order.
	Syncs []Synchronization
	// GroupSync is the group synchronization of a ShapeGroup request.
	GroupSync *GroupSynchronization
	// Created are the target volumes the request created.
	Created []volumes.ID
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNotSupported}, args...)...)
}

// check checks the rules of r that need no lookup, one step at a time.
func (r *Request) check() error {
	for _, step := range []func() error{r.checkKind, r.checkSources, r.checkCount, r.checkTargets, r.checkSettings, r.checkNames} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// checkKind checks the type, mode, consistency and awaited state.
func (r *Request) checkKind() error {
	switch {
	case r.SyncType == SyncTypeClone || r.SyncType == SyncTypeSnapshot:
	case r.SyncType == SyncTypeMirror && r.Mode == ModeAsynchronous:
	case r.SyncType == SyncTypeMirror:
		// A Synchronous Mirror needs every write to pass through replicad,
		// which serves no I/O. A Mirror without Mode is taken as one the
		// client expects in step at every write: also refused.
		return unsupported("a Mirror in Mode %s: replicad has no write path to keep a mirror in step at every write; ask for an Asynchronous one, which follows its source within a lag", r.Mode)
	default:
		return invalid("unknown replica type %d", uint16(r.SyncType))
	}
	switch r.Mode {
	case ModeUnspecified, ModeSynchronous, ModeAsynchronous:
	default:
		return invalid("unknown mode %s", r.Mode)
	}
	switch r.Consistency {
	case ConsistencyUnspecified, ConsistencyNone, ConsistencySequential:
	default:
		return invalid("unknown consistency %s", r.Consistency)
	}
	switch r.WaitForCopyState {
	case 0, CopyStateInitialized, CopyStateUnsynchronized, CopyStateSynchronized:
	default:
		return unsupported("waiting for %s: replicad's %s replicas pass through Initialized, Unsynchronized and Synchronized only",
			r.WaitForCopyState, r.SyncType)
	}
	return nil
}

// checkSources checks that there is one source, of the request's shape.
func (r *Request) checkSources() error {
	if (r.SourceGroup == "") == (r.SourceElement == "") {
		return invalid("a request has one source: a group or an element")
	}
	if r.Shape == ShapeElement && (r.SourceElement == "" || r.TargetGroup != "" || r.TargetElementCount != nil) {
		return invalid("an element replica is made of one source element, onto at most one target element")
	}
	return nil
}

// checkCount checks the number of copies of one source element.
func (r *Request) checkCount() error {
	if r.TargetElementCount == nil {
		return nil
	}
	switch {
	case r.TargetGroup != "":
		return invalid("a target group and a count of copies exclude each other")
	case r.SourceElement == "":
		return invalid("a count of copies is of one source element, not of a source group")
	case *r.TargetElementCount == 0:
		return invalid("the count of copies must be at least 1")
	case *r.TargetElementCount > MaxTargetElementCount:
		return invalid("%d copies exceed the limit of %d", *r.TargetElementCount, MaxTargetElementCount)
	}
	return nil
}

// checkTargets checks the supplied targets against the target pool.
func (r *Request) checkTargets() error {
	if r.TargetPool != "" && r.TargetElement != "" {
		return invalid("a target pool is for new targets; the supplied target element needs none")
	}
	return nil
}

// checkSettings checks the settings against the rest of the request.
func (r *Request) checkSettings() error {
	st := r.Settings
	switch st.Supply {
	case SupplyAny:
	case SupplyExisting:
		if r.TargetGroup == "" && r.TargetElement == "" {
			return invalid("the settings allow existing targets only, and the request supplies none (a target group or a target element)")
		}
	case SupplyNew:
		if r.TargetElement != "" {
			return invalid("the settings ask for new targets only, and the request supplies a target element")
		}
	default:
		return invalid("unknown target supply %d", st.Supply)
	}
	if st.ConsistentPointInTime != nil && *st.ConsistentPointInTime && r.Consistency == ConsistencyNone {
		return invalid("a consistent point in time contradicts No Consistency")
	}
	return nil
}

// checkNames checks that the names given can name volumes.
func (r *Request) checkNames() error {
	if r.RelationshipName != "" {
		if err := volumes.CheckName(r.RelationshipName + "_1"); err != nil {
			return invalid("relationship name %q cannot name target volumes: %v", r.RelationshipName, err)
		}
	}
	if r.ElementName != "" {
		if err := volumes.CheckName(r.ElementName); err != nil {
			return invalid("element name %q cannot name a volume: %v", r.ElementName, err)
		}
	}
	return nil
}
