package provider

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/replicad/replicad/cimmodel"
)

// WS-Transfer Delete (DeleteInstance, what Remove-CimInstance sends) of a
// volume in a replication relationship is refused with StatusFailed and a
// refusal that names the reason without server folders (wsman answers it
// as a refusal fault, not InternalError), and the volume stays.
func TestDeleteInstanceInRelationshipSaysWhy(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	a := e.volume("a", 2*rMiB)
	if r := e.call("CreateElementReplica", refParam("SourceElement", e.p.volumePath(a)), param("SyncType", "8"),
		param("ElementName", "aclone"), param("WaitForCopyState", "4")); r.ReturnValue != returnOK {
		t.Fatalf("CreateElementReplica: %d %v", r.ReturnValue, r.Out)
	}
	vp := &volumeProvider{p: e.p}
	err := vp.DeleteInstance(ctx, e.p.volumePath(a))
	if cimmodel.StatusOf(err) != cimmodel.StatusFailed {
		t.Fatalf("DeleteInstance = %v, want StatusFailed", err)
	}
	var rf interface{ RefusalMessage() string }
	if !errors.As(err, &rf) {
		t.Fatalf("DeleteInstance = %v, want a refusal with a message", err)
	}
	msg := rf.RefusalMessage()
	if !strings.Contains(msg, "replication") || strings.Contains(msg, e.dataDir) || strings.HasPrefix(msg, "provider: ") {
		t.Errorf("refusal message %q, want the reason without prefixes or folders", msg)
	}
	if _, err := e.p.volumes.Get(ctx, a); err != nil {
		t.Errorf("the refused volume is gone: %v", err)
	}
	// A volume nobody pairs is deleted.
	b := e.volume("b", rMiB)
	if err := vp.DeleteInstance(ctx, e.p.volumePath(b)); err != nil {
		t.Errorf("DeleteInstance of a free volume: %v", err)
	}
}
