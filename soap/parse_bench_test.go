package soap_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/replicad/replicad/soap"
)

// BenchmarkParseRequest parses real requests of the four operations the
// daemon serves most (fixtures from [MS-WSMV] and OpenNMS): the cost of the
// request parse on the request path (docs/request-path.md).
func BenchmarkParseRequest(b *testing.B) {
	for _, bm := range []struct{ name, file string }{
		{"Get", "wsmv-4.1.1-get.xml"},
		{"Enumerate", "opennms-enumerate-wql.xml"},
		{"Pull", "wsmv-4.1.2.3-pull.xml"},
		{"Invoke", "wsmv-4.1.4-invoke.xml"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			data := readFixture(b, bm.file)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := soap.Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseHostile parses the largest refusals of TestParseHostile:
// what a hostile request costs before it is refused.
func BenchmarkParseHostile(b *testing.B) {
	for _, bm := range []struct {
		name string
		data []byte
		want error
	}{
		{"TooManyElements", []byte(envOpen + `<s:Body><x>` + strings.Repeat(`<y a="1">t</y>`, soap.MaxElements) + `</x></s:Body></s:Envelope>`), soap.ErrTooManyElements},
		{"TooDeep", []byte(envOpen + `<s:Body>` + strings.Repeat("<x>", 10000) + strings.Repeat("</x>", 10000) + `</s:Body></s:Envelope>`), soap.ErrTooDeep},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := soap.Parse(bm.data); !errors.Is(err, bm.want) {
					b.Fatalf("Parse: %v, want %v", err, bm.want)
				}
			}
		})
	}
}
