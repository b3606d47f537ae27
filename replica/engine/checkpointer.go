package engine

import (
	"context"
	"sync"
)

// checkpointer takes work off a copy's data path: the writer asks for a
// checkpoint (or reports progress) and goes on writing while the
// checkpointer's goroutine makes the target durable (an fdatasync takes tens
// of milliseconds to seconds) and records it, or hands the progress to the
// caller (the job layer persists it, with an fsync). While one is being
// taken, newer requests replace each other, so what is handed on still
// advances in order and the last value asked for before close is always
// taken. A nil *checkpointer ignores every call.
type checkpointer[T any] struct {
	mu      sync.Mutex
	pending *T
	closed  bool
	wake    chan struct{} // one token: pending or closed changed
}

func newCheckpointer[T any]() *checkpointer[T] {
	return &checkpointer[T]{wake: make(chan struct{}, 1)}
}

// ask queues cp, replacing a queued checkpoint that was not started yet.
func (k *checkpointer[T]) ask(cp T) {
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
func (k *checkpointer[T]) close() {
	if k == nil {
		return
	}
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	k.signal()
}

func (k *checkpointer[T]) signal() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// serve calls take for each checkpoint asked for, one at a time, until close
// or ctx ends; it returns take's first error.
func (k *checkpointer[T]) serve(ctx context.Context, take func(T) error) error {
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
