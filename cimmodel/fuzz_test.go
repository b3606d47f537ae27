package cimmodel_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
)

// parseDoc parses s and returns its root, or nil when s is not XML.
func parseDoc(s string) *etree.Element {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		return nil
	}
	return doc.Root()
}

func addFiles(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
}

func FuzzParseWQL(f *testing.F) {
	for _, name := range []string{"parse.txt", "eval.txt"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "wql", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(strings.ToUpper(line), "SELECT") {
				f.Add(line)
			}
		}
	}
	w := newWorld(f)
	f.Fuzz(func(t *testing.T, q string) {
		parsed, err := cimmodel.ParseWQL(q)
		if err != nil {
			if s := cimmodel.StatusOf(err); s != cimmodel.StatusInvalidQuery {
				t.Fatalf("status: got %v, want %v", s, cimmodel.StatusInvalidQuery)
			}
			return
		}
		again, err := cimmodel.ParseWQL(parsed.String())
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", parsed, err)
		}
		if again.String() != parsed.String() {
			t.Fatalf("unstable: %q then %q", parsed, again)
		}
		// Evaluation never panics, whatever the query compares.
		if c, ok := w.reg.Class(testNS, parsed.Class); ok && parsed.Validate(c) == nil {
			for _, inst := range w.vols.insts {
				parsed.Match(inst)
			}
		}
	})
}

func FuzzDecodeInstance(f *testing.F) {
	addFiles(f, filepath.Join("testdata", "golden", "test_*.xml"))
	addFiles(f, filepath.Join("testdata", "windows", "*.xml"))
	w := newWorld(f)
	f.Add(writeXML(f, cimmodel.EncodeInstance(nil, w.fullAllTypes())))
	f.Add(`<p:TEST_AllTypes xmlns:p="urn:x"><p:ID>a&#13;b</p:ID><p:S_real32>NaN</p:S_real32></p:TEST_AllTypes>`)
	f.Fuzz(func(t *testing.T, s string) {
		root := parseDoc(s)
		if root == nil {
			return
		}
		inst, err := cimmodel.DecodeInstance(w.reg, testNS, root)
		if err != nil {
			return
		}
		if err := inst.Check(); err != nil {
			t.Fatalf("decoded instance fails Check: %v", err)
		}
		text := writeXML(t, cimmodel.EncodeInstance(nil, inst))
		back, err := cimmodel.DecodeInstance(w.reg, testNS, parseDoc(text))
		if err != nil {
			t.Fatalf("re-decode: %v\n%s", err, text)
		}
		if !back.Equal(inst) {
			t.Fatalf("round trip: got %v, want %v\n%s", back.Values, inst.Values, text)
		}
	})
}

func FuzzParseEPR(f *testing.F) {
	w := newWorld(f)
	for _, inst := range []*cimmodel.Instance{w.vols.insts[0], w.syncs.insts[0], w.pools.insts[0]} {
		el := etree.NewElement("a:EndpointReference")
		el.CreateAttr("xmlns:a", "http://schemas.xmlsoap.org/ws/2004/08/addressing")
		inst.Path().WriteEPR(el, "")
		f.Add(writeXML(f, el))
	}
	addFiles(f, filepath.Join("testdata", "windows", "dcim-job-output-epr.xml"))
	f.Fuzz(func(t *testing.T, s string) {
		root := parseDoc(s)
		if root == nil {
			return
		}
		p, err := cimmodel.ParseEPR(root)
		if err != nil {
			return
		}
		el := etree.NewElement("x")
		p.WriteEPR(el, "")
		back, err := cimmodel.ParseEPR(parseDoc(writeXML(t, el)))
		if err != nil {
			t.Fatalf("re-parse of %s: %v", p, err)
		}
		if !back.Equal(p) {
			t.Fatalf("round trip: got %s, want %s", back, p)
		}
	})
}

func FuzzParseCIMXMLInstance(f *testing.F) {
	w := newWorld(f)
	for _, inst := range []*cimmodel.Instance{w.fullAllTypes(), w.vols.insts[0], w.allocs.insts[0],
		cimmodel.NewInstance(w.rsd).Set("InstanceID", cimmodel.String("r"))} {
		f.Add(cimmodel.EncodeCIMXMLInstance(inst))
	}
	f.Fuzz(func(t *testing.T, s string) {
		inst, err := cimmodel.ParseCIMXMLInstance(w.reg, testNS, s)
		if err != nil {
			return
		}
		if err := inst.Check(); err != nil {
			t.Fatalf("parsed instance fails Check: %v", err)
		}
		text := cimmodel.EncodeCIMXMLInstance(inst)
		back, err := cimmodel.ParseCIMXMLInstance(w.reg, testNS, text)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, text)
		}
		if !back.Equal(inst) {
			t.Fatalf("round trip: got %v, want %v\n%s", back.Values, inst.Values, text)
		}
	})
}
