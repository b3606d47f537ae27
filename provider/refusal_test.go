package provider

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// refusalMessage returns the Message of res's ExtendedStatus, failing the
// test when there is none.
func refusalMessage(t *testing.T, res cimmodel.Result) string {
	t.Helper()
	inst, ok := res.Out[cimmodel.ExtendedStatusParam].AsInstance()
	if !ok || inst.Class == nil || inst.Class.Name != cimErrorClassName {
		t.Fatalf("ReturnValue %d without a CIM_Error in ExtendedStatus: out %v", res.ReturnValue, res.Out)
	}
	if err := inst.Check(); err != nil {
		t.Errorf("ExtendedStatus: %v", err)
	}
	msg, _ := inst.Get("Message").AsString()
	return msg
}

// checkRefusalReason: a refused call (a ReturnValue other than 0 and 4096)
// carries ExtendedStatus only, a CIM_Error whose Message starts with the
// method's name, says something more, and shows no server folder.
func checkRefusalReason(t *testing.T, res cimmodel.Result, method, dataDir string) {
	t.Helper()
	if res.ReturnValue == returnOK || res.ReturnValue == returnJobStarted {
		return
	}
	if len(res.Out) != 1 {
		t.Errorf("refused call has out-parameters %v, want ExtendedStatus only", res.Out)
	}
	msg := refusalMessage(t, res)
	if !strings.HasPrefix(msg, method+": ") || len(msg) < len(method)+8 {
		t.Errorf("ExtendedStatus Message %q does not say why %s refused", msg, method)
	}
	if strings.Contains(msg, dataDir) || strings.Contains(msg, "/tmp/") {
		t.Errorf("ExtendedStatus Message %q shows a server folder", msg)
	}
}

// TestRefusalsSayWhy: the refusals issue 15 names (a duplicate
// RelationshipName, a name with "..", no space in the pool, a group in
// use, Mirror without Mode) keep their return values and say why in
// ExtendedStatus.
func TestRefusalsSayWhy(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	a := e.volume("a", 2*rMiB)
	pool, err := e.p.volumes.Pool(ctx, volumes.DefaultPool)
	if err != nil {
		t.Fatal(err)
	}
	clone := param("SyncType", "8")
	se := refParam("SourceElement", e.p.volumePath(a))
	first := e.call("CreateGroupReplica", se, clone, param("RelationshipName", "dup"), param("WaitForCopyState", "4"))
	if first.ReturnValue != returnOK {
		t.Fatalf("first CreateGroupReplica: %d %v", first.ReturnValue, first.Out)
	}
	g, err := e.p.repl.svc.CreateGroup(ctx, replica.GroupSpec{Name: "busy", Members: []volumes.ID{a}})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.call("CreateGroupReplica", refParam("SourceGroup", e.p.groupPath(g.ID)), clone, param("WaitForCopyState", "4")); r.ReturnValue != returnOK {
		t.Fatalf("CreateGroupReplica of busy: %d %v", r.ReturnValue, r.Out)
	}
	tests := []struct {
		name, method string
		res          func() (cimmodel.Result, error)
		code         uint32
		says         []string
	}{
		{"duplicate RelationshipName", "CreateGroupReplica", func() (cimmodel.Result, error) {
			return e.invoke(e.service(), "CreateGroupReplica", se, clone, param("RelationshipName", "dup"))
		}, 5, []string{"dup"}},
		{"name with ..", "CreateOrModifyElementFromStoragePool", func() (cimmodel.Result, error) {
			return e.storageEnv.invoke(createMethod, param("ElementName", "../../etc/passwd"), param("Size", "512"))
		}, 5, []string{"invalid", "../../etc/passwd"}},
		{"no space in the pool", "CreateOrModifyElementFromStoragePool", func() (cimmodel.Result, error) {
			return e.storageEnv.invoke(createMethod, param("ElementName", "huge"), param("Size", strconv.FormatUint(pool.FreeBytes+1<<30, 10)))
		}, 40000, []string{"free space", "thick"}},
		{"group in use", "DeleteGroup", func() (cimmodel.Result, error) {
			return e.invoke(e.service(), "DeleteGroup", refParam("ReplicationGroup", e.p.groupPath(g.ID)))
		}, 7, []string{"relationship"}},
		{"Mirror without Mode", "CreateElementReplica", func() (cimmodel.Result, error) {
			return e.invoke(e.service(), "CreateElementReplica", se, param("SyncType", "6"))
		}, 1, []string{"Mode"}},
		{"router: SyncType outside its ValueMap", "CreateElementReplica", func() (cimmodel.Result, error) {
			return e.invoke(e.service(), "CreateElementReplica", se, param("SyncType", "5"))
		}, 5, []string{"SyncType", "ValueMap"}},
		{"capabilities: unsupported ReplicationType", "GetSupportedFeatures", func() (cimmodel.Result, error) {
			return e.invoke(e.p.capabilitiesPath(), "GetSupportedFeatures", param("ReplicationType", "2"))
		}, 1, []string{"ReplicationType 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.res()
			if err != nil {
				t.Fatalf("fault %v, want ReturnValue %d", err, tt.code)
			}
			if res.ReturnValue != tt.code {
				t.Errorf("ReturnValue %d, want %d", res.ReturnValue, tt.code)
			}
			checkRefusalReason(t, res, tt.method, e.dataDir)
			msg := refusalMessage(t, res)
			t.Logf("%d: %s", res.ReturnValue, msg)
			for _, s := range tt.says {
				if !strings.Contains(msg, s) {
					t.Errorf("Message %q does not mention %q", msg, s)
				}
			}
		})
	}
}

