package replica

import (
	"context"
	"sync"
)

// catchUps lets Modify take a mirror away from the mirror loop: an
// operation that needs the mirror's volumes (Resync, Restore) holds the
// synchronization, which cancels a catch-up in flight and waits until it
// has let go of its leases, and keeps the loop from starting another one
// until the operation is done. Without it, a Resync right after a Fracture
// was refused In Use whenever the loop was still copying.
type catchUps struct {
	mu      sync.Mutex
	running map[string]*catchUp
	held    map[string]int
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
