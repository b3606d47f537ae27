package replica

import (
	"fmt"
	"time"

	"github.com/replicad/replicad/volumes"
)

// SyncType is the kind of replica: a Mirror follows its source, a Snapshot
// and a Clone keep one point in time (a Clone as an independent copy).
// SyncType, Mode, Consistency and CopyState are replicad's own values. Their
// numbers are stored in the replication records, and were taken from DMTF's
// value maps when the records were first written, so they stay as they
// are; no caller passes protocol values through: the provider translates
// CIM's (provider/replication_request.go).
type SyncType uint16

// The sync types.
const (
	SyncTypeMirror   SyncType = 6
	SyncTypeSnapshot SyncType = 7
	SyncTypeClone    SyncType = 8
)

// String names t.
func (t SyncType) String() string {
	switch t {
	case SyncTypeMirror:
		return "Mirror"
	case SyncTypeSnapshot:
		return "Snapshot"
	case SyncTypeClone:
		return "Clone"
	}
	return fmt.Sprintf("SyncType(%d)", uint16(t))
}

// Mode says whether a request waits for its copy; a Mirror's mode says how
// it follows its source (only asynchronously, within a lag).
type Mode uint16

// The modes. ModeUnspecified in a Request means DefaultMode.
const (
	ModeUnspecified  Mode = 0
	ModeSynchronous  Mode = 2
	ModeAsynchronous Mode = 3
	// DefaultMode is the mode of a request that gives none: asynchronous,
	// as the Windows storage service recommends (cim-replication.md §4.4).
	DefaultMode = ModeAsynchronous
)

// String names m.
func (m Mode) String() string {
	switch m {
	case ModeSynchronous:
		return "Synchronous"
	case ModeAsynchronous:
		return "Asynchronous"
	case ModeUnspecified:
		return "Unspecified"
	}
	return fmt.Sprintf("Mode(%d)", uint16(m))
}

// Consistency is the consistency of a group replica: whether its members
// hold one instant of their sources.
type Consistency uint16

// The consistencies. ConsistencyUnspecified in a Request means Sequential for
// a group and None for one element.
const (
	ConsistencyUnspecified Consistency = 0
	ConsistencyNone        Consistency = 2
	ConsistencySequential  Consistency = 3
)

// String names c.
func (c Consistency) String() string {
	switch c {
	case ConsistencyNone:
		return "No Consistency"
	case ConsistencySequential:
		return "Sequential Consistency"
	case ConsistencyUnspecified:
		return "Unspecified"
	}
	return fmt.Sprintf("Consistency(%d)", uint16(c))
}

// CopyState is the state of a synchronization (its numbers are those of
// CIM_Synchronized.CopyState, which the provider shows as they are).
type CopyState uint16

// The copy states replicad uses, and the ones clients may ask for.
const (
	CopyStateInitialized    CopyState = 2
	CopyStateUnsynchronized CopyState = 3
	CopyStateSynchronized   CopyState = 4
	CopyStateBroken         CopyState = 5
	CopyStateFractured      CopyState = 6
	CopyStateSplit          CopyState = 7
	CopyStateInactive       CopyState = 8
	CopyStateSuspended      CopyState = 9
	CopyStatePrepared       CopyState = 11
	CopyStateAborted        CopyState = 12
	CopyStateMixed          CopyState = 14
	CopyStateNotApplicable  CopyState = 15
)

// String returns the DMTF name of s.
func (s CopyState) String() string {
	names := map[CopyState]string{2: "Initialized", 3: "Unsynchronized", 4: "Synchronized", 5: "Broken",
		6: "Fractured", 7: "Split", 8: "Inactive", 9: "Suspended", 10: "Failedover", 11: "Prepared",
		12: "Aborted", 13: "Skewed", 14: "Mixed", 15: "Not Applicable", 16: "Partitioned", 17: "Invalid"}
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("CopyState(%d)", uint16(s))
}

