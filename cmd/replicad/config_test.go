package main

import (
	"testing"
	"time"

	"github.com/replicad/replicad/wsman"
)

// TestMirrorScanFlag: --mirror-scan sets Config.MirrorScan (which
// Config.replicaOptions maps into replica.Options; TestReplicaOptions);
// unset it is 0 (the 6 h default), and a negative duration (never) is
// accepted.
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

// TestChannelBindingFlag: --channel-binding takes none, relaxed or strict
// (default relaxed, Windows' default) and refuses anything else.
func TestChannelBindingFlag(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    wsman.ChannelBindingLevel
		wantErr bool
	}{
		{nil, wsman.ChannelBindingRelaxed, false},
		{[]string{"--channel-binding", "none"}, wsman.ChannelBindingNone, false},
		{[]string{"--channel-binding=strict"}, wsman.ChannelBindingStrict, false},
		{[]string{"--channel-binding", "always"}, 0, true},
	} {
		c := DefaultConfig()
		c.ChannelBinding = wsman.ChannelBindingRelaxed
		err := c.ParseFlags(tc.args)
		if (err != nil) != tc.wantErr {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if err == nil && c.ChannelBinding != tc.want {
			t.Errorf("%v: ChannelBinding %v, want %v", tc.args, c.ChannelBinding, tc.want)
		}
	}
}

// TestGCPercent: the daemon sets GOGC 200 by default, the value of
// --gc-percent when given, and nothing with --gc-percent 0 or when GOGC is in
// the environment (the administrator's choice wins).
func TestGCPercent(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want int
	}{
		{nil, "", 200},
		{[]string{"--gc-percent", "150"}, "", 150},
		{[]string{"--gc-percent=0"}, "", 0},
		{nil, "100", 0},
		{[]string{"--gc-percent", "150"}, "off", 0},
	} {
		c := DefaultConfig()
		if err := c.ParseFlags(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := gcPercent(c.GCPercent, tc.env); got != tc.want {
			t.Errorf("%v with GOGC=%q: sets %d, want %d", tc.args, tc.env, got, tc.want)
		}
	}
	c := DefaultConfig()
	if err := c.ParseFlags([]string{"--gc-percent", "-1"}); err == nil {
		t.Error("--gc-percent -1 accepted")
	}
}
