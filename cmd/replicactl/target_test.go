package main

import (
	"strings"
	"testing"
)

// TestTargetCommandsUsage: malformed target, expose and hide command
// lines are usage errors (status 2, one line) before anything is sent.
func TestTargetCommandsUsage(t *testing.T) {
	e := &env{vars: map[string]string{"REPLICAD_URL": "http://127.0.0.1:1/wsman"}}
	for _, args := range [][]string{
		{"target"},
		{"target", "rename", "t1"},
		{"target", "list", "extra"},
		{"target", "create"},
		{"target", "delete", "a", "b"},
		{"expose"},
		{"expose", "v1", "--lun", "0"},
		{"expose", "v1", "v2", "--lun", "1"},
		{"hide", "v1"},
		{"hide", "--target", "t1"},
	} {
		code, out, errs := e.run(args...)
		if code != 2 || out != "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("replicactl %s: status %d, stdout %q, stderr %q; want 2 and one line", strings.Join(args, " "), code, out, errs)
		}
	}
}

// TestTargetCommandsDataPlaneOff: against a server whose data plane is off
// the commands fail with the server's reason (Not Supported, --iscsi=off).
func TestTargetCommandsDataPlaneOff(t *testing.T) {
	e := newEnv(t)
	e.must(t, "volume", "create", "v1", "--size", "1M")
	if out := e.must(t, "target", "list"); strings.Count(out, "\n") != 1 {
		t.Errorf("target list with the data plane off = %q, want only the header", out)
	}
	for _, args := range [][]string{
		{"target", "create", "t1"},
		{"expose", "v1", "--initiator", "iqn.2026-12.test:a"},
	} {
		code, _, errs := e.run(args...)
		if code != 1 || !strings.Contains(errs, "--iscsi=off") {
			t.Errorf("replicactl %s: status %d, stderr %q; want 1 naming --iscsi=off", strings.Join(args, " "), code, errs)
		}
	}
}
