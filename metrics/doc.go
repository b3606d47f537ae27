// Package metrics owns replicad's operational endpoints: Prometheus metrics
// (HTTP requests by method and status with a latency histogram, requests in
// flight, jobs by state, bytes copied and copy throughput) served on /metrics,
// and the /healthz liveness answer. It knows nothing of SOAP, CIM, WS-Management
// actions or how jobs and copies work: the daemon wraps its handler with
// Middleware, passes its *Metrics to replica as the copy observer
// (replica.Options.Copies), whose copy jobs call AddBytesCopied and
// ObserveCopy, and gives New the callbacks read on every scrape
// (Options.JobStates, Replicas, Pools, Health).
//
// Each Metrics has its own prometheus.Registry, so that tests and several
// daemons in one process do not share state.
package metrics
