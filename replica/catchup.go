package replica

import (
	"context"
	"slices"
	"sync"

	"github.com/replicad/replicad/replica/engine"
	"github.com/replicad/replicad/volumes"
)

// catchUps lets Modify take a mirror away from the mirror loop, and
// remembers the writes replicad itself made (track) so that mirrors catch up
// from the blocks written instead of reading their source. An
// operation that needs the mirror's volumes (Resync, Restore) holds the
// synchronization, which cancels a catch-up in flight and waits until it
// has let go of its leases, and keeps the loop from starting another one
// until the operation is done. Without it, a Resync right after a Fracture
// was refused In Use whenever the loop was still copying.
type catchUps struct {
	mu      sync.Mutex
	running map[string]*catchUp
	held    map[string]int
	// tracks holds, per volume, the blocks replicad wrote into it (track).
	tracks map[volumes.ID]*track
	// tracked counts, per synchronization, the catch-ups and Resyncs made
	// from a track.
	tracked map[string]int64
}

// catchUp is one catch-up in flight.
type catchUp struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// begin registers a catch-up of synchronization id. It returns the
// context the catch-up runs under (cancelled by hold) and the function that
// ends it, or ok false while an operation holds id.
func (c *catchUps) begin(ctx context.Context, id string) (_ context.Context, end func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[id] > 0 {
		return ctx, nil, false
	}
	if c.running == nil {
		c.running = map[string]*catchUp{}
	}
	ctx, cancel := context.WithCancel(ctx)
	cu := &catchUp{cancel: cancel, done: make(chan struct{})}
	c.running[id] = cu
	return ctx, func() {
		cancel()
		c.mu.Lock()
		delete(c.running, id)
		c.mu.Unlock()
		close(cu.done)
	}, true
}

// hold keeps the mirror loop off synchronizations ids: it cancels their
// catch-ups in flight and waits for them to end. The caller must not hold
// Service.mu (a catch-up records its outcome under it). release lets the
// loop follow them again.
func (c *catchUps) hold(ids []string) (release func()) {
	c.mu.Lock()
	if c.held == nil {
		c.held = map[string]int{}
	}
	var wait []chan struct{}
	for _, id := range ids {
		c.held[id]++
		if cu := c.running[id]; cu != nil {
			cu.cancel()
			wait = append(wait, cu.done)
		}
	}
	c.mu.Unlock()
	for _, done := range wait {
		<-done
	}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, id := range ids {
			if c.held[id]--; c.held[id] == 0 {
				delete(c.held, id)
			}
		}
	}
}

// maxTrackStamps bounds the stamps a track keeps: a mirror whose last sync
// is older than that many tracked writes compares instead.
const maxTrackStamps = 16

// maxTracks bounds the volumes tracked at once (a track of a 2 GiB volume
// holds up to maxTrackStamps maps of 4 KiB): past it, a track is forgotten
// (its mirrors compare instead).
const maxTracks = 256

// track is what replicad itself wrote into one volume's image (a Restore
// onto a mirror's source, a Resync onto a target): a chain of stamps of the
// image, each settled (a later write by anyone changes it), each following
// the one before by replicad's writes alone, and the blocks those writes
// changed between each stamp and the next. A mirror of the volume whose
// last sync saw one of the stamps, with the image still at the last,
// catches up from the blocks written since (a tracked change); any other
// write to the image breaks the chain (its stamp is not the last) and the
// mirror compares instead. The tracks live in memory: after a restart the
// mirrors compare.
type track struct {
	stamps []string
	writes []*engine.DirtyMap // writes[i]: from stamps[i] to stamps[i+1]
}

// wrote records that replicad changed the blocks of changed in volume v's
// image, which had stamp before (taken while nobody else could write it)
// and has settled stamp after. An unknown stamp ("") forgets v's track.
func (c *catchUps) wrote(v volumes.ID, before, after string, changed *engine.DirtyMap) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if before == "" || after == "" || changed == nil {
		delete(c.tracks, v)
		return
	}
	if c.tracks == nil {
		c.tracks = map[volumes.ID]*track{}
	}
	t := c.tracks[v]
	if t == nil || t.stamps[len(t.stamps)-1] != before {
		// Something else wrote the image since the last tracked write:
		// the chain starts again.
		if t == nil && len(c.tracks) >= maxTracks {
			for other := range c.tracks {
				delete(c.tracks, other) // any one: its mirrors compare
				break
			}
		}
		t = &track{stamps: []string{before}}
		c.tracks[v] = t
	}
	if after == before {
		return // nothing written
	}
	t.stamps = append(t.stamps, after)
	t.writes = append(t.writes, changed.Clone())
	if n := len(t.stamps) - maxTrackStamps; n > 0 {
		t.stamps, t.writes = t.stamps[n:], t.writes[n:]
	}
}

// changedSince returns the blocks replicad changed in volume v's image
// since it had stamp from, now that it has stamp now, or nil when that is
// not known: from is not in v's track, or now is not its last stamp (the
// image was written by someone else since). The caller must know from to be
// settled. The map is the caller's.
func (c *catchUps) changedSince(v volumes.ID, from, now string) *engine.DirtyMap {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tracks[v]
	if t == nil || from == "" || t.stamps[len(t.stamps)-1] != now {
		return nil
	}
	i := slices.Index(t.stamps, from)
	if i < 0 {
		return nil
	}
	m := engine.NewDirtyMap(0, engine.DefaultResyncBlockSize)
	for _, w := range t.writes[i:] {
		m.Merge(w)
	}
	return m
}

// countTracked counts a catch-up or Resync of synchronization id made
// from a track.
func (c *catchUps) countTracked(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tracked == nil {
		c.tracked = map[string]int64{}
	}
	c.tracked[id]++
}

// trackedCount is how many catch-ups and Resyncs of synchronization id were
// made from a track.
func (c *catchUps) trackedCount(id string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tracked[id]
}
