package wsman_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/provider/providertest"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/wsman"
)

// fleetVolumeURI is the resource URI of the real provider's volumes.
const fleetVolumeURI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/MSISCSITARGET_StorageVolume"

// fleet is the wsman handler over the real provider, whose volumes store
// (in a temporary data folder) holds n volumes, adopted from n sparse image
// files by the volumes service's first scan.
type fleet struct {
	server  *wsman.Server
	handler http.Handler
	pool    string // the folder of the pool's image files, v00000.img, …
}

func newFleet(tb testing.TB, n int) *fleet {
	tb.Helper()
	dir := tb.TempDir()
	pool := filepath.Join(dir, "pools", "default")
	if err := os.MkdirAll(pool, 0o750); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		f, err := os.Create(filepath.Join(pool, fmt.Sprintf("v%05d.img", i)))
		if err != nil {
			tb.Fatal(err)
		}
		if err := f.Truncate(1 << 20); err != nil {
			tb.Fatal(err)
		}
		f.Close()
	}
	p := providertest.New(tb, dir)
	reg := cimmodel.NewRegistry()
	if err := p.Register(reg); err != nil {
		tb.Fatal(err)
	}
	var u users.File
	if err := u.Set(testUser, testPass); err != nil {
		tb.Fatal(err)
	}
	s := wsman.NewServer(reg, &u)
	s.Logger = zap.NewNop()
	s.AllowUnencrypted = true
	return &fleet{server: s, handler: s.Handler(), pool: pool}
}

// do sends one request through the handler, as a client on loopback
// with Basic authentication would, and returns the reply.
func (f *fleet) do(tb testing.TB, body []byte) []byte {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/wsman", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.SetBasicAuth(testUser, testPass)
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
	}
	return rec.Body.Bytes()
}

// fleetRequest turns a Test_Widget request into one for the provider's
// volumes.
func fleetRequest(req []byte) []byte {
	return bytes.Replace(req, []byte(widgetURI), []byte(fleetVolumeURI), 1)
}

// enumerateAll enumerates every volume max a message (Enumerate, then Pull
// until EndOfSequence) and returns how many it got.
func (f *fleet) enumerateAll(tb testing.TB, max int) int {
	return f.enumerateMode(tb, max, "")
}

// enumerateMode is enumerateAll in an EnumerationMode ("" for none).
func (f *fleet) enumerateMode(tb testing.TB, max int, mode string) int {
	tb.Helper()
	if mode != "" {
		mode = "<w:EnumerationMode>" + mode + "</w:EnumerationMode>"
	}
	reply := f.do(tb, fleetRequest(enumerate(fmt.Sprintf(`<w:OptimizeEnumeration/><w:MaxElements>%d</w:MaxElements>%s`, max, mode))))
	n := bytes.Count(reply, []byte("<p:DeviceID>"))
	for bytes.Contains(reply, []byte("EndOfSequence")) == false {
		id := contextID(tb, reply)
		reply = f.do(tb, fleetRequest(pull(id, max)))
		n += bytes.Count(reply, []byte("<p:DeviceID>"))
	}
	return n
}

// contextID reads the EnumerationContext of a reply (by its bytes: the
// benchmark measures the server, not an XML parser).
func contextID(tb testing.TB, reply []byte) string {
	tb.Helper()
	_, rest, ok := bytes.Cut(reply, []byte("EnumerationContext>"))
	id, _, ok2 := bytes.Cut(rest, []byte("<"))
	if !ok || !ok2 || len(bytes.TrimSpace(id)) == 0 {
		tb.Fatalf("no EnumerationContext: %s", reply)
	}
	return strings.TrimSpace(string(id))
}

// BenchmarkEnumerateFleet enumerates 10,000 volumes of the real provider
// through the wsman handler (Enumerate, then Pull until EndOfSequence) at
// MaxElements 100 and 1,000: one op is one whole enumeration; B/op is what
// it allocates.
func BenchmarkEnumerateFleet(b *testing.B) {
	const n = 10000
	f := newFleet(b, n)
	for _, max := range []int{100, 1000} {
		b.Run(fmt.Sprintf("volumes=%d/MaxElements=%d", n, max), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := f.enumerateAll(b, max); got != n {
					b.Fatalf("enumerated %d volumes, want %d", got, n)
				}
			}
		})
	}
}

