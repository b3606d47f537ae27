package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ErrUnhealthy is wrapped by the error /healthz reports when a health check
// fails.
var ErrUnhealthy = errors.New("metrics: unhealthy")

// Options configure New; the zero value works.
type Options struct {
	// JobStates, when set, is called on every scrape and returns the number
	// of jobs in each state (e.g. {"running": 2, "completed": 5}); it feeds
	// replicad_jobs{state}. A returned error is reported as a scrape error
	// for that metric only.
	JobStates func() (map[string]int, error)
	// Replicas, when set, is called on every scrape and feeds the
	// replicad_replica_* metrics: Broken synchronizations and the
	// verification counters. A returned error is reported as a scrape
	// error for those metrics only.
	Replicas func() (ReplicaStats, error)
	// Pools, when set, is called on every scrape and feeds the
	// replicad_pool_* metrics (pools.go), low space included.
	Pools func() ([]PoolStats, error)
	// Health, when set, is called by /healthz; a non-nil error answers 503.
	Health func(ctx context.Context) error
	// Process adds the Go runtime and process collectors (default off in
	// tests; the daemon turns it on).
	Process bool
}

// Metrics holds replicad's metrics. Its methods are safe for concurrent use.
type Metrics struct {
	registry *prometheus.Registry
	health   func(ctx context.Context) error

	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	inflight    prometheus.Gauge
	bytesCopied prometheus.Counter
	throughput  prometheus.Histogram
	bytesRead   *prometheus.CounterVec
}

// Namespace prefixes every metric name.
const Namespace = "replicad"

// New returns the metrics, registered in a registry of their own.
func New(opts Options) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		health:   opts.Health,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests to the WS-Management endpoint by method and status code.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time from the start of a request to the end of its answer, by method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_in_flight",
			Help: "Requests being served now.",
		}),
		bytesCopied: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "copy", Name: "bytes_total",
			Help: "Bytes written to replica targets by copy jobs.",
		}),
		throughput: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "copy", Name: "throughput_bytes_per_second",
			Help:    "Throughput of finished copy runs (bytes copied divided by the run's duration).",
			Buckets: prometheus.ExponentialBuckets(1<<20, 2, 14), // 1 MiB/s .. 8 GiB/s
		}),
	}
	m.bytesRead = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "resync", Name: "read_bytes_total",
		Help: "Bytes that mirror catch-ups, Resyncs and Restores read (source and target) to find what changed, by whether they knew the changed blocks from replicad's own writes (tracked).",
	}, []string{"tracked"})
	m.registry.MustRegister(m.requests, m.latency, m.inflight, m.bytesCopied, m.throughput, m.bytesRead)
	if opts.JobStates != nil {
		m.registry.MustRegister(&jobCollector{states: opts.JobStates})
	}
	if opts.Replicas != nil {
		m.registry.MustRegister(&replicaCollector{stats: opts.Replicas})
	}
	if opts.Pools != nil {
		m.registry.MustRegister(&poolCollector{pools: opts.Pools})
	}
	if opts.Process {
		m.registry.MustRegister(collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// AddBytesCopied counts n bytes written to a replica target; copy handlers
// call it as they go (n <= 0 is ignored).
func (m *Metrics) AddBytesCopied(n int64) {
	if n > 0 {
		m.bytesCopied.Add(float64(n))
	}
}

// AddBytesRead counts n bytes a Resync pass read to find what changed;
// tracked says it worked from the blocks replicad itself wrote (n <= 0 is
// ignored).
func (m *Metrics) AddBytesRead(n int64, tracked bool) {
	if n > 0 {
		m.bytesRead.WithLabelValues(strconv.FormatBool(tracked)).Add(float64(n))
	}
}

// ObserveCopy records the throughput of one finished copy run of n bytes
// that took d. Runs shorter than a millisecond or without bytes are ignored:
// their rate says nothing.
func (m *Metrics) ObserveCopy(n int64, d time.Duration) {
	if n <= 0 || d < time.Millisecond {
		return
	}
	m.throughput.Observe(float64(n) / d.Seconds())
}

// Middleware counts every request next serves by method and HTTP status and
// records its duration. It reads neither the request nor the answer body.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inflight.Inc()
		defer m.inflight.Dec()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		method := methodLabel(r.Method)
		m.requests.WithLabelValues(method, strconv.Itoa(rec.status)).Inc()
		m.latency.WithLabelValues(method).Observe(time.Since(start).Seconds())
	})
}

