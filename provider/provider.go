package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// Namespace is the CIM namespace of the iSCSI target's storage classes, as
// Windows names it (Root\CIMv2\Storage\iScsiTarget).
const Namespace = "root/cimv2/storage/iscsitarget"

// Config holds what New needs.
type Config struct {
	DB      *store.DB
	DataDir string
	Logger  *zap.Logger
	// SystemName names the hosting computer system (default: the host name).
	SystemName string
	// JobWorkers bounds the jobs that run at once (default 2).
	JobWorkers int
	// CopyBandwidth caps each copy's data rate in bytes per second (0: unlimited).
	CopyBandwidth int64
	// MirrorLag bounds how long a write to a mirrored source goes unnoticed
	// (0: replica.DefaultMirrorLag).
	MirrorLag time.Duration
	// ScrubRate turns on the background scrub of Synchronized replicas at
	// this many bytes per second (0: off; replica.Options.ScrubRate).
	ScrubRate int64
	// MirrorScan is how often the mirror loop compares each mirror's whole
	// target with its source (0: replica.DefaultMirrorScan, negative:
	// never; replica.Options.MirrorScan).
	MirrorScan time.Duration
	// Copies is told of the bytes copy jobs write (replica.Options.Copies;
	// the daemon passes its metrics); nil counts nothing.
	Copies replica.CopyObserver
}

// Provider serves replicad's CIM classes. Create it with New, declare its
// classes with Register, and Close it on shutdown.
type Provider struct {
	cfg     Config
	logger  *zap.Logger
	system  string
	volumes *volumes.Service
	jobs    *jobqueue.Queue
	repl    replicationState
}

// New opens the domain behind the classes (volumes, jobs, replication) and
// starts the job queue, which resumes jobs interrupted by the last stop.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.DB == nil {
		return nil, errors.New("provider: no store")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.SystemName == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		cfg.SystemName = host
	}
	p := &Provider{cfg: cfg, logger: cfg.Logger, system: cfg.SystemName}
	var err error
	p.volumes, err = volumes.Open(cfg.DB, cfg.DataDir, volumes.Options{Logger: cfg.Logger.Named("volumes")})
	if err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	p.jobs, err = jobqueue.Open(cfg.DB, jobqueue.Options{Workers: cfg.JobWorkers, Logger: cfg.Logger.Named("jobqueue")})
	if err != nil {
		p.volumes.Close()
		return nil, fmt.Errorf("provider: %w", err)
	}
	if err := p.openReplication(ctx); err != nil {
		p.jobs.Close()
		p.volumes.Close()
		return nil, fmt.Errorf("provider: %w", err)
	}
	p.jobs.Start()
	return p, nil
}

// Close stops the jobs at a checkpoint and closes the domain, in reverse
// order of New. The store stays open; its owner closes it.
func (p *Provider) Close() error {
	return errors.Join(p.jobs.Close(), p.closeReplication(), p.volumes.Close())
}

// Register declares every class of the provider to reg, parents first: the
// DMTF base classes, the storage classes, then the replication classes.
func (p *Provider) Register(reg *cimmodel.Registry) error {
	var classes []*cimmodel.Class
	classes = append(classes, schemaClasses()...)
	classes = append(classes, p.systemClasses()...)
	classes = append(classes, p.storageClasses()...)
	classes = append(classes, p.replicationClasses()...)
	declareExtendedStatus(classes)
	for _, c := range classes {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("provider: %w", err)
		}
	}
	return nil
}

// JobStates counts the jobs in the queue by state name ("Running",
// "Completed", ...), for the replicad_jobs metric.
func (p *Provider) JobStates() (map[string]int, error) {
	jobs, err := p.jobs.List()
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, j := range jobs {
		counts[j.State.String()]++
	}
	return counts, nil
}
