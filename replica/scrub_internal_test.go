package replica

import (
	"testing"
	"time"
)

// TestScrubWait checks the scrub's pacing: n bytes at rate take n/rate
// seconds, minus the time the comparison itself took.
func TestScrubWait(t *testing.T) {
	for _, c := range []struct {
		n, rate int64
		elapsed time.Duration
		want    time.Duration
	}{
		{n: 100 << 20, rate: 10 << 20, elapsed: 0, want: 10 * time.Second},
		{n: 100 << 20, rate: 10 << 20, elapsed: 4 * time.Second, want: 6 * time.Second},
		{n: 100 << 20, rate: 10 << 20, elapsed: 11 * time.Second, want: 0},
		{n: 1 << 20, rate: 0, elapsed: 0, want: 0},
	} {
		if got := scrubWait(c.n, c.rate, c.elapsed); got != c.want {
			t.Errorf("scrubWait(%d, %d, %v) = %v, want %v", c.n, c.rate, c.elapsed, got, c.want)
		}
	}
}
