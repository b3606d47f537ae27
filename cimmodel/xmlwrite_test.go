package cimmodel_test

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
)

// gen builds classes, instances, values and paths from fuzz input: each
// choice takes the next byte (zero when the input is used up), strings
// come from a pool of XML-special, non-ASCII and invalid text and the
// fuzzer's own.
type gen struct {
	data []byte
	strs []string
	reg  *cimmodel.Registry // where classes are registered when they can be
}

func newGen(data []byte, s string) *gen {
	strs := []string{"", "plain", `a&b<c>d'e"f`, "tab\tnl\ncr\r\nend", "nul\x00bell\x07", "bad\xff\xfeutf8",
		"é中😀", "\uFFFD\uFFFE\uFFFF", "\xed\xa0\x80", " lead and trail ", "]]>", "&amp;"}
	strs = append(strs, strings.Split(s, "|")...)
	return &gen{data: data, strs: strs, reg: cimmodel.NewRegistry()}
}

func (g *gen) n(k int) int {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return int(b) % k
}

func (g *gen) u64() uint64 {
	var b [8]byte
	k := copy(b[:], g.data)
	g.data = g.data[k:]
	return binary.LittleEndian.Uint64(b[:])
}

func (g *gen) str() string { return g.strs[g.n(len(g.strs))] }

// name is a CIM identifier made of a pool string's letters, digits and
// underscores (tags carry names unescaped, as they always did).
func (g *gen) name(prefix string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range g.str() {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == 'é' {
			b.WriteRune(r)
		}
	}
	b.WriteString(string(rune('A' + g.n(26))))
	return b.String()
}

func (g *gen) namespace() string {
	return []string{"root/test", "root/cimv2", "interop", "root\\microsoft\\windows\\storage", ""}[g.n(5)] + g.str()[:0]
}

func (g *gen) class(depth int) *cimmodel.Class {
	c := &cimmodel.Class{Name: g.name([]string{"TEST_", "CIM_", "MSFT_"}[g.n(3)]), Namespace: g.namespace()}
	if g.n(3) == 0 {
		c.Namespace = g.str()
	}
	for range g.n(7) {
		p := cimmodel.Property{Name: g.name(""), Type: cimmodel.Type(1 + g.n(16)), Array: g.n(3) == 0}
		if p.Type == cimmodel.TypeInstance && depth >= 3 {
			p.Type = cimmodel.TypeString
		}
		c.Properties = append(c.Properties, p)
	}
	if g.n(4) != 0 {
		_ = g.reg.Register(c) // a registered class is encoded from its property index
	}
	return c
}

// instance is an instance of a new class: each property NULL, set under
// its declared name, or under another case of it (which the encoder finds
// case-insensitively), sometimes with an undeclared value beside.
func (g *gen) instance(depth int) *cimmodel.Instance {
	c := g.class(depth)
	inst := &cimmodel.Instance{Class: c, Namespace: c.Namespace, Values: map[string]cimmodel.Value{}}
	if g.n(4) == 0 {
		inst.Namespace = ""
	}
	for _, p := range c.Properties {
		switch g.n(6) {
		case 0: // unset: NULL
		case 1:
			inst.Values[strings.ToLower(p.Name)] = g.value(p.Type, p.Array, depth)
		case 2:
			inst.Values[p.Name] = cimmodel.Value{Type: p.Type, Array: p.Array}
		default:
			inst.Values[p.Name] = g.value(p.Type, p.Array, depth)
		}
	}
	if g.n(8) == 0 {
		inst.Values["Undeclared"] = cimmodel.String(g.str())
	}
	return inst
}

