package cimmodel

import (
	"unicode"
	"unicode/utf8"
)

// MaxLikePattern bounds the length of one WQL LIKE pattern, in characters.
// With it, matching one value of n characters costs at most
// MaxLikePattern·n steps, whatever the pattern holds.
const MaxLikePattern = 1024

// likeKind tells what one element of a compiled LIKE pattern matches.
type likeKind uint8

const (
	likeRune   likeKind = iota // exactly the rune r
	likeAnyOne                 // '_': any one character
	likeAnyRun                 // '%': any run of characters, empty included
	likeSet                    // '[…]': one character in (or, negated, not in) ranges
)

// likeRange is a closed range of runes within a '[…]' set; a single
// character is a range of one.
type likeRange struct{ lo, hi rune }

// likeElem is one element of a compiled LIKE pattern.
type likeElem struct {
	kind   likeKind
	r      rune
	neg    bool
	ranges []likeRange
}

// matches reports whether the single-character element e accepts c.
func (e *likeElem) matches(c rune) bool {
	switch e.kind {
	case likeRune:
		return c == e.r
	case likeAnyOne:
		return true
	case likeSet:
		in := false
		for _, rg := range e.ranges {
			if c >= rg.lo && c <= rg.hi {
				in = true
				break
			}
		}
		return in != e.neg
	}
	return false
}

// likePattern is a WQL LIKE pattern compiled once, when the query is parsed.
type likePattern struct {
	elems []likeElem
}

// compileLike compiles a WQL LIKE pattern: % any run, _ one character,
// [abc], [a-z] and [^…] sets, anything else itself; a '[' with no ']'
// after it stands for itself. Matching is case-insensitive: the pattern is
// lower-cased here, values as they are matched. It runs in time linear
// in the pattern; patterns longer than MaxLikePattern characters are
// refused with StatusInvalidQuery.
func compileLike(pattern string) (*likePattern, error) {
	if n := utf8.RuneCountInString(pattern); n > MaxLikePattern {
		return nil, Errorf(StatusInvalidQuery, "WQL: a LIKE pattern of %d characters is longer than the %d allowed", n, MaxLikePattern)
	}
	pat := []rune(pattern)
	for i, c := range pat {
		pat[i] = unicode.ToLower(c)
	}
	// lastClose is the index of the last ']': a '[' after it has no ']' to
	// close it. Knowing this up front keeps compilation linear (a scan for
	// ']' per unclosed '[' made 16k of them quadratic).
	lastClose := -1
	for i, c := range pat {
		if c == ']' {
			lastClose = i
		}
	}
	p := &likePattern{elems: make([]likeElem, 0, len(pat))}
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; {
		case c == '%':
			// Consecutive '%' are one: fewer restart points for the matcher.
			if n := len(p.elems); n == 0 || p.elems[n-1].kind != likeAnyRun {
				p.elems = append(p.elems, likeElem{kind: likeAnyRun})
			}
		case c == '_':
			p.elems = append(p.elems, likeElem{kind: likeAnyOne})
		case c == '[' && lastClose > i:
			end := i + 1
			for pat[end] != ']' {
				end++
			}
			p.elems = append(p.elems, compileSet(pat[i+1:end]))
			i = end
		default:
			p.elems = append(p.elems, likeElem{kind: likeRune, r: c})
		}
	}
	return p, nil
}

// compileSet compiles the inside of a '[…]' set: an optional leading '^',
// then characters and a-z ranges.
func compileSet(set []rune) likeElem {
	e := likeElem{kind: likeSet}
	if len(set) > 0 && set[0] == '^' {
		e.neg = true
		set = set[1:]
	}
	for k := 0; k < len(set); k++ {
		if k+2 < len(set) && set[k+1] == '-' {
			e.ranges = append(e.ranges, likeRange{set[k], set[k+2]})
			k += 2
			continue
		}
		e.ranges = append(e.ranges, likeRange{set[k], set[k]})
	}
	return e
}

// match reports whether s matches the pattern, ignoring case (rune by
// rune, as unicode.ToLower). Every element but '%' consumes exactly one
// character, so backtracking to the last '%' is enough: at most
// len(elems)·len(s) steps (each costing a set's size at worst), no
// exponential blowup, and no allocation.
func (p *likePattern) match(s string) bool {
	elems := p.elems
	i, j := 0, 0 // the element, and the byte offset in s
	star, mark := -1, 0
	for j < len(s) {
		c, n := utf8.DecodeRuneInString(s[j:])
		c = unicode.ToLower(c)
		switch {
		case i < len(elems) && elems[i].kind == likeAnyRun:
			star, mark = i, j
			i++
		case i < len(elems) && elems[i].matches(c):
			i++
			j += n
		case star >= 0:
			_, m := utf8.DecodeRuneInString(s[mark:])
			mark += m
			i, j = star+1, mark
		default:
			return false
		}
	}
	for i < len(elems) && elems[i].kind == likeAnyRun {
		i++
	}
	return i == len(elems)
}
