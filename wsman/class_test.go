package wsman_test

import (
	"net/http/httptest"
	"os"
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
