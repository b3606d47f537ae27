package iscsi

import (
	"fmt"
	"sort"
	"time"

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// Buckets of the state database owned by this package.
const (
	bucketTargets = "iscsi.targets" // target name → targetRecord
	bucketHWIDs   = "iscsi.hwids"   // initiator IQN → HardwareID
	bucketMeta    = "iscsi.meta"    // "base_iqn" → string
)

// recordVersion is the version of the records this code writes.
const recordVersion = 1

// targetRecord is a target as stored. Fields are only ever added.
type targetRecord struct {
	V          int         `json:"v"`
	Name       string      `json:"name"`
	Initiators []string    `json:"initiators,omitempty"`
	LUNs       []lunRecord `json:"luns,omitempty"`
	CHAP       *CHAP       `json:"chap,omitempty"`
	Created    time.Time   `json:"created"`
}

// lunRecord is one mapped volume. VolumeID pins the volume: a volume
// deleted and re-created under the same name is not silently exposed.
type lunRecord struct {
	Number   int        `json:"number"`
	VolumeID volumes.ID `json:"volume_id"`
	Pool     string     `json:"pool"`
	Volume   string     `json:"volume"`
	ReadOnly bool       `json:"read_only,omitempty"`
}

func getTarget(tx *store.Tx, name string) (targetRecord, error) {
	var r targetRecord
	ok, err := tx.Get(bucketTargets, name, &r)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fmt.Errorf("%w: target %s", ErrNotFound, name)
	}
	return r, nil
}

func allTargets(tx *store.Tx) ([]targetRecord, error) {
	var out []targetRecord
	err := tx.ForEach(bucketTargets, func(_ string, raw []byte) error {
		var r targetRecord
		if err := store.Decode(raw, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// normalize sorts the record's initiators and LUNs.
func (r *targetRecord) normalize() {
	sort.Strings(r.Initiators)
	sort.Slice(r.LUNs, func(i, j int) bool { return r.LUNs[i].Number < r.LUNs[j].Number })
}

// clone returns a deep copy of r.
func (r targetRecord) clone() targetRecord {
	c := r
	c.Initiators = append([]string(nil), r.Initiators...)
	c.LUNs = append([]lunRecord(nil), r.LUNs...)
	if r.CHAP != nil {
		chap := *r.CHAP
		c.CHAP = &chap
	}
	return c
}

// lunOf returns the index of the LUN mapping volume id, or -1.
func (r *targetRecord) lunOf(id volumes.ID) int {
	for i, l := range r.LUNs {
		if l.VolumeID == id {
			return i
		}
	}
	return -1
}

// freeLUN is the lowest LUN number in 1..255 r does not use, or 0.
func (r *targetRecord) freeLUN() int {
	used := map[int]bool{}
	for _, l := range r.LUNs {
		used[l.Number] = true
	}
	for n := 1; n <= 255; n++ {
		if !used[n] {
			return n
		}
	}
	return 0
}

// target is the API view of a record.
func (s *Service) target(r targetRecord) Target {
	t := Target{Name: r.Name, IQN: s.iqn(r.Name), Initiators: append([]string(nil), r.Initiators...)}
	for _, l := range r.LUNs {
		t.LUNs = append(t.LUNs, LUN{Number: l.Number, Pool: l.Pool, Volume: l.Volume, ReadOnly: l.ReadOnly})
	}
	if r.CHAP != nil {
		chap := *r.CHAP
		t.CHAP = &chap
	}
	return t
}

// iqn is the IQN of the target called name.
func (s *Service) iqn(name string) string { return s.baseIQN + ":" + name }
