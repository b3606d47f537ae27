package replica

import (
	"fmt"

	"github.com/replicad/replicad/replica/engine"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// Buckets of the replication records.
const (
	bucketGroups     = "replica.groups"
	bucketSyncs      = "replica.syncs"
	bucketGroupSyncs = "replica.groupsyncs"
	bucketOps        = "replica.ops"
)

// opState is where a replication operation is.
type opState string

const (
	opActive  opState = "active"  // the copy job has not finished
	opDone    opState = "done"    // every target is complete
	opCleaned opState = "cleaned" // terminated or failed, its creations removed
)

// opRecord is one replication request's bookkeeping: what its job copies
// and what it created, so that a terminated or failed job can remove it.
type opRecord struct {
	Version        int          `json:"v"`
	ID             string       `json:"id"`
	JobID          string       `json:"jobID"`
	Syncs          []string     `json:"syncs"`
	Consistency    Consistency  `json:"consistency"`
	CreatedTargets []volumes.ID `json:"createdTargets"`
	CreatedGroups  []string     `json:"createdGroups"`
	GroupSync      string       `json:"groupSync,omitempty"`
	Terminating    bool         `json:"terminating"`
	State          opState      `json:"state"`
}

// copyCheckpoint is the copy job's resumable position: members before Index
// are complete; Engine is the engine checkpoint of member Index, if any.
type copyCheckpoint struct {
	Index  int                `json:"index"`
	Engine *engine.Checkpoint `json:"engine,omitempty"`
	// Reports describe the members copied so far; they become the job's result.
	Reports []CopyReport `json:"reports,omitempty"`
}

func getRecord[T any](tx *store.Tx, bucket, id string) (*T, error) {
	var v T
	ok, err := tx.Get(bucket, id, &v)
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", bucket, id, err)
	}
	if !ok {
		return nil, nil
	}
	return &v, nil
}

func listRecords[T any](tx *store.Tx, bucket string) ([]T, error) {
	var out []T
	err := tx.ForEach(bucket, func(_ string, raw []byte) error {
		var v T
		if err := store.Decode(raw, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", bucket, err)
	}
	return out, nil
}

// listRecordsView lists the records of bucket in a read-only transaction.
func listRecordsView[T any](db *store.DB, bucket string) ([]T, error) {
	var out []T
	err := db.View(func(tx *store.Tx) error {
		var err error
		out, err = listRecords[T](tx, bucket)
		return err
	})
	return out, err
}

// getRecordView reads one record in a read-only transaction; it returns
// notFound (wrapped with id) when there is none.
func getRecordView[T any](db *store.DB, bucket, id string, notFound error) (*T, error) {
	var v *T
	err := db.View(func(tx *store.Tx) error {
		var err error
		v, err = getRecord[T](tx, bucket, id)
		return err
	})
	if err == nil && v == nil {
		err = fmt.Errorf("%w: %s", notFound, id)
	}
	return v, err
}
