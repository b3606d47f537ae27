package cimmodel

import (
	"strings"
	"testing"
)

// TestLikeCompiledOnceAtParse guards against compiling the pattern per
// instance: the parsed comparison holds the compiled pattern, and matching
// allocates nothing (a compile per match allocates; the old one allocated
// a matcher per element, 1,000 for this pattern).
func TestLikeCompiledOnceAtParse(t *testing.T) {
	pat := strings.Repeat("[", 500) + strings.Repeat("%a", 250)
	q, err := ParseWQL("SELECT * FROM X WHERE Name LIKE '" + pat + "'")
	if err != nil {
		t.Fatal(err)
	}
	c, ok := q.Where.(*comparison)
	if !ok || c.like == nil {
		t.Fatalf("the LIKE comparison %s carries no compiled pattern", q.Where)
	}
	if got := len(c.like.elems); got != 1000 {
		t.Errorf("compiled %d elements, want 1000 (500 literal '[', 250 '%%a')", got)
	}
	inst := &Instance{Values: map[string]Value{"Name": String(strings.Repeat("[", 500) + "xa")}}
	allocs := testing.AllocsPerRun(20, func() {
		if q.Match(inst) {
			t.Fatal("matched a value with one 'a' against 250 '%a'")
		}
	})
	if allocs > 0 {
		t.Errorf("one Match allocates %.0f times, want none (the pattern must not be recompiled)", allocs)
	}
}

// TestLikeUnclosedBrackets checks that unclosed '[' stand for themselves
// and that a ']' only closes the sets before it.
func TestLikeUnclosedBrackets(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{strings.Repeat("[", MaxLikePattern), strings.Repeat("[", MaxLikePattern), true},
		{strings.Repeat("[", MaxLikePattern), strings.Repeat("[", MaxLikePattern-1), false},
		{"[a][", "a[", true},
		{"[a][b", "a[b", true},
		{"[[]x[", "[x[", true},
		{"[]", "", false},
		{"[]", "]", false},
		{"%[%", "x[y", true},
		{"%[%", "xy", false},
	}
	for _, tt := range tests {
		if got := likeMatch(tt.pat, tt.s); got != tt.want {
			t.Errorf("LIKE %.40q on %.40q: got %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}

// BenchmarkLikeUnclosedBrackets measures the attack of issue 14 item 9
// within the new bound: the longest pattern allowed, all unclosed '[',
// parsed (compiled) once and matched against many values.
func BenchmarkLikeUnclosedBrackets(b *testing.B) {
	q := "SELECT * FROM X WHERE Name LIKE '" + strings.Repeat("[", MaxLikePattern) + "'"
	inst := &Instance{Values: map[string]Value{"Name": String(strings.Repeat("[", MaxLikePattern-1) + "x")}}
	for b.Loop() {
		parsed, err := ParseWQL(q)
		if err != nil {
			b.Fatal(err)
		}
		for range 2000 {
			parsed.Match(inst)
		}
	}
}

// BenchmarkLikeWorstCase matches the most expensive shape: many '%' with
// single characters between them, against a long value that almost fits.
func BenchmarkLikeWorstCase(b *testing.B) {
	p, err := compileLike(strings.Repeat("%a", MaxLikePattern/2-1) + "b")
	if err != nil {
		b.Fatal(err)
	}
	s := strings.Repeat("a", 4096)
	for b.Loop() {
		if p.match(s) {
			b.Fatal("matched")
		}
	}
}

// likeMatch compiles pat and matches s against it. A pattern too long to
// compile matches nothing.
func likeMatch(pat, s string) bool {
	p, err := compileLike(pat)
	return err == nil && p.match(s)
}
