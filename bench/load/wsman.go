package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/client"
)

// The classes the load mix addresses.
const (
	namespace    = "root/cimv2/storage/iscsitarget"
	classService = "MSISCSITARGET_ReplicationService"
	classVolume  = "MSISCSITARGET_StorageVolume"
	quotaSubcode = "QuotaLimit"
)

// errQuota marks a request the daemon shed with a QuotaLimit fault.
var errQuota = errors.New("load: QuotaLimit fault")

// loadClient sends the load mix through the client package, as one user.
type loadClient struct {
	c    *client.Client // Basic logon
	anon *client.Client // no credentials: Identify with WSMANIDENTIFY: unauthenticated
	slow *client.Client // Basic logon, each request body sent in two halves slowDelay apart
}

// slowDelay is the pause inside a slow client's request body.
const slowDelay = 100 * time.Millisecond

// newLoadClient returns the clients of user at url over httpc's transport.
func newLoadClient(httpc *http.Client, url, user, password string) *loadClient {
	slow := &http.Client{Transport: &slowTransport{base: httpc.Transport, delay: slowDelay}, Timeout: httpc.Timeout}
	return &loadClient{
		c:    client.New(url, user, password, client.Options{HTTPClient: httpc}),
		anon: client.New(url, "", "", client.Options{HTTPClient: httpc}),
		slow: client.New(url, user, password, client.Options{HTTPClient: slow}),
	}
}

// quota turns a QuotaLimit fault into errQuota.
func quota(err error) error {
	var f *client.Fault
	if errors.As(err, &f) && f.Subcode == quotaSubcode {
		return fmt.Errorf("%w: %w", errQuota, err)
	}
	return err
}

func (l *loadClient) identify(ctx context.Context) error {
	_, err := l.anon.Identify(ctx)
	return quota(err)
}

func (l *loadClient) get(ctx context.Context, path cimmodel.ObjectPath) error {
	_, err := l.c.Get(ctx, path)
	return quota(err)
}

// getSlow is a Get whose body arrives in two halves slowDelay apart.
func (l *loadClient) getSlow(ctx context.Context, path cimmodel.ObjectPath) error {
	_, err := l.slow.Get(ctx, path)
	return quota(err)
}

// enumeratePull enumerates class one item per message (Enumerate, then Pull
// until EndOfSequence) and returns the instances' paths.
func (l *loadClient) enumeratePull(ctx context.Context, class string) ([]cimmodel.ObjectPath, error) {
	insts, err := l.c.Enumerate(ctx, namespace, class, client.EnumerateOptions{MaxElements: 1})
	if err != nil {
		return nil, quota(err)
	}
	out := make([]cimmodel.ObjectPath, 0, len(insts))
	for _, inst := range insts {
		if inst.Path == nil {
			return nil, fmt.Errorf("load: enumerate %s: an item without its EPR", class)
		}
		out = append(out, *inst.Path)
	}
	return out, nil
}

// enumerateVolumes enumerates the volumes enumPage a message (an
// optimized Enumerate, then Pulls until EndOfSequence) and requires all
// volumeCount.
func (l *loadClient) enumerateVolumes(ctx context.Context) error {
	return enumerateVolumes(ctx, l.c)
}

// enumerateVolumes is enumerateVolumes through c.
func enumerateVolumes(ctx context.Context, c *client.Client) error {
	insts, err := c.Enumerate(ctx, namespace, classVolume, client.EnumerateOptions{MaxElements: enumPage})
	if err != nil {
		return quota(err)
	}
	if len(insts) != volumeCount {
		return fmt.Errorf("load: enumerate %s: %d volumes, want %d", classVolume, len(insts), volumeCount)
	}
	return nil
}

// invokeCandidates invokes GetAvailableTargetElements, a read-only method,
// and requires ReturnValue 0.
func (l *loadClient) invokeCandidates(ctx context.Context, service, volume cimmodel.ObjectPath) error {
	const method = "GetAvailableTargetElements"
	out, err := l.c.Invoke(ctx, service, method, []client.Arg{client.Ref("SourceElement", volume), client.Uint("SyncType", 8)})
	if err != nil {
		return quota(err)
	}
	if out.ReturnValue != 0 {
		return fmt.Errorf("load: %s: ReturnValue %d, want 0 (%s)", method, out.ReturnValue, out.Reason())
	}
	return nil
}

// slowTransport sends each request body in two halves delay apart: between
// them it keeps a request (and the daemon's slot) open, as a slow client on
// a poor link does.
type slowTransport struct {
	base  http.RoundTripper
	delay time.Duration
}

// RoundTrip sends req with its body split by the pause.
func (t *slowTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil {
		return t.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("load: read request body: %w", err)
	}
	half := len(body) / 2
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:half]), &slowReader{delay: t.delay}, bytes.NewReader(body[half:])))
	r.ContentLength = int64(len(body))
	r.GetBody = nil
	return t.base.RoundTrip(r)
}

// slowReader yields nothing for its delay, then EOF.
type slowReader struct {
	delay time.Duration
	done  bool
}

func (r *slowReader) Read([]byte) (int, error) {
	if !r.done {
		time.Sleep(r.delay)
		r.done = true
	}
	return 0, io.EOF
}
