package volumes

import (
	"sync"
)

// Bounds of readCache: at most maxKeptRecords records by ID and as many
// in pages of at most maxKeptPage, about 1 MB in all.
const (
	maxKeptRecords = 2048
	maxKeptPage    = 128
)

// readCache keeps what Get and ListAfter read from the store while the
// store's Generation says no Update has run since (store.DB.Generation):
// a lookup of an unchanged store needs no read transaction. Every Update,
// by any path, changes the generation, and the cache holds the reads of
// one generation only, so a change is seen at once. Only records and
// pages are kept, not the files' state, which lookups read each time
// (volumeAt). Kept records and pages are shared: their Labels maps and
// slices must not be changed.
type readCache struct {
	mu      sync.Mutex
	gen     uint64
	records map[ID]volumeRecord
	pages   map[pageKey]keptPage
	inPages int // records in pages
}

// pageKey is what a ListAfter asked for.
type pageKey struct {
	after ID
	limit int
}

// keptPage is what ListAfter read for a pageKey.
type keptPage struct {
	recs []volumeRecord
	more bool
}

// current reports whether gen, the store's generation when a lookup
// began, may use the cache, and then locks it (unlock when true).
func (c *readCache) current(gen uint64) bool {
	if gen%2 != 0 {
		return false // an Update is under way
	}
	c.mu.Lock()
	if c.gen != gen {
		c.mu.Unlock()
		return false
	}
	return true
}

// keep locks the cache for what a read between the store's generations
// before and after (even and equal: no Update ran in between) found, and
// reports whether it may be kept; the cache of an older generation is
// emptied first.
func (c *readCache) keep(before, after uint64) bool {
	if before%2 != 0 || before != after {
		return false
	}
	c.mu.Lock()
	if c.gen != before || c.records == nil {
		c.gen = before
		c.records = map[ID]volumeRecord{}
		c.pages = map[pageKey]keptPage{}
		c.inPages = 0
	}
	return true
}

// record returns the record of id read in generation gen, if kept.
func (c *readCache) record(gen uint64, id ID) (volumeRecord, bool) {
	if !c.current(gen) {
		return volumeRecord{}, false
	}
	defer c.mu.Unlock()
	r, ok := c.records[id]
	return r, ok
}

// keepRecord keeps r, id's record as a read between generations before
// and after found it.
func (c *readCache) keepRecord(before, after uint64, id ID, r volumeRecord) {
	if !c.keep(before, after) {
		return
	}
	defer c.mu.Unlock()
	if len(c.records) >= maxKeptRecords {
		clear(c.records)
	}
	c.records[id] = r
}

// page returns the page read for k in generation gen, if kept.
func (c *readCache) page(gen uint64, k pageKey) (keptPage, bool) {
	if !c.current(gen) {
		return keptPage{}, false
	}
	defer c.mu.Unlock()
	p, ok := c.pages[k]
	return p, ok
}

// keepPage keeps p, the page a read between generations before and after
// found for k.
func (c *readCache) keepPage(before, after uint64, k pageKey, p keptPage) {
	if len(p.recs) > maxKeptPage || !c.keep(before, after) {
		return
	}
	defer c.mu.Unlock()
	if c.inPages+len(p.recs) > maxKeptRecords || len(c.pages) >= maxKeptRecords {
		clear(c.pages)
		c.inPages = 0
	}
	if old, ok := c.pages[k]; ok {
		c.inPages -= len(old.recs)
	}
	c.pages[k] = p
	c.inPages += len(p.recs)
}
