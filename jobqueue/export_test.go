package jobqueue

import (
	"time"

	"github.com/replicad/replicad/store"
)

// Sweep exposes sweep to the tests.
func (q *Queue) Sweep(now time.Time) (int, error) { return q.sweep(now) }

// StoredProgress returns the progress of job id as written in the store,
// without the in-memory value Get overlays.
func StoredProgress(db *store.DB, id string) (done, total int64, err error) {
	err = db.View(func(tx *store.Tx) error {
		rec, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		done, total = rec.Done, rec.Total
		return nil
	})
	return done, total, err
}
