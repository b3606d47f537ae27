package metrics_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/replicad/replicad/metrics"
)

// Pool numbers appear per pool, low space as 1; a failing read is a scrape
// error, not zeros.
func TestPoolMetrics(t *testing.T) {
	m := metrics.New(metrics.Options{Pools: func() ([]metrics.PoolStats, error) {
		return []metrics.PoolStats{
			{Name: "default", TotalBytes: 1000, FreeBytes: 50, ProvisionedBytes: 4000, AllocatedBytes: 900, LimitBytes: 5000, LowSpace: true},
			{Name: "fast", TotalBytes: 2000, FreeBytes: 1500},
		}, nil
	}})
	out := scrape(t, m)
	for _, want := range []string{
		`replicad_pool_size_bytes{pool="default"} 1000`,
		`replicad_pool_free_bytes{pool="default"} 50`,
		`replicad_pool_provisioned_bytes{pool="default"} 4000`,
		`replicad_pool_allocated_bytes{pool="default"} 900`,
		`replicad_pool_overcommit_limit_bytes{pool="default"} 5000`,
		`replicad_pool_low_space{pool="default"} 1`,
		`replicad_pool_low_space{pool="fast"} 0`,
		`replicad_pool_free_bytes{pool="fast"} 1500`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	bad := metrics.New(metrics.Options{Pools: func() ([]metrics.PoolStats, error) { return nil, errors.New("statfs failed") }})
	if out := scrapeStatus(t, bad); out == 200 {
		t.Errorf("a failing pool read answered 200")
	}
}

// scrapeStatus is the HTTP status of GET /metrics.
func scrapeStatus(t *testing.T, m *metrics.Metrics) int {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
