package provider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/volumes"
)

// replEnv is the storage test environment (a provider on a real store and
// data directory, its classes in a real registry) with the helpers of the
// replication classes.
type replEnv struct {
	*storageEnv
	t *testing.T
}

func newReplEnv(t *testing.T) *replEnv {
	t.Helper()
	return &replEnv{storageEnv: newStorageEnv(t), t: t}
}

// volume makes a volume holding some random-looking data.
func (e *replEnv) volume(name string, size int) volumes.ID {
	e.t.Helper()
	ctx := context.Background()
	v, err := e.p.volumes.Create(ctx, volumes.DefaultPool, name, uint64(size))
	if err != nil {
		e.t.Fatal(err)
	}
	f, err := e.p.volumes.OpenImage(ctx, v.ID, true)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	data := []byte(strings.Repeat(name+"-data-", 4096))
	for _, off := range []int64{0, int64(size / 2)} {
		if _, err := f.WriteAt(data[:min(len(data), size/2)], off); err != nil {
			e.t.Fatal(err)
		}
	}
	return v.ID
}

// state is what a refused call must not change: volumes, files, groups,
// synchronizations and jobs.
func (e *replEnv) state() string {
	e.t.Helper()
	ctx := context.Background()
	var lines []string
	vols, err := e.p.volumes.List(ctx, "")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, v := range vols {
		lines = append(lines, "volume "+v.Name)
	}
	filepath.WalkDir(filepath.Join(e.dataDir, "pools"), func(path string, d os.DirEntry, err error) error {
		if err == nil {
			lines = append(lines, "file "+d.Name())
		}
		return nil
	})
	groups, _ := e.p.repl.svc.Groups(ctx)
	for _, g := range groups {
		lines = append(lines, "group "+g.Name+" "+strconv.Itoa(len(g.Members)))
	}
	syncs, _ := e.p.repl.svc.Synchronizations(ctx)
	gss, _ := e.p.repl.svc.GroupSynchronizations(ctx)
	jobs, _ := e.p.jobs.List()
	lines = append(lines, "syncs "+strconv.Itoa(len(syncs)), "groupsyncs "+strconv.Itoa(len(gss)), "jobs "+strconv.Itoa(len(jobs)))
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// invoke calls method on the instance at target through the registry's
// method router; params are XML children of the INPUT element.
func (e *replEnv) invoke(target cimmodel.ObjectPath, method string, params ...string) (cimmodel.Result, error) {
	e.t.Helper()
	uri := cimmodel.ResourceURI(Namespace, target.Class)
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<p:` + method + `_INPUT xmlns:p="` + uri + `">` + strings.Join(params, "") + `</p:` + method + `_INPUT>`); err != nil {
		e.t.Fatalf("input XML: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, _, err := e.reg.Invoke(ctx, target, method, doc.Root())
	var ipe *cimmodel.InvalidParameterError
	if errors.As(err, &ipe) {
		return res, nil // the router answered ReturnValue 5 itself
	}
	return res, err
}

func (e *replEnv) service() cimmodel.ObjectPath { return e.p.servicePath(replicationServiceClassName) }

// call invokes a replication service method and fails the test on a fault.
func (e *replEnv) call(method string, params ...string) cimmodel.Result {
	e.t.Helper()
	res, err := e.invoke(e.service(), method, params...)
	if err != nil {
		e.t.Fatalf("%s: fault %v", method, err)
	}
	return res
}

// waitJob waits for the job at path to finish.
func (e *replEnv) waitJob(path cimmodel.ObjectPath) jobqueue.Job {
	e.t.Helper()
	id, ok := jobIDOf(path)
	if !ok {
		e.t.Fatalf("%s is not a job path", path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := e.p.jobs.Wait(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func rUint16(inst *cimmodel.Instance, name string) uint16 {
	n, _ := inst.Get(name).AsUint64()
	return uint16(n)
}
