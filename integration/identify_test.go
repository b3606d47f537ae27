package integration

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/beevik/etree"
)

// identifyUnauthenticated sends Identify without credentials and with the
// header that asks for it ([MS-WSMV] 3.1.4.1.23), as Test-WSMan and
// Session.Identify with WSManFlagUseNoAuthentication do, and returns the
// status and reply.
func (d *daemon) identifyUnauthenticated() (int, string) {
	d.t.Helper()
	return d.postIdentify("", "", "unauthenticated")
}

// postIdentify sends the Identify envelope wsl and pywinrm-style clients
// send, with Basic credentials when user is set and a WSMANIDENTIFY header
// when hdr is set.
func (d *daemon) postIdentify(user, password, hdr string) (int, string) {
	d.t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.url(), bytes.NewReader([]byte(identifyEnvelope)))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	if hdr != "" {
		req.Header.Set("WSMANIDENTIFY", hdr)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := d.httpClient().Do(req)
	if err != nil {
		d.t.Fatalf("POST /wsman: %v", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// TestIdentifyWithoutAuthentication: the daemon answers an Identify without
// credentials only when asked with "WSMANIDENTIFY: unauthenticated", and
// then lists no SecurityProfiles ([MS-WSMV] 3.1.4.1.23); without the header
// it answers 401 as Windows does; with credentials the profiles are there.
func TestIdentifyWithoutAuthentication(t *testing.T) {
	t.Parallel()
	d := sharedDaemon(t)
	profiles := func(body string) []*etree.Element {
		t.Helper()
		doc := etree.NewDocument()
		if err := doc.ReadFromString(body); err != nil {
			t.Fatalf("answer is not XML: %v\n%s", err, body)
		}
		resp := find(doc.Root(), nsIdentity, "IdentifyResponse")
		if resp == nil {
			t.Fatalf("no wsmid:IdentifyResponse in\n%s", body)
		}
		if v := find(resp, nsIdentity, "ProtocolVersion"); v == nil || v.Text() != nsWSMan {
			t.Errorf("ProtocolVersion = %v, want %s", v, nsWSMan)
		}
		if find(resp, nsIdentity, "ProductVendor") == nil {
			t.Errorf("IdentifyResponse lacks ProductVendor:\n%s", body)
		}
		return findAll(find(resp, nsIdentity, "SecurityProfiles"), "SecurityProfileName")
	}

	status, body := d.identifyUnauthenticated()
	if status != 200 {
		t.Fatalf("Identify with WSMANIDENTIFY: status %d, want 200\n%s", status, body)
	}
	if p := profiles(body); len(p) != 0 || bytes.Contains([]byte(body), []byte("SecurityProfiles")) {
		t.Errorf("unauthenticated Identify lists SecurityProfiles:\n%s", body)
	}

	if status, body := d.postIdentify("", "", ""); status != 401 {
		t.Errorf("Identify without credentials or header: status %d, want 401\n%s", status, body)
	}

	status, body = d.postIdentify(d.user, d.password, "")
	if status != 200 {
		t.Fatalf("authenticated Identify: status %d, want 200\n%s", status, body)
	}
	if len(profiles(body)) == 0 {
		t.Errorf("authenticated Identify lists no SecurityProfileName:\n%s", body)
	}
}
