package wsman_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/replicad/replicad/wsman"
)

// countingListener counts the writes of the connections it accepts.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.l.writes.Add(1)
	return c.Conn.Write(p)
}

// TestLargeReplyOneWrite checks that a reply longer than net/http's 4 KiB
// connection buffer leaves the daemon's listener (LimitListener, with
// ConnContext wired as cmd/replicad wires them) in one write with its
// header, and arrives whole: an Enumerate of 40 widgets, about 8 KiB,
// and a small Pull after it.
func TestLargeReplyOneWrite(t *testing.T) {
	_, _, s := newTestServerWith(t, 40)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingListener{Listener: inner}
	hs := &http.Server{Handler: s.Handler(), ConnContext: s.ConnContext}
	var wg sync.WaitGroup
	wg.Go(func() { hs.Serve(wsman.LimitListener(counted, wsman.ConnLimits{}, nil)) })
	t.Cleanup(func() { hs.Close(); wg.Wait() })

	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	send := func(body []byte) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+inner.Addr().String()+"/wsman", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
		req.SetBasicAuth(testUser, testPass)
		before := counted.writes.Load()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || int64(len(out)) != resp.ContentLength {
			t.Fatalf("HTTP %d, %d bytes of %d, %v: %s", resp.StatusCode, len(out), resp.ContentLength, err, out)
		}
		if n := counted.writes.Load() - before; n != 1 {
			t.Errorf("a reply of %d bytes went out in %d writes, want 1", len(out), n)
		}
		return out
	}
	reply := send(enumerate(`<w:OptimizeEnumeration/><w:MaxElements>35</w:MaxElements>`))
	if len(reply) <= 4096 {
		t.Fatalf("the Enumerate's reply is %d bytes: too short to need two writes", len(reply))
	}
	if got := bytes.Count(reply, []byte("<p:Name>")); got != 35 {
		t.Errorf("the Enumerate's reply holds %d widgets, want 35", got)
	}
	_, rest, _ := bytes.Cut(reply, []byte("EnumerationContext>"))
	ctx, _, _ := bytes.Cut(rest, []byte("<"))
	if got := bytes.Count(send(pull(string(ctx), 10)), []byte("<p:Name>")); got != 5 {
		t.Errorf("the Pull's reply holds %d widgets, want 5", got)
	}
}
