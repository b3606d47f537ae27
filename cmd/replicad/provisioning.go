package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/metrics"
	"github.com/replicad/replicad/volumes"
)

// defaultPolicyFlag is --provisioning: the policy of every pool that
// --pool-policy does not name.
type defaultPolicyFlag struct{ p *volumes.ProvisioningOptions }

func (f defaultPolicyFlag) String() string {
	if f.p == nil {
		return ""
	}
	return f.p.Default.String()
}

func (f defaultPolicyFlag) Set(s string) error {
	pol, err := volumes.ParsePolicy(s, volumes.DefaultPolicy)
	if err != nil {
		return err
	}
	f.p.Default = pol
	return nil
}

// poolPolicyFlag is --pool-policy NAME=POLICY, repeatable: one pool's
// policy (unset numbers from --provisioning's defaults).
type poolPolicyFlag struct{ p *volumes.ProvisioningOptions }

func (f poolPolicyFlag) String() string {
	if f.p == nil {
		return ""
	}
	var out []string
	for name, pol := range f.p.Pools {
		out = append(out, name+"="+pol.String())
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func (f poolPolicyFlag) Set(s string) error {
	name, policy, ok := strings.Cut(s, "=")
	if !ok || volumes.CheckName(name) != nil {
		return fmt.Errorf("want NAME=POLICY with a valid pool name, not %q", s)
	}
	pol, err := volumes.ParsePolicy(policy, volumes.DefaultPolicy)
	if err != nil {
		return err
	}
	if f.p.Pools == nil {
		f.p.Pools = map[string]volumes.Policy{}
	}
	f.p.Pools[name] = pol
	return nil
}

// poolStats feeds the replicad_pool_* metrics from the volumes service.
func (m *Main) poolStats() ([]metrics.PoolStats, error) {
	if m.Volumes == nil {
		return nil, nil
	}
	pools, err := m.Volumes.Pools(context.Background())
	if err != nil {
		return nil, err
	}
	out := make([]metrics.PoolStats, 0, len(pools))
	for _, p := range pools {
		out = append(out, metrics.PoolStats{Name: p.Name, TotalBytes: p.TotalBytes, FreeBytes: p.FreeBytes,
			ProvisionedBytes: p.ProvisionedBytes, AllocatedBytes: p.AllocatedBytes, LimitBytes: p.SpaceLimitBytes,
			LowSpace: p.LowSpace})
	}
	return out, nil
}

// poolWatchInterval is how often watchPools looks at the pools' space.
const poolWatchInterval = time.Minute

// watchPools reads every pool's space each interval, so that a pool falling
// below its low-space threshold (a copy filling it, another program) is
// logged even when nobody creates a volume or scrapes /metrics. It returns
// when ctx ends or the volumes service is closed.
func (m *Main) watchPools(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := m.Volumes.Pools(ctx); errors.Is(err, volumes.ErrClosed) || ctx.Err() != nil {
			return
		} else if err != nil {
			m.Logger.Warn("read pool space", zap.Error(err))
		}
	}
}
