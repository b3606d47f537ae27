package wsman_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/wsman"
)

// store serves the instances of one class from a map and applies Puts, so
// tests can see what a Put changed.
type store struct {
	mu    sync.Mutex
	class *cimmodel.Class
	insts map[string]*cimmodel.Instance // by canonical path
	puts  int
}

func (s *store) add(inst *cimmodel.Instance) {
	if s.insts == nil {
		s.insts = map[string]*cimmodel.Instance{}
	}
	s.insts[inst.Path().String()] = inst
}

func (s *store) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*cimmodel.Instance
	for _, i := range s.insts {
		out = append(out, clone(i))
	}
	return out, nil
}

func (s *store) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range s.insts {
		if i.Path().Equal(path) {
			return clone(i), nil
		}
	}
	return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "no %s", path)
}

func (s *store) ModifyInstance(ctx context.Context, path cimmodel.ObjectPath, changes *cimmodel.Instance) (*cimmodel.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	for _, i := range s.insts {
		if i.Path().Equal(path) {
			for n, v := range changes.Values {
				i.Set(n, v)
			}
			return clone(i), nil
		}
	}
	return nil, cimmodel.Errorf(cimmodel.StatusNotFound, "no %s", path)
}

func (s *store) get(t *testing.T, key, prop string) cimmodel.Value {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range s.insts {
		if k, _ := i.Path().Key(s.keyName()); keyString(k) == key {
			return i.Get(prop)
		}
	}
	t.Fatalf("no instance %s", key)
	return cimmodel.Value{}
}

func (s *store) keyName() string {
	for _, p := range s.class.Properties {
		if p.Key {
			return p.Name
		}
	}
	return ""
}

func keyString(v cimmodel.Value) string {
	if n, ok := v.AsUint64(); ok {
		return strconv.FormatUint(n, 10)
	}
	s, _ := v.AsString()
	return s
}

func clone(i *cimmodel.Instance) *cimmodel.Instance {
	c := cimmodel.NewInstance(i.Class)
	c.Namespace = i.Namespace
	for n, v := range i.Values {
		c.Values[n] = v
	}
	return c
}

