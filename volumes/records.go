package volumes

import (
	"fmt"
	"sync"

	"github.com/replicad/replicad/store"
)

// maxCachedRecords bounds the decoded records kept by recordCache: about
// 2 MB at most, whatever the number of volumes.
const maxCachedRecords = 4096

// recordCache keeps the decoded form of volume records read by the lookups
// (Get, Lookup, ListAfter), keyed by ID together with the stored bytes they were
// decoded from: a record is used again only while the store holds exactly
// those bytes, so a change made by any path (or a Rescan) is seen at once,
// and nothing needs invalidating. The Labels map of a cached record is
// shared and must not be changed: volumeAt copies it into each Volume.
type recordCache struct {
	imagePath func(pool, name string) string // Service.imagePath
	mu        sync.Mutex
	m         map[ID]cachedRecord
}

// cachedRecord is a record and the stored bytes it was decoded from.
type cachedRecord struct {
	raw string
	rec volumeRecord
}

func newRecordCache(imagePath func(pool, name string) string) *recordCache {
	return &recordCache{imagePath: imagePath, m: map[ID]cachedRecord{}}
}

// decode returns the record of id stored as raw, decoding raw only when the
// cache does not hold those very bytes for id.
func (c *recordCache) decode(id ID, raw []byte) (volumeRecord, error) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && e.raw == string(raw) {
		return e.rec, nil
	}
	var r volumeRecord
	if err := store.Decode(raw, &r); err != nil {
		return r, err
	}
	r.file, r.path = fileName(r.Name), c.imagePath(r.Pool, r.Name)
	c.mu.Lock()
	if len(c.m) >= maxCachedRecords {
		for k := range c.m { // drop any one
			delete(c.m, k)
			break
		}
	}
	c.m[id] = cachedRecord{raw: string(raw), rec: r}
	c.mu.Unlock()
	return r, nil
}

// lookupVolume is getVolume through the cache: id's record, decoded only
// when it changed since it was last read.
func (s *Service) lookupVolume(tx *store.Tx, id ID) (volumeRecord, error) {
	raw, err := tx.GetRaw(bucketVolumes, string(id))
	if err != nil {
		return volumeRecord{}, err
	}
	if raw == nil {
		return volumeRecord{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return s.records.decode(id, raw)
}