// methodLabel bounds the label's values: unknown methods share one label.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// Handler returns the mux of the operations listener: /metrics in the
// Prometheus text format and /healthz.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", m.serveHealth)
	return mux
}

// serveHealth answers 200 "ok" or 503 with the failed check's error.
func (m *Metrics) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if m.health != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := m.health(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(errors.Join(ErrUnhealthy, err).Error() + "\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ok\n"))
}

// statusRecorder remembers the status a handler writes.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush passes flushes through, for handlers that stream.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// jobCollector reads job states on every scrape.
type jobCollector struct {
	states func() (map[string]int, error)
}

var jobsDesc = prometheus.NewDesc(Namespace+"_jobs", "Jobs known to the job queue, by state.", []string{"state"}, nil)

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	states, err := c.states()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	for state, n := range states {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), state)
	}
}

// ReplicaStats are the replication service's integrity numbers, read on
// every scrape.
type ReplicaStats struct {
	// Broken is the number of synchronizations in CopyState Broken now.
	Broken int
	// Verifications counts comparisons since the start (a pair on request,
	// a window of one by the scrub); VerifyMismatches the pairs found
	// different while they claimed Synchronized; BytesVerified the bytes
	// compared.
	Verifications, VerifyMismatches, BytesVerified uint64
	// ScrubPasses counts the scrub's completed passes.
	ScrubPasses uint64
}

// replicaCollector reads ReplicaStats on every scrape.
type replicaCollector struct {
	stats func() (ReplicaStats, error)
}

var (
	replicaBrokenDesc = prometheus.NewDesc(Namespace+"_replica_broken",
		"Synchronizations in CopyState Broken (a failed job or a verification mismatch; Resync Replica repairs them).", nil, nil)
	replicaVerificationsDesc = prometheus.NewDesc(Namespace+"_replica_verifications_total",
		"Comparisons of a replica with its source (a VerifyReplica, or a scrub window of up to 256 MiB).", nil, nil)
	replicaMismatchesDesc = prometheus.NewDesc(Namespace+"_replica_verify_mismatches_total",
		"Synchronized replica pairs found different from their source (each became Broken).", nil, nil)
	replicaVerifiedBytesDesc = prometheus.NewDesc(Namespace+"_replica_verified_bytes_total",
		"Bytes of replica pairs compared.", nil, nil)
	replicaScrubPassesDesc = prometheus.NewDesc(Namespace+"_replica_scrub_passes_total",
		"Completed scrub passes over every Synchronized pair.", nil, nil)
	replicaDescs = []*prometheus.Desc{replicaBrokenDesc, replicaVerificationsDesc, replicaMismatchesDesc,
		replicaVerifiedBytesDesc, replicaScrubPassesDesc}
)

func (c *replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range replicaDescs {
		ch <- d
	}
}

func (c *replicaCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.stats()
	if err != nil {
		for _, d := range replicaDescs {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(replicaBrokenDesc, prometheus.GaugeValue, float64(st.Broken))
	ch <- prometheus.MustNewConstMetric(replicaVerificationsDesc, prometheus.CounterValue, float64(st.Verifications))
	ch <- prometheus.MustNewConstMetric(replicaMismatchesDesc, prometheus.CounterValue, float64(st.VerifyMismatches))
	ch <- prometheus.MustNewConstMetric(replicaVerifiedBytesDesc, prometheus.CounterValue, float64(st.BytesVerified))
	ch <- prometheus.MustNewConstMetric(replicaScrubPassesDesc, prometheus.CounterValue, float64(st.ScrubPasses))
}
