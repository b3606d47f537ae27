package jobqueue

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/replicad/replicad/store"
)

// Buckets this package owns in the state database.
const (
	// bucketJobs holds one record per job, keyed by job ID.
	bucketJobs = "jobs"
	// bucketPending indexes unfinished jobs in submission order: the key is
	// the job's sequence number (20 digits, so keys sort numerically) and the
	// value its ID. A job leaves the index in the transaction that finishes it.
	bucketPending = "jobs.pending"
)

// recordVersion is the version of jobRecord this code writes.
const recordVersion = 1

// jobRecord is a job as stored in bucketJobs. Fields are only ever added.
type jobRecord struct {
	V                  int             `json:"v"`
	Seq                uint64          `json:"seq"`
	ID                 string          `json:"id"`
	Kind               string          `json:"kind"`
	Name               string          `json:"name,omitempty"`
	Description        string          `json:"description,omitempty"`
	State              State           `json:"state"`
	Done               int64           `json:"done,omitempty"`
	Total              int64           `json:"total,omitempty"`
	Submitted          time.Time       `json:"submitted"`
	Started            time.Time       `json:"started,omitzero"`
	Finished           time.Time       `json:"finished,omitzero"`
	ErrorCode          uint32          `json:"errorCode,omitempty"`
	Err                string          `json:"err,omitempty"`
	Affected           []string        `json:"affected,omitempty"`
	Owner              string          `json:"owner,omitempty"`
	DeleteOnCompletion bool            `json:"deleteOnCompletion,omitempty"`
	TimeBeforeRemoval  time.Duration   `json:"timeBeforeRemoval"`
	Attempts           int             `json:"attempts,omitempty"`
	TerminateRequested bool            `json:"terminateRequested,omitempty"`
	Payload            json.RawMessage `json:"payload,omitempty"`
	Checkpoint         json.RawMessage `json:"checkpoint,omitempty"`
	Result             json.RawMessage `json:"result,omitempty"`
}

// job converts the record to the Job handed to callers.
func (r *jobRecord) job() Job {
	return Job{
		ID:                 r.ID,
		Kind:               r.Kind,
		Name:               r.Name,
		Description:        r.Description,
		State:              r.State,
		PercentComplete:    percent(r.State, r.Done, r.Total),
		Done:               r.Done,
		Total:              r.Total,
		Submitted:          r.Submitted,
		Started:            r.Started,
		Finished:           r.Finished,
		ErrorCode:          r.ErrorCode,
		Err:                r.Err,
		Affected:           r.Affected,
		Owner:              r.Owner,
		DeleteOnCompletion: r.DeleteOnCompletion,
		TimeBeforeRemoval:  r.TimeBeforeRemoval,
		Attempts:           r.Attempts,
		Payload:            r.Payload,
		Checkpoint:         r.Checkpoint,
		Result:             r.Result,
	}
}

// pendingKey is the key of a job with sequence number seq in bucketPending.
func pendingKey(seq uint64) string { return fmt.Sprintf("%020d", seq) }

// getRecord reads job id; it returns ErrNotFound when there is none.
func getRecord(tx *store.Tx, id string) (*jobRecord, error) {
	var r jobRecord
	ok, err := tx.Get(bucketJobs, id, &r)
	if err != nil {
		return nil, fmt.Errorf("jobqueue: read job %s: %w", id, err)
	}
	if !ok {
		return nil, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	return &r, nil
}

// putRecord writes r.
func putRecord(tx *store.Tx, r *jobRecord) error {
	r.V = recordVersion
	if err := tx.Put(bucketJobs, r.ID, r); err != nil {
		return fmt.Errorf("jobqueue: write job %s: %w", r.ID, err)
	}
	return nil
}

// finish moves r to a final state at now, removes it from the pending index
// and writes it. The caller sets the error fields.
func finish(tx *store.Tx, r *jobRecord, s State, now time.Time) error {
	r.State = s
	r.Finished = now
	r.TerminateRequested = false
	if err := tx.Delete(bucketPending, pendingKey(r.Seq)); err != nil {
		return fmt.Errorf("jobqueue: unindex job %s: %w", r.ID, err)
	}
	return putRecord(tx, r)
}

// countPending returns the number of unfinished jobs.
func countPending(tx *store.Tx) (int, error) {
	n := 0
	err := tx.ForEach(bucketPending, func(string, []byte) error { n++; return nil })
	if err != nil {
		return 0, fmt.Errorf("jobqueue: count pending jobs: %w", err)
	}
	return n, nil
}

// pendingIDs returns the IDs of unfinished jobs in submission order.
func pendingIDs(tx *store.Tx) ([]string, error) {
	var ids []string
	err := tx.ForEach(bucketPending, func(_ string, raw []byte) error {
		var id string
		if err := store.Decode(raw, &id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("jobqueue: list pending jobs: %w", err)
	}
	return ids, nil
}
