package wsman_test

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"go.uber.org/zap/zaptest"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/wsman"
)

// omiClasses registers the classes OMI's WS-Management tests retrieve
// (Unix/tests/wsman/test_wsman.cpp, TestWSMAN_GetClass_*), declared as the
// answers OMI expects show them: MSFT_Base/MSFT_Animal in root/test and
// X_ManagedElement/X_Number/X_HugeNumber in test/cpp.
func omiClasses(t testing.TB) *cimmodel.Registry {
	t.Helper()
	reg := cimmodel.NewRegistry()
	str := func(name string) cimmodel.Property { return cimmodel.Property{Name: name, Type: cimmodel.TypeString} }
	embedded := func(name, class string, array bool) cimmodel.Property {
		return cimmodel.Property{Name: name, Type: cimmodel.TypeString, EmbeddedClass: class, Array: array}
	}
	object := func(name string, array bool) cimmodel.Property {
		return cimmodel.Property{Name: name, Type: cimmodel.TypeInstance, Array: array}
	}
	classes := []*cimmodel.Class{
		{Name: "MSFT_Base", Namespace: "root/test", Properties: []cimmodel.Property{{Name: "Key", Type: cimmodel.TypeUint32, Key: true}}},
		{Name: "MSFT_Animal", Superclass: "MSFT_Base", Namespace: "root/test", Properties: []cimmodel.Property{str("Species")}},
		{Name: "X_ManagedElement", Namespace: "test/cpp", Properties: []cimmodel.Property{str("Description")}},
		{Name: "X_Number", Superclass: "X_ManagedElement", Namespace: "test/cpp",
			Properties: []cimmodel.Property{{Name: "Number", Type: cimmodel.TypeUint64, Key: true}}},
		{Name: "X_HugeNumber", Superclass: "X_Number", Namespace: "test/cpp",
			Properties: []cimmodel.Property{
				{Name: "Magnitude", Type: cimmodel.TypeUint32},
				embedded("MagnitudeObj", "X_SmallNumber", false),
				embedded("Numbers123", "X_SmallNumber", true),
				object("Number0", false),
				object("TwoTestObjects", true),
				embedded("TestObject", "X_TestObject", false),
			},
			Methods: []*cimmodel.Method{
				{Name: "SpellMagnitude", ReturnType: cimmodel.TypeString},
				{Name: "TestEmbedded", ReturnType: cimmodel.TypeString,
					Qualifiers: []cimmodel.Qualifier{
						{Name: "EmbeddedInstance", Value: cimmodel.String("X_TestObject")},
						{Name: "static", Value: cimmodel.Bool(true)},
					},
					Params: []cimmodel.Parameter{
						{Name: "objectsArray", Type: cimmodel.TypeInstance, Array: true, In: true, Out: true},
						{Name: "objectSingle", Type: cimmodel.TypeInstance, In: true, Out: true},
						{Name: "testObjectsArray", Type: cimmodel.TypeString, EmbeddedClass: "X_TestObject", Array: true, In: true, Out: true},
						{Name: "testObjectSingle", Type: cimmodel.TypeString, EmbeddedClass: "X_TestObject", In: true, Out: true},
					}},
			}},
	}
	for _, c := range classes {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

func newClassServer(t testing.TB, reg *cimmodel.Registry) *httptest.Server {
	t.Helper()
	var u users.File
	if err := u.Set(testUser, testPass); err != nil {
		t.Fatal(err)
	}
	s := wsman.NewServer(reg, &u)
	s.Logger = zaptest.NewLogger(t)
	s.AllowUnencrypted = true
	s.Machine = "test-host"
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// canonicalClass writes a <CLASS> element in one form for comparison;
// dropRead removes the Read qualifiers (see TestGetClassAsOMIAnswers).
func canonicalClass(t testing.TB, e *etree.Element, dropRead bool) string {
	t.Helper()
	e = e.Copy()
	if dropRead {
		var strip func(*etree.Element)
		strip = func(x *etree.Element) {
			for _, c := range x.ChildElements() {
				if c.Tag == "QUALIFIER" && strings.EqualFold(c.SelectAttrValue("NAME", ""), "read") {
					x.RemoveChild(c)
					continue
				}
				strip(c)
			}
		}
		strip(e)
	}
	doc := etree.NewDocument()
	doc.SetRoot(e)
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGetClassAsOMIAnswers replays the class retrievals of OMI's tests
// (PowerShell's MI client's requests, with the WinRM client's defaults) and
// compares the <CLASS> in our Body with the one OMI's test expects, after
// removing our Read qualifiers: OMI's test MOF declares none, while every
// property we declare carries Read (DSP0004's default, written out because
// the MI client takes a property with Read and without Write as read-only,
// OMI Unix/base/class.c).
func TestGetClassAsOMIAnswers(t *testing.T) {
	srv := newClassServer(t, omiClasses(t))
	for _, name := range []string{"animal", "hugenumber", "hugenumber-own", "hugenumber-alloff"} {
		t.Run(name, func(t *testing.T) {
			dir := "testdata/exchanges/omi-getclass"
			req, err := os.ReadFile(filepath.Join(dir, name+".request.xml"))
			if err != nil {
				t.Fatal(err)
			}
			wantText, err := os.ReadFile(filepath.Join(dir, name+".answer.xml"))
			if err != nil {
				t.Fatal(err)
			}
			status, reply := post(t, srv, testUser, testPass, req)
			if status != 200 {
				t.Fatalf("status %d:\n%s", status, reply)
			}
			env := parse(t, reply)
			if a := find(env, "Action"); a == nil || a.Text() != "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse" {
				t.Errorf("Action %v, want GetResponse", a)
			}
			body := find(env, "Body")
			if n := len(body.ChildElements()); n != 1 || body.ChildElements()[0].Tag != "CLASS" {
				t.Fatalf("Body holds %d elements, want one CLASS:\n%s", n, reply)
			}
			wantDoc := etree.NewDocument()
			if err := wantDoc.ReadFromBytes(wantText); err != nil {
				t.Fatal(err)
			}
			got := canonicalClass(t, body.ChildElements()[0], true)
			want := canonicalClass(t, wantDoc.Root(), false)
			if got != want {
				t.Errorf("CLASS differs from OMI's answer\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

// TestGetClassFaultsAsOMI: an unknown class, an unknown namespace and a
// missing ClassName selector are wsa:DestinationUnreachable, as OMI's
// tests expect.
func TestGetClassFaultsAsOMI(t *testing.T) {
	srv := newClassServer(t, omiClasses(t))
	for _, name := range []string{"invalid-class", "invalid-namespace", "missing-classname"} {
		t.Run(name, func(t *testing.T) {
			req, err := os.ReadFile(filepath.Join("testdata/exchanges/omi-getclass", name+".request.xml"))
			if err != nil {
				t.Fatal(err)
			}
			status, reply := post(t, srv, testUser, testPass, req)
			if status != 500 || !strings.HasSuffix(subcode(t, reply), "DestinationUnreachable") {
				t.Errorf("status %d subcode %q, want 500 DestinationUnreachable:\n%s", status, subcode(t, reply), reply)
			}
		})
	}
}

// classItems returns the CLASS elements of an enumeration answer's Items
// and whether it ended the sequence.
func classItems(t *testing.T, reply []byte) (classes []*etree.Element, ctx string, end bool) {
	t.Helper()
	env := parse(t, reply)
	if its := find(env, "Items"); its != nil {
		for _, c := range its.ChildElements() {
			if c.Tag != "CLASS" {
				t.Fatalf("item %s, want CLASS:\n%s", c.Tag, reply)
			}
			classes = append(classes, c)
		}
	}
	if c := find(env, "EnumerationContext"); c != nil {
		ctx = strings.TrimSpace(c.Text())
	}
	return classes, ctx, find(env, "EndOfSequence") != nil
}

func classNames(cs []*etree.Element) string {
	var names []string
	for _, c := range cs {
		names = append(names, c.SelectAttrValue("NAME", "")+":"+c.SelectAttrValue("SUPERCLASS", ""))
	}
	return strings.Join(names, ",")
}

// TestEnumerateClasses: an Enumerate on the class resource URI with
// __cimnamespace (the MI client's class retrieval headers,
// testdata/exchanges/omi-getclass/enumerate-classes.request.xml) answers
// every class of the namespace, superclasses first, each as a Get of it
// answers (X_HugeNumber as OMI's answer); without OptimizeEnumeration the
// classes come one per Pull; a ClassName selector narrows it to the
// subclasses of that class.
func TestEnumerateClasses(t *testing.T) {
	srv := newClassServer(t, omiClasses(t))
	raw, err := os.ReadFile("testdata/exchanges/omi-getclass/enumerate-classes.request.xml")
	if err != nil {
		t.Fatal(err)
	}
	status, reply := post(t, srv, testUser, testPass, raw)
	if status != 200 {
		t.Fatalf("status %d:\n%s", status, reply)
	}
	classes, _, end := classItems(t, reply)
	if got := classNames(classes); got != "X_ManagedElement:,X_Number:X_ManagedElement,X_HugeNumber:X_Number" || !end {
		t.Fatalf("classes %s (end %v), want the three of test/cpp in one reply", got, end)
	}
	wantText, err := os.ReadFile("testdata/exchanges/omi-getclass/hugenumber.answer.xml")
	if err != nil {
		t.Fatal(err)
	}
	want := etree.NewDocument()
	if err := want.ReadFromBytes(wantText); err != nil {
		t.Fatal(err)
	}
	if got, w := canonicalClass(t, classes[2], true), canonicalClass(t, want.Root(), false); got != w {
		t.Errorf("enumerated X_HugeNumber differs from OMI's answer to its Get\n got: %s\nwant: %s", got, w)
	}

	t.Run("Pull", func(t *testing.T) {
		req := strings.Replace(string(raw), "<w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements>", "", 1)
		status, reply := post(t, srv, testUser, testPass, []byte(req))
		if status != 200 {
			t.Fatalf("status %d:\n%s", status, reply)
		}
		classes, ctx, end := classItems(t, reply)
		var all []*etree.Element
		all = append(all, classes...)
		for i := 0; !end && i < 5; i++ {
			status, reply := post(t, srv, testUser, testPass, pull(ctx, 1))
			if status != 200 {
				t.Fatalf("Pull: status %d:\n%s", status, reply)
			}
			if classes, ctx, end = classItems(t, reply); len(classes) != 1 {
				t.Fatalf("Pull with MaxElements 1 answered %d classes", len(classes))
			}
			all = append(all, classes...)
		}
		if got := classNames(all); got != "X_ManagedElement:,X_Number:X_ManagedElement,X_HugeNumber:X_Number" || !end {
			t.Errorf("pulled %s (end %v), want the three classes", got, end)
		}
	})
	t.Run("ClassName", func(t *testing.T) {
		req := strings.Replace(string(raw), `<w:Selector Name="__cimnamespace">test/cpp</w:Selector>`,
			`<w:Selector Name="__cimnamespace">test/cpp</w:Selector><w:Selector Name="ClassName">X_Number</w:Selector>`, 1)
		_, reply := post(t, srv, testUser, testPass, []byte(req))
		if classes, _, _ := classItems(t, reply); classNames(classes) != "X_HugeNumber:X_Number" {
			t.Errorf("subclasses of X_Number: %s, want X_HugeNumber", classNames(classes))
		}
	})
	t.Run("Filter", func(t *testing.T) {
		req := strings.Replace(string(raw), "<w:OptimizeEnumeration/>",
			`<w:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">SELECT * FROM meta_class</w:Filter><w:OptimizeEnumeration/>`, 1)
		status, reply := post(t, srv, testUser, testPass, []byte(req))
		if status != 500 || subcode(t, reply) != "n:CannotProcessFilter" {
			t.Errorf("a filtered class enumeration: status %d subcode %q, want CannotProcessFilter", status, subcode(t, reply))
		}
	})
}

// xmllintDSP0203 validates a CLASS element against DSP0201's DTD (DSP0203
// 2.4.0, testdata/dtd) with xmllint, after removing DERIVATION, the
// Microsoft extension the DTD does not declare.
func xmllintDSP0203(t *testing.T, class *etree.Element) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("REPLICAD_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("xmllint (libxml2-utils) is missing: %v", err)
		}
		t.Skip("xmllint (libxml2-utils) is missing; scripts/test-deps.sh installs it")
	}
	c := class.Copy()
	c.RemoveAttr("DERIVATION")
	doc := etree.NewDocument()
	doc.SetRoot(c)
	f := filepath.Join(t.TempDir(), "class.xml")
	if err := doc.WriteToFile(f); err != nil {
		t.Fatal(err)
	}
	dtd, err := filepath.Abs("testdata/dtd/DSP0203_2.4.0.dtd")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--dtdvalid", dtd, f).CombinedOutput(); err != nil {
		t.Errorf("CLASS %s is not valid DSP0201: %v\n%s", class.SelectAttrValue("NAME", ""), err, out)
	}
}

// TestClassDeclarationsValidDSP0203 checks the declarations of
// TestEnumerateClasses against DSP0201's DTD.
func TestClassDeclarationsValidDSP0203(t *testing.T) {
	srv := newClassServer(t, omiClasses(t))
	raw, err := os.ReadFile("testdata/exchanges/omi-getclass/enumerate-classes.request.xml")
	if err != nil {
		t.Fatal(err)
	}
	_, reply := post(t, srv, testUser, testPass, raw)
	classes, _, _ := classItems(t, reply)
	if len(classes) == 0 {
		t.Fatalf("no classes:\n%s", reply)
	}
	for _, c := range classes {
		xmllintDSP0203(t, c)
	}
}

// TestInvokeOnClass: an Invoke whose selectors name no key (what
// Invoke-CimMethod -ClassName sends) runs the method on the class, its
// parameters checked against the declaration; a bad parameter still
// answers ReturnValue 5 without running it.
func TestInvokeOnClass(t *testing.T) {
	srv, w := newTestServer(t, 3)
	raw, err := os.ReadFile("testdata/exchanges/invoke-frob/request.xml")
	if err != nil {
		t.Fatal(err)
	}
	req := string(raw)
	i, j := strings.Index(req, "<w:SelectorSet>"), strings.Index(req, "</w:SelectorSet>")
	if i < 0 || j < i {
		t.Fatal("invoke-frob has no SelectorSet")
	}
	req = req[:i] + req[j+len("</w:SelectorSet>"):]
	status, reply := post(t, srv, testUser, testPass, []byte(req))
	if status != 200 {
		t.Fatalf("status %d:\n%s", status, reply)
	}
	out := find(parse(t, reply), "Frob_OUTPUT")
	if out == nil || find(out, "ReturnValue").Text() != "0" || w.calls.Load() != 1 {
		t.Fatalf("want Frob_OUTPUT with ReturnValue 0 and one call (%d):\n%s", w.calls.Load(), reply)
	}
	bad := strings.Replace(req, ">3</p:Count>", ">200</p:Count>", 1)
	if bad == req {
		t.Fatal("invoke-frob has no Count 3 to replace")
	}
	_, reply = post(t, srv, testUser, testPass, []byte(bad))
	if rv := find(parse(t, reply), "ReturnValue"); rv == nil || rv.Text() != "5" || w.calls.Load() != 1 {
		t.Errorf("Count outside its ValueMap: want ReturnValue 5 and no call:\n%s", reply)
	}
}
