package soap_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/replicad/replicad/soap"
)

// toUTF16 encodes s as UTF-16 in the given byte order, with or without BOM.
func toUTF16(s string, bigEndian, bom bool) []byte {
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	out := make([]byte, 0, 2*len(units))
	for _, u := range units {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

func TestParseEncodings(t *testing.T) {
	msg := `<?xml version="1.0" encoding="UTF-16"?>` + envOpen + `<s:Header><a:MessageID>uuid:é-😀</a:MessageID></s:Header><s:Body/></s:Envelope>`
	tests := []struct {
		name string
		data []byte
		want soap.Encoding
	}{
		{"UTF-16LE with BOM", toUTF16(msg, false, true), soap.UTF16LE},
		{"UTF-16BE with BOM", toUTF16(msg, true, true), soap.UTF16BE},
		{"UTF-16LE without BOM", toUTF16(msg, false, false), soap.UTF16LE},
		{"UTF-16BE without BOM", toUTF16(msg, true, false), soap.UTF16BE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := soap.Parse(tt.data)
			if err != nil {
				t.Fatalf("Parse: got error %v, want nil", err)
			}
			if env.Encoding != tt.want {
				t.Errorf("Encoding: got %v, want %v", env.Encoding, tt.want)
			}
			if got, want := env.Header.MessageID, "uuid:é-😀"; got != want {
				t.Errorf("MessageID: got %q, want %q", got, want)
			}
		})
	}
}

func TestContentType(t *testing.T) {
	tests := []struct {
		enc  soap.Encoding
		want string
	}{
		{soap.UTF8, "application/soap+xml;charset=UTF-8"},
		{soap.UTF16LE, "application/soap+xml;charset=UTF-16"},
		{soap.UTF16BE, "application/soap+xml;charset=UTF-16"},
	}
	for _, tt := range tests {
		t.Run(tt.enc.String(), func(t *testing.T) {
			if got := tt.enc.ContentType(); got != tt.want {
				t.Errorf("ContentType: got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestBytesRoundTrip serialises a reply in each encoding and parses it back.
func TestBytesRoundTrip(t *testing.T) {
	req := &soap.Header{MessageID: "uuid:AAAA-é", Locale: "de-DE"}
	tests := []struct {
		enc    soap.Encoding
		prefix []byte
	}{
		{soap.UTF8, []byte("<s:Envelope")},
		{soap.UTF16LE, []byte{0xFF, 0xFE, '<', 0}},
		{soap.UTF16BE, []byte{0xFE, 0xFF, 0, '<'}},
	}
	for _, tt := range tests {
		for _, direct := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/direct=%v", tt.enc, direct), func(t *testing.T) {
				m := soap.NewResponse(req, soap.ActionGetResponse)
				tag := m.NS(soap.NSIdentity, "Thing")
				if direct { // the body written as text, as replies write instances
					m.SetBody(func(b []byte) []byte { return soap.AppendTextElement(b, tag, "𝄞 & <ok>") })
				} else {
					m.Body().CreateElement(tag).SetText("𝄞 & <ok>")
				}
				b, err := m.Bytes(tt.enc)
				if err != nil {
					t.Fatalf("Bytes: %v", err)
				}
				if !bytes.HasPrefix(b, tt.prefix) {
					t.Errorf("prefix: got % x, want % x", b[:min(len(b), 8)], tt.prefix)
				}
				env, err := soap.Parse(b)
				if err != nil {
					t.Fatalf("Parse of our own reply: %v", err)
				}
				if env.Encoding != tt.enc {
					t.Errorf("Encoding: got %v, want %v", env.Encoding, tt.enc)
				}
				if got := env.Body.Text(); got != "𝄞 & <ok>" {
					t.Errorf("body text: got %q, want %q", got, "𝄞 & <ok>")
				}
				if env.Body.NamespaceURI() != soap.NSIdentity {
					t.Errorf("body namespace: got %q, want %q", env.Body.NamespaceURI(), soap.NSIdentity)
				}
			})
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT60.000S", time.Minute, true},
		{"PT60S", time.Minute, true},
		{"PT0.5S", 500 * time.Millisecond, true},
		{"PT1.000S", time.Second, true},
		{"P1DT2H", 26 * time.Hour, true},
		{"PT1M30S", 90 * time.Second, true},
		{"PT2H", 2 * time.Hour, true},
		{"P1DT2H3M4.5S", 26*time.Hour + 3*time.Minute + 4500*time.Millisecond, true},
		{"P0Y0M1D", 24 * time.Hour, true},
		{"P0YT1S", time.Second, true},
		{"PT0S", 0, true},
		{"PT0.000000001S", time.Nanosecond, true},
		{"PT0.0000000019S", time.Nanosecond, true}, // below a nanosecond: dropped
		{"-PT5S", -5 * time.Second, true},          // XML Schema allows a sign; OperationTimeout refuses it as not positive
		{"PT9223372036S", 9223372036 * time.Second, true},
		// Years and months have no fixed length.
		{"P1Y", 0, false},
		{"P1M", 0, false},
		{"P1MT1M", 0, false},
		{"", 0, false},
		{"P", 0, false},
		{"-P", 0, false},
		{"--PT1S", 0, false},
		{"PT", 0, false},
		{"P1DT", 0, false},
		{"60", 0, false},
		{"pT5S", 0, false},
		{"PT-1S", 0, false},
		{"P-1D", 0, false},
		{"PT+1S", 0, false},
		{"PT5", 0, false},
		{"PTS", 0, false},
		{"PT1.5M", 0, false},
		{"P1.5D", 0, false},
		{"PT1..5S", 0, false},
		{"PT1.5.5S", 0, false},
		{"PT.5S", 0, false},
		{"PT5.S", 0, false},
		{"PT1S1M", 0, false},
		{"P1H", 0, false},
		{"PT1D", 0, false},
		{"PT1H1H", 0, false},
		{"P1DT1HT1M", 0, false},
		{"P1D1D", 0, false},
		{"PT9223372037S", 0, false},
		{"P99999999999999999999D", 0, false},
		{"P999999999Y", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := soap.ParseDuration(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseDuration(%q): got error %v, want ok=%v", tt.in, err, tt.ok)
			}
			if got != tt.want {
				t.Errorf("ParseDuration(%q): got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{time.Minute, "PT60.000S"},
		{1500 * time.Millisecond, "PT1.500S"},
		{0, "PT0.000S"},
		{-time.Second, "PT0.000S"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := soap.FormatDuration(tt.in)
			if got != tt.want {
				t.Errorf("FormatDuration(%v): got %q, want %q", tt.in, got, tt.want)
			}
			back, err := soap.ParseDuration(got)
			if err != nil || (tt.in >= 0 && back != tt.in) {
				t.Errorf("ParseDuration(%q): got %v, %v, want %v", got, back, err, tt.in)
			}
		})
	}
}
