package provider

import (
	"errors"
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/iscsi"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// Namespace is the CIM namespace of the iSCSI target's storage classes, as
// Windows names it (Root\CIMv2\Storage\iScsiTarget).
const Namespace = "root/cimv2/storage/iscsitarget"

// Config holds what New needs: the domain services the classes map onto,
// opened (and later closed) by their owner, cmd/replicad's Main.
type Config struct {
	// Volumes serves the storage pools and volumes.
	Volumes *volumes.Service
	// Jobs is the job queue behind CIM_ConcreteJob; its owner starts it
	// once replica has registered its job handlers.
	Jobs *jobqueue.Queue
	// Replica is the replication domain behind the replication classes.
	Replica *replica.Service
	// ISCSI is the iSCSI data plane behind the masking and iSCSI classes
	// (provider/masking*.go, provider/iscsi*.go); nil when it is off
	// (--iscsi=off): those classes then enumerate nothing and their methods
	// answer Not Supported.
	ISCSI  *iscsi.Service
	Logger *zap.Logger
	// SystemName names the hosting computer system (default: the host name).
	SystemName string
}

// Provider serves replicad's CIM classes over the domain services it is
// given. Create it with New and declare its classes with Register; it opens
// and closes nothing itself.
type Provider struct {
	logger  *zap.Logger
	system  string
	volumes *volumes.Service
	jobs    *jobqueue.Queue
	repl    replicationState
	iscsi   iscsiBackend
}

// New returns the provider of the classes over the services in cfg.
func New(cfg Config) (*Provider, error) {
	if cfg.Volumes == nil || cfg.Jobs == nil || cfg.Replica == nil {
		return nil, errors.New("provider: new: Volumes, Jobs and Replica are required")
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
	p := &Provider{logger: cfg.Logger, system: cfg.SystemName, volumes: cfg.Volumes, jobs: cfg.Jobs,
		repl: replicationState{svc: cfg.Replica}}
	if cfg.ISCSI != nil {
		p.iscsi = cfg.ISCSI
	}
	return p, nil
}

// Register declares every class of the provider to reg, parents first: the
// DMTF base classes, the storage classes, then the replication classes.
func (p *Provider) Register(reg *cimmodel.Registry) error {
	var classes []*cimmodel.Class
	classes = append(classes, schemaClasses()...)
	classes = append(classes, p.systemClasses()...)
	classes = append(classes, p.storageClasses()...)
	classes = append(classes, p.replicationClasses()...)
	classes = append(classes, p.maskingClasses()...)
	declareExtendedStatus(classes)
	classes = append(classes, p.interopClasses(reg)...) // SMI-S registration (interop.go)
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
