package provider

import (
	"context"
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/store"
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
}

// Provider serves replicad's CIM classes. Create it with New, declare its
// classes with Register, and Close it on shutdown.
type Provider struct {
	cfg    Config
	logger *zap.Logger
	system string
}

// New opens the domain behind the classes.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.DB == nil {
		return nil, fmt.Errorf("provider: no store")
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
	return &Provider{cfg: cfg, logger: cfg.Logger, system: cfg.SystemName}, nil
}

// Close stops the domain's background work.
func (p *Provider) Close() error { return nil }

// Register declares every class of the provider to reg, parents first.
func (p *Provider) Register(reg *cimmodel.Registry) error {
	classes := append(schemaClasses(), p.systemClasses()...)
	classes = append(classes, p.replicationServiceClass())
	for _, c := range classes {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("provider: %w", err)
		}
	}
	return nil
}
