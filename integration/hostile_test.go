package integration

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// repeatReader yields n bytes of pattern, repeated, without holding them
// all in memory.
type repeatReader struct {
	pattern []byte
	n, off  int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.off < r.n {
		c := copy(p[k:min(len(p), k+int(r.n-r.off))], r.pattern[r.off%int64(len(r.pattern)):])
		k += c
		r.off += int64(c)
	}
	return k, nil
}

// hostileCase is one hostile request body.
type hostileCase struct {
	name string
	body func() (io.Reader, int64)
}

func hostileFromBytes(name string, b []byte) hostileCase {
	return hostileCase{name: name, body: func() (io.Reader, int64) { return bytes.NewReader(b), int64(len(b)) }}
}

// hostileCases reads testdata/hostile and adds the bodies too large to
// commit, generated here.
func hostileCases(t *testing.T, to string) []hostileCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "hostile", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata/hostile: %d files, %v", len(files), err)
	}
	sort.Strings(files)
	var out []hostileCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, hostileFromBytes(filepath.Base(f), b))
	}
	head := envelopeHead + header(to, actionEnumerate, uriReplService, "") + `<s:Body><n:Enumerate>`
	tail := `</n:Enumerate></s:Body></s:Envelope>`
	const depth = 100000
	deep := head + strings.Repeat("<w:x>", depth) + strings.Repeat("</w:x>", depth) + tail
	out = append(out, hostileFromBytes("generated: 100000 nested elements", []byte(deep)))
	var attrs strings.Builder
	attrs.WriteString(head + "<w:Filter")
	// 200000 attributes (2.6 MB): soap.Parse refuses more than
	// soap.MaxAttributes on one element before checking them, so this costs
	// no more than reading the body (pairwise checks once cost 18 s for 50000).
	for i := range 200000 {
		fmt.Fprintf(&attrs, ` a%d="x"`, i)
	}
	attrs.WriteString("/>" + tail)
	out = append(out, hostileFromBytes("generated: 200000 attributes", []byte(attrs.String())))
	var nss strings.Builder
	nss.WriteString(head + "<w:Filter")
	for i := range 2000 {
		fmt.Fprintf(&nss, ` xmlns:n%d="urn:x:%d"`, i, i)
	}
	nss.WriteString("/>" + tail)
	out = append(out, hostileFromBytes("generated: 2000 namespace declarations", []byte(nss.String())))
	out = append(out, hostileFromBytes("generated: 3 MiB selector value in a Get",
		[]byte(getEnvelope(to, uriReplService, map[string]string{"Name": strings.Repeat("A", 3<<20)}))))
	const huge = 100 << 20
	out = append(out, hostileCase{name: "generated: 100 MB text node", body: func() (io.Reader, int64) {
		text := &repeatReader{pattern: []byte("0123456789abcdef"), n: huge}
		return io.MultiReader(strings.NewReader(head+"<w:Filter>"), text, strings.NewReader("</w:Filter>"+tail)),
			int64(len(head)+len("<w:Filter>")+len("</w:Filter>")+len(tail)) + huge
	}})
	return out
}

// TestHostileEnvelopes posts every hostile body, authenticated, and expects
// a SOAP fault for each and a daemon that still answers after each.
func TestHostileEnvelopes(t *testing.T) {
	t.Parallel()
	d := sharedDaemon(t)
	cases := hostileCases(t, d.url())
	faults := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, size := tc.body()
			req, err := http.NewRequest(http.MethodPost, d.url(), body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = size
			req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
			req.SetBasicAuth(d.user, d.password)
			resp, err := d.httpClient().Do(req)
			if err != nil {
				t.Fatalf("POST: %v, want a fault reply", err)
			}
			reply, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Errorf("status 200, want a fault status\n%.2000s", reply)
			}
			subcode, _ := faultOf(t, string(reply))
			if subcode == "" {
				t.Errorf("fault without a subcode\n%.2000s", reply)
			}
			if bytes.Contains(reply, []byte("root:x:0:0")) || bytes.Contains(reply, []byte("lollollol")) {
				t.Errorf("the reply expanded an entity\n%.2000s", reply)
			}
			faults++
			t.Logf("%s: HTTP %d %s", tc.name, resp.StatusCode, subcode)
			requireDaemonAnswers(t, d)
		})
	}
	t.Logf("RELIABILITY hostile cases=%d faults=%d", len(cases), faults)
}

// requireDaemonAnswers checks an anonymous Identify and an authenticated
// Enumerate still succeed.
func requireDaemonAnswers(t *testing.T, d *daemon) {
	t.Helper()
	if code, body := d.identifyUnauthenticated(); code != http.StatusOK || !strings.Contains(body, "IdentifyResponse") {
		t.Fatalf("Identify after the hostile request: status %d, want 200 with IdentifyResponse\n%s", code, body)
	}
	if code, body := d.post(d.user, d.password, []byte(enumerateEnvelope(d.url(), uriReplService, "")), ""); code != http.StatusOK {
		t.Fatalf("Enumerate after the hostile request: status %d, want 200\n%s", code, body)
	}
}
