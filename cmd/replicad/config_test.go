package main

import (
	"testing"
	"time"
)

// TestMirrorScanFlag: --mirror-scan sets Config.MirrorScan (which run.go
// hands to provider.Config); unset it is 0 (the 6 h default), and a
// negative duration (never) is accepted.
func TestMirrorScanFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 0},
		{[]string{"--mirror-scan", "90m"}, 90 * time.Minute},
		{[]string{"--mirror-scan=-1s"}, -time.Second},
	} {
		c := DefaultConfig()
		if err := c.ParseFlags(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if c.MirrorScan != tc.want {
			t.Fatalf("%v: MirrorScan %v, want %v", tc.args, c.MirrorScan, tc.want)
		}
	}
}
