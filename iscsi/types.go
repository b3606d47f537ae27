package iscsi

// Target is one iSCSI target as the store records it: a name, the IQN
// derived from it, the initiators allowed to log in and the volumes it maps.
type Target struct {
	// Name is our name of the target (the SCSIProtocolController's
	// ElementName); the IQN is derived from it.
	Name string
	// IQN is BaseIQN + ":" + Name.
	IQN string
	// Initiators are the initiator IQNs allowed to log in, sorted; empty
	// means nobody.
	Initiators []string
	// LUNs are the mapped volumes, sorted by Number.
	LUNs []LUN
	// CHAP, when not nil, asks initiators for these credentials.
	CHAP *CHAP
}

// LUN is one volume mapped into a target.
type LUN struct {
	// Number is 1..255 (tgt's LUN 0 is the target's controller).
	Number int
	// Pool and Volume name the volume as package volumes names it.
	Pool   string
	Volume string
	// ReadOnly LUNs refuse writes (tgt's readonly=1), e.g. snapshots.
	ReadOnly bool
}

// CHAP is a one-way CHAP credential. Secret is never logged and never
// returned by CIM Get.
type CHAP struct{ User, Secret string }

// HardwareID is a known initiator identity (StorageHardwareID).
type HardwareID struct {
	// ID is the initiator's IQN.
	ID string
	// ElementName is a free-form display name.
	ElementName string
}

// Session is one live iSCSI session, as tgtd reports it.
type Session struct {
	// Target is our name of the target the session logged in to.
	Target string
	// Initiator is the initiator's IQN.
	Initiator string
	// Address is the initiator's IP address of its first connection.
	Address string
	// SessionID is tgtd's session identifier (I_T nexus number).
	SessionID string
	// Connections is the number of connections of the session.
	Connections int
}

// VolumeRef names a volume by pool and name, and for Expose the LUN
// number it should have.
type VolumeRef struct {
	Pool, Volume string
	// LUN is the number Expose gives the volume: 0 means the lowest free
	// one (or the one it already has), 1..255 that number. Hide and Quiesce
	// ignore it.
	LUN int
}

// Portal is the address initiators connect to.
type Portal struct {
	// Address is the IP address or host the portal listens on.
	Address string
	// Port is its TCP port.
	Port int
	// TPGT is the target portal group tag (tgt's is 1).
	TPGT int
}
