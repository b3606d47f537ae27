package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The throttle's pacing runs on synctest's fake clock: every wait below lasts
// exactly what the throttle asks for, so the admission times are exact and the
// tests do not depend on the machine's speed or load.

// TestThrottlePacesOneStream: bookings of n bytes at rate r are let through
// n/r apart, the first at once.
func TestThrottlePacesOneStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		thr := newThrottle(1 << 20) // 1 MiB/s
		start := time.Now()
		for i := range 8 {
			if err := thr.wait(t.Context(), 128<<10); err != nil {
				t.Fatalf("wait %d: %v", i, err)
			}
			// 128 KiB at 1 MiB/s is 125 ms a booking.
			if got, want := time.Since(start), time.Duration(i)*125*time.Millisecond; got != want {
				t.Errorf("booking %d let through after %v, want %v", i, got, want)
			}
		}
	})
}

// TestThrottleSharedByWorkers: concurrent callers share one rate: 4 workers
// booking 4 MiB in all at 1 MiB/s are all through only after 3.75 s, and no
// more than the bytes due were let through at any moment.
func TestThrottleSharedByWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rate, chunk = 1 << 20, 256 << 10
		thr := newThrottle(rate)
		start := time.Now()
		var (
			mu       sync.Mutex
			admitted int64
			wg       sync.WaitGroup
		)
		for range 4 {
			wg.Go(func() {
				for range 4 {
					if err := thr.wait(t.Context(), chunk); err != nil {
						t.Errorf("wait: %v", err)
						return
					}
					mu.Lock()
					admitted += chunk
					// Bytes over the window [start, now]: the first chunk
					// is free, every other one is paid for in advance.
					if limit := chunk + int64(time.Since(start).Seconds()*rate); admitted > limit {
						t.Errorf("%d bytes let through after %v, want at most %d", admitted, time.Since(start), limit)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if got, want := time.Since(start), 3750*time.Millisecond; got != want {
			t.Errorf("16 chunks of 256 KiB at 1 MiB/s through after %v, want %v", got, want)
		}
	})
}

// TestThrottleNoBurstAfterIdle: time spent idle is not saved up: after a
// pause the next booking goes at once and the one after it waits its due.
func TestThrottleNoBurstAfterIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		thr := newThrottle(1 << 20)
		if err := thr.wait(t.Context(), 1<<20); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		start := time.Now()
		for range 2 {
			if err := thr.wait(t.Context(), 1<<20); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := time.Since(start), time.Second; got != want {
			t.Errorf("two 1 MiB bookings after 10 s idle took %v, want %v (no credit for idle time)", got, want)
		}
	})
}

// TestThrottleCancel: a wait ends with the context's error when the context
// ends first, and a nil throttle (no limit) never waits.
func TestThrottleCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		thr := newThrottle(1 << 10)
		if err := thr.wait(t.Context(), 1<<20); err != nil { // due in 1024 s
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		if err := thr.wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("wait past the deadline: %v, want context.DeadlineExceeded", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("cancelled wait returned after %v, want 1s (the deadline)", got)
		}
		var none *throttle = newThrottle(0)
		start = time.Now()
		for range 100 {
			if err := none.wait(t.Context(), 1<<30); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got != 0 {
			t.Errorf("an unlimited throttle waited %v", got)
		}
	})
}
