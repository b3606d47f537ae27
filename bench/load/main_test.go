package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(i + 1)
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", []time.Duration{ms(7)}, 99, ms(7)},
		{"p50 of 100", hundred, 50, ms(50)},
		{"p99 of 100", hundred, 99, ms(99)},
		{"p100 of 100", hundred, 100, ms(100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestPeakRSSOfSelf(t *testing.T) {
	kib, err := peakRSSKiB(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if kib <= 0 {
		t.Errorf("VmHWM of this process: got %d KiB, want > 0", kib)
	}
	if _, err := peakRSSKiB(-1); err == nil {
		t.Errorf("VmHWM of pid -1: got no error, want one")
	}
}

func TestUsersFor(t *testing.T) {
	tests := []struct{ clients, perUser, want int }{{32, 8, 4}, {33, 8, 5}, {1, 8, 1}}
	for _, tt := range tests {
		got := usersFor(tt.clients, tt.perUser)
		if len(got) != tt.want {
			t.Errorf("usersFor(%d, %d): got %d users, want %d", tt.clients, tt.perUser, len(got), tt.want)
		}
		seen := map[string]bool{}
		for _, l := range got {
			if seen[l.user] || l.password == "" {
				t.Errorf("usersFor(%d, %d): duplicate user or empty password in %v", tt.clients, tt.perUser, got)
			}
			seen[l.user] = true
		}
	}
}

// TestMain runs the bare server's child when this test binary is started
// as one (bareServer runs os.Executable, here the test binary).
func TestMain(m *testing.M) {
	if reply := os.Getenv(bareEnv); reply != "" {
		if err := serveBare(reply); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The bare server answers with the body it was given, asks for credentials
// without them, in its own process or in this one, and is gone once
// stopped.
func TestBareServer(t *testing.T) {
	body := []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`)
	for _, inProcess := range []bool{false, true} {
		url, stop, err := bareServer(body, inProcess)
		if err != nil {
			t.Fatalf("in process %v: %v", inProcess, err)
		}
		post := func(auth bool) (int, []byte, error) {
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("<x/>"))
			if auth {
				req.SetBasicAuth("u", "p")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return 0, nil, err
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			return resp.StatusCode, got, err
		}
		if code, got, err := post(true); err != nil || code != http.StatusOK || !bytes.Equal(got, body) {
			t.Errorf("in process %v: with credentials: %d %q %v, want 200 and the body", inProcess, code, got, err)
		}
		if code, _, err := post(false); err != nil || code != http.StatusUnauthorized {
			t.Errorf("in process %v: without credentials: %d %v, want 401", inProcess, code, err)
		}
		stop()
		http.DefaultClient.CloseIdleConnections()
		if _, _, err := post(true); err == nil {
			t.Errorf("in process %v: the bare server still answers after stop", inProcess)
		}
	}
}
