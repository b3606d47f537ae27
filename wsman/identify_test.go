package wsman_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// postIdentify sends the Identify envelope pywinrm-style clients send
// (soap/testdata/envelopes/identify.xml) with Basic credentials when user
// is set and the WSMANIDENTIFY header when hdr is set.
func postIdentify(t *testing.T, srv *httptest.Server, user, pass, hdr string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/wsman", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	if hdr != "" {
		req.Header.Set("WSMANIDENTIFY", hdr)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// TestIdentifyAuthentication: [MS-WSMV] 3.1.4.1.23. An Identify without
// credentials is answered only with "WSMANIDENTIFY: unauthenticated", and
// then without wsmid:SecurityProfiles; without the header it gets the 401
// challenge every unauthenticated request gets; with credentials it is
// answered with the profiles, as Windows' answer in
// testdata/exchanges/identify/windows.xml has them.
func TestIdentifyAuthentication(t *testing.T) {
	srv, _ := newTestServer(t, 1)
	body, err := os.ReadFile("../soap/testdata/envelopes/identify.xml")
	if err != nil {
		t.Fatal(err)
	}
	windowsAnon, err := os.ReadFile("testdata/exchanges/identify/windows-unauthenticated.xml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, user, pass, hdr string
		status                int
		profiles              bool
	}{
		{"header, no credentials", "", "", "unauthenticated", 200, false},
		{"header in other case", "", "", "Unauthenticated", 200, false},
		{"no header, no credentials", "", "", "", 401, false},
		{"header with another value", "", "", "yes", 401, false},
		{"header, wrong password", testUser, "nope", "unauthenticated", 401, false},
		{"credentials", testUser, testPass, "", 200, true},
		{"credentials and header", testUser, testPass, "unauthenticated", 200, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, reply := postIdentify(t, srv, tt.user, tt.pass, tt.hdr, body)
			if status != tt.status {
				t.Fatalf("status %d, want %d\n%s", status, tt.status, reply)
			}
			if status == 401 {
				if len(hdr.Values("WWW-Authenticate")) == 0 {
					t.Errorf("401 without a WWW-Authenticate challenge")
				}
				return
			}
			root := parse(t, reply)
			resp := find(root, "IdentifyResponse")
			if resp == nil || find(resp, "ProtocolVersion") == nil || find(resp, "ProductVendor") == nil {
				t.Fatalf("no IdentifyResponse with ProtocolVersion and ProductVendor:\n%s", reply)
			}
			// Without a logon, Windows' ProductVersion (windows-unauthenticated.xml):
			// no version of ours; with one, ours.
			wantVersion := "replicad 0.1"
			if !tt.profiles {
				wantVersion = textOf(find(parse(t, windowsAnon), "ProductVersion"))
			}
			if got := textOf(find(resp, "ProductVersion")); got != wantVersion {
				t.Errorf("ProductVersion %q, want %q", got, wantVersion)
			}
			if got := find(resp, "SecurityProfiles") != nil; got != tt.profiles {
				t.Errorf("SecurityProfiles present = %v, want %v\n%s", got, tt.profiles, reply)
			}
			// Negotiate is always on: listed as Windows lists it (windows.xml).
			const negotiate = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos"
			if tt.profiles && !strings.Contains(string(reply), ">"+negotiate+"<") {
				t.Errorf("SecurityProfiles lack %s\n%s", negotiate, reply)
			}
		})
	}
	// Only a small body is read without a logon, header or not.
	big := []byte(strings.Replace(string(body), "<wsmid:Identify/>", "<wsmid:Identify>"+strings.Repeat(" ", 64<<10)+"</wsmid:Identify>", 1))
	if status, _, _ := postIdentify(t, srv, "", "", "unauthenticated", big); status != 401 {
		t.Errorf("unauthenticated 64 KiB Identify: status %d, want 401", status)
	}
	// Nothing but Identify goes unauthenticated, header or not.
	if status, _, _ := postIdentify(t, srv, "", "", "unauthenticated", enumerate(`<w:OptimizeEnumeration/>`)); status != 401 {
		t.Errorf("unauthenticated Enumerate with WSMANIDENTIFY: status %d, want 401", status)
	}
}
