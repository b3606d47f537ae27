package iscsi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// Options tune Open.
type Options struct {
	// Dir is a folder under the data folder for tgtd's control socket and
	// log; it is created with mode 0700.
	Dir string
	// Listen is the portal's host:port; "" means 127.0.0.1:3260.
	Listen string
	// Tgtd and Tgtadm are the programs' paths; "" means "tgtd" and "tgtadm"
	// looked up in $PATH.
	Tgtd, Tgtadm string
	// BaseIQN is the "iqn.<yyyy-mm>.<reverse host>" prefix of target IQNs
	// (target IQN = BaseIQN + ":" + name); "" means DefaultBaseIQN().
	BaseIQN string
	// Timeout bounds each tgtadm call; 0 means 10 seconds.
	Timeout time.Duration
	// Logger receives tgtd's restarts and reconcile fixes; nil means zap.NewNop().
	Logger *zap.Logger
}

// DefaultListen is the portal address when Options.Listen is "".
const DefaultListen = "127.0.0.1:3260"

// Service is the data plane: the targets in the store and the tgtd that
// serves them. Its methods are safe for concurrent use.
type Service struct {
	db   *store.DB
	vols *volumes.Service
	opts Options
	log  *zap.Logger

	// mu serializes every change of targets (store and tgtd) and reconcile.
	mu sync.Mutex
}

var errNotImplemented = errors.New("iscsi: not implemented yet")

// Open reads the targets from the store (buckets "iscsi.*") and checks the
// options; it does not start tgtd (Start does). It does not take ownership
// of db or vols: Close the Service before them.
func Open(db *store.DB, vols *volumes.Service, opts Options) (*Service, error) {
	if db == nil || vols == nil {
		return nil, errors.New("iscsi: open: nil store or volumes")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	return &Service{db: db, vols: vols, opts: opts, log: opts.Logger}, nil
}

// Start launches tgtd and supervises it until Close: when tgtd exits it is
// restarted with a growing backoff, and after every start the store's
// targets, LUNs and ACLs are re-created in it (reconcile). Start returns once
// the first reconcile is done.
func (s *Service) Start(ctx context.Context) error { return fmt.Errorf("start: %w", errNotImplemented) }

// Close stops the supervisor and tgtd (initiators lose their sessions).
// It is idempotent.
func (s *Service) Close() error { return nil }

// Portal is the address initiators connect to.
func (s *Service) Portal() Portal { return Portal{} }

// BaseIQN is the prefix of every target IQN.
func (s *Service) BaseIQN() string { return s.opts.BaseIQN }

// DefaultBaseIQN is the base IQN when Options.BaseIQN is "" on first start:
// "iqn.2026-12." followed by this host's name reversed (host.example.com →
// com.example.host). Open records the base IQN in the store so that target
// IQNs stay the same when the host is renamed.
func DefaultBaseIQN() string { return "iqn.2026-12.local.replicad" }
