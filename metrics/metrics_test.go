package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/replicad/replicad/metrics"
)

// scrape returns the /metrics text of m.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200\n%s", resp.StatusCode, body)
	}
	return string(body)
}

func TestMiddlewareCountsByMethodAndStatus(t *testing.T) {
	m := metrics.New(metrics.Options{})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fault":
			w.WriteHeader(http.StatusInternalServerError)
		case "/denied":
			http.Error(w, "no", http.StatusUnauthorized)
		default:
			_, _ = w.Write([]byte("ok")) // implicit 200
		}
	})
	srv := httptest.NewServer(m.Middleware(inner))
	defer srv.Close()
	for _, path := range []string{"/ok", "/ok", "/fault", "/denied"} {
		resp, err := http.Post(srv.URL+path, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	text := scrape(t, m)
	tests := []struct{ name, want string }{
		{"200", `replicad_http_requests_total{code="200",method="POST"} 2`},
		{"500", `replicad_http_requests_total{code="500",method="POST"} 1`},
		{"401", `replicad_http_requests_total{code="401",method="POST"} 1`},
		{"latency count", `replicad_http_request_duration_seconds_count{method="POST"} 4`},
		{"in flight back to 0", `replicad_http_requests_in_flight 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(text, tt.want+"\n") {
				t.Errorf("metrics lack %q; got:\n%s", tt.want, text)
			}
		})
	}
}

func TestCopyMetrics(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.AddBytesCopied(1 << 20)
	m.AddBytesCopied(-5) // ignored
	m.AddBytesCopied(1 << 20)
	m.ObserveCopy(64<<20, time.Second)
	m.ObserveCopy(64<<20, 0) // ignored: no duration
	m.ObserveCopy(0, time.Second)
	text := scrape(t, m)
	for _, want := range []string{
		"replicad_copy_bytes_total 2.097152e+06\n",
		"replicad_copy_throughput_bytes_per_second_count 1\n",
		"replicad_copy_throughput_bytes_per_second_sum 6.7108864e+07\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q; got:\n%s", want, text)
		}
	}
}

func TestJobStates(t *testing.T) {
	tests := []struct {
		name   string
		states func() (map[string]int, error)
		want   []string
		status int
	}{
		{"counts", func() (map[string]int, error) { return map[string]int{"running": 2, "completed": 5}, nil },
			[]string{`replicad_jobs{state="completed"} 5`, `replicad_jobs{state="running"} 2`}, 200},
		{"none", func() (map[string]int, error) { return map[string]int{}, nil }, nil, 200},
		{"error", func() (map[string]int, error) { return nil, errors.New("store closed") }, nil, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New(metrics.Options{JobStates: tt.states})
			srv := httptest.NewServer(m.Handler())
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d\n%s", resp.StatusCode, tt.status, body)
			}
			for _, want := range tt.want {
				if !strings.Contains(string(body), want+"\n") {
					t.Errorf("metrics lack %q; got:\n%s", want, body)
				}
			}
			if tt.status != 200 {
				return
			}
			n := strings.Count(string(body), "\nreplicad_jobs{")
			if n != len(tt.want) {
				t.Errorf("replicad_jobs series = %d, want %d", n, len(tt.want))
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name   string
		health func(context.Context) error
		status int
		body   string
	}{
		{"no check", nil, 200, "ok\n"},
		{"check passes", func(context.Context) error { return nil }, 200, "ok\n"},
		{"check fails", func(context.Context) error { return errors.New("store: closed") }, 503, "metrics: unhealthy\nstore: closed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(metrics.New(metrics.Options{Health: tt.health}).Handler())
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || string(body) != tt.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
		})
	}
}

func TestOnlyGETIsServed(t *testing.T) {
	srv := httptest.NewServer(metrics.New(metrics.Options{}).Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusMethodNotAllowed; got != want {
		t.Errorf("POST /metrics = %d, want %d", got, want)
	}
}

func TestReplicaStats(t *testing.T) {
	m := metrics.New(metrics.Options{Replicas: func() (metrics.ReplicaStats, error) {
		return metrics.ReplicaStats{Broken: 2, Verifications: 7, VerifyMismatches: 3, BytesVerified: 4096, ScrubPasses: 5}, nil
	}})
	text := scrape(t, m)
	for _, want := range []string{
		"replicad_replica_broken 2",
		"replicad_replica_verifications_total 7",
		"replicad_replica_verify_mismatches_total 3",
		"replicad_replica_verified_bytes_total 4096",
		"replicad_replica_scrub_passes_total 5",
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q; got:\n%s", want, text)
		}
	}
	failing := metrics.New(metrics.Options{Replicas: func() (metrics.ReplicaStats, error) {
		return metrics.ReplicaStats{}, errors.New("store closed")
	}})
	srv := httptest.NewServer(failing.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("a failing Replicas answers %d, want 500", resp.StatusCode)
	}
}
