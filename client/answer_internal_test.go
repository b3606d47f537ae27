package client

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// An answer that announces far more than it sends makes the client hold what
// arrived, not what was announced.
func TestReadAnswerHoldsWhatArrived(t *testing.T) {
	resp := &http.Response{ContentLength: 60 << 20, Body: io.NopCloser(strings.NewReader("<short/>"))}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, err := readAnswer(resp)
	runtime.ReadMemStats(&after)
	if err != nil || string(out) != "<short/>" {
		t.Fatalf("readAnswer = %q, %v; want the 8 bytes sent", out, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("reading 8 bytes announced as 60 MiB allocated %d bytes", grew)
	}
}

// An answer of announced length within the bound is read whole.
func TestReadAnswerOfAnnouncedLength(t *testing.T) {
	body := strings.Repeat("x", 8192)
	out, err := readAnswer(&http.Response{ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body))})
	if err != nil || string(out) != body {
		t.Fatalf("readAnswer = %d bytes, %v; want %d", len(out), err, len(body))
	}
}

// The Basic header the client keeps is the one net/http's SetBasicAuth
// writes, for any user name and password.
func TestBasicHeaderAsSetBasicAuth(t *testing.T) {
	for _, up := range [][2]string{{"u", "p"}, {"DOMAIN\\user", "pa:ss wörd"}, {"", ""}} {
		req, _ := http.NewRequest(http.MethodPost, "http://h/wsman", nil)
		req.SetBasicAuth(up[0], up[1])
		c := New("http://h/wsman", up[0], up[1], Options{})
		if got, want := c.basic, req.Header.Get("Authorization"); got != want {
			t.Errorf("user %q: header %q, want %q", up[0], got, want)
		}
	}
}

// isSealed tells sealed answers from plain ones, whatever the case and
// parameters of the media type.
func TestIsSealed(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/soap+xml;charset=UTF-8": false,
		"application/soap+xml":               false,
		`multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"`: true,
		`Multipart/Encrypted; protocol="application/http-spnego-session-encrypted"`:                              true,
		`multipart/x-multi-encrypted;protocol="application/HTTP-SPNEGO-session-encrypted"`:                       true,
		`multipart/encrypted;protocol="other"`:                                                                   false,
		"":                                                                                                       false,
	} {
		if got := isSealed(ct); got != want {
			t.Errorf("isSealed(%q) = %v, want %v", ct, got, want)
		}
	}
}