func (g *gen) value(t cimmodel.Type, array bool, depth int) cimmodel.Value {
	if !array {
		return cimmodel.Value{Type: t, V: g.scalar(t, depth)}
	}
	k := g.n(4)
	var v any
	switch t {
	case cimmodel.TypeUint8:
		v = elems(g, k, func() uint8 { return uint8(g.u64()) })
	case cimmodel.TypeSint8:
		v = elems(g, k, func() int8 { return int8(g.u64()) })
	case cimmodel.TypeUint16:
		v = elems(g, k, func() uint16 { return uint16(g.u64()) })
	case cimmodel.TypeSint16:
		v = elems(g, k, func() int16 { return int16(g.u64()) })
	case cimmodel.TypeUint32:
		v = elems(g, k, func() uint32 { return uint32(g.u64()) })
	case cimmodel.TypeSint32, cimmodel.TypeChar16:
		v = elems(g, k, func() int32 { return g.scalar(t, depth).(int32) })
	case cimmodel.TypeUint64:
		v = elems(g, k, func() uint64 { return g.u64() })
	case cimmodel.TypeSint64:
		v = elems(g, k, func() int64 { return int64(g.u64()) })
	case cimmodel.TypeReal32:
		v = elems(g, k, func() float32 { return g.scalar(t, depth).(float32) })
	case cimmodel.TypeReal64:
		v = elems(g, k, func() float64 { return g.scalar(t, depth).(float64) })
	case cimmodel.TypeBoolean:
		v = elems(g, k, func() bool { return g.n(2) == 1 })
	case cimmodel.TypeString:
		v = elems(g, k, g.str)
	case cimmodel.TypeDatetime:
		v = elems(g, k, func() cimmodel.Datetime { return g.scalar(t, depth).(cimmodel.Datetime) })
	case cimmodel.TypeReference:
		v = elems(g, k, func() cimmodel.ObjectPath { return g.path(depth) })
	case cimmodel.TypeInstance:
		v = elems(g, k, func() *cimmodel.Instance { return g.scalar(t, depth).(*cimmodel.Instance) })
	}
	return cimmodel.Value{Type: t, Array: true, V: v}
}

func elems[T any](g *gen, k int, f func() T) []T {
	out := make([]T, k)
	for i := range out {
		out[i] = f()
	}
	return out
}

func (g *gen) scalar(t cimmodel.Type, depth int) any {
	x := g.u64()
	switch t {
	case cimmodel.TypeUint8:
		return uint8(x)
	case cimmodel.TypeSint8:
		return int8(x)
	case cimmodel.TypeUint16:
		return uint16(x)
	case cimmodel.TypeSint16:
		return int16(x)
	case cimmodel.TypeUint32:
		return uint32(x)
	case cimmodel.TypeSint32:
		return int32(x)
	case cimmodel.TypeChar16:
		return int32(x % 0x11000) // surrogates and U+FFFE included
	case cimmodel.TypeUint64:
		return x
	case cimmodel.TypeSint64:
		return int64(x)
	case cimmodel.TypeReal32:
		return []float32{math.Float32frombits(uint32(x)), float32(math.Inf(-1)), 0.1, 1e30}[g.n(4)]
	case cimmodel.TypeReal64:
		return []float64{math.Float64frombits(x), math.NaN(), math.Inf(1), -0.0, 12345.678}[g.n(5)]
	case cimmodel.TypeBoolean:
		return x&1 == 1
	case cimmodel.TypeString:
		return g.str()
	case cimmodel.TypeDatetime:
		if g.n(2) == 0 {
			return cimmodel.Datetime{Interval: time.Duration(x), IsInterval: true}
		}
		zone := time.FixedZone("", (g.n(29)-12)*3600+g.n(2)*1800)
		return cimmodel.Datetime{Time: time.Unix(int64(x%(1<<36))-1<<35, int64(x>>40)%1e9).In(zone)}
	case cimmodel.TypeReference:
		return g.path(depth)
	case cimmodel.TypeInstance:
		if depth >= 3 || g.n(5) == 0 {
			return (*cimmodel.Instance)(nil)
		}
		return g.instance(depth + 1)
	}
	return nil
}

