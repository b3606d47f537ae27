package provider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"go.uber.org/zap/zaptest"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

const testSystem = "testhost"

// storageEnv is a provider on a real store and data directory in
// t.TempDir(), with its classes in a real registry. It opens the domain
// services the provider maps onto as cmd/replicad's Main does.
type storageEnv struct {
	t       testing.TB
	dataDir string
	// replicaOpts are the replication domain's options (the logger is
	// the test's).
	replicaOpts replica.Options
	// provisioning are the pools' policies (zero: thick).
	provisioning volumes.ProvisioningOptions
	db           *store.DB
	vols         *volumes.Service
	jobs         *jobqueue.Queue
	repl         *replica.Service
	p            *Provider
	reg          *cimmodel.Registry
}

func newStorageEnv(t testing.TB) *storageEnv {
	t.Helper()
	e := &storageEnv{t: t, dataDir: t.TempDir()}
	e.open()
	t.Cleanup(e.close)
	return e
}

// open opens store → volumes → jobqueue → replica → provider, starts the
// job queue and registers the classes.
func (e *storageEnv) open() {
	e.t.Helper()
	if err := e.openDomain(); err != nil {
		e.close()
		e.t.Fatal(err)
	}
	p, err := New(Config{Volumes: e.vols, Jobs: e.jobs, Replica: e.repl, SystemName: testSystem, Logger: zaptest.NewLogger(e.t)})
	if err != nil {
		e.close()
		e.t.Fatal(err)
	}
	e.jobs.Start()
	reg := cimmodel.NewRegistry()
	if err := p.Register(reg); err != nil {
		e.close()
		e.t.Fatal(err)
	}
	e.p, e.reg = p, reg
}

// openDomain opens the services behind the provider, in the daemon's order.
func (e *storageEnv) openDomain() error {
	logger := zaptest.NewLogger(e.t)
	var err error
	if e.db, err = store.Open(filepath.Join(e.dataDir, "state.db"), store.Options{}); err != nil {
		return err
	}
	if e.vols, err = volumes.Open(e.db, e.dataDir, volumes.Options{Logger: logger.Named("volumes"), Provisioning: e.provisioning}); err != nil {
		return err
	}
	if e.jobs, err = jobqueue.Open(e.db, jobqueue.Options{Logger: logger.Named("jobqueue")}); err != nil {
		return err
	}
	opts := e.replicaOpts
	opts.Logger = logger.Named("replica")
	e.repl, err = replica.Open(context.Background(), e.db, e.vols, e.jobs, opts)
	return err
}

// close stops the jobs at a checkpoint, then closes replica, volumes and
// the store (the reverse of open); it closes whatever open got to.
func (e *storageEnv) close() {
	var errs []error
	if e.jobs != nil {
		errs = append(errs, e.jobs.Close())
	}
	if e.repl != nil {
		errs = append(errs, e.repl.Close())
	}
	if e.vols != nil {
		errs = append(errs, e.vols.Close())
	}
	if e.db != nil {
		errs = append(errs, e.db.Close())
	}
	if err := errors.Join(errs...); err != nil {
		e.t.Errorf("close: %v", err)
	}
	e.db, e.vols, e.jobs, e.repl, e.p, e.reg = nil, nil, nil, nil, nil, nil
}

// restart closes the provider and the store and opens them again on the
// same data directory, as a daemon restart does.
func (e *storageEnv) restart() {
	e.t.Helper()
	e.close()
	e.open()
}

// createVolume makes a volume through the domain.
func (e *storageEnv) createVolume(pool, name string, size uint64) *volumes.Volume {
	e.t.Helper()
	v, err := e.p.volumes.Create(context.Background(), pool, name, size)
	if err != nil {
		e.t.Fatalf("create volume %s: %v", name, err)
	}
	return v
}

// pair makes tgt a Clone of src through replica (a real synchronization
// record) and waits for the copy.
func (e *storageEnv) pair(src, tgt *volumes.Volume) {
	e.t.Helper()
	ctx := context.Background()
	res, err := e.p.repl.svc.Replicate(ctx, replica.Request{Shape: replica.ShapeElement, SyncType: replica.SyncTypeClone,
		SourceElement: src.ID, TargetElement: tgt.ID})
	if err != nil {
		e.t.Fatalf("pair %s → %s: %v", src.Name, tgt.Name, err)
	}
	if j, err := e.p.jobs.Wait(ctx, res.JobID); err != nil || j.State != jobqueue.StateCompleted {
		e.t.Fatalf("copy %s → %s: %v, %v", src.Name, tgt.Name, j.State, err)
	}
}

// state is what bad input must not change: the volumes in the store and
// the files under pools/.
func (e *storageEnv) state() string {
	e.t.Helper()
	vols, err := e.p.volumes.List(context.Background(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	var lines []string
	for _, v := range vols {
		lines = append(lines, "volume "+v.Pool+"/"+v.Name+" "+string(v.ID))
	}
	root := filepath.Join(e.dataDir, "pools")
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		lines = append(lines, "file "+rel+" "+info.Mode().String())
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// invoke calls method on the storage configuration service through the
// registry's method router with params (XML children of the INPUT element).
func (e *storageEnv) invoke(method string, params ...string) (cimmodel.Result, error) {
	e.t.Helper()
	uri := cimmodel.ResourceURI(Namespace, storageConfigurationServiceClassName)
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<p:` + method + `_INPUT xmlns:p="` + uri + `">` + strings.Join(params, "") + `</p:` + method + `_INPUT>`); err != nil {
		e.t.Fatalf("input XML: %v", err)
	}
	res, _, err := e.reg.Invoke(context.Background(), e.p.servicePath(storageConfigurationServiceClassName), method, doc.Root())
	var ipe *cimmodel.InvalidParameterError
	if errors.As(err, &ipe) {
		return res, nil // the router answered ReturnValue 5 itself
	}
	return res, err
}

// param is a scalar parameter element.
func param(name, value string) string {
	e := etree.NewElement("p:" + name)
	e.SetText(value)
	return elementString(e)
}

// refParam is a reference parameter element holding path's EPR.
func refParam(name string, path cimmodel.ObjectPath) string {
	e := etree.NewElement("p:" + name)
	path.WriteEPR(e, "")
	return elementString(e)
}

func elementString(e *etree.Element) string {
	doc := etree.NewDocument()
	doc.SetRoot(e)
	s, err := doc.WriteToString()
	if err != nil {
		panic(err)
	}
	return s
}

// outRef returns a reference out-parameter of res.
func outRef(t *testing.T, res cimmodel.Result, name string) cimmodel.ObjectPath {
	t.Helper()
	p, ok := res.Out[name].AsRef()
	if !ok {
		t.Fatalf("out-parameter %s = %v, want a reference", name, res.Out[name])
	}
	return p
}

func uint64Of(t *testing.T, inst *cimmodel.Instance, name string) uint64 {
	t.Helper()
	n, ok := inst.Get(name).AsUint64()
	if !ok {
		t.Fatalf("%s = %v, want a number", name, inst.Get(name))
	}
	return n
}

func stringOf(inst *cimmodel.Instance, name string) string {
	s, _ := inst.Get(name).AsString()
	return s
}
