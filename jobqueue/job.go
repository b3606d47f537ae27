package jobqueue

import (
	"encoding/json"
	"fmt"
	"time"
)

// State is where a job is in its life. The values are this package's own;
// the CIM layer maps them to CIM_ConcreteJob.JobState.
type State int

// The states of a job. StateNew and StateRunning are unfinished; the other
// three are final and never change again.
const (
	// StateNew is a submitted job no worker has started yet.
	StateNew State = iota + 1
	// StateRunning is a job a handler works on, or one that was running when
	// the queue last stopped and waits to be resumed.
	StateRunning
	// StateCompleted is a job whose handler returned nil.
	StateCompleted
	// StateFailed is a job whose handler returned an error or panicked.
	StateFailed
	// StateTerminated is a job stopped by Terminate.
	StateTerminated
)

var stateNames = [...]string{
	StateNew:        "New",
	StateRunning:    "Running",
	StateCompleted:  "Completed",
	StateFailed:     "Failed",
	StateTerminated: "Terminated",
}

// String returns the state's name, such as "Running".
func (s State) String() string {
	if s > 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Final reports whether s is Completed, Failed or Terminated.
func (s State) Final() bool {
	return s == StateCompleted || s == StateFailed || s == StateTerminated
}

// MarshalText encodes s by name, so records stay readable.
func (s State) MarshalText() ([]byte, error) {
	if s <= 0 || int(s) >= len(stateNames) {
		return nil, fmt.Errorf("jobqueue: encode unknown state %d", int(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText decodes a state written by MarshalText.
func (s *State) UnmarshalText(b []byte) error {
	for i, name := range stateNames {
		if i > 0 && name == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("jobqueue: decode unknown state %q", b)
}

// CodeFailed is the error code of a job that failed without choosing one
// (the handler returned a plain error or panicked) and of a terminated job.
// It is the CIM method return code 4, Failed.
const CodeFailed uint32 = 4

// Error is an error a handler may return to choose the job's error code.
// Handlers may wrap it; the outermost *Error found by errors.As wins.
type Error struct {
	// Code is the job's error code; 0 is replaced by CodeFailed.
	Code uint32
	// Message is the text shown to clients as the job's error; when empty,
	// Err's text is used.
	Message string
	// Err is the underlying cause, kept for logs and errors.Is.
	Err error
}

// Error returns Message, followed by Err when both are set.
func (e *Error) Error() string {
	switch {
	case e.Message != "" && e.Err != nil:
		return e.Message + ": " + e.Err.Error()
	case e.Message != "":
		return e.Message
	case e.Err != nil:
		return e.Err.Error()
	}
	return fmt.Sprintf("jobqueue: job failed with code %d", e.Code)
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Spec describes a job to submit.
type Spec struct {
	// Kind selects the handler registered with Queue.Handle. Required.
	Kind string
	// Name and Description are free text for clients (CIM Name, Description).
	Name, Description string
	// Payload is the handler's input, encoded as JSON; nil means none.
	Payload any
	// Affected lists opaque references to the elements the job creates or
	// changes; the queue only stores them.
	Affected []string
	// DeleteOnCompletion asks the queue to remove the job TimeBeforeRemoval
	// after it finishes. Otherwise the client deletes it with Delete.
	DeleteOnCompletion bool
	// TimeBeforeRemoval is how long a finished job is kept at least; 0 means
	// Options.Retention.
	TimeBeforeRemoval time.Duration
	// Owner is free text naming who submitted the job.
	Owner string
}

// Job is a snapshot of a job, as Get and List return it.
type Job struct {
	// ID is the job's UUID, its key in the store.
	ID string
	// Kind, Name and Description are copied from the Spec.
	Kind, Name, Description string
	// State is the job's state.
	State State
	// PercentComplete is Done/Total in percent, at most 99 while the job is
	// unfinished or once Terminated (a cancelled job is not complete), and
	// 100 once Completed or Failed.
	PercentComplete uint16
	// Done and Total are the handler's last progress report, in the
	// handler's units (bytes for copies).
	Done, Total int64
	// Submitted, Started and Finished are set when the job is submitted, is
	// first started and reaches a final state; zero until then.
	Submitted, Started, Finished time.Time
	// ErrorCode is 0 for a completed job and nonzero for a failed or
	// terminated one (CodeFailed unless the handler returned an *Error).
	// CIM_Job.ErrorCode is a uint16: the CIM layer narrows it.
	ErrorCode uint32
	// Err is the error text of a failed or terminated job, empty otherwise.
	Err string
	// Affected and Owner are copied from the Spec.
	Affected []string
	Owner    string
	// DeleteOnCompletion and TimeBeforeRemoval say when the job is removed
	// once finished; see Spec.
	DeleteOnCompletion bool
	TimeBeforeRemoval  time.Duration
	// Attempts counts how many times a handler was started for this job;
	// more than 1 after a resume.
	Attempts int
	// Payload is the handler's input, Checkpoint the last one the handler
	// saved (nil before the first), Result what it set with Run.SetResult.
	Payload, Checkpoint, Result json.RawMessage
}

// Elapsed returns how long the job has run: from Started to Finished once
// final, to now while running, and 0 before it starts.
func (j Job) Elapsed(now time.Time) time.Duration {
	switch {
	case j.Started.IsZero():
		return 0
	case j.State.Final():
		return j.Finished.Sub(j.Started)
	}
	return now.Sub(j.Started)
}

// percent computes PercentComplete for a state and progress: 100 once
// Completed or Failed, the share done (below 100) while unfinished and when
// Terminated, so that a cancelled copy does not look finished.
func percent(s State, done, total int64) uint16 {
	if s == StateCompleted || s == StateFailed {
		return 100
	}
	if total <= 0 || done <= 0 {
		return 0
	}
	if done >= total {
		return 99
	}
	return uint16(min(99, float64(done)*100/float64(total)))
}
