package wsman_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf16"
)

// toUTF16LE encodes a UTF-8 request as UTF-16LE with a byte order mark.
func toUTF16LE(s []byte) []byte {
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(string(s))) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

// TestEnumerateFillsTheEnvelope checks that an optimized Enumerate whose
// items do not all fit in MaxEnvelopeSize answers the most that fit, in
// UTF-8 and in UTF-16 (whose size counts two bytes a character): the
// reply is within the limit and the same reply with one item more is not.
func TestEnumerateFillsTheEnvelope(t *testing.T) {
	srv, _ := newTestServer(t, 40)
	request := func(t *testing.T, maxElements, maxEnvelope int, utf16 bool) []byte {
		req := bytes.Replace(enumerate(fmt.Sprintf(`<w:OptimizeEnumeration/><w:MaxElements>%d</w:MaxElements>`, maxElements)),
			[]byte("</a:MessageID>"), []byte(fmt.Sprintf(`</a:MessageID><w:MaxEnvelopeSize s:mustUnderstand="true">%d</w:MaxEnvelopeSize>`, maxEnvelope)), 1)
		charset := "UTF-8"
		if utf16 {
			req, charset = toUTF16LE(req), "UTF-16"
		}
		r, _ := http.NewRequest(http.MethodPost, srv.URL+"/wsman", bytes.NewReader(req))
		r.Header.Set("Content-Type", "application/soap+xml;charset="+charset)
		r.SetBasicAuth(testUser, testPass)
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, subcode(t, out))
		}
		if ctx := strings.TrimSpace(find(parse(t, out), "EnumerationContext").Text()); ctx != "" {
			post(t, srv, testUser, testPass, release(ctx))
		}
		return out
	}
	for _, utf16 := range []bool{false, true} {
		for _, limit := range []int{8192, 10000, 12000} {
			t.Run(fmt.Sprintf("utf16=%v/MaxEnvelopeSize=%d", utf16, limit), func(t *testing.T) {
				reply := request(t, 40, limit, utf16)
				if utf16 && !bytes.HasPrefix(reply, []byte{0xFF, 0xFE}) {
					t.Fatalf("reply to a UTF-16LE request does not start with its BOM: % x", reply[:4])
				}
				root := parse(t, reply)
				k := count(root, "Test_Widget")
				if len(reply) > limit || k == 0 || k >= 39 {
					t.Fatalf("reply of %d bytes holds %d widgets; want within %d bytes, some but not all", len(reply), k, limit)
				}
				for i, e := range root.FindElements("//Name") {
					if want := fmt.Sprintf("w%02d", i); strings.TrimSpace(e.Text()) != want {
						t.Errorf("item %d is %s, want %s", i, e.Text(), want)
					}
				}
				if one := request(t, k+1, 512000, utf16); len(one) <= limit {
					t.Errorf("%d widgets fit in %d bytes (%d), the reply holds %d", k+1, limit, len(one), k)
				}
			})
		}
	}
}