// path is an object path with string, number and (nested) reference keys.
func (g *gen) path(depth int) cimmodel.ObjectPath {
	p := cimmodel.ObjectPath{Namespace: g.namespace(), Class: g.name([]string{"TEST_", "CIM_"}[g.n(2)])}
	for range g.n(4) {
		k := cimmodel.KeyBinding{Name: g.name("")}
		switch g.n(4) {
		case 0:
			k.Value = cimmodel.Uint32(uint32(g.u64()))
		case 1:
			if depth < 3 {
				k.Value = cimmodel.Ref(g.path(depth + 1))
				break
			}
			fallthrough
		default:
			k.Value = cimmodel.String(g.str())
		}
		p.Keys = append(p.Keys, k)
	}
	return p
}

// treeText serialises e as the replies did (etree's default settings),
// or with carriage returns as character references.
func treeText(e *etree.Element, canonicalCR bool) string {
	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalText = canonicalCR
	doc.SetRoot(e)
	s, err := doc.WriteToString()
	if err != nil {
		panic(err)
	}
	return s
}

// checkSameAsTree checks that the direct encoder writes, byte for byte,
// what the etree encoder it replaced writes for inst, for g's method
// output and for an EPR, in both EPR forms; that its text parses; and that
// the tree EncodeInstanceAs builds from it is the reference tree.
func checkSameAsTree(t *testing.T, g *gen) {
	t.Helper()
	inst := g.instance(0)
	m := &cimmodel.Method{Name: g.name("M"), ReturnType: []cimmodel.Type{0, cimmodel.TypeUint32, cimmodel.TypeSint32}[g.n(3)]}
	res := cimmodel.Result{ReturnValue: uint32(g.u64()), Out: map[string]cimmodel.Value{}}
	for _, p := range g.class(1).Properties {
		m.Params = append(m.Params, cimmodel.Parameter{Name: p.Name, Type: p.Type, Array: p.Array, Out: g.n(4) != 0})
		if g.n(3) != 0 {
			res.Out[p.Name] = g.value(p.Type, p.Array, 1)
		}
	}
	path := g.path(0)
	for _, form := range []cimmodel.EPRForm{cimmodel.EPRNative, cimmodel.EPRDMTF} {
		want := treeText(cimmodel.RefEncodeInstanceAs(nil, inst, form), false)
		got := string(cimmodel.AppendInstance(nil, inst, form))
		if got != want {
			t.Fatalf("instance of %s, form %d:\ngot  %s\nwant %s", inst.Class.Name, form, got, want)
		}
		if err := etree.NewDocument().ReadFromString(got); err != nil {
			t.Fatalf("instance text does not parse: %v\n%s", err, got)
		}
		if tree, ref := treeText(cimmodel.EncodeInstanceAs(nil, inst, form), true), treeText(cimmodel.RefEncodeInstanceAs(nil, inst, form), true); tree != ref {
			t.Fatalf("EncodeInstanceAs tree, form %d:\ngot  %s\nwant %s", form, tree, ref)
		}

		uri := cimmodel.ResourceURI(inst.Namespace, g.name("TEST_"))
		if form == cimmodel.EPRDMTF {
			uri = cimmodel.DMTFPrefix + "CIM_X"
		}
		want = treeText(cimmodel.RefEncodeOutput(nil, m, uri, res), false)
		if got := string(cimmodel.AppendOutput(nil, m, uri, res)); got != want {
			t.Fatalf("output:\ngot  %s\nwant %s", got, want)
		}

		el := etree.NewElement("a:EndpointReference")
		el.CreateAttr("xmlns:a", "http://schemas.xmlsoap.org/ws/2004/08/addressing")
		el.CreateAttr("xmlns:w", "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd")
		cimmodel.RefWriteEPRAs(path, el, "", form)
		want = treeText(el, false)
		got = `<a:EndpointReference xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">` +
			string(cimmodel.AppendEPR(nil, path, "", form)) + `</a:EndpointReference>`
		if got != want {
			t.Fatalf("EPR:\ngot  %s\nwant %s", got, want)
		}
		tree := etree.NewElement("x")
		path.WriteEPRAs(tree, "", form)
		ref := etree.NewElement("x")
		cimmodel.RefWriteEPRAs(path, ref, "", form)
		if a, b := treeText(tree, true), treeText(ref, true); a != b {
			t.Fatalf("WriteEPRAs tree:\ngot  %s\nwant %s", a, b)
		}
	}
}

