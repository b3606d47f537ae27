package cimmodel

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"unicode"
	"unicode/utf8"
)

// DialectWQL is the WS-Man filter dialect of WQL queries (MS-WSMV §2.2.4.43
// and §3.1.4.8.2).
const DialectWQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"

// maxWQLLength bounds the query text ParseWQL accepts, in bytes.
const maxWQLLength = 16 << 10

// maxWQLDepth bounds the nesting of WHERE expressions.
const maxWQLDepth = 64

// Query is a parsed WQL data query (the subset of MS-WMI WQL that WinRM
// filters use): SELECT * or a property list FROM one class, with an optional
// WHERE condition.
type Query struct {
	// Properties are the selected properties as written; nil means "*".
	Properties []string
	// Class is the class of the FROM clause.
	Class string
	// Where is the condition, nil when there is none.
	Where Expr
}

// Expr is a node of a WHERE condition. Its String form is canonical and
// fully parenthesised.
type Expr interface {
	String() string
	eval(i *Instance) bool
	walk(func(Expr))
}

// String returns the canonical text of q: keywords upper case, the WHERE
// condition fully parenthesised.
func (q *Query) String() string {
	sel := "*"
	if q.Properties != nil {
		sel = strings.Join(q.Properties, ", ")
	}
	s := "SELECT " + sel + " FROM " + q.Class
	if q.Where != nil {
		s += " WHERE " + q.Where.String()
	}
	return s
}

// Match reports whether inst satisfies the WHERE condition. Comparisons
// with NULL are false (only IS NULL holds), strings compare
// case-insensitively, literals are converted to the property's type.
func (q *Query) Match(inst *Instance) bool {
	return q.Where == nil || q.Where.eval(inst)
}

// Validate checks q against class c: every selected and every compared
// property must exist (or be a system property such as __CLASS) and be a
// scalar in WHERE. Errors are *Error with StatusInvalidQuery.
func (q *Query) Validate(c *Class) error {
	for _, p := range q.Properties {
		if _, ok := c.property(p); !ok && !isSystemProperty(p) {
			return Errorf(StatusInvalidQuery, "class %s has no property %q", c.Name, p)
		}
	}
	var err error
	if q.Where != nil {
		q.Where.walk(func(e Expr) {
			ref, ok := e.(*propRef)
			if !ok || err != nil || isSystemProperty(ref.name) {
				return
			}
			p, ok := c.property(ref.name)
			switch {
			case !ok:
				err = Errorf(StatusInvalidQuery, "class %s has no property %q", c.Name, ref.name)
			case p.Array:
				err = Errorf(StatusInvalidQuery, "array property %s cannot be compared in WHERE", p.Name)
			}
		})
	}
	return err
}

// Project returns a copy of inst holding only the selected properties and
// the keys (so that its path stays valid); inst itself for "*".
func (q *Query) Project(inst *Instance) *Instance {
	if q.Properties == nil {
		return inst
	}
	out := &Instance{Class: inst.Class, Namespace: inst.Namespace, Values: map[string]Value{}}
	keep := func(name string) {
		if v, ok := inst.lookup(name); ok {
			if inst.Class != nil {
				if p, ok := inst.Class.property(name); ok {
					name = p.Name
				}
			}
			out.Values[name] = v
		}
	}
	for _, p := range q.Properties {
		keep(p)
	}
	if inst.Class != nil {
		for _, p := range inst.Class.props() {
			if p.Key {
				keep(p.Name)
			}
		}
	}
	return out
}

func isSystemProperty(name string) bool {
	return strings.EqualFold(name, "__CLASS")
}

// Query runs a WQL query in namespace: it parses wql, enumerates the FROM
// class polymorphically, keeps the instances that match the WHERE condition
// and projects them onto the selected properties (plus keys). Errors:
// StatusInvalidQuery for syntax errors, unknown properties and LIKE
// patterns longer than MaxLikePattern, StatusInvalidNamespace,
// StatusInvalidClass, a provider's error, or ctx's error (wrapped) when
// ctx ends while the instances are filtered.
func (r *Registry) Query(ctx context.Context, namespace, wql string) ([]*Instance, error) {
	q, err := ParseWQL(wql)
	if err != nil {
		return nil, err
	}
	return r.Select(ctx, namespace, q)
}

