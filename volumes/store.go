package volumes

import (
	"fmt"
	"time"

	"github.com/replicad/replicad/store"
)

// Buckets of the state database owned by this package.
const (
	bucketVolumes = "volumes"      // ID → volumeRecord
	bucketNames   = "volume-names" // pool + "/" + name → ID (also the index by pool)
	bucketPools   = "pools"        // pool name → poolRecord
)

// recordVersion is the version of the records this code writes.
const recordVersion = 1

// volumeRecord is a volume as stored. Fields are only ever added.
type volumeRecord struct {
	V         int               `json:"v"`
	ID        ID                `json:"id"`
	Name      string            `json:"name"`
	Pool      string            `json:"pool"`
	SizeBytes uint64            `json:"size_bytes"`
	Created   time.Time         `json:"created"`
	Imported  bool              `json:"imported,omitempty"`
	Missing   bool              `json:"missing,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`

	// file and path are the image's file name and path (fileName,
	// Service.imagePath), set by the lookups' decode (recordCache) so that
	// a kept record gives them without building them again; "" when not
	// set. They are not stored.
	file, path string
}

// poolRecord is a pool as stored.
type poolRecord struct {
	V       int       `json:"v"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

func nameKey(pool, name string) string { return pool + "/" + name }

func getVolume(tx *store.Tx, id ID) (volumeRecord, error) {
	var r volumeRecord
	ok, err := tx.Get(bucketVolumes, string(id), &r)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return r, nil
}

func lookupName(tx *store.Tx, pool, name string) (ID, bool, error) {
	var id ID
	ok, err := tx.Get(bucketNames, nameKey(pool, name), &id)
	return id, ok, err
}

func getPool(tx *store.Tx, name string) (poolRecord, error) {
	var r poolRecord
	ok, err := tx.Get(bucketPools, name, &r)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fmt.Errorf("%w: %s", ErrPoolNotFound, name)
	}
	return r, nil
}

// putNewVolume records r and its name, failing with ErrExists when the name or
// the ID is already taken.
func putNewVolume(tx *store.Tx, r volumeRecord) error {
	if _, ok, err := lookupName(tx, r.Pool, r.Name); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%w: %s/%s", ErrExists, r.Pool, r.Name)
	}
	var old volumeRecord
	if ok, err := tx.Get(bucketVolumes, string(r.ID), &old); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("volumes: ID %s already recorded", r.ID)
	}
	if err := tx.Put(bucketVolumes, string(r.ID), r); err != nil {
		return err
	}
	return tx.Put(bucketNames, nameKey(r.Pool, r.Name), r.ID)
}

func allVolumes(tx *store.Tx) ([]volumeRecord, error) {
	var out []volumeRecord
	err := tx.ForEach(bucketVolumes, func(_ string, raw []byte) error {
		var r volumeRecord
		if err := store.Decode(raw, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// poolVolumes reads the volumes of pool through the name index (keys
// "pool/name"), in name order, without decoding other pools' records.
func poolVolumes(tx *store.Tx, pool string) ([]volumeRecord, error) {
	var out []volumeRecord
	err := tx.ForEachPrefix(bucketNames, nameKey(pool, ""), func(key string, raw []byte) error {
		var id ID
		if err := store.Decode(raw, &id); err != nil {
			return err
		}
		r, err := getVolume(tx, id)
		if err != nil {
			return fmt.Errorf("volumes: name %s: %w", key, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

func allPools(tx *store.Tx) ([]poolRecord, error) {
	var out []poolRecord
	err := tx.ForEach(bucketPools, func(_ string, raw []byte) error {
		var r poolRecord
		if err := store.Decode(raw, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
