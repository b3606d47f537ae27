package metrics

import "github.com/prometheus/client_golang/prometheus"

// PoolStats are one storage pool's space numbers, read on every scrape.
type PoolStats struct {
	// Name is the pool's name (the pool label).
	Name string
	// TotalBytes is its filesystem's size, FreeBytes what the daemon may
	// still write there, ProvisionedBytes the sum of its volumes' sizes,
	// AllocatedBytes the disk space its volume files occupy.
	TotalBytes, FreeBytes, ProvisionedBytes, AllocatedBytes uint64
	// LimitBytes is a thin pool's over-commit limit (0: none).
	LimitBytes uint64
	// LowSpace reports that FreeBytes is below the pool's low-space
	// threshold.
	LowSpace bool
}

// poolCollector reads PoolStats on every scrape.
type poolCollector struct {
	pools func() ([]PoolStats, error)
}

var (
	poolLabels          = []string{"pool"}
	poolTotalDesc       = prometheus.NewDesc(Namespace+"_pool_size_bytes", "Size of the filesystem holding the pool.", poolLabels, nil)
	poolFreeDesc        = prometheus.NewDesc(Namespace+"_pool_free_bytes", "Bytes the daemon may still write on the pool's filesystem (statfs f_bavail).", poolLabels, nil)
	poolProvisionedDesc = prometheus.NewDesc(Namespace+"_pool_provisioned_bytes", "Sum of the sizes of the pool's volumes (sparse: may exceed the filesystem).", poolLabels, nil)
	poolAllocatedDesc   = prometheus.NewDesc(Namespace+"_pool_allocated_bytes", "Disk space the pool's volume files occupy.", poolLabels, nil)
	poolLimitDesc       = prometheus.NewDesc(Namespace+"_pool_overcommit_limit_bytes", "A thin pool's over-commit limit on provisioned bytes (0: none).", poolLabels, nil)
	poolLowSpaceDesc    = prometheus.NewDesc(Namespace+"_pool_low_space", "1 while the pool's free space is below its low-space threshold.", poolLabels, nil)
	poolDescs           = []*prometheus.Desc{poolTotalDesc, poolFreeDesc, poolProvisionedDesc, poolAllocatedDesc, poolLimitDesc, poolLowSpaceDesc}
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range poolDescs {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	pools, err := c.pools()
	if err != nil {
		for _, d := range poolDescs {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
		return
	}
	for _, p := range pools {
		low := 0.0
		if p.LowSpace {
			low = 1
		}
		for d, v := range map[*prometheus.Desc]float64{poolTotalDesc: float64(p.TotalBytes), poolFreeDesc: float64(p.FreeBytes),
			poolProvisionedDesc: float64(p.ProvisionedBytes), poolAllocatedDesc: float64(p.AllocatedBytes),
			poolLimitDesc: float64(p.LimitBytes), poolLowSpaceDesc: low} {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, p.Name)
		}
	}
}