// Select runs the parsed query q in namespace, as [Registry.Query] does.
func (r *Registry) Select(ctx context.Context, namespace string, q *Query) ([]*Instance, error) {
	c, err := r.lookup(namespace, q.Class)
	if err != nil {
		return nil, err
	}
	if err := q.Validate(c); err != nil {
		return nil, err
	}
	all, err := r.Enumerate(ctx, namespace, q.Class)
	if err != nil {
		return nil, err
	}
	var out []*Instance
	for _, inst := range all {
		// The request's context carries OperationTimeout and the client's
		// disconnect: a long filter stops with them.
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("WQL query: %w", err)
		}
		if q.Match(inst) {
			out = append(out, q.Project(inst))
		}
	}
	return out, nil
}

// ---- expressions ----

type literalKind uint8

const (
	litString literalKind = iota + 1
	litNumber
	litBool
	litNull
)

type literal struct {
	kind literalKind
	text string // string value, or number text
	b    bool
}

func (l *literal) String() string {
	switch l.kind {
	case litString:
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(l.text) + "'"
	case litBool:
		if l.b {
			return "TRUE"
		}
		return "FALSE"
	case litNull:
		return "NULL"
	}
	return l.text
}
func (l *literal) eval(*Instance) bool { return false }
func (l *literal) walk(f func(Expr))   { f(l) }

type propRef struct{ name string }

func (p *propRef) String() string      { return p.name }
func (p *propRef) eval(*Instance) bool { return false }
func (p *propRef) walk(f func(Expr))   { f(p) }

type logical struct {
	op   string // "AND", "OR"
	l, r Expr
}

func (e *logical) String() string { return "(" + e.l.String() + " " + e.op + " " + e.r.String() + ")" }
func (e *logical) eval(i *Instance) bool {
	if e.op == "AND" {
		return e.l.eval(i) && e.r.eval(i)
	}
	return e.l.eval(i) || e.r.eval(i)
}
func (e *logical) walk(f func(Expr)) { f(e); e.l.walk(f); e.r.walk(f) }

type not struct{ x Expr }

func (e *not) String() string        { return "(NOT " + e.x.String() + ")" }
func (e *not) eval(i *Instance) bool { return !e.x.eval(i) }
func (e *not) walk(f func(Expr))     { f(e); e.x.walk(f) }

type isNull struct {
	prop   *propRef
	negate bool
}

func (e *isNull) String() string {
	if e.negate {
		return "(" + e.prop.name + " IS NOT NULL)"
	}
	return "(" + e.prop.name + " IS NULL)"
}
func (e *isNull) eval(i *Instance) bool {
	return i.Get(e.prop.name).IsNull() != e.negate
}
func (e *isNull) walk(f func(Expr)) { f(e); e.prop.walk(f) }

type isa struct {
	prop  *propRef
	class string
}

func (e *isa) String() string { return "(" + e.prop.name + " ISA '" + e.class + "')" }
func (e *isa) eval(i *Instance) bool {
	if strings.EqualFold(e.prop.name, "__CLASS") {
		return i.Class != nil && i.Class.isA(e.class)
	}
	emb, ok := i.Get(e.prop.name).AsInstance()
	return ok && emb.Class != nil && emb.Class.isA(e.class)
}
func (e *isa) walk(f func(Expr)) { f(e); e.prop.walk(f) }

type comparison struct {
	op   string       // "=", "<>", "<", ">", "<=", ">=", "LIKE"
	l, r Expr         // *propRef or *literal
	like *likePattern // for LIKE: r compiled once, when the query is parsed
}

func (e *comparison) String() string {
	return "(" + e.l.String() + " " + e.op + " " + e.r.String() + ")"
}
func (e *comparison) walk(f func(Expr)) {
	f(e)
	e.l.walk(f)
	e.r.walk(f)
}

// operand is a comparison side resolved against an instance.
type operand struct {
	v   Value    // for properties
	lit *literal // for literals
}

func resolve(x Expr, i *Instance) operand {
	if p, ok := x.(*propRef); ok {
		if strings.EqualFold(p.name, "__CLASS") {
			return operand{v: String(i.className())}
		}
		return operand{v: i.Get(p.name)}
	}
	return operand{lit: x.(*literal)}
}

func (e *comparison) eval(i *Instance) bool {
	a, b := resolve(e.l, i), resolve(e.r, i)
	if e.op == "LIKE" {
		s, ok := operandString(a)
		return ok && e.like != nil && e.like.match(s)
	}
	c, ok := compareOperands(a, b)
	if !ok {
		return false
	}
	switch e.op {
	case "=":
		return c == 0
	case "<>":
		return c != 0
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	case ">=":
		return c >= 0
	}
	return false
}