// Group is a replication group: an ordered list of volumes.
type Group struct {
	// ID is the group's UUID.
	ID string `json:"id"`
	// Name is the client's name for it (CIM ElementName).
	Name string `json:"name"`
	// Members are the volumes of the group, in order.
	Members []volumes.ID `json:"members"`
	// Persistent, DeleteOnEmptyElement and DeleteOnUnassociated are the
	// CIM_ReplicationGroup properties of those names.
	Persistent           bool `json:"persistent"`
	DeleteOnEmptyElement bool `json:"deleteOnEmptyElement"`
	DeleteOnUnassociated bool `json:"deleteOnUnassociated"`
	// ConsistentPointInTime reports that the group is the target of a
	// sequentially consistent replica: all members reflect one instant.
	ConsistentPointInTime bool `json:"consistentPointInTime"`
	// SystemGenerated reports a group made by a replication request.
	SystemGenerated bool `json:"systemGenerated"`
	// Created is when the group was made (UTC).
	Created time.Time `json:"created"`
}

// Synchronization associates a source volume with its replica.
type Synchronization struct {
	// ID is the synchronization's UUID.
	ID string `json:"id"`
	// Source and Target are the two volumes (CIM SystemElement, SyncedElement).
	Source volumes.ID `json:"source"`
	Target volumes.ID `json:"target"`
	// SyncType, Mode and Consistency are those of the request that made it.
	SyncType    SyncType    `json:"syncType"`
	Mode        Mode        `json:"mode"`
	Consistency Consistency `json:"consistency"`
	// CopyState is Initialized until the copy starts, Unsynchronized while
	// it runs and Synchronized once the target is complete and durable.
	CopyState CopyState `json:"copyState"`
	// GroupSync is the ID of the group synchronization it belongs to, "" if
	// none.
	GroupSync string `json:"groupSync,omitempty"`
	// Op is the replication operation that made it; JobID its copy job.
	Op    string `json:"op"`
	JobID string `json:"jobID"`
	// TargetCreated reports that the request created the target volume.
	TargetCreated bool `json:"targetCreated"`
	// Established is when it was recorded, Synchronized when the copy
	// completed (zero until then).
	Established  time.Time `json:"established"`
	Synchronized time.Time `json:"synchronized,omitzero"`
	// Activity is what ModifyJob does to it (Resync or Restore), while
	// CopyState is Unsynchronized; ActivityNone otherwise.
	Activity Activity `json:"activity,omitempty"`
	// ModifyJob is the job of its last asynchronous operation.
	ModifyJob string `json:"modifyJob,omitempty"`
	// Aborting reports that ModifyJob is being aborted: its handler leaves
	// the synchronization Aborted.
	Aborting bool `json:"aborting,omitempty"`
	// SourceStamp identifies the source's content (device, inode, size,
	// mtime and ctime: engine.Identity) at the mirror's last sync; the
	// mirror loop catches up when it changes.
	SourceStamp string `json:"sourceStamp,omitempty"`
	// SourceSeen is when SourceStamp was read (local clock).
	SourceSeen time.Time `json:"sourceSeen,omitzero"`
	// TargetStamp identifies the target's content as the last sync left
	// it (the identity recorded in its hash sidecar); the mirror loop
	// catches up when the target is written by anyone.
	TargetStamp string `json:"targetStamp,omitempty"`
	// SidecarGen is the generation of the target's hash sidecar written by
	// the last completed Resync or catch-up (engine.Stats.SidecarGeneration);
	// a sidecar of any other generation is not trusted. 0: none.
	SidecarGen uint64 `json:"sidecarGen,omitempty"`
	// Scanned is when the whole target was last known to be its source:
	// compared by the mirror loop (Options.MirrorScan), or written by the
	// initial copy of a source that did not change meanwhile.
	Scanned time.Time `json:"scanned,omitzero"`
}

// GroupSynchronization associates a source group with its replica group.
type GroupSynchronization struct {
	// ID is the group synchronization's UUID.
	ID string `json:"id"`
	// SourceGroup and TargetGroup are group IDs (CIM SystemElement, SyncedElement).
	SourceGroup string `json:"sourceGroup"`
	TargetGroup string `json:"targetGroup"`
	// RelationshipName is the client's (or a generated) name of the relationship.
	RelationshipName string `json:"relationshipName"`
	// SyncType, Mode and Consistency are those of the request.
	SyncType    SyncType    `json:"syncType"`
	Mode        Mode        `json:"mode"`
	Consistency Consistency `json:"consistency"`
	// Members are the member synchronizations' IDs, in pairing order.
	Members []string `json:"members"`
	// Op is the operation that made it; JobID its copy job.
	Op    string `json:"op"`
	JobID string `json:"jobID"`
	// Established is when it was recorded.
	Established time.Time `json:"established"`
}