// TestAppendInstanceMatchesTree holds the direct encoder to the etree
// encoder it replaced over instances of every CIM type, arrays, NULLs,
// embedded instances, references with nested references, and text with
// XML-special, non-ASCII and invalid characters, and over the test world's
// instances.
func TestAppendInstanceMatchesTree(t *testing.T) {
	for i := range 2000 {
		data := make([]byte, 256)
		x := uint64(i)*0x9E3779B97F4A7C15 + 1
		for j := range data {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			data[j] = byte(x)
		}
		checkSameAsTree(t, newGen(data, "fuzz|x<y"))
	}
	w := newWorld(t)
	for _, inst := range []*cimmodel.Instance{w.fullAllTypes(), w.vols.insts[0], w.syncs.insts[0], w.pools.insts[0], w.allocs.insts[0]} {
		for _, form := range []cimmodel.EPRForm{cimmodel.EPRNative, cimmodel.EPRDMTF} {
			want := treeText(cimmodel.RefEncodeInstanceAs(nil, inst, form), false)
			if got := string(cimmodel.AppendInstance(nil, inst, form)); got != want {
				t.Errorf("%s, form %d:\ngot  %s\nwant %s", inst.Class.Name, form, got, want)
			}
		}
	}
}

// FuzzAppendInstance is TestAppendInstanceMatchesTree's comparison on
// instances built from the fuzzer's bytes and strings.
func FuzzAppendInstance(f *testing.F) {
	f.Add([]byte{}, "")
	f.Add([]byte("\x05\x03\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"), "a&b|c<d")
	f.Fuzz(func(t *testing.T, data []byte, s string) {
		checkSameAsTree(t, newGen(data, s))
	})
}

// checkFrozen checks that a frozen instance's kept encodings are what the
// encoder writes for the unfrozen instance, in each form, whichever form
// is asked first and however often, appended after other text; and its
// reference likewise (a reference to another address is not kept).
func checkFrozen(t *testing.T, inst *cimmodel.Instance) {
	t.Helper()
	frozen := inst.Copy().Freeze()
	if frozen.Freeze() != frozen {
		t.Fatal("Freeze of a frozen instance returned another")
	}
	head := []byte("<head/>")
	for _, form := range []cimmodel.EPRForm{cimmodel.EPRDMTF, cimmodel.EPRNative, cimmodel.EPRDMTF, cimmodel.EPRNative, cimmodel.EPRNative} {
		want := string(head) + string(cimmodel.AppendInstance(nil, inst, form))
		if got := string(cimmodel.AppendInstance(head[:len(head):len(head)], frozen, form)); got != want {
			t.Fatalf("frozen instance of %s, form %d:\ngot  %s\nwant %s", inst.Class.Name, form, got, want)
		}
		for _, address := range []string{"", "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous", "http://elsewhere/"} {
			want := string(head) + string(cimmodel.AppendEPR(nil, inst.Path(), address, form))
			if got := string(cimmodel.AppendInstanceEPR(head[:len(head):len(head)], frozen, address, form)); got != want {
				t.Fatalf("frozen instance's EPR to %q, form %d:\ngot  %s\nwant %s", address, form, got, want)
			}
		}
	}
}

// TestFrozenInstanceText holds frozen instances' kept encodings to the
// encoder's, over the generated instances and the test world's.
func TestFrozenInstanceText(t *testing.T) {
	for i := range 1000 {
		data := make([]byte, 256)
		x := uint64(i)*0x9E3779B97F4A7C15 + 7
		for j := range data {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			data[j] = byte(x)
		}
		checkFrozen(t, newGen(data, "fuzz|x<y").instance(0))
	}
	w := newWorld(t)
	for _, inst := range []*cimmodel.Instance{w.fullAllTypes(), w.vols.insts[0], w.syncs.insts[0], w.pools.insts[0], w.allocs.insts[0]} {
		checkFrozen(t, inst)
	}
}