func operandString(o operand) (string, bool) {
	if o.lit != nil {
		return o.lit.text, o.lit.kind == litString
	}
	if o.v.IsNull() || o.v.Array {
		return "", false
	}
	if s, ok := o.v.AsString(); ok {
		return s, true
	}
	return keyText(o.v), true
}

// compareOperands orders a and b; ok is false when either is NULL or they
// cannot be compared.
func compareOperands(a, b operand) (int, bool) {
	if a.lit != nil && b.lit != nil {
		return compareLiterals(a.lit, b.lit)
	}
	if a.lit != nil {
		c, ok := compareValueLiteral(b.v, a.lit)
		return -c, ok
	}
	if b.lit != nil {
		return compareValueLiteral(a.v, b.lit)
	}
	if a.v.IsNull() || b.v.IsNull() || a.v.Array || b.v.Array {
		return 0, false
	}
	s, err := formatScalarAny(b.v)
	if err != nil {
		return 0, false
	}
	return compareValueLiteral(a.v, literalFor(b.v, s))
}

func formatScalarAny(v Value) (string, error) {
	if _, ok := v.V.(ObjectPath); ok {
		return keyText(v), nil
	}
	if _, ok := v.V.(*Instance); ok {
		return "", fmt.Errorf("instance")
	}
	return formatScalar(v.Type, v.V)
}

func literalFor(v Value, s string) *literal {
	switch {
	case v.Type == TypeBoolean:
		b, _ := v.AsBool()
		return &literal{kind: litBool, b: b}
	case v.Type.isInteger() || v.Type == TypeReal32 || v.Type == TypeReal64:
		return &literal{kind: litNumber, text: s}
	}
	return &literal{kind: litString, text: s}
}

func compareLiterals(a, b *literal) (int, bool) {
	if a.kind == litNull || b.kind == litNull || a.kind != b.kind {
		return 0, false
	}
	switch a.kind {
	case litString:
		return strings.Compare(strings.ToLower(a.text), strings.ToLower(b.text)), true
	case litBool:
		return boolCmp(a.b, b.b), true
	}
	x, err1 := strconv.ParseFloat(a.text, 64)
	y, err2 := strconv.ParseFloat(b.text, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return floatCmp(x, y), true
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func floatCmp(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// compareValueLiteral orders a property value against a literal, converting
// the literal to the value's type.
func compareValueLiteral(v Value, l *literal) (int, bool) {
	if v.IsNull() || v.Array || l.kind == litNull {
		return 0, false
	}
	switch v.Type {
	case TypeString, TypeChar16:
		if l.kind != litString {
			return 0, false
		}
		s, _ := formatScalar(v.Type, v.V)
		return strings.Compare(strings.ToLower(s), strings.ToLower(l.text)), true
	case TypeBoolean:
		b, _ := v.AsBool()
		switch l.kind {
		case litBool:
			return boolCmp(b, l.b), true
		case litString, litNumber:
			x, err := parseScalar(TypeBoolean, l.text)
			if err != nil {
				return 0, false
			}
			return boolCmp(b, x.(bool)), true
		}
		return 0, false
	case TypeReal32, TypeReal64:
		f, _ := v.AsFloat64()
		if l.kind != litNumber && l.kind != litString {
			return 0, false
		}
		g, err := strconv.ParseFloat(strings.TrimSpace(l.text), 64)
		if err != nil {
			return 0, false
		}
		return floatCmp(f, g), true
	case TypeDatetime:
		d, _ := v.AsDatetime()
		if l.kind != litString {
			return 0, false
		}
		e, err := parseDatetimeText(l.text)
		if err != nil || e.IsInterval != d.IsInterval {
			return 0, false
		}
		if d.IsInterval {
			return floatCmp(float64(d.Interval), float64(e.Interval)), true
		}
		return d.Time.Compare(e.Time), true
	case TypeReference:
		if l.kind != litString {
			return 0, false
		}
		return strings.Compare(strings.ToLower(keyText(v)), strings.ToLower(l.text)), true
	case TypeInstance:
		return 0, false
	}
	// integers
	n, ok := integerOf(v)
	if !ok || (l.kind != litNumber && l.kind != litString) {
		return 0, false
	}
	text := strings.TrimSpace(l.text)
	if m, ok := parseValueMapInt(text); ok {
		return n.cmp(m), true
	}
	g, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(g) {
		return 0, false
	}
	f, _ := v.AsFloat64()
	return floatCmp(f, g), true
}

// ---- lexer and parser ----

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokNumber
	tokOp    // = <> != < > <= >=
	tokPunct // ( ) , *
)

type token struct {
	kind tokKind
	text string
	pos  int // byte offset, 0-based
}

func lexWQL(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',' || c == '*':
			toks = append(toks, token{tokPunct, string(c), i})
			i++
		case c == '=':
			toks = append(toks, token{tokOp, "=", i})
			i++
		case c == '<' || c == '>' || c == '!':
			start := i
			i++
			if i < len(s) && (s[i] == '=' || (c == '<' && s[i] == '>')) {
				i++
			}
			op := s[start:i]
			if op == "!" {
				return nil, wqlError(start, "unexpected '!'")
			}
			if op == "!=" {
				op = "<>"
			}
			toks = append(toks, token{tokOp, op, start})
		case c == '\'' || c == '"':
			start := i
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				if s[i] == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == c {
					closed = true
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, wqlError(start, "unterminated string")
			}
			toks = append(toks, token{tokString, b.String(), start})
		case c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.':
			start := i
			i++
			for i < len(s) && (isAlnum(s[i]) || s[i] == '.' ||
				((s[i] == '-' || s[i] == '+') && (s[i-1] == 'e' || s[i-1] == 'E') && !strings.HasPrefix(strings.ToLower(s[start:i]), "0x"))) {
				i++
			}
			text := s[start:i]
			if !validNumber(text) {
				return nil, wqlError(start, fmt.Sprintf("invalid number %q", text))
			}
			toks = append(toks, token{tokNumber, text, start})
		case c == '_' || c < utf8.RuneSelf && unicode.IsLetter(rune(c)) || c >= utf8.RuneSelf:
			start := i
			for i < len(s) {
				r, n := utf8.DecodeRuneInString(s[i:])
				if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
					i += n
					continue
				}
				break
			}
			if i == start {
				return nil, wqlError(start, "unexpected character")
			}
			toks = append(toks, token{tokIdent, s[start:i], start})
		default:
			return nil, wqlError(i, fmt.Sprintf("unexpected character %q", c))
		}
	}
	return append(toks, token{tokEOF, "", len(s)}), nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func validNumber(s string) bool {
	t := strings.TrimLeft(s, "+-")
	if len(s)-len(t) > 1 || t == "" {
		return false
	}
	if strings.HasPrefix(strings.ToLower(t), "0x") {
		_, err := strconv.ParseUint(t[2:], 16, 64)
		return err == nil
	}
	if strings.ContainsAny(t, "xXpP_") || strings.EqualFold(t, "inf") || strings.EqualFold(t, "infinity") || strings.EqualFold(t, "nan") {
		return false
	}
	_, err := strconv.ParseFloat(t, 64)
	return err == nil || strings.Contains(err.Error(), "range")
}

