package soap_test

import (
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
