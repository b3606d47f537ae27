package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/replicad/replicad/store"
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

// watchPools notices a pool below its low-space threshold without any
// request, and stops once the volumes service is closed.
func TestWatchPoolsWarns(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	core, logs := observer.New(zap.InfoLevel)
	vols, err := volumes.Open(db, dir, volumes.Options{Logger: zap.New(core),
		Provisioning: volumes.ProvisioningOptions{Default: volumes.Policy{Provisioning: volumes.Thin, LowSpacePercent: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Volumes: vols, Logger: zap.New(core)}
	done := make(chan struct{})
	go func() { m.watchPools(context.Background(), time.Millisecond); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for logs.FilterMessage("pool low on space").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no low-space warning from watchPools")
		}
		time.Sleep(5 * time.Millisecond)
	}
	vols.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("watchPools did not stop after the volumes service closed")
	}
}