func wqlError(pos int, msg string) *Error {
	return Errorf(StatusInvalidQuery, "WQL: at position %d: %s", pos+1, msg)
}

type wqlParser struct {
	toks  []token
	i     int
	depth int
}

func (p *wqlParser) peek() token { return p.toks[p.i] }
func (p *wqlParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// back undoes next for t (next does not advance past the end).
func (p *wqlParser) back(t token) {
	if t.kind != tokEOF {
		p.i--
	}
}

func (p *wqlParser) keyword(kw string) bool {
	t := p.peek()
	if t.kind == tokIdent && strings.EqualFold(t.text, kw) {
		p.i++
		return true
	}
	return false
}

func (p *wqlParser) fail(msg string) *Error {
	t := p.peek()
	if t.kind == tokEOF {
		return wqlError(t.pos, msg+", found end of query")
	}
	return wqlError(t.pos, fmt.Sprintf("%s, found %q", msg, t.text))
}

var wqlKeywords = map[string]bool{"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "OR": true, "NOT": true,
	"LIKE": true, "IS": true, "NULL": true, "TRUE": true, "FALSE": true, "ISA": true}

func isKeyword(s string) bool { return wqlKeywords[strings.ToUpper(s)] }

// ParseWQL parses a WQL data query: SELECT * or a comma-separated property
// list, FROM one class, and an optional WHERE condition built from =, <>,
// !=, <, >, <=, >=, LIKE, IS [NOT] NULL, ISA, AND, OR, NOT and parentheses
// over property names and string ('…' or "…"), number and TRUE/FALSE/NULL
// literals. Keywords are case-insensitive. Errors are *Error with
// StatusInvalidQuery and a 1-based position.
func ParseWQL(q string) (*Query, error) {
	if len(q) > maxWQLLength {
		return nil, wqlError(maxWQLLength, "query too long")
	}
	toks, err := lexWQL(q)
	if err != nil {
		return nil, err
	}
	p := &wqlParser{toks: toks}
	if !p.keyword("SELECT") {
		return nil, p.fail("expected SELECT")
	}
	query := &Query{}
	if t := p.peek(); t.kind == tokPunct && t.text == "*" {
		p.next()
	} else {
		query.Properties = []string{}
		for {
			t := p.next()
			if t.kind != tokIdent || isKeyword(t.text) {
				p.back(t)
				return nil, p.fail("expected a property name")
			}
			query.Properties = append(query.Properties, t.text)
			if t := p.peek(); t.kind == tokPunct && t.text == "," {
				p.next()
				continue
			}
			break
		}
	}
	if !p.keyword("FROM") {
		return nil, p.fail("expected FROM")
	}
	t := p.next()
	if t.kind != tokIdent || isKeyword(t.text) {
		p.back(t)
		return nil, p.fail("expected a class name")
	}
	query.Class = t.text
	if p.keyword("WHERE") {
		query.Where, err = p.parseOr()
		if err != nil {
			return nil, err
		}
	}
	if p.peek().kind != tokEOF {
		return nil, p.fail("unexpected text")
	}
	return query, nil
}

func (p *wqlParser) parseOr() (Expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxWQLDepth {
		return nil, p.fail("condition nested too deep")
	}
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &logical{op: "OR", l: l, r: r}
	}
	return l, nil
}

