// Package metrics owns replicad's operational endpoints: Prometheus metrics
// (HTTP requests by method and status with a latency histogram, requests in
// flight, jobs by state, bytes copied and copy throughput) served on /metrics,
// and the /healthz liveness answer. It knows nothing of SOAP, CIM, WS-Management
// actions or how jobs and copies work: the daemon wraps its handler with
// Middleware, and the parts that copy or run jobs feed the collector
// functions (AddBytesCopied, ObserveCopy, Options.JobStates).
//
// Each Metrics has its own prometheus.Registry, so that tests and several
// daemons in one process do not share state.
package metrics
