package volumes

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Provisioning is how a pool's volumes take their space (see the package
// doc, "Space policy").
type Provisioning string

const (
	// Thin pools count what their volumes occupy (allocated bytes), not
	// their sizes: a sparse volume takes space as it is written. Create and
	// Grow check the pool's over-commit limit (the sum of its volumes'
	// sizes against a percentage of the filesystem's size), and CheckSpace
	// the bytes a copy will write against the free space.
	Thin Provisioning = "thin"
	// Thick pools count every volume at its full size: Create and Grow are
	// refused unless the free space holds the new bytes and every byte the
	// pool's volumes have not written yet (a reservation kept by
	// accounting: the files stay sparse).
	Thick Provisioning = "thick"
)

// Policy is a pool's provisioning policy.
type Policy struct {
	// Provisioning is Thin or Thick; "" is Thick.
	Provisioning Provisioning
	// OverCommitPercent caps a thin pool's provisioned bytes (the sum of
	// its volumes' sizes) at this percentage of its filesystem's size (500:
	// five times the filesystem); 0 means no limit. Thick pools ignore it.
	OverCommitPercent uint64
	// LowSpacePercent is the share of the filesystem's size below which the
	// free space is low: a warning is logged when a pool falls below it and
	// Pool.LowSpace is set (replicad_pool_low_space in /metrics); 0 never
	// warns.
	LowSpacePercent uint64
}

// DefaultPolicy is the daemon's default: thin, provisioning up to five
// times the filesystem's size, warning below 10% free.
var DefaultPolicy = Policy{Provisioning: Thin, OverCommitPercent: 500, LowSpacePercent: 10}

// ProvisioningOptions choose each pool's Policy. The zero value makes every
// pool Thick without a low-space warning.
type ProvisioningOptions struct {
	// Default is the policy of every pool not named in Pools.
	Default Policy
	// Pools holds the policies of pools by name.
	Pools map[string]Policy
}

// ErrOverCommit is returned (in a *SpaceError) when a Create or Grow in a
// thin pool would take the pool's provisioned bytes over its over-commit
// limit.
var ErrOverCommit = errors.New("volumes: over-commit limit of pool reached")

// SpaceError reports a Create, Grow or CheckSpace that the pool's policy
// refuses. It matches ErrNoSpace (the free space does not hold the bytes)
// or ErrOverCommit (a thin pool's limit) with errors.Is.
type SpaceError struct {
	// Err is ErrNoSpace or ErrOverCommit.
	Err error
	// Pool is the pool's name and Policy its policy.
	Pool   string
	Policy Policy
	// Requested is the number of bytes asked for: the size or growth
	// checked against the limit (ErrOverCommit), the bytes to be written
	// (ErrNoSpace).
	Requested uint64
	// Available is the most the pool accepts now: the limit minus the
	// provisioned bytes, or the free space minus what thick volumes still
	// reserve.
	Available uint64
	// Detail says what was counted, for the message.
	Detail string
}

// Error names the pool, its policy, the bytes asked for and the most it
// accepts.
func (e *SpaceError) Error() string {
	return fmt.Sprintf("%v: %d bytes requested, %d available in pool %s (%s): %s",
		e.Err, e.Requested, e.Available, e.Pool, e.Policy, e.Detail)
}

// Unwrap returns ErrNoSpace or ErrOverCommit.
func (e *SpaceError) Unwrap() error { return e.Err }

// String is the policy as ParsePolicy reads it: "thick", "thin",
// "thin,overcommit=500%,low-space=10%".
func (p Policy) String() string {
	prov := p.Provisioning
	if prov == "" {
		prov = Thick
	}
	parts := []string{string(prov)}
	if prov == Thin && p.OverCommitPercent > 0 {
		parts = append(parts, fmt.Sprintf("overcommit=%d%%", p.OverCommitPercent))
	}
	if p.LowSpacePercent > 0 {
		parts = append(parts, fmt.Sprintf("low-space=%d%%", p.LowSpacePercent))
	}
	return strings.Join(parts, ",")
}

