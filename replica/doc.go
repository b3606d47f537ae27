// Package replica owns replicad's replication domain: replication groups,
// synchronizations (a source volume and its replica) and group
// synchronizations, the rules a replication request must satisfy, their
// records in the state store and the copy job that makes the replicas.
// It knows nothing of CIM, SOAP or HTTP: the provider package translates CIM
// method calls into Requests and Service calls, and domain errors into return
// codes. A Request carries replicad's own values (SyncType, Mode,
// Consistency, TargetSupply); CIM's value maps, vendor values and the
// parameters replicad refuses (access points, setting goals) are checked by
// the provider, and replica's errors name what they are about in its own
// words (the source group, the target element), not CIM parameters.
//
// # Requests
//
// Service.Replicate checks every rule of a Request before anything changes
// (no file, no group, no record, no job is created by a refused request),
// then, under the service's lock: takes a lease on every source and target
// volume (volumes.Service.Acquire; a source already leased is ErrInUse, so
// two requests on one source never interleave), creates the new target
// volumes (sparse, empty, named RelationshipName_1, _2, …), and in one store
// transaction records the groups, synchronizations and the copy job
// (jobqueue.SubmitTx). The job then copies each source onto its target with
// replica/engine.
//
// # Point in time
//
// A copy is a point-in-time copy taken when the request's leases were
// granted. replicad itself never writes a leased source (Grow and Delete
// fail while it is leased), and the engine fails the copy with
// engine.ErrSourceChanged if the file changes anyway (its size, mtime or
// ctime), except for a Mirror, which converges (see Mirrors). With Sequential
// Consistency every source of a group stays leased until the last member is
// copied, so all targets reflect the same instant; with No Consistency each
// source is released as soon as its own copy is done.
//
// # Files on disk
//
// A target is a volume of the target pool. The job copies into a hidden
// partial file next to it (".NAME.img.replica", ignored by volume import) and
// renames it over the target image when the copy is complete and durable, so
// a target never holds half a copy under its own name.
//
// # Jobs, resume and termination
//
// The copy job (kind KindCopy) checkpoints after every engine checkpoint; a
// job interrupted by a stop resumes from there. It marks every member left
// Unsynchronized in one commit when it starts, and records finished members
// in group commits (memberBatch): their targets' directories fsynced once,
// their stamps and Synchronized states in one transaction, then the
// checkpoint past them, then their leases released; at most a second after
// a member finished, before an engine checkpoint and at an interruption. At
// the end the last members are recorded in the commit that also marks the
// operation done and the job Completed (jobqueue.Run.Complete): one commit
// after the directories' fsync. A crash before a group commit, or before the
// job's end, copies its members again. Service.Terminate marks the
// operation terminating (in the store) before it asks the queue to stop the
// job; the handler, or Open after a restart, then deletes every target volume
// and group the operation created and every synchronization it recorded.
// A failed copy is cleaned up the same way.
//
// # Life of a synchronization
//
// Modify, ModifyList and ModifyGroup perform the ModifyReplicaSynchronization
// operations on a synchronization, a list of them or every member of a group
// synchronization (all or none), each only from the CopyStates its row of the transition
// table allows (AllowedFrom; ErrInvalidState otherwise, ErrCopyInProgress
// while a job works on it). Fracture, Split, Suspend, Resume and Abort
// change the state in one transaction; Resync Replica and Restore From
// Replica run as KindModify jobs with engine.Resync: a Resync copies every
// block that differs between source and target, found from the target's
// hash sidecar (".NAME.img.hashes") only while it provably describes the
// target (the generation recorded in the synchronization, SidecarGen, and
// the target's inode, size, mtime and ctime recorded in the sidecar), by
// reading the target otherwise, so writes to a fractured or split target
// are undone; a Restore compares every block and writes the target's
// differing ones back onto the source. Either ends Synchronized only when
// every block was compared or copied while the side read did not change.
// A Synchronized pair whose source and target sizes differ (a Grow of
// either) is not a copy: every read of the records (Synchronization,
// Synchronizations, Relationships, the group reads and the reads Modify,
// Verify and the jobs make) first checks the sizes and makes such a
// Snapshot or Clone Broken and such a Mirror Unsynchronized, so whatever
// reports or acts on a state sees an honest one.
// The end of every initial copy, Resync and Restore records the source's
// identity stamp (SourceStamp: inode, size, mtime, ctime); Verify and the
// scrub tell a source written since (a difference expected) from a
// corrupted target (Broken) by it, never by the mtime. Detach, Dissolve and
// Return To ResourcePool end the association.
// States are persisted in the synchronization records, so they are the same
// after a restart.
//
// # Mirrors
//
// An Asynchronous Mirror is copied like a Clone, except that its source may
// be written during the copy (engine.Options.TolerateSourceChange): Resync
// passes follow until one sees the source unchanged from start to end
// (then Synchronized), at most eight, after which the mirror is left
// Unsynchronized for the mirror loop. The loop, a goroutine owned by the
// Service (stopped by Close), looks every Options.MirrorLag/2 for mirrors
// whose source or target identity (inode, size, mtime and ctime: a write
// that puts the mtime back still changes the ctime) differs from the one
// recorded at the last sync, and every Options.MirrorScan compares each
// whole target with its source, and catches the mirror up with
// engine.Resync, moving it Unsynchronized → Synchronized with a new
// Synchronized time. Fractured, Split and Suspended
// mirrors are left alone. A Synchronous Mirror would need every write to
// pass through replicad, which serves no I/O: it is ErrNotSupported.
//
// # Store
//
// Buckets "replica.groups", "replica.syncs" (with their CopyState,
// activity and source stamp), "replica.groupsyncs" and
// "replica.ops" hold one JSON record per group, synchronization, group
// synchronization and replication operation, keyed by their IDs.
// "replica.intents" journals the file and volume work that must follow a
// committed change (the targets of Detach, Dissolve and Return To
// ResourcePool; the targets a request is about to create); Open finishes
// every intent left by a crash before it serves anything.
//
// # Concurrency
//
// All methods of Service are safe for concurrent use; changes of replication
// records are serialised by one lock, never held across image I/O.
package replica