// TestEnumerationContextMemoryFlat checks that an open enumeration context
// of the real provider's volumes holds a cursor, whatever the number of
// volumes: 64 contexts, each after its first page of 10, retain at most
// 2 KiB each (heap after GC) over 100 volumes and over 10,000. A context
// holding the paths still to send would hold about 2 MB over 10,000.
func TestEnumerationContextMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("adopts 10,000 volumes")
	}
	const contexts, bound = 64, 2048
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for _, n := range []int{100, 10000} {
		f := newFleet(t, n)
		open := func() string {
			return contextID(t, f.do(t, fleetRequest(enumerate(`<w:OptimizeEnumeration/><w:MaxElements>10</w:MaxElements>`))))
		}
		warm := open()
		f.do(t, fleetRequest(release(warm)))
		before := heap()
		ids := make([]string, 0, contexts)
		for range contexts {
			ids = append(ids, open())
		}
		after := heap()
		perContext := (int64(after) - int64(before)) / contexts
		t.Logf("RELIABILITY enum_cursor volumes=%d contexts=%d heap_growth_bytes=%d bytes_per_context=%d", n, contexts, int64(after)-int64(before), perContext)
		if perContext > bound {
			t.Errorf("over %d volumes an open context holds %d bytes, more than %d", n, perContext, bound)
		}
		// The contexts are alive and where they were left: the next page
		// starts at the 11th volume.
		if got := bytes.Count(f.do(t, fleetRequest(pull(ids[0], 1))), []byte("<p:DeviceID>")); got != 1 {
			t.Errorf("Pull of an open context: %d volumes, want 1", got)
		}
	}
}

// BenchmarkRequestPath runs the two requests of bench/load's ratios
// through the handler over the real provider with 10 volumes, Basic
// authentication included: a Get of one volume, and an enumeration of the
// 10 (an optimized Enumerate and a Pull of 5 each), also with each
// instance's EPR (EnumerateObjectAndEPR, as the client package, and so
// bench/load, asks). Profile it with
// -cpuprofile and -memprofile to see where a request's time goes.
func BenchmarkRequestPath(b *testing.B) {
	f := newFleet(b, 10)
	reply := f.do(b, fleetRequest(enumerate(`<w:OptimizeEnumeration/><w:MaxElements>1</w:MaxElements>`)))
	_, rest, _ := bytes.Cut(reply, []byte("<p:DeviceID>"))
	id, _, _ := bytes.Cut(rest, []byte("<"))
	get := fleetGet(string(id))
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r := f.do(b, get); !bytes.Contains(r, id) {
				b.Fatalf("Get answered %s", r)
			}
		}
	})
	b.Run("EnumeratePull10", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got := f.enumerateAll(b, 5); got != 10 {
				b.Fatalf("enumerated %d volumes, want 10", got)
			}
		}
	})
	b.Run("EnumeratePull10EPR", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got := f.enumerateMode(b, 5, "EnumerateObjectAndEPR"); got != 10 {
				b.Fatalf("enumerated %d volumes, want 10", got)
			}
		}
	})
}

// fleetGet is a WS-Transfer Get of the fleet's volume id.
func fleetGet(id string) []byte {
	return fleetRequest([]byte(envHead + `<a:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action><w:SelectorSet>` +
		`<w:Selector Name="CreationClassName">MSISCSITARGET_StorageVolume</w:Selector><w:Selector Name="DeviceID">` + id + `</w:Selector>` +
		`<w:Selector Name="SystemCreationClassName">MSFTSM_ComputerSystem</w:Selector><w:Selector Name="SystemName">` + providertest.SystemName + `</w:Selector>` +
		`</w:SelectorSet></s:Header><s:Body/></s:Envelope>`))
}
