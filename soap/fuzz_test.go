package soap_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/replicad/replicad/soap"
)

// FuzzParse checks that Parse never panics on any input, and that whatever
// it accepts can be answered: a reply and a fault built from the decoded
// header serialise in the request's encoding and parse back with the
// request's MessageID in RelatesTo.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "envelopes", "*.xml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := soap.Parse(data)
		if err != nil {
			return
		}
		fault := &soap.Fault{Code: soap.CodeSender, Reason: "fuzz", Detail: &soap.WSManFault{Code: 1, Message: env.Header.Action}}
		for _, m := range []*soap.Message{
			soap.NewResponse(&env.Header, env.Header.Action+"Response"),
			fault.Message(&env.Header),
		} {
			out, err := m.Bytes(env.Encoding)
			if err != nil {
				t.Fatalf("Bytes: %v", err)
			}
			back, err := soap.Parse(out)
			if err != nil {
				t.Fatalf("Parse of reply: %v\n%s", err, out)
			}
			if back.Encoding != env.Encoding {
				t.Errorf("reply encoding: got %v, want %v", back.Encoding, env.Encoding)
			}
			var relates string
			for _, c := range m.Header().ChildElements() {
				if c.Tag == "RelatesTo" {
					relates = c.Text()
				}
			}
			if relates != env.Header.MessageID {
				t.Errorf("RelatesTo: got %q, want %q", relates, env.Header.MessageID)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	data := readFixture(b, "powershell-enumerate-associated.xml")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := soap.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseUTF16(b *testing.B) {
	data := readFixture(b, "powershell-enumerate-associated-utf16le.xml")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := soap.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFaultBytes(b *testing.B) {
	f := windowsTimedOut()
	req := &soap.Header{MessageID: "uuid:1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Message(req).Bytes(soap.UTF8); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseDuration checks that ParseDuration never panics, that the sign
// of what it accepts is the sign written, and that whatever FormatDuration
// writes parses back to the same milliseconds.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT60.000S", "P1DT2H3M4.5S", "-PT5S", "P0Y0M1D", "PT0.0000000019S", "P1Y", "PT-1S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := soap.ParseDuration(s)
		if err != nil {
			return
		}
		if (d < 0) != (s[0] == '-' && d != 0) {
			t.Fatalf("ParseDuration(%q) = %v: sign differs from the text", s, d)
		}
		if d < 0 {
			return
		}
		back, err := soap.ParseDuration(soap.FormatDuration(d))
		if want := d.Truncate(time.Millisecond); err != nil || back != want {
			t.Fatalf("ParseDuration(FormatDuration(%v)) = %v, %v, want %v", d, back, err, want)
		}
	})
}