// putServer serves two modifiable classes: OMI's sample MSFT_Person
// (Unix/samples/Providers/PersonProvider/schema.mof: Key and Species from
// its superclasses, Last and First writable here, ExpensiveProperty
// read-only) in root/cimv2, with the instance Key=1 "John Smith", and
// MS-WSMV 4.1.1's myclass (id, Data1 writable) in root/mynamespace with
// id=1 Data1 "Hello World".
func putServer(t *testing.T) (*httptest.Server, *store, *store) {
	t.Helper()
	reg := cimmodel.NewRegistry()
	person := &store{}
	person.class = &cimmodel.Class{Name: "MSFT_Person", Namespace: "root/cimv2",
		Properties: []cimmodel.Property{
			{Name: "Key", Type: cimmodel.TypeUint32, Key: true},
			{Name: "Species", Type: cimmodel.TypeString},
			{Name: "Last", Type: cimmodel.TypeString, Write: true},
			{Name: "First", Type: cimmodel.TypeString, Write: true},
			{Name: "ExpensiveProperty", Type: cimmodel.TypeUint32},
		}, Provider: person}
	my := &store{}
	my.class = &cimmodel.Class{Name: "myclass", Namespace: "root/mynamespace",
		Properties: []cimmodel.Property{
			{Name: "id", Type: cimmodel.TypeUint32, Key: true},
			{Name: "Data1", Type: cimmodel.TypeString, Write: true},
		}, Provider: my}
	for _, c := range []*cimmodel.Class{person.class, my.class} {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	person.add(cimmodel.NewInstance(person.class).
		Set("Key", cimmodel.Uint32(1)).
		Set("Species", cimmodel.String("Homo sapiens")).
		Set("Last", cimmodel.String("Smith")).
		Set("First", cimmodel.String("John")).
		Set("ExpensiveProperty", cimmodel.Uint32(42)))
	my.add(cimmodel.NewInstance(my.class).
		Set("id", cimmodel.Uint32(1)).
		Set("Data1", cimmodel.String("Hello World")))
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
	return srv, person, my
}

func putRequest(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/exchanges/powershell-put", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bodyProperty returns the text of the property element local of the
// instance in a Put reply ("<nil>" for xsi:nil).
func bodyProperty(t *testing.T, reply []byte, class, local string) string {
	t.Helper()
	inst := find(find(parse(t, reply), "Body"), class)
	if inst == nil {
		t.Fatalf("no %s in the reply:\n%s", class, reply)
	}
	e := find(inst, local)
	if e == nil {
		t.Fatalf("no %s in the reply's %s:\n%s", local, class, reply)
	}
	if e.SelectAttrValue("xsi:nil", "") == "true" {
		return "<nil>"
	}
	return strings.TrimSpace(e.Text())
}

func str(v cimmodel.Value) string {
	if v.IsNull() {
		return "<nil>"
	}
	return v.String()
}

// TestPutPowerShellAppliesOnlyModifiedProperties replays the Put that
// PowerShell's MI client sends for Set-CimInstance (OMI's sample Put2.xml):
// the whole instance, Species, First and ExpensiveProperty nil, and
// __MIInstanceModifiedPropertiesList naming Last. Only Last changes; the
// nil read-only properties are not a change, the nil First is not applied.
func TestPutPowerShellAppliesOnlyModifiedProperties(t *testing.T) {
	srv, person, _ := putServer(t)
	status, reply := post(t, srv, testUser, testPass, putRequest(t, "omi-put2.request.xml"))
	if status != 200 {
		t.Fatalf("status %d, want 200:\n%s", status, reply)
	}
	if a := find(parse(t, reply), "Action"); a == nil || strings.TrimSpace(a.Text()) != "http://schemas.xmlsoap.org/ws/2004/09/transfer/PutResponse" {
		t.Fatalf("reply is not a PutResponse:\n%s", reply)
	}
	for prop, want := range map[string]string{"Last": "Osama", "First": "John", "Species": "Homo sapiens", "ExpensiveProperty": "42"} {
		if got := str(person.get(t, "1", prop)); got != want {
			t.Errorf("stored %s = %s, want %s", prop, got, want)
		}
		if got := bodyProperty(t, reply, "MSFT_Person", prop); got != want {
			t.Errorf("reply's %s = %s, want %s", prop, got, want)
		}
	}
}

// TestPutIgnoresWhatIsNotListed: a property the option does not list is
// not applied, so a value that would not even parse (a stale or foreign
// copy) does not fail the Put.
func TestPutIgnoresWhatIsNotListed(t *testing.T) {
	srv, person, _ := putServer(t)
	req := strings.Replace(string(putRequest(t, "omi-put2.request.xml")),
		`<p0:ExpensiveProperty xsi:nil="true" />`, `<p0:ExpensiveProperty>not a number</p0:ExpensiveProperty><p0:Colour>red</p0:Colour>`, 1)
	status, reply := post(t, srv, testUser, testPass, []byte(req))
	if status != 200 {
		t.Fatalf("status %d, want 200:\n%s", status, reply)
	}
	if got, exp := str(person.get(t, "1", "Last")), str(person.get(t, "1", "ExpensiveProperty")); got != "Osama" || exp != "42" {
		t.Errorf("Last, ExpensiveProperty = %s, %s, want Osama, 42", got, exp)
	}
}

// TestPutReadOnlyProperty: naming a read-only property as modified with a
// new value is refused with w:InvalidParameter naming it (not
// w:InvalidSelectors), before the provider runs; naming it with its
// current value is accepted.
func TestPutReadOnlyProperty(t *testing.T) {
	srv, person, _ := putServer(t)
	status, reply := post(t, srv, testUser, testPass, putRequest(t, "readonly-changed.request.xml"))
	if status != 500 || subcode(t, reply) != "w:InvalidParameter" {
		t.Fatalf("status %d subcode %q, want 500 w:InvalidParameter:\n%s", status, subcode(t, reply), reply)
	}
	if msg := find(parse(t, reply), "Message"); msg == nil || !strings.Contains(msg.Text(), "Species") || !strings.Contains(msg.Text(), "read-only") {
		t.Errorf("the fault does not say Species is read-only:\n%s", reply)
	}
	if fd := find(parse(t, reply), "FaultDetail"); fd == nil || !strings.HasSuffix(strings.TrimSpace(fd.Text()), "/faultDetail/ReadOnly") {
		t.Errorf("no ReadOnly fault detail:\n%s", reply)
	}
	if person.puts != 0 || str(person.get(t, "1", "Species")) != "Homo sapiens" {
		t.Errorf("the provider ran (%d puts) or Species changed", person.puts)
	}

	status, reply = post(t, srv, testUser, testPass, putRequest(t, "readonly-unchanged.request.xml"))
	if status != 200 {
		t.Fatalf("unchanged read-only property: status %d, want 200:\n%s", status, reply)
	}
	if got := str(person.get(t, "1", "Last")); got != "Osama" {
		t.Errorf("Last = %s, want Osama", got)
	}
}

// TestPutKeysAndChangedProperty covers Set-WSManInstance-style Puts: no
// option, the keys plus the changed property. A writable one is applied; a
// read-only one is refused.
func TestPutKeysAndChangedProperty(t *testing.T) {
	srv, person, _ := putServer(t)
	status, reply := post(t, srv, testUser, testPass, putRequest(t, "keys-writable.request.xml"))
	if status != 200 {
		t.Fatalf("status %d, want 200:\n%s", status, reply)
	}
	if got, last := str(person.get(t, "1", "First")), str(person.get(t, "1", "Last")); got != "Jane" || last != "Smith" {
		t.Errorf("First, Last = %s, %s, want Jane, Smith", got, last)
	}
	status, reply = post(t, srv, testUser, testPass, putRequest(t, "keys-readonly-changed.request.xml"))
	if status != 500 || subcode(t, reply) != "w:InvalidParameter" {
		t.Fatalf("status %d subcode %q, want 500 w:InvalidParameter:\n%s", status, subcode(t, reply), reply)
	}
	if got := str(person.get(t, "1", "ExpensiveProperty")); got != "42" {
		t.Errorf("ExpensiveProperty = %s, want 42", got)
	}

	// A body whose key differs from the selectors would change the
	// instance's identity (wsmerror.h ERROR_WSMAN_CANNOT_CHANGE_KEYS).
	rekeyed := strings.Replace(string(putRequest(t, "keys-writable.request.xml")), "<p0:Key>1</p0:Key>", "<p0:Key>2</p0:Key>", 1)
	status, reply = post(t, srv, testUser, testPass, []byte(rekeyed))
	if status != 500 || subcode(t, reply) != "w:InvalidParameter" || !strings.Contains(string(reply), "changing the keys") {
		t.Fatalf("changed key: status %d subcode %q, want 500 w:InvalidParameter about the keys:\n%s", status, subcode(t, reply), reply)
	}
	if got := str(person.get(t, "1", "First")); got != "Jane" {
		t.Errorf("First = %s after a refused Put, want Jane", got)
	}
}

// TestPutMSWSMVExample replays MS-WSMV 4.1.3's Put (Data1 and the key id,
// plus a cim:Location EPR) and checks the answer the example shows: a
// PutResponse holding myclass with Data1 "Test Message" and id 1.
func TestPutMSWSMVExample(t *testing.T) {
	srv, _, my := putServer(t)
	status, reply := post(t, srv, testUser, testPass, putRequest(t, "wsmv-4.1.3-put.request.xml"))
	if status != 200 {
		t.Fatalf("status %d, want 200:\n%s", status, reply)
	}
	if got := bodyProperty(t, reply, "myclass", "Data1"); got != "Test Message" {
		t.Errorf("reply's Data1 = %q, want Test Message", got)
	}
	if got := bodyProperty(t, reply, "myclass", "id"); got != "1" {
		t.Errorf("reply's id = %q, want 1", got)
	}
	if got := str(my.get(t, "1", "Data1")); got != "Test Message" {
		t.Errorf("stored Data1 = %s", got)
	}
	if rel := find(parse(t, reply), "RelatesTo"); rel == nil || strings.TrimSpace(rel.Text()) != "uuid:D1408048-E0F6-4C6D-8B8A-515B9F7B641C" {
		t.Errorf("RelatesTo is not the request's MessageID:\n%s", reply)
	}
}
