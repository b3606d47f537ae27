package provider

import (
	"context"

	"github.com/replicad/replicad/cimmodel"
)

// replicationState is the replication domain behind the replication classes.
type replicationState struct{}

// openReplication opens the replication domain and registers its job
// handlers with p.jobs (before the queue starts).
func (p *Provider) openReplication(ctx context.Context) error { return nil }

// closeReplication stops the replication domain.
func (p *Provider) closeReplication() error { return nil }

// replicationClasses declares the replication classes: the replication
// service and its capabilities, groups, synchronizations and jobs.
func (p *Provider) replicationClasses() []*cimmodel.Class {
	return []*cimmodel.Class{p.replicationServiceClass()}
}
