package soaptest_test

import (
	"strings"
	"testing"

	"github.com/replicad/replicad/soap/soaptest"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		volatile []string
		want     string
	}{
		{
			name: "sorted attributes and indentation",
			in:   `<?xml version="1.0"?><a:R xmlns:a="urn:a" z="1" b="2"><a:C>  x  </a:C><!-- c --></a:R>`,
			want: "<a:R b=\"2\" xmlns:a=\"urn:a\" z=\"1\">\n  <a:C>x</a:C>\n</a:R>\n",
		},
		{
			name:     "volatile values blanked",
			in:       `<R><MessageID>uuid:1</MessageID><Keep>uuid:2</Keep><EnumerationContext/></R>`,
			volatile: []string{"MessageID", "EnumerationContext"},
			want:     "<R>\n  <MessageID>…</MessageID>\n  <Keep>uuid:2</Keep>\n  <EnumerationContext>…</EnumerationContext>\n</R>\n",
		},
		{
			name: "UTF-16 input",
			in:   "\xff\xfe<\x00R\x00/\x00>\x00",
			want: "<R/>\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := soaptest.Canonical([]byte(tt.in), tt.volatile...)
			if err != nil {
				t.Fatalf("Canonical: %v", err)
			}
			if got != tt.want {
				t.Errorf("Canonical: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCanonicalErrors(t *testing.T) {
	for _, in := range []string{"", "<a>", "\xff\xfe<"} {
		if _, err := soaptest.Canonical([]byte(in)); err == nil {
			t.Errorf("Canonical(%q): got nil error, want an error", in)
		}
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name, got, want, diff string
	}{
		{"equal", "a\nb", "a\nb", ""},
		{"changed line", "a\nX\nc", "a\nb\nc", "  a\n- b\n+ X\n  c\n"},
		{"added line", "a\nb\nc", "a\nc", "  a\n+ b\n  c\n"},
		{"removed line", "a\nc", "a\nb\nc", "  a\n- b\n  c\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := soaptest.Diff(tt.got, tt.want)
			if d != tt.diff {
				t.Errorf("Diff: got %q, want %q", d, tt.diff)
			}
			if tt.diff != "" && !strings.Contains(d, "-") && !strings.Contains(d, "+") {
				t.Errorf("Diff: got no change markers in %q", d)
			}
		})
	}
}
