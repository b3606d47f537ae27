package engine

import (
	"context"
	"sync"
)

// checkpointer takes the checkpoints of a copy off its data path: the writer
// asks for one and goes on writing while the checkpointer's goroutine makes
// the target durable (an fdatasync takes tens of milliseconds to seconds) and
// records it. While one is being taken, newer requests replace each other,
// so the checkpoints handed on still advance in order and the last one asked
// for before close is always taken. A nil *checkpointer ignores every call.
type checkpointer struct {
	mu      sync.Mutex
	pending *Checkpoint
	closed  bool
	wake    chan struct{} // one token: pending or closed changed
}

func newCheckpointer() *checkpointer {
	return &checkpointer{wake: make(chan struct{}, 1)}
}

// ask queues cp, replacing a queued checkpoint that was not started yet.
func (k *checkpointer) ask(cp Checkpoint) {
	if k == nil {
		return
	}
	k.mu.Lock()
	k.pending = &cp
	k.mu.Unlock()
	k.signal()
}

// close tells serve that no more checkpoints come: it takes the queued one, if
// any, and returns.
func (k *checkpointer) close() {
	if k == nil {
		return
	}
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	k.signal()
}

func (k *checkpointer) signal() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// serve calls take for each checkpoint asked for, one at a time, until close
// or ctx ends; it returns take's first error.
func (k *checkpointer) serve(ctx context.Context, take func(Checkpoint) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k.mu.Lock()
		cp, closed := k.pending, k.closed
		k.pending = nil
		k.mu.Unlock()
		if cp != nil {
			if err := take(*cp); err != nil {
				return err
			}
			continue
		}
		if closed {
			return nil
		}
		select {
		case <-k.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
