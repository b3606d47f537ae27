package jobqueue

import "errors"

var (
	// ErrNotFound is returned when no job has the given ID.
	ErrNotFound = errors.New("jobqueue: job not found")
	// ErrFinished is returned by Terminate for a job that already reached a
	// final state.
	ErrFinished = errors.New("jobqueue: job already finished")
	// ErrNotFinished is returned by Delete for a job that is New or Running.
	ErrNotFinished = errors.New("jobqueue: job not finished")
	// ErrQueueFull is returned by Submit and SubmitTx when Options.MaxQueued
	// jobs are already unfinished.
	ErrQueueFull = errors.New("jobqueue: queue full")
	// ErrUnknownKind is returned by Submit and SubmitTx for a kind with no
	// handler registered, and recorded on a resumed job whose kind lost its
	// handler.
	ErrUnknownKind = errors.New("jobqueue: no handler for job kind")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("jobqueue: queue closed")
	// ErrTerminated is the error text recorded on a terminated job.
	ErrTerminated = errors.New("jobqueue: job terminated")
	// ErrNotRunning is returned by Run.SaveCheckpoint when the job is no
	// longer running in the store (it was finished or removed meanwhile).
	ErrNotRunning = errors.New("jobqueue: job not running")
)
