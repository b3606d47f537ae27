// Command load drives a replicad daemon on loopback with many concurrent
// WS-Management clients for a bounded time and request count, and reports
// throughput, latency percentiles, errors and the daemon's peak memory. It
// knows nothing of replicad's internals: it speaks only WS-Management over
// HTTP with Basic authentication, through the client package replicactl
// uses (slow clients through an HTTP transport that pauses inside each
// request body).
//
// By default it starts its own daemon (-replicad BINARY) on 127.0.0.1:0 with a
// fresh data folder holding ten small volumes, so that every request kind has
// something to act on. Before the phases it measures, in interleaved rounds,
// the daemon's Get requests/s and its enumerations of the ten volumes
// (Enumerate and Pull of five each)/s against a bare net/http handler's
// requests/s (the handler in a process of its own, as the daemon), and prints both ratios (the RATIO line). The run has two phases:
//
//   - steady: -clients clients (below the daemon's MaxConcurrentRequests) mix
//     Identify, Get, Enumerate/Pull of the ten volumes and Invoke (GetAvailableTargetElements)
//     for -duration or -requests requests, whichever ends first; every request
//     must succeed.
//   - burst: -burst-clients clients (above MaxConcurrentRequests) send
//     requests at once; the daemon must shed the excess with a QuotaLimit
//     fault, not fail or fall over, and answer normally afterwards.
//
// The last line is machine-readable (key=value) for scripts/reliability.sh.
// The exit status is 1 when a request failed other than by QuotaLimit, when
// the burst was not shed, when the daemon died, or when its peak resident
// memory (VmHWM) exceeded -max-rss-mib.
package main
