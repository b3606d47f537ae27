package iscsi_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicad/replicad/iscsi"
	"github.com/replicad/replicad/volumes"
)

// TestExposeHide: Expose creates the target, LUN and ACL in tgtd with the
// volume's ID as serial; Hide takes them away; the store answers Targets.
func TestExposeHide(t *testing.T) {
	e := newEnv(t)
	v := e.volume("disk1", 8<<20)
	tg, err := e.svc.Expose("t1", nil, nil, false)
	if !errors.Is(err, iscsi.ErrNotFound) {
		t.Fatalf("Expose into a missing target = %v, %v; want ErrNotFound", tg, err)
	}
	if _, err := e.svc.CreateTarget("t1", []string{initiatorA}); err != nil {
		t.Fatal(err)
	}
	tg, err = e.svc.Expose("t1", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.LUNs) != 1 || tg.LUNs[0].Number != 1 || tg.IQN != "iqn.2026-12.test.replicad:t1" {
		t.Fatalf("target = %+v", tg)
	}
	show := e.tgtadm("--op", "show", "--mode", "target")
	for _, want := range []string{"iqn.2026-12.test.replicad:t1", "SCSI SN: " + string(v.ID), initiatorA} {
		if !strings.Contains(show, want) {
			t.Errorf("tgtadm show lacks %q:\n%s", want, show)
		}
	}
	if got := e.svc.ExposedIn(volumes.DefaultPool, "disk1"); len(got) != 1 || got[0] != "t1" {
		t.Errorf("ExposedIn = %v", got)
	}
	if _, err := e.svc.Hide("t1", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}, []string{initiatorA}); err != nil {
		t.Fatal(err)
	}
	show = e.tgtadm("--op", "show", "--mode", "target")
	if strings.Contains(show, string(v.ID)) || strings.Contains(show, initiatorA) {
		t.Errorf("after Hide tgtd still has the LUN or the ACL:\n%s", show)
	}
	if got := e.svc.ExposedIn(volumes.DefaultPool, "disk1"); got != nil {
		t.Errorf("ExposedIn after Hide = %v", got)
	}
	if _, err := e.svc.Expose("t1", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteTarget("t1", false); !errors.Is(err, iscsi.ErrInUse) {
		t.Fatalf("DeleteTarget of a target with a LUN, without force = %v; want ErrInUse", err)
	}
	if err := e.svc.DeleteTarget("t1", true); err != nil {
		t.Fatal(err)
	}
	if show := e.tgtadm("--op", "show", "--mode", "target"); strings.Contains(show, ":t1") {
		t.Errorf("after DeleteTarget tgtd still has the target:\n%s", show)
	}
	if _, err := e.svc.Target("t1"); !errors.Is(err, iscsi.ErrNotFound) {
		t.Errorf("Target after DeleteTarget = %v; want ErrNotFound", err)
	}
}

// TestExposeRollback: when tgtadm refuses part of a change, the store
// keeps the target as it was and tgtd is put back to it: no LUN, no ACL of
// the failed Expose remains.
func TestExposeRollback(t *testing.T) {
	requireTools(t)
	e := newEnv(t)
	v := e.volume("disk1", 4<<20)
	if _, err := e.svc.CreateTarget("t1", []string{initiatorA}); err != nil {
		t.Fatal(err)
	}
	// A tgtadm that refuses to bind while the flag file exists.
	flag := filepath.Join(e.dir, "fail-bind")
	wrapper := filepath.Join(e.dir, "tgtadm-wrapper")
	script := "#!/bin/sh\nfor a in \"$@\"; do if [ \"$a\" = bind ] && [ -e " + flag + " ]; then echo 'tgtadm: injected failure' >&2; exit 22; fi; done\nexec tgtadm \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	e.tgtadmPath = wrapper
	e.open()
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Expose("t1", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}, []string{initiatorB}, false)
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("Expose with a failing tgtadm = %v; want its error", err)
	}
	tg, err := e.svc.Target("t1")
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.LUNs) != 0 || len(tg.Initiators) != 1 || tg.Initiators[0] != initiatorA {
		t.Errorf("after a failed Expose the store has %+v; want t1 as it was", tg)
	}
	show := e.tgtadm("--op", "show", "--mode", "target")
	if strings.Contains(show, string(v.ID)) || strings.Contains(show, initiatorB) || !strings.Contains(show, initiatorA) {
		t.Errorf("after a failed Expose tgtd is not back to t1 as it was:\n%s", show)
	}
	if got := e.svc.ExposedIn(volumes.DefaultPool, "disk1"); got != nil {
		t.Errorf("ExposedIn after a failed Expose = %v", got)
	}
}

// TestPeriodicReconcile: a LUN and an ACL removed from tgtd behind
// replicad's back come back without any change through the API.
func TestPeriodicReconcile(t *testing.T) {
	requireTools(t)
	e := &env{t: t, reconcileEvery: 100 * time.Millisecond}
	e = newEnvWith(t, e)
	v := e.volume("disk1", 4<<20)
	if _, err := e.svc.CreateTarget("t1", []string{initiatorA}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Expose("t1", []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}, nil, false); err != nil {
		t.Fatal(err)
	}
	e.tgtadm("--op", "delete", "--mode", "logicalunit", "--tid", "1", "--lun", "1")
	e.tgtadm("--op", "unbind", "--mode", "target", "--tid", "1", "--initiator-name", initiatorA)
	deadline := time.Now().Add(30 * time.Second)
	for {
		show := e.tgtadm("--op", "show", "--mode", "target")
		if strings.Contains(show, string(v.ID)) && strings.Contains(show, initiatorA) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the LUN and ACL removed behind replicad's back did not come back:\n%s", show)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPortalTaken: a portal address another process listens on is an
// error of Start, not a tgtd running without a portal.
func TestPortalTaken(t *testing.T) {
	requireTools(t)
	e := newEnv(t)
	e.svc.Close()
	ln, err := net.Listen("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	svc, err := iscsi.Open(e.db, e.vols, iscsi.Options{Dir: filepath.Join(e.dir, "iscsi"), Listen: e.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if err := svc.Start(context.Background()); err == nil || !strings.Contains(err.Error(), e.addr) {
		t.Fatalf("Start on a taken portal = %v; want an error naming it", err)
	}
}
