package client_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/replicad/replicad/client"
)

// replay is an HTTP transport that answers each Enumerate, Pull and Get
// with a recorded answer of the real server, so that a benchmark measures
// the client's own work only (request, answer parse, instances).
type replay struct {
	mu      sync.Mutex
	record  http.RoundTripper // nil: replay
	answers map[string][]byte // by action: "Enumerate", "Pull", "Get"
}

func (r *replay) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	action := "Enumerate"
	switch {
	case bytes.Contains(body, []byte("/enumeration/Pull<")):
		action = "Pull"
	case bytes.Contains(body, []byte("/transfer/Get<")):
		action = "Get"
	}
	if r.record != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		resp, err := r.record.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		answer, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.answers[action] = answer
		r.mu.Unlock()
		resp.Body = io.NopCloser(bytes.NewReader(answer))
		return resp, nil
	}
	answer := r.answers[action]
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/soap+xml;charset=UTF-8"}},
		Body:          io.NopCloser(bytes.NewReader(answer)),
		ContentLength: int64(len(answer)),
		Request:       req,
	}, nil
}

// BenchmarkEnumerateVolumes is the client's side of an enumeration of
// bench/load: 10 volumes, an optimized Enumerate and a Pull of 5 each
// (replies of about 8 KB), the answers those of the real server replayed
// without a network. Compare with the server's side, BenchmarkRequestPath
// in wsman.
func BenchmarkEnumerateVolumes(b *testing.B) {
	srv := serverWithVolumes(b, 10)
	ctx := context.Background()
	rec := &replay{record: http.DefaultTransport, answers: map[string][]byte{}}
	rc := client.New(srv.URL+"/wsman", user, password, client.Options{HTTPClient: &http.Client{Transport: rec}})
	enumerate := func() {
		vols, err := rc.Enumerate(ctx, ns, "MSISCSITARGET_StorageVolume", client.EnumerateOptions{MaxElements: 5})
		if err != nil || len(vols) != 10 || vols[9].Path == nil || !strings.HasPrefix(vols[9].Get("ElementName"), "vol") {
			b.Fatalf("enumerated %d volumes, %v", len(vols), err)
		}
	}
	enumerate()
	rec.record = nil
	b.ReportAllocs()
	b.SetBytes(int64(len(rec.answers["Enumerate"]) + len(rec.answers["Pull"])))
	for b.Loop() {
		enumerate()
	}
}

// serverWithVolumes starts a server holding n volumes.
func serverWithVolumes(b *testing.B, n int) *httptest.Server {
	srv, c := newServer(b)
	ctx := context.Background()
	svcs, err := c.Enumerate(ctx, ns, "MSISCSITARGET_StorageConfigurationService", client.EnumerateOptions{})
	if err != nil || len(svcs) != 1 {
		b.Fatalf("storage configuration service: %v (%d found)", err, len(svcs))
	}
	for i := range n {
		out, err := c.Invoke(ctx, *svcs[0].Path, "CreateOrModifyElementFromStoragePool", []client.Arg{
			client.Text("ElementName", fmt.Sprintf("vol%d", i)), client.Uint("ElementType", 5), client.Uint("Size", 1<<20),
		})
		if err != nil || out.ReturnValue != 0 {
			b.Fatalf("create volume: %v, %+v", err, out)
		}
	}
	return srv
}

// BenchmarkGetVolume is the client's side of a Get of bench/load's daemon
// request: one volume fetched by its path (a reply of about 3 KB), the
// answer that of the real server replayed without a network.
func BenchmarkGetVolume(b *testing.B) {
	srv := serverWithVolumes(b, 1)
	ctx := context.Background()
	rec := &replay{record: http.DefaultTransport, answers: map[string][]byte{}}
	rc := client.New(srv.URL+"/wsman", user, password, client.Options{HTTPClient: &http.Client{Transport: rec}})
	vols, err := rc.Enumerate(ctx, ns, "MSISCSITARGET_StorageVolume", client.EnumerateOptions{})
	if err != nil || len(vols) != 1 || vols[0].Path == nil {
		b.Fatalf("enumerated %d volumes, %v", len(vols), err)
	}
	path := *vols[0].Path
	get := func() {
		v, err := rc.Get(ctx, path)
		if err != nil || v.Get("ElementName") != "vol0" {
			b.Fatalf("Get: %v, %+v", err, v)
		}
	}
	get()
	rec.record = nil
	b.ReportAllocs()
	b.SetBytes(int64(len(rec.answers["Get"])))
	for b.Loop() {
		get()
	}
}