// ParsePolicy reads "thin" or "thick", optionally followed by
// ",overcommit=PCT" (thin only; 0 is no limit) and ",low-space=PCT"
// (percentages, the % sign optional). Unset numbers keep def's.
func ParsePolicy(s string, def Policy) (Policy, error) {
	parts := strings.Split(s, ",")
	p := def
	switch Provisioning(parts[0]) {
	case Thin, Thick:
		p.Provisioning = Provisioning(parts[0])
	default:
		return Policy{}, fmt.Errorf("volumes: policy %q: want thin or thick first", s)
	}
	for _, part := range parts[1:] {
		key, val, ok := strings.Cut(part, "=")
		n, err := strconv.ParseUint(strings.TrimSuffix(val, "%"), 10, 32)
		if !ok || err != nil {
			return Policy{}, fmt.Errorf("volumes: policy %q: %q is not NAME=PERCENT", s, part)
		}
		switch key {
		case "overcommit":
			if p.Provisioning != Thin {
				return Policy{}, fmt.Errorf("volumes: policy %q: overcommit applies to thin pools only", s)
			}
			if n != 0 && n < 100 {
				return Policy{}, fmt.Errorf("volumes: policy %q: overcommit below 100%% would refuse what fits; use thick", s)
			}
			p.OverCommitPercent = n
		case "low-space":
			if n > 100 {
				return Policy{}, fmt.Errorf("volumes: policy %q: low-space is at most 100%%", s)
			}
			p.LowSpacePercent = n
		default:
			return Policy{}, fmt.Errorf("volumes: policy %q: unknown setting %q (overcommit, low-space)", s, key)
		}
	}
	return p, nil
}

// limit is the most a thin pool may provision on a filesystem of total
// bytes (0: no limit).
func (p Policy) limit(total uint64) uint64 {
	if p.Provisioning != Thin || p.OverCommitPercent == 0 {
		return 0
	}
	return mulDiv(total, p.OverCommitPercent, 100)
}

// low reports whether u's free space is below the policy's threshold.
func (p Policy) low(u fsUsage) bool {
	return p.LowSpacePercent > 0 && u.free < mulDiv(u.total, p.LowSpacePercent, 100)
}

// mulDiv is a*b/c without overflowing for the sizes of filesystems.
func mulDiv(a, b, c uint64) uint64 {
	if a > (1<<64-1)/b {
		return a / c * b
	}
	return a * b / c
}

// provisioner holds the policies and each pool's low-space state (so that
// a warning is logged when a pool falls below its threshold, not on every
// call).
type provisioner struct {
	opts ProvisioningOptions
	log  *zap.Logger

	mu  sync.Mutex
	low map[string]bool
}

func newProvisioner(opts ProvisioningOptions, log *zap.Logger) *provisioner {
	return &provisioner{opts: opts, log: log, low: make(map[string]bool)}
}

// policy is pool's policy.
func (pr *provisioner) policy(pool string) Policy {
	if pr == nil {
		return Policy{}
	}
	if p, ok := pr.opts.Pools[pool]; ok {
		return p
	}
	return pr.opts.Default
}

// observe records whether pool is low on space now, logging a warning when
// it falls below its threshold and a note when it is back above; it
// returns the state.
func (pr *provisioner) observe(pool string, u fsUsage) bool {
	if pr == nil {
		return false
	}
	pol := pr.policy(pool)
	low := pol.low(u)
	pr.mu.Lock()
	was := pr.low[pool]
	pr.low[pool] = low
	pr.mu.Unlock()
	switch {
	case low && !was:
		pr.log.Warn("pool low on space", zap.String("pool", pool), zap.Uint64("free_bytes", u.free),
			zap.Uint64("total_bytes", u.total), zap.Uint64("threshold_percent", pol.LowSpacePercent),
			zap.String("policy", pol.String()))
	case !low && was:
		pr.log.Info("pool space above its low-space threshold again", zap.String("pool", pool),
			zap.Uint64("free_bytes", u.free), zap.Uint64("total_bytes", u.total))
	}
	return low
}

// poolSpace is what a pool's space check counts.
type poolSpace struct {
	usage       fsUsage
	provisioned uint64    // sum of the pool's volume sizes
	unwritten   uint64    // sum over its volumes of size minus allocated bytes
	counted     time.Time // when unwritten was counted (tally.go)
}

