// Package providertest runs the provider on a real store and data folder
// for the tests of the packages above it (client, cmd/replicactl), with the
// domain services wired as cmd/replicad's Main wires them.
package providertest

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/provider"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// SystemName is the hosting system's name the provider of New reports.
const SystemName = "testhost"

// New opens store → volumes → jobqueue → replica in dir, the provider over
// them, and starts the job queue. When the test ends it stops the jobs,
// then closes replica, volumes and the store, in reverse order.
func New(t testing.TB, dir string) *provider.Provider {
	t.Helper()
	d := &domain{}
	t.Cleanup(func() {
		if err := d.close(); err != nil {
			t.Errorf("providertest: close: %v", err)
		}
	})
	if err := d.open(dir); err != nil {
		t.Fatalf("providertest: %v", err)
	}
	p, err := provider.New(provider.Config{Volumes: d.vols, Jobs: d.jobs, Replica: d.repl, SystemName: SystemName})
	if err != nil {
		t.Fatalf("providertest: %v", err)
	}
	d.jobs.Start()
	return p
}

// domain holds the services behind a provider.
type domain struct {
	db   *store.DB
	vols *volumes.Service
	jobs *jobqueue.Queue
	repl *replica.Service
}

// open opens the services in dir, in the daemon's order.
func (d *domain) open(dir string) error {
	var err error
	if d.db, err = store.Open(filepath.Join(dir, "state.db"), store.Options{}); err != nil {
		return err
	}
	if d.vols, err = volumes.Open(d.db, dir, volumes.Options{}); err != nil {
		return err
	}
	if d.jobs, err = jobqueue.Open(d.db, jobqueue.Options{}); err != nil {
		return err
	}
	d.repl, err = replica.Open(context.Background(), d.db, d.vols, d.jobs, replica.Options{})
	return err
}

// close closes whatever open opened, in reverse order.
func (d *domain) close() error {
	var errs []error
	if d.jobs != nil {
		errs = append(errs, d.jobs.Close())
	}
	if d.repl != nil {
		errs = append(errs, d.repl.Close())
	}
	if d.vols != nil {
		errs = append(errs, d.vols.Close())
	}
	if d.db != nil {
		errs = append(errs, d.db.Close())
	}
	return errors.Join(errs...)
}