func (p *wqlParser) parseAnd() (Expr, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = &logical{op: "AND", l: l, r: r}
	}
	return l, nil
}

func (p *wqlParser) parseNot() (Expr, error) {
	if p.keyword("NOT") {
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxWQLDepth {
			return nil, p.fail("condition nested too deep")
		}
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &not{x: x}, nil
	}
	return p.parsePrimary()
}

func (p *wqlParser) parsePrimary() (Expr, error) {
	if t := p.peek(); t.kind == tokPunct && t.text == "(" {
		p.next()
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if t := p.peek(); t.kind != tokPunct || t.text != ")" {
			return nil, p.fail("expected ')'")
		}
		p.next()
		return x, nil
	}
	left, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	if prop, ok := left.(*propRef); ok {
		if p.keyword("IS") {
			negate := p.keyword("NOT")
			if !p.keyword("NULL") {
				return nil, p.fail("expected NULL")
			}
			return &isNull{prop: prop, negate: negate}, nil
		}
		if p.keyword("ISA") {
			t := p.next()
			if (t.kind != tokIdent && t.kind != tokString) || !validClassName(t.text) || t.text == "*" {
				p.back(t)
				return nil, p.fail("expected a class name after ISA")
			}
			return &isa{prop: prop, class: t.text}, nil
		}
	}
	op := ""
	if p.keyword("LIKE") {
		op = "LIKE"
	} else if t := p.peek(); t.kind == tokOp {
		op = p.next().text
	} else {
		return nil, p.fail("expected a comparison operator")
	}
	right, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	_, lp := left.(*propRef)
	_, rp := right.(*propRef)
	if !lp && !rp {
		return nil, wqlError(p.toks[p.i-1].pos, "a comparison needs a property")
	}
	cmp := &comparison{op: op, l: left, r: right}
	if op == "LIKE" {
		l, ok := right.(*literal)
		if !ok || l.kind != litString || !lp {
			return nil, wqlError(p.toks[p.i-1].pos, "LIKE needs a property and a string pattern")
		}
		if n := utf8.RuneCountInString(l.text); n > MaxLikePattern {
			return nil, wqlError(p.toks[p.i-1].pos, fmt.Sprintf("the LIKE pattern has %d characters, more than the %d allowed", n, MaxLikePattern))
		}
		if cmp.like, err = compileLike(l.text); err != nil {
			return nil, err
		}
	}
	return cmp, nil
}

func (p *wqlParser) parseOperand() (Expr, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return &literal{kind: litString, text: t.text}, nil
	case tokNumber:
		return &literal{kind: litNumber, text: t.text}, nil
	case tokIdent:
		switch strings.ToUpper(t.text) {
		case "TRUE":
			return &literal{kind: litBool, b: true}, nil
		case "FALSE":
			return &literal{kind: litBool}, nil
		case "NULL":
			return &literal{kind: litNull}, nil
		}
		if isKeyword(t.text) {
			break
		}
		return &propRef{name: t.text}, nil
	}
	p.back(t)
	return nil, p.fail("expected a property or a literal")
}
