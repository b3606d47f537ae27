package metrics_test

import (
	"strings"
	"testing"

	"github.com/replicad/replicad/metrics"
)

// TestResyncReadMetrics: the bytes Resync passes read are counted apart for
// tracked and untracked passes; nothing is ignored.
func TestResyncReadMetrics(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.AddBytesRead(1<<20, false)
	m.AddBytesRead(64<<10, true)
	m.AddBytesRead(-1, true) // ignored
	text := scrape(t, m)
	for _, want := range []string{
		`replicad_resync_read_bytes_total{tracked="false"} 1.048576e+06` + "\n",
		`replicad_resync_read_bytes_total{tracked="true"} 65536` + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q; got:\n%s", want, text)
		}
	}
}
