package replica_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/replicad/replicad/replica"
)

// TestResyncRightAfterFractureDuringCatchUp: a mirror is catching up (a
// slow copy: 256 KiB/s) when it is fractured; a Resync right after must
// take the volumes from the mirror loop, not answer In Use because the
// loop still holds them.
func TestResyncRightAfterFractureDuringCatchUp(t *testing.T) {
	e := newEnv(t, true, replica.Options{MirrorLag: 20 * time.Millisecond, BandwidthLimit: 256 << 10})
	ctx := context.Background()
	m := e.mirror("busy")
	e.writeAt(m.Source, 0, bytes.Repeat([]byte{0xab}, 512<<10)) // two seconds of catch-up
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if x := e.sync(m.ID); x.Activity == replica.ActivityFollowing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the mirror loop never started the catch-up")
		}
	}
	if _, err := e.svc.Modify(ctx, m.ID, replica.OpFracture, replica.ModifyOptions{}); err != nil {
		t.Fatalf("Fracture: %v", err)
	}
	res, err := e.svc.Modify(ctx, m.ID, replica.OpResync, replica.ModifyOptions{})
	if err != nil {
		t.Fatalf("Resync right after Fracture: %v", err)
	}
	if res.JobID != "" {
		e.wait(res.JobID)
	}
	e.waitMirror(m.ID, time.Time{})
}
