package main

import (
	"os"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(i + 1)
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", []time.Duration{ms(7)}, 99, ms(7)},
		{"p50 of 100", hundred, 50, ms(50)},
		{"p99 of 100", hundred, 99, ms(99)},
		{"p100 of 100", hundred, 100, ms(100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestPeakRSSOfSelf(t *testing.T) {
	kib, err := peakRSSKiB(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if kib <= 0 {
		t.Errorf("VmHWM of this process: got %d KiB, want > 0", kib)
	}
	if _, err := peakRSSKiB(-1); err == nil {
		t.Errorf("VmHWM of pid -1: got no error, want one")
	}
}

func TestUsersFor(t *testing.T) {
	tests := []struct{ clients, perUser, want int }{{32, 8, 4}, {33, 8, 5}, {1, 8, 1}}
	for _, tt := range tests {
		got := usersFor(tt.clients, tt.perUser)
		if len(got) != tt.want {
			t.Errorf("usersFor(%d, %d): got %d users, want %d", tt.clients, tt.perUser, len(got), tt.want)
		}
		seen := map[string]bool{}
		for _, l := range got {
			if seen[l.user] || l.password == "" {
				t.Errorf("usersFor(%d, %d): duplicate user or empty password in %v", tt.clients, tt.perUser, got)
			}
			seen[l.user] = true
		}
	}
}