// TestEveryMethodDeclaresExtendedStatus: every provider method with a
// uint32 return value declares the ExtendedStatus out-parameter, a
// CIM_Error, so that its refusals can say why.
func TestEveryMethodDeclaresExtendedStatus(t *testing.T) {
	e := newStorageEnv(t)
	n := 0
	for _, c := range e.reg.Classes(Namespace) {
		for _, m := range c.Methods {
			if m.Func == nil {
				continue
			}
			n++
			p, ok := m.Param(cimmodel.ExtendedStatusParam)
			if !ok || !p.Out || p.In || p.EmbeddedClass != cimErrorClassName {
				t.Errorf("%s.%s: ExtendedStatus %+v, want an out-only CIM_Error", c.Name, m.Name, p)
			}
		}
	}
	if n < 15 {
		t.Errorf("only %d methods found", n)
	}
}

// TestRefusalOfAnUnknownErrorIsGeneric: an error no table names (an
// internal failure) says only that it is internal; its text, with the
// server's paths, stays in the log.
func TestRefusalOfAnUnknownErrorIsGeneric(t *testing.T) {
	e := newReplEnv(t)
	err := errors.New("open /var/lib/replicad/state.db.lock: permission denied")
	res := e.p.methodFailure("DeleteGroup", err)
	if res.ReturnValue != returnFailed {
		t.Errorf("ReturnValue %d, want 4", res.ReturnValue)
	}
	if msg := refusalMessage(t, res); msg != "DeleteGroup: "+messageInternal {
		t.Errorf("Message %q, want the generic one", msg)
	}
	// A known domain error whose text holds a path shows no folder.
	known := errors.Join(volumes.ErrInUse, errors.New("lease held on /srv/data/other/x.img"))
	if msg := refusalMessage(t, e.p.methodFailure("DeleteGroup", known)); strings.Contains(msg, "/srv") || !strings.Contains(msg, "(path)") {
		t.Errorf("Message %q shows a server folder", msg)
	}
}

// TestJobErrorShowsNoServerFolder: the CIM_Error of a failed job (GetError,
// and ExtendedStatus of a call whose job failed within it) keeps the pool
// path relative and hides any other absolute path.
func TestJobErrorShowsNoServerFolder(t *testing.T) {
	e := newReplEnv(t)
	j := jobqueue.Job{ID: "j1", State: jobqueue.StateFailed,
		Err: "replica: engine: write " + e.dataDir + "/pools/default/.x.img.replica: open /etc/replicad/lock: permission denied"}
	msg, _ := e.p.jobError(j).Get("Message").AsString()
	if strings.Contains(msg, e.dataDir) || strings.Contains(msg, "/etc/") || !strings.Contains(msg, "pools/default/.x.img.replica") {
		t.Errorf("Message %q: want pools/… kept and no server folder", msg)
	}
}
