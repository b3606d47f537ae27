package main

import (
	"testing"

	"github.com/replicad/replicad/volumes"
)

// --provisioning sets every pool's policy and --pool-policy one pool's;
// without them pools are thin with the default limit and threshold.
func TestProvisioningFlags(t *testing.T) {
	c := DefaultConfig()
	if err := c.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if c.Provisioning.Default != volumes.DefaultPolicy || c.Provisioning.Default.Provisioning != volumes.Thin {
		t.Errorf("default policy %+v, want thin (%+v)", c.Provisioning.Default, volumes.DefaultPolicy)
	}
	c = DefaultConfig()
	if err := c.ParseFlags([]string{"--provisioning", "thick,low-space=5%", "--pool-policy", "fast=thin,overcommit=200%",
		"--pool-policy", "archive=thin,overcommit=0"}); err != nil {
		t.Fatal(err)
	}
	want := volumes.ProvisioningOptions{
		Default: volumes.Policy{Provisioning: volumes.Thick, OverCommitPercent: 500, LowSpacePercent: 5},
		Pools: map[string]volumes.Policy{
			"fast":    {Provisioning: volumes.Thin, OverCommitPercent: 200, LowSpacePercent: 10},
			"archive": {Provisioning: volumes.Thin, LowSpacePercent: 10},
		}}
	if c.Provisioning.Default != want.Default || len(c.Provisioning.Pools) != 2 ||
		c.Provisioning.Pools["fast"] != want.Pools["fast"] || c.Provisioning.Pools["archive"] != want.Pools["archive"] {
		t.Errorf("policies %+v, want %+v", c.Provisioning, want)
	}
	for _, bad := range [][]string{{"--provisioning", "fat"}, {"--pool-policy", "thin"}, {"--pool-policy", "../x=thin"},
		{"--pool-policy", "p=thick,overcommit=200"}} {
		c := DefaultConfig()
		if err := c.ParseFlags(bad); err == nil {
			t.Errorf("ParseFlags(%q) accepted", bad)
		}
	}
}
