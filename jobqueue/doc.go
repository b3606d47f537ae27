// Package jobqueue owns replicad's persistent jobs: it stores them, runs them
// on a bounded set of workers, tracks their progress, terminates them on
// request, resumes them after a restart and removes them once expired.
// It knows nothing of CIM, SOAP or what a job does: work is done by Handler
// functions registered per kind, and the CIM layer presents each Job as a
// CIM_ConcreteJob.
//
// # Lifecycle
//
// Open a Queue over a *store.DB, register a Handler per kind with Handle,
// then Start. Submit stores a job and queues it; SubmitTx does the same
// inside a caller's transaction (replica submits a copy job together with its
// own records) and the job runs only after that transaction commits. A job
// goes New → Running → Completed, Failed or Terminated; the last three are
// final. PercentComplete is 100 once Completed or Failed, and below 100
// before and for a Terminated job (the share it had done).
//
// # Handler contract
//
// A handler reports progress with Run.Progress, kept in memory and written to
// the store at most every Options.ProgressInterval, and saves a resumable
// checkpoint with Run.SaveCheckpoint once the work it covers is durable. Its
// ctx is cancelled by Terminate and by Close. After Terminate the handler
// removes what it created (partial targets) and returns an error; the job
// becomes Terminated. After Close it leaves its targets consistent with its
// last checkpoint and returns; the job stays Running in the store and the
// next Start resumes it with that checkpoint in Run.Checkpoint. Returning an
// *Error chooses the failed job's error code (CodeFailed otherwise); a panic
// fails the job and leaves the queue running. A handler whose last step is a
// store write ends with Run.Complete instead: its records and the job's
// Completed state are one commit (the copy job's end is one commit, not four).
// Such a job is shown Running until its handler has returned.
//
// # Retention
//
// A finished job with DeleteOnCompletion is removed TimeBeforeRemoval after
// it finished (CIM_Job semantics: clients must be able to read the final
// state first). Without DeleteOnCompletion the client removes it with Delete;
// a janitor removes forgotten ones after Options.KeepFinished.
//
// # Store
//
// Bucket "jobs" holds one JSON record per job keyed by its UUID; bucket
// "jobs.pending" indexes unfinished jobs in submission order. Every change of
// state is one transaction; progress is written at most every
// ProgressInterval, at checkpoints and when the handler returns.
//
// # Concurrency
//
// Queue and Run methods are safe for concurrent use. At most Options.Workers
// handlers run at once and at most Options.MaxQueued jobs are unfinished
// (ErrQueueFull). No store transaction is held while a handler runs.
package jobqueue
