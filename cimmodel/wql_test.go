package cimmodel_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/replicad/replicad/cimmodel"
)

type wqlCase struct {
	line   int
	query  string
	expect []string
}

// readCases reads a testdata/wql table: blocks of "query", "----" and
// expected lines, separated by blank lines.
func readCases(t *testing.T, name string) []wqlCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "wql", name))
	if err != nil {
		t.Fatal(err)
	}
	var cases []wqlCase
	var cur *wqlCase
	sep := false
	for i, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
			if cur != nil {
				cases = append(cases, *cur)
			}
			cur, sep = nil, false
		case cur == nil:
			cur = &wqlCase{line: i + 1, query: line}
		case line == "----":
			sep = true
		case sep:
			cur.expect = append(cur.expect, line)
		default:
			t.Fatalf("%s:%d: text before ----", name, i+1)
		}
	}
	if cur != nil {
		cases = append(cases, *cur)
	}
	if len(cases) == 0 {
		t.Fatalf("%s: no cases", name)
	}
	return cases
}

func TestParseWQL(t *testing.T) {
	for _, tc := range readCases(t, "parse.txt") {
		t.Run(tc.query, func(t *testing.T) {
			q, err := cimmodel.ParseWQL(tc.query)
			want := strings.Join(tc.expect, "\n")
			if msg, isErr := strings.CutPrefix(want, "error: "); isErr {
				if err == nil {
					t.Fatalf("parse.txt:%d: got %s, want an error containing %q", tc.line, q, msg)
				}
				if !strings.Contains(err.Error(), msg) {
					t.Errorf("parse.txt:%d: got error %q, want it to contain %q", tc.line, err, msg)
				}
				if s := cimmodel.StatusOf(err); s != cimmodel.StatusInvalidQuery {
					t.Errorf("status: got %v, want %v", s, cimmodel.StatusInvalidQuery)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse.txt:%d: %v", tc.line, err)
			}
			if got := q.String(); got != want {
				t.Errorf("parse.txt:%d:\ngot  %s\nwant %s", tc.line, got, want)
			}
			// The canonical form parses to itself.
			again, err := cimmodel.ParseWQL(q.String())
			if err != nil || again.String() != q.String() {
				t.Errorf("reparse: got %v, %v; want %s", again, err, q)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	w := newWorld(t)
	for _, tc := range readCases(t, "eval.txt") {
		t.Run(tc.query, func(t *testing.T) {
			got, err := w.reg.Query(context.Background(), testNS, tc.query)
			var wantPaths []string
			wantProps := ""
			for _, e := range tc.expect {
				if msg, isErr := strings.CutPrefix(e, "error: "); isErr {
					if err == nil || !strings.Contains(err.Error(), msg) {
						t.Fatalf("eval.txt:%d: got error %v, want one containing %q", tc.line, err, msg)
					}
					return
				}
				if p, ok := strings.CutPrefix(e, "props: "); ok {
					wantProps = p
					continue
				}
				if e != "(none)" {
					wantPaths = append(wantPaths, e)
				}
			}
			if err != nil {
				t.Fatalf("eval.txt:%d: %v", tc.line, err)
			}
			var gotPaths []string
			for _, inst := range got {
				gotPaths = append(gotPaths, inst.Path().String())
			}
			sort.Strings(gotPaths)
			if g, w := strings.Join(gotPaths, "\n"), strings.Join(wantPaths, "\n"); g != w {
				t.Errorf("eval.txt:%d:\ngot\n%s\nwant\n%s", tc.line, g, w)
			}
			if wantProps != "" {
				for _, inst := range got {
					var names []string
					for k, v := range inst.Values {
						if !v.IsNull() {
							names = append(names, k)
						}
					}
					sort.Strings(names)
					if g := strings.Join(names, ","); g != wantProps {
						t.Errorf("eval.txt:%d: properties got %s, want %s", tc.line, g, wantProps)
					}
				}
			}
		})
	}
}

func TestLike(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"a%", "a", true},
		{"a%", "abc", true},
		{"%c", "abc", true},
		{"%b%", "abc", true},
		{"%x%", "abc", false},
		{"a_c", "abc", true},
		{"a_c", "ac", false},
		{"%%a%%", "bab", true},
		{"[ab]c", "bc", true},
		{"[ab]c", "cc", false},
		{"[^ab]c", "cc", true},
		{"[a-c]x", "bx", true},
		{"[a-c]x", "dx", false},
		{"[abc", "[abc", true},
		{"%a%b%c%", "xaybzc", true},
		{"%a%b%c%", "xaycz", false},
		{"", "", true},
		{"%", "", true},
		{"_", "", false},
		{"é_", "éx", true},
	}
	for _, tt := range tests {
		if got := cimmodel.LikeMatch(tt.pat, tt.s); got != tt.want {
			t.Errorf("LIKE %q on %q: got %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}

// TestLikePatternBounded is issue 14 item 9: a LIKE pattern of 16k unclosed
// '[' is refused when the query is parsed, with StatusInvalidQuery (a
// CannotProcessFilter fault), before any instance is looked at.
func TestLikePatternBounded(t *testing.T) {
	w := newWorld(t)
	pre := "SELECT * FROM CIM_StorageVolume WHERE DeviceID LIKE '"
	for _, n := range []int{cimmodel.MaxLikePattern + 1, 16<<10 - len(pre) - 1} {
		q := pre + strings.Repeat("[", n) + "'"
		_, err := w.reg.Query(context.Background(), testNS, q)
		if cimmodel.StatusOf(err) != cimmodel.StatusInvalidQuery || !strings.Contains(err.Error(), "LIKE pattern") {
			t.Errorf("%d '[': got %v, want StatusInvalidQuery about the LIKE pattern", n, err)
		}
	}
	q := pre + strings.Repeat("[", cimmodel.MaxLikePattern) + "'"
	got, err := w.reg.Query(context.Background(), testNS, q)
	if err != nil || len(got) != 0 {
		t.Errorf("the longest pattern allowed: got %d instances, %v; want none, no error", len(got), err)
	}
}

// TestQueryHonoursContext checks that the filter loop stops when the
// request's context ends (OperationTimeout or the client leaving), even
// when the provider itself does not look at the context.
func TestQueryHonoursContext(t *testing.T) {
	w := newWorld(t)
	q := "SELECT * FROM CIM_StorageVolume WHERE DeviceID LIKE '%'"
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := w.reg.Query(ctx, testNS, q); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %d instances, %v; want context.Canceled", len(got), err)
	}
	ctx, cancel = context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	if got, err := w.reg.Query(ctx, testNS, q); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("past the deadline: got %d instances, %v; want context.DeadlineExceeded", len(got), err)
	}
}
