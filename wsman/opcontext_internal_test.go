package wsman

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestOpContextActsAsWithDeadline holds opContext to what
// context.WithDeadline and its cancel do, in every order of deadline,
// parent's end, operation's end and the first Done, and checks that no
// context (timer) is made until Done is asked for.
func TestOpContextActsAsWithDeadline(t *testing.T) {
	type key struct{}
	// waitDone fails when ch is not closed within a minute (a bound, not
	// a timing assertion).
	waitDone := func(t *testing.T, what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(time.Minute):
			t.Fatalf("%s: Done not closed", what)
		}
	}
	open := func(t *testing.T, ch <-chan struct{}) bool {
		t.Helper()
		select {
		case <-ch:
			return false
		default:
			return true
		}
	}
	newParent := func() (context.Context, context.CancelFunc) {
		return context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	}

	t.Run("running", func(t *testing.T) {
		parent, stop := newParent()
		defer stop()
		c := newOpContext(parent, time.Hour)
		if err := c.Err(); err != nil {
			t.Errorf("Err = %v, want nil", err)
		}
		if c.Value(key{}) != "v" {
			t.Errorf("Value = %v, want the parent's", c.Value(key{}))
		}
		if d, ok := c.Deadline(); !ok || time.Until(d) < 59*time.Minute {
			t.Errorf("Deadline = %v, %v", d, ok)
		}
		if c.made != nil {
			t.Error("a context was made before Done was asked for")
		}
		done := c.Done()
		if !open(t, done) || c.Err() != nil {
			t.Errorf("Done closed or Err %v before the end", c.Err())
		}
		derived, stopDerived := context.WithCancel(c)
		defer stopDerived()
		if c.Value(key{}) != "v" {
			t.Errorf("Value after Done = %v, want the parent's", c.Value(key{}))
		}
		c.end()
		waitDone(t, "ended", done)
		waitDone(t, "derived of the ended", derived.Done())
		if err := c.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("Err after end = %v, want Canceled", err)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		parent, stop := newParent()
		defer stop()
		c := newOpContext(parent, -time.Second) // already passed
		if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err = %v, want DeadlineExceeded", err)
		}
		c.end()
		if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err after end = %v, want DeadlineExceeded (the first error stays)", err)
		}
		waitDone(t, "ended after the deadline", c.Done())

		c = newOpContext(parent, 10*time.Millisecond)
		waitDone(t, "deadline", c.Done())
		if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err after the deadline = %v, want DeadlineExceeded", err)
		}
	})

	t.Run("parent", func(t *testing.T) {
		parent, stop := newParent()
		c := newOpContext(parent, time.Hour)
		late := newOpContext(parent, time.Hour)
		done := late.Done()
		stop()
		if err := c.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("Err after the parent's end = %v, want Canceled", err)
		}
		waitDone(t, "parent ended, Done asked after", c.Done())
		waitDone(t, "parent ended, Done asked before", done)

		short, stopShort := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer stopShort()
		if d, _ := newOpContext(short, time.Hour).Deadline(); time.Until(d) > 0 {
			t.Errorf("Deadline %v: not the parent's earlier one", d)
		}
		if err := newOpContext(short, time.Hour).Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err under an expired parent = %v, want DeadlineExceeded", err)
		}
	})

	t.Run("ended before Done", func(t *testing.T) {
		parent, stop := newParent()
		defer stop()
		c := newOpContext(parent, time.Hour)
		c.end()
		if err := c.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("Err = %v, want Canceled", err)
		}
		waitDone(t, "ended before Done", c.Done())
		derived, stopDerived := context.WithCancel(c)
		defer stopDerived()
		waitDone(t, "derived of the ended", derived.Done())
		if c.made != nil {
			t.Error("Done of an ended operation made a context")
		}
	})
}
