package wsman_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRequestBodyLimit: an authenticated request body larger than
// Limits.MaxBodyBytes is refused with EncodingLimit whether its length is
// announced (Content-Length, read into a buffer of that length when small)
// or not (chunked); one at the limit is served.
func TestRequestBodyLimit(t *testing.T) {
	srv, _, s := newTestServerWith(t, 1)
	const limit = 2048
	s.Limits.MaxBodyBytes = limit
	req := enumerate(`<w:OptimizeEnumeration/>`)
	if len(req) >= limit {
		t.Fatalf("request of %d bytes, want it under %d", len(req), limit)
	}
	// Padding after the envelope is whitespace the parser skips.
	pad := func(n int) []byte { return append(bytes.Clone(req), strings.Repeat(" ", n-len(req))...) }
	for _, tt := range []struct {
		name    string
		size    int
		chunked bool
		want    string // fault subcode, "" for a reply
	}{
		{"at the limit", limit, false, ""},
		{"one byte over", limit + 1, false, "w:EncodingLimit"},
		{"far over", 64 << 10, false, "w:EncodingLimit"},
		{"at the limit, chunked", limit, true, ""},
		{"over, chunked", limit + 1, true, "w:EncodingLimit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(pad(tt.size))
			if tt.chunked {
				body = io.MultiReader(body) // no length known: sent chunked
			}
			r, _ := http.NewRequest(http.MethodPost, srv.URL+"/wsman", body)
			r.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
			r.SetBasicAuth(testUser, testPass)
			resp, err := srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			reply, _ := io.ReadAll(resp.Body)
			if tt.want == "" {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, reply)
				}
				return
			}
			if got := subcode(t, reply); resp.StatusCode != http.StatusInternalServerError || got != tt.want {
				t.Fatalf("status %d, fault %q; want 500 %s", resp.StatusCode, got, tt.want)
			}
		})
	}
}

// TestBasicSchemeIsCaseInsensitive: the Basic scheme is matched without
// regard to case (RFC 9110 §11.1), and its credentials are still checked.
func TestBasicSchemeIsCaseInsensitive(t *testing.T) {
	srv, _ := newTestServer(t, 1)
	for _, tt := range []struct {
		scheme, pass string
		want         int
	}{
		{"BASIC", testPass, 200},
		{"bAsIc", testPass, 200},
		{"basic", "wrong", 401},
	} {
		r, _ := http.NewRequest(http.MethodPost, srv.URL+"/wsman", bytes.NewReader(enumerate(`<w:OptimizeEnumeration/>`)))
		r.SetBasicAuth(testUser, tt.pass)
		r.Header.Set("Authorization", tt.scheme+strings.TrimPrefix(r.Header.Get("Authorization"), "Basic"))
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s with password %q: status %d, want %d", tt.scheme, tt.pass, resp.StatusCode, tt.want)
		}
	}
}
