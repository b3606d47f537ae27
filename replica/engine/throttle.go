package engine

import (
	"context"
	"sync"
	"time"
)

// throttle paces a byte stream to a rate in bytes per second. A nil throttle does not limit.
type throttle struct {
	mu   sync.Mutex
	rate float64
	next time.Time // when the stream may continue
}

func newThrottle(bytesPerSec int64) *throttle {
	if bytesPerSec <= 0 {
		return nil
	}
	return &throttle{rate: float64(bytesPerSec)}
}

// wait waits until the bytes booked before are due at the rate, or ctx ends, then
// books n more. The first booking does not wait, so a limit never delays the start.
func (t *throttle) wait(ctx context.Context, n int64) error {
	if t == nil {
		return ctx.Err()
	}
	t.mu.Lock()
	now := time.Now()
	if t.next.Before(now) {
		t.next = now
	}
	until := t.next
	t.next = t.next.Add(time.Duration(float64(n) / t.rate * float64(time.Second)))
	t.mu.Unlock()
	d := time.Until(until)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
