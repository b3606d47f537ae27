package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/provider/providertest"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/wsman"
)

// env is a real endpoint (provider, store and pool in a temporary folder)
// and the environment replicactl reads.
type env struct {
	dir  string
	vars map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the endpoint's handler wrapped by wrap (nil:
// none), for tests that watch the requests replicactl makes.
func newEnvWith(t *testing.T, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	dir := t.TempDir()
	p := providertest.New(t, dir)
	reg := cimmodel.NewRegistry()
	if err := p.Register(reg); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	f, err := users.Parse([]byte("admin:" + string(hash) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := wsman.NewServer(reg, f)
	s.AllowUnencrypted = true
	h := s.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{dir: dir, vars: map[string]string{"REPLICAD_URL": srv.URL + "/wsman", "REPLICAD_PASSWORD": "pw"}}
}

// run runs one command line and returns its status, stdout and stderr.
func (e *env) run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := run(ctx, args, func(k string) string { return e.vars[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

func (e *env) must(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := e.run(args...)
	if code != 0 {
		t.Fatalf("replicactl %s: status %d, want 0\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func TestVolumesGroupsAndReplicas(t *testing.T) {
	e := newEnv(t)
	e.must(t, "volume", "create", "src1", "--size", "1M")
	e.must(t, "volume", "create", "--size", "2M", "src2")
	out := e.must(t, "volume", "list", "--output", "json")
	var vols []map[string]any
	if err := json.Unmarshal([]byte(out), &vols); err != nil {
		t.Fatalf("volume list JSON: %v\n%s", err, out)
	}
	if len(vols) != 2 || vols[0]["name"] != "src1" || vols[0]["sizeBytes"] != float64(1048576) {
		t.Fatalf("volumes = %v, want src1 (1048576 bytes) and src2", vols)
	}
	e.must(t, "group", "create", "g1", "src1", "src2")
	if out := e.must(t, "group", "list"); !strings.Contains(out, "src1,src2") {
		t.Errorf("group list = %q, want members src1,src2", out)
	}
	out = e.must(t, "replica", "create", "--source-group", "g1", "--type", "clone", "--name", "cg", "--wait")
	if !strings.Contains(out, "Completed") {
		t.Errorf("replica create --wait printed %q, want the job Completed", out)
	}
	for _, name := range []string{"cg_1.img", "cg_2.img"} {
		if _, err := os.Stat(filepath.Join(e.dir, "pools", "default", name)); err != nil {
			t.Errorf("target image: %v", err)
		}
	}
	out = e.must(t, "replica", "list")
	for _, want := range []string{"cg ", "group", "clone", "Synchronized"} {
		if !strings.Contains(out, want) {
			t.Errorf("replica list lacks %q:\n%s", want, out)
		}
	}
	e.must(t, "replica", "modify", "cg", "detach")
	if out := e.must(t, "replica", "list", "--output", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("replica list after detach = %s, want []", out)
	}
	if out := e.must(t, "job", "list"); !strings.Contains(out, "Completed") {
		t.Errorf("job list = %q, want a completed job", out)
	}
}

func TestBadInputIsOneLineAndChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.must(t, "volume", "create", "v1", "--size", "1M")
	tests := []struct {
		name   string
		args   []string
		status int
		want   string
	}{
		{"missing volume", []string{"volume", "delete", "nope"}, 1, `volume "nope" not found`},
		{"missing member", []string{"group", "create", "g", "v1", "nope"}, 1, `volume "nope" not found`},
		{"missing source", []string{"replica", "create", "--source", "nope", "--type", "clone"}, 1, `volume "nope" not found`},
		{"bad type", []string{"replica", "create", "--source", "v1", "--type", "copy"}, 2, "--type must be"},
		{"two sources", []string{"replica", "create", "--source", "v1", "--source-group", "g", "--type", "clone"}, 2, "exactly one"},
		{"bad size", []string{"volume", "create", "x", "--size", "lots"}, 2, "size"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"bad password", []string{"volume", "list", "--password", "wrong"}, 1, "authentication failed"},
		{"unreachable", []string{"identify", "--url", "http://127.0.0.1:1/wsman"}, 1, "cannot reach"},
		{"unknown class", []string{"enumerate", "MSISCSITARGET_Nothing"}, 1, "server refused the request"},
		{"invoke invalid parameter", []string{"invoke", "MSISCSITARGET_StorageConfigurationService", "ReturnToStoragePool"}, 1,
			"returned 5 (Invalid Parameter): ReturnToStoragePool: parameter TheElement: required parameter missing or NULL"},
		// The server's reason (ExtendedStatus) follows the return value.
		{"name with ..", []string{"volume", "create", "../x", "--size", "1M"}, 1, `returned 5 (Invalid Parameter): CreateOrModifyElementFromStoragePool: `},
		{"name with .. says why", []string{"volume", "create", "../x", "--size", "1M"}, 1, `invalid name: "../x"`},
		{"no space", []string{"volume", "create", "huge", "--size", "1000000T"}, 1, "not enough free space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := e.run(tt.args...)
			if code != tt.status {
				t.Errorf("status = %d, want %d (stderr %q)", code, tt.status, errs)
			}
			if !strings.Contains(errs, tt.want) || strings.Count(errs, "\n") != 1 {
				t.Errorf("stderr = %q, want one line containing %q", errs, tt.want)
			}
		})
	}
	out := e.must(t, "volume", "list", "--output", "json")
	var vols []map[string]any
	if err := json.Unmarshal([]byte(out), &vols); err != nil || len(vols) != 1 {
		t.Errorf("volumes after bad input = %s (%v), want only v1", out, err)
	}
	if out := e.must(t, "group", "list", "--output", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("groups after bad input = %s, want none", out)
	}
}

func TestGenericCommands(t *testing.T) {
	e := newEnv(t)
	if out := e.must(t, "identify"); !strings.Contains(out, "wsman.xsd") {
		t.Errorf("identify = %q, want the protocol version", out)
	}
	out := e.must(t, "enumerate", "MSISCSITARGET_ReplicationService", "--output", "json")
	var svcs []jsonInstance
	if err := json.Unmarshal([]byte(out), &svcs); err != nil || len(svcs) != 1 {
		t.Fatalf("enumerate JSON = %s (%v), want one service", out, err)
	}
	out = e.must(t, "get", svcs[0].Path)
	if !strings.Contains(out, "SystemName") || !strings.Contains(out, "testhost") {
		t.Errorf("get = %q, want SystemName testhost", out)
	}
	out = e.must(t, "enumerate", "--associated", svcs[0].Path, "--result-class", "CIM_ComputerSystem")
	if !strings.Contains(out, "MSFTSM_ComputerSystem") {
		t.Errorf("enumerate --associated = %q, want the hosting system", out)
	}
	out = e.must(t, "enumerate", "--filter", "SELECT * FROM MSISCSITARGET_ReplicationService WHERE SystemName = 'testhost'")
	if strings.Count(out, "\n") != 2 {
		t.Errorf("enumerate --filter = %q, want a header and one row", out)
	}
	out = e.must(t, "invoke", "MSISCSITARGET_StorageConfigurationService", "CreateOrModifyElementFromStoragePool",
		"ElementName=inv", "ElementType=5", "Size=1048576")
	if !strings.Contains(out, "TheElement") {
		t.Errorf("invoke = %q, want TheElement", out)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "pools", "default", "inv.img")); err != nil {
		t.Errorf("invoke did not create the image: %v", err)
	}
}

func TestParseHelpers(t *testing.T) {
	sizes := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"512", 512, false}, {"1K", 1024, false}, {"2M", 2 << 20, false}, {"1GiB", 1 << 30, false},
		{"3gb", 3 << 30, false}, {"1T", 1 << 40, false}, {"0", 0, true}, {"-1", 0, true}, {"x", 0, true}, {"", 0, true},
	}
	for _, tt := range sizes {
		t.Run("size "+tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
	a := &app{namespace: defaultNamespace}
	args, err := a.parseArgs([]string{"SyncType=8", `Members=ref:V.ID="a"`, `Members=ref:V.ID="b"`, "Mode=@null"})
	if err != nil {
		t.Fatal(err)
	}
	if len(args) != 3 || len(args[1].Refs) != 2 || !args[2].Null || args[0].Values[0] != "8" {
		t.Errorf("parseArgs = %+v, want SyncType, two Members refs, NULL Mode", args)
	}
	for _, bad := range [][]string{{"novalue"}, {"=x"}, {"A=1", "A=ref:V"}, {"A=@null", "A=@null"}} {
		if _, err := a.parseArgs(bad); err == nil {
			t.Errorf("parseArgs(%q) succeeded, want an error", bad)
		}
	}
	bars := map[string]string{"0": "[" + strings.Repeat(".", 30) + "]", "50": "[" + strings.Repeat("#", 15) + strings.Repeat(".", 15) + "]",
		"100": "[" + strings.Repeat("#", 30) + "]", "150": "[" + strings.Repeat("#", 30) + "]"}
	for in, want := range bars {
		if got := bar(in); got != want {
			t.Errorf("bar(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestFlagsAnywhere(t *testing.T) {
	e := newEnv(t)
	e.must(t, "--output", "json", "volume", "create", "a", "--size", "1M")
	out := e.must(t, "volume", "--output", "json", "list")
	if !strings.HasPrefix(strings.TrimSpace(out), "[") {
		t.Errorf("volume --output json list = %q, want JSON", out)
	}
}

func TestJobCommands(t *testing.T) {
	e := newEnv(t)
	e.must(t, "volume", "create", "j1", "--size", "1M")
	e.must(t, "replica", "create", "--source", "j1", "--type", "clone", "--name", "j1c", "--wait")
	var jobs []map[string]any
	if err := json.Unmarshal([]byte(e.must(t, "job", "list", "--output", "json")), &jobs); err != nil || len(jobs) != 1 {
		t.Fatalf("job list: %v, %d jobs; want 1", err, len(jobs))
	}
	id, _ := jobs[0]["id"].(string)
	if jobs[0]["state"] != "Completed" || jobs[0]["percentComplete"] != float64(100) {
		t.Errorf("job = %v, want Completed at 100", jobs[0])
	}
	if out := e.must(t, "job", "show", id); !strings.Contains(out, "JobState") {
		t.Errorf("job show = %q, want its properties", out)
	}
	e.must(t, "job", "wait", id)
	code, _, errs := e.run("job", "cancel", id)
	if code != 1 || !strings.Contains(errs, "RequestStateChange returned 4097 (Invalid State Transition): RequestStateChange: ") || strings.Count(errs, "\n") != 1 {
		t.Errorf("cancel of a finished job: status %d, stderr %q; want 1 and one line naming the return value", code, errs)
	}
	if code, _, errs := e.run("job", "show", "no-such-job"); code != 1 || !strings.Contains(errs, `job "no-such-job" not found`) {
		t.Errorf("job show of a missing job: status %d, stderr %q", code, errs)
	}
}
