package main

import "testing"

// TestISCSIFlags: --iscsi takes on, off, auto (and booleans), defaults to
// auto on 127.0.0.1:3260; a bad mode or portal address is refused.
func TestISCSIFlags(t *testing.T) {
	c := DefaultConfig()
	if err := c.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if c.ISCSI != iscsiAuto || c.ISCSIListen != "127.0.0.1:3260" {
		t.Errorf("defaults: --iscsi %q --iscsi-listen %q; want auto and 127.0.0.1:3260", c.ISCSI, c.ISCSIListen)
	}
	for arg, want := range map[string]iscsiMode{"--iscsi=off": iscsiOff, "--iscsi=on": iscsiOn, "--iscsi=false": iscsiOff, "--iscsi": iscsiOn} {
		c := DefaultConfig()
		if err := c.ParseFlags([]string{arg, "--iscsi-listen", "127.0.0.1:13260"}); err != nil {
			t.Errorf("%s: %v", arg, err)
			continue
		}
		if c.ISCSI != want || c.ISCSIListen != "127.0.0.1:13260" {
			t.Errorf("%s: mode %q listen %q, want %q", arg, c.ISCSI, c.ISCSIListen, want)
		}
	}
	for _, args := range [][]string{{"--iscsi=maybe"}, {"--iscsi-listen", "nocolon"}} {
		c := DefaultConfig()
		if err := c.ParseFlags(args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
