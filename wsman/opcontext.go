package wsman

import (
	"context"
	"sync"
	"time"
)

// opContext is the context of a request's operation: the HTTP request's,
// ending also at the deadline of the request's OperationTimeout and when
// the request is answered (end), as context.WithDeadline(parent, deadline)
// and its cancel would. That context costs a timer and a registration with
// the parent's on every request, while most requests never wait on Done:
// it is made when Done is first asked for (from then on it is the
// context, Value included); until then Err asks the parent and compares
// the clock with the deadline, and Value is the parent's.
type opContext struct {
	parent   context.Context
	deadline time.Time

	mu     sync.Mutex
	made   context.Context // made by Done before the end
	cancel context.CancelFunc
	ended  error // Err from the end on, when it came before made
}

// closedDone is the Done of an operation that ended before Done was asked
// for.
var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// newOpContext returns the context of an operation of parent that ends
// after timeout; end must be called when the operation ends.
func newOpContext(parent context.Context, timeout time.Duration) *opContext {
	deadline := time.Now().Add(timeout)
	if d, ok := parent.Deadline(); ok && d.Before(deadline) {
		deadline = d // as context.WithDeadline keeps the earlier one
	}
	return &opContext{parent: parent, deadline: deadline}
}

// Deadline is the operation's deadline (or the parent's, when earlier).
func (c *opContext) Deadline() (time.Time, bool) { return c.deadline, true }

// Done is closed when the deadline passes, the parent ends or the
// operation ends.
func (c *opContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.made == nil {
		if c.ended != nil {
			return closedDone
		}
		c.made, c.cancel = context.WithDeadline(c.parent, c.deadline)
	}
	return c.made.Done()
}

// Err is, from the first of these on, the parent's error once it has
// ended, context.DeadlineExceeded once the deadline has passed,
// context.Canceled once the operation has ended; nil before.
func (c *opContext) Err() error {
	c.mu.Lock()
	made, ended := c.made, c.ended
	c.mu.Unlock()
	if made != nil {
		return made.Err()
	}
	if ended != nil {
		return ended
	}
	return c.errNow()
}

// errNow is Err of an operation that has not ended, by the parent and the
// clock.
func (c *opContext) errNow() error {
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value is the parent's value for key (or, once Done has made it, the
// made context's: the same, and the context package finds its own there).
func (c *opContext) Value(key any) any {
	c.mu.Lock()
	made := c.made
	c.mu.Unlock()
	if made != nil {
		return made.Value(key)
	}
	return c.parent.Value(key)
}

// end ends the operation: Err keeps the error it has, or is
// context.Canceled from now on, and Done is closed.
func (c *opContext) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.made != nil {
		c.cancel()
		return
	}
	if c.ended == nil {
		if c.ended = c.errNow(); c.ended == nil {
			c.ended = context.Canceled
		}
	}
}
