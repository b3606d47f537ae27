package iscsi

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// Options tune Open.
type Options struct {
	// Dir is a folder under the data folder for tgtd's control socket, pid
	// file and log; it is created with mode 0700. Required.
	Dir string
	// Listen is the portal's host:port; "" means DefaultListen.
	Listen string
	// Tgtd and Tgtadm are the programs' paths; "" means "tgtd" and "tgtadm"
	// looked up in $PATH.
	Tgtd, Tgtadm string
	// BaseIQN is the "iqn.<yyyy-mm>.<reverse host>" prefix of target IQNs
	// (target IQN = BaseIQN + ":" + name). "" means the one recorded in the
	// store, or DefaultBaseIQN() on first start.
	BaseIQN string
	// Timeout bounds each tgtadm call; 0 means 10 seconds.
	Timeout time.Duration
	// DrainTimeout bounds Quiesce's wait for in-flight commands; 0 means
	// 10 seconds.
	DrainTimeout time.Duration
	// ReconcileEvery is how often tgtd is compared with the store besides
	// after each change and each start (drift: a LUN removed behind our
	// back, a volume file a copy replaced); 0 means 30 seconds, negative
	// never.
	ReconcileEvery time.Duration
	// Logger receives tgtd's restarts and reconcile fixes; nil means zap.NewNop().
	Logger *zap.Logger
}

// DefaultListen is the portal address when Options.Listen is "".
const DefaultListen = "127.0.0.1:3260"

// Service is the data plane: the targets in the store and the tgtd that
// serves them. Its methods are safe for concurrent use.
type Service struct {
	db      *store.DB
	vols    *volumes.Service
	opts    Options
	log     *zap.Logger
	baseIQN string
	portal  Portal
	adm     *tgtadm

	// mu serializes every change of targets (store and tgtd), reconcile
	// and the fields below.
	mu sync.Mutex
	// quiesced counts, per target name, the Quiesce calls not yet resumed;
	// reconcile keeps those targets offline.
	quiesced map[string]int
	// sup is the running supervisor; nil before Start and after Close.
	sup *supervisor
	// accounts are the CHAP accounts (user → secret) created in the
	// running tgtd; a new tgtd starts with none.
	accounts map[string]string
	// sizes are the file sizes tgtd opened its LUNs with (tgt reads a
	// size once); a LUN whose volume grew since is re-opened.
	sizes map[lunKey]int64
}

// Open reads the base IQN from the store (recording it on first start) and
// checks the options; it does not start tgtd (Start does). It does not take
// ownership of db or vols: Close the Service before them. A Service that is
// never started still answers ExposedIn from the store, so volumes can
// refuse to delete an exposed volume while the data plane is off.
func Open(db *store.DB, vols *volumes.Service, opts Options) (*Service, error) {
	if db == nil || vols == nil {
		return nil, errors.New("iscsi: open: nil store or volumes")
	}
	if opts.Dir == "" {
		return nil, errors.New("iscsi: open: no folder for tgtd (Options.Dir)")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.Tgtd == "" {
		opts.Tgtd = "tgtd"
	}
	if opts.Tgtadm == "" {
		opts.Tgtadm = "tgtadm"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.ReconcileEvery == 0 {
		opts.ReconcileEvery = 30 * time.Second
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 10 * time.Second
	}
	portal, err := parsePortal(opts.Listen)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("iscsi: open: %w", err)
	}
	opts.Dir = dir
	s := &Service{db: db, vols: vols, opts: opts, log: opts.Logger, portal: portal, quiesced: map[string]int{},
		adm: &tgtadm{path: opts.Tgtadm, socket: filepath.Join(dir, "tgtd.sock"), timeout: opts.Timeout}}
	if s.baseIQN, err = s.loadBaseIQN(opts.BaseIQN); err != nil {
		return nil, err
	}
	return s, nil
}

// parsePortal checks host:port and returns the portal.
func parsePortal(listen string) (Portal, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return Portal{}, fmt.Errorf("iscsi: listen address %q: %w", listen, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 || n > 65535 {
		return Portal{}, fmt.Errorf("iscsi: listen address %q: bad port", listen)
	}
	if net.ParseIP(host) == nil {
		return Portal{}, fmt.Errorf("iscsi: listen address %q: tgtd needs an IP address", listen)
	}
	return Portal{Address: host, Port: n, TPGT: 1}, nil
}

// loadBaseIQN returns the base IQN: want when given (recorded), else the
// recorded one, else DefaultBaseIQN() (recorded).
func (s *Service) loadBaseIQN(want string) (string, error) {
	if want != "" {
		if err := CheckIQN(want); err != nil {
			return "", fmt.Errorf("iscsi: base IQN: %w", err)
		}
	}
	var base string
	err := s.db.Update(func(tx *store.Tx) error {
		if _, err := tx.Get(bucketMeta, "base_iqn", &base); err != nil {
			return err
		}
		if want != "" && want != base {
			if base != "" {
				s.log.Warn("base IQN changed: every target's IQN changes", zap.String("was", base), zap.String("now", want))
			}
			base = want
		} else if base == "" {
			base = DefaultBaseIQN()
		}
		return tx.Put(bucketMeta, "base_iqn", base)
	})
	if err != nil {
		return "", fmt.Errorf("iscsi: base IQN: %w", err)
	}
	return base, nil
}

// Portal is the address initiators connect to.
func (s *Service) Portal() Portal { return s.portal }

// BaseIQN is the prefix of every target IQN.
func (s *Service) BaseIQN() string { return s.baseIQN }

func (s *Service) now() time.Time { return time.Now().UTC() }

// lunKey names one LUN of one tgtd target.
type lunKey struct{ tid, lun int }