// space reads the filesystem under root and the pool's tally (no record
// is read and no file stat'ed: tally.go).
func (s *Service) space(pool string, root *dirHandle) (poolSpace, error) {
	u, err := root.statFS()
	if err != nil {
		return poolSpace{}, err
	}
	f := s.tally.figures(pool)
	return poolSpace{usage: u, provisioned: f.provisioned, unwritten: f.unwritten, counted: f.counted}, nil
}

// checkSpace is the policy's check of a Create (had 0: a new volume of
// size bytes) or a Grow (of a volume that has had bytes already, to size)
// in pool, whose directory is root. It returns a *SpaceError when the pool
// refuses, and notes the pool's low-space state either way.
func (s *Service) checkSpace(pool string, root *dirHandle, size, had uint64) error {
	return s.checkPolicy(pool, root, size-had, 0)
}

// checkPolicy applies pool's policy to add provisioned bytes of which write
// are written at once. A thick pool's tally may overstate what its volumes
// have not written yet (never understate it: tally.go); before it refuses,
// it counts the pool's files and checks again.
func (s *Service) checkPolicy(pool string, root *dirHandle, add, write uint64) error {
	began := time.Now()
	pol := s.prov.policy(pool)
	for try := 0; ; try++ {
		sp, err := s.space(pool, root)
		if err != nil {
			return err
		}
		s.prov.observe(pool, sp.usage)
		err = pol.check(pool, sp, add, write)
		if err == nil || pol.Provisioning == Thin || try > 0 || !sp.counted.Before(began) {
			return err
		}
		if err := s.count(pool, true); err != nil {
			return err
		}
	}
}

// check applies p to a request in pool for add more provisioned bytes of
// which write will be written at once (a copy's allocated bytes).
func (p Policy) check(pool string, sp poolSpace, add, write uint64) error {
	if p.Provisioning == Thin {
		if limit := p.limit(sp.usage.total); limit > 0 && sp.provisioned+add > limit {
			return &SpaceError{Err: ErrOverCommit, Pool: pool, Policy: p, Requested: add, Available: sub(limit, sp.provisioned),
				Detail: fmt.Sprintf("%d bytes provisioned of a limit of %d (%d%% of the filesystem's %d)",
					sp.provisioned, limit, p.OverCommitPercent, sp.usage.total)}
		}
		if write > sp.usage.free {
			return &SpaceError{Err: ErrNoSpace, Pool: pool, Policy: p, Requested: write, Available: sp.usage.free,
				Detail: "bytes to be written against the filesystem's free space"}
		}
		return nil
	}
	if add+sp.unwritten > sp.usage.free {
		return &SpaceError{Err: ErrNoSpace, Pool: pool, Policy: p, Requested: add, Available: sub(sp.usage.free, sp.unwritten),
			Detail: fmt.Sprintf("%d bytes free on the filesystem, %d of them reserved for what the pool's thick volumes have not written yet",
				sp.usage.free, sp.unwritten)}
	}
	return nil
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// CheckSpace tells whether pool can take new volumes of sizeBytes in all
// that will have writeBytes written into them at once (a copy's allocated
// bytes): a thin pool checks the over-commit limit with sizeBytes and the
// free space with writeBytes, a thick pool the free space with sizeBytes.
// Replication calls it before it creates the targets of a copy. Errors: a
// *SpaceError (ErrNoSpace, ErrOverCommit), ErrPoolNotFound.
func (s *Service) CheckSpace(ctx context.Context, pool string, sizeBytes, writeBytes uint64) error {
	wrap := func(err error) error { return fmt.Errorf("check space in pool %s: %w", pool, err) }
	if err := s.checkOpen(ctx); err != nil {
		return wrap(err)
	}
	if CheckName(pool) != nil {
		return wrap(fmt.Errorf("%w: %q", ErrPoolNotFound, pool))
	}
	root, err := s.openPool(pool)
	if err != nil {
		return wrap(fmt.Errorf("%w: %v", ErrPoolNotFound, err))
	}
	defer root.Close()
	if err := s.checkPolicy(pool, root, sizeBytes, writeBytes); err != nil {
		return wrap(err)
	}
	return nil
}
