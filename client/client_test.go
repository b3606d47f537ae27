package client_test

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/client"
	"github.com/replicad/replicad/provider"
	"github.com/replicad/replicad/provider/providertest"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/wsman"
)

const (
	ns       = provider.Namespace
	user     = "admin"
	password = "secret-pw-1"
)

// newServer runs the real endpoint over a real provider and store in a
// temporary folder, and returns a client of it.
func newServer(t testing.TB) (*httptest.Server, *client.Client) {
	t.Helper()
	dir := t.TempDir()
	p := providertest.New(t, dir)
	reg := cimmodel.NewRegistry()
	if err := p.Register(reg); err != nil {
		t.Fatal(err)
	}
	// The lowest bcrypt cost keeps each authenticated request fast under
	// the race detector.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	f, err := users.Parse([]byte(user + ":" + string(hash) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := wsman.NewServer(reg, f)
	s.AllowUnencrypted = true
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, client.New(srv.URL+"/wsman", user, password, client.Options{Timeout: 20 * time.Second})
}

func TestIdentify(t *testing.T) {
	_, c := newServer(t)
	id, err := c.Identify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := id.ProtocolVersion, "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"; got != want {
		t.Errorf("ProtocolVersion = %q, want %q", got, want)
	}
	if id.ProductVendor == "" {
		t.Errorf("ProductVendor is empty, want a vendor")
	}
}

// TestIdentifyWithoutCredentials: a client without a user sends the
// unauthenticated Identify of [MS-WSMV] 3.1.4.1.23, which the server answers
// without logon (and without security profiles).
func TestIdentifyWithoutCredentials(t *testing.T) {
	srv, _ := newServer(t)
	id, err := client.New(srv.URL+"/wsman", "", "", client.Options{}).Identify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if id.ProtocolVersion == "" || len(id.SecurityProfiles) != 0 {
		t.Errorf("unauthenticated Identify = %+v, want a protocol version and no security profiles", id)
	}
}

func TestEnumerateGetAndFilters(t *testing.T) {
	_, c := newServer(t)
	ctx := context.Background()
	services, err := c.Enumerate(ctx, ns, "MSISCSITARGET_ReplicationService", client.EnumerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(services) != 1 {
		t.Fatalf("got %d replication services, want 1", len(services))
	}
	svc := services[0]
	if svc.Path == nil {
		t.Fatal("enumerated instance has no path, want its EPR")
	}
	if got, want := svc.Get("SystemName"), "testhost"; got != want {
		t.Errorf("SystemName = %q, want %q", got, want)
	}
	got, err := c.Get(ctx, *svc.Path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Class != "MSISCSITARGET_ReplicationService" || got.Get("Name") != svc.Get("Name") {
		t.Errorf("Get = %s %q, want MSISCSITARGET_ReplicationService %q", got.Class, got.Get("Name"), svc.Get("Name"))
	}
	if p, ok := got.Prop("OperationalStatus"); !ok || len(p.Values) == 0 {
		t.Errorf("OperationalStatus = %+v, want an array value", p)
	}

	tests := []struct {
		name  string
		class string
		opts  client.EnumerateOptions
		want  int
	}{
		{"wql match", "*", client.EnumerateOptions{WQL: "SELECT * FROM MSISCSITARGET_ReplicationService WHERE SystemName = 'testhost'"}, 1},
		{"wql no match", "*", client.EnumerateOptions{WQL: "SELECT * FROM MSISCSITARGET_ReplicationService WHERE SystemName = 'other'"}, 0},
		{"polymorphic DMTF class", "CIM_ReplicationService", client.EnumerateOptions{}, 1},
		{"associated system", "*", client.EnumerateOptions{Association: &cimmodel.AssociationFilter{
			Object: *svc.Path, ResultClassName: "CIM_ComputerSystem"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Enumerate(ctx, ns, tt.class, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Errorf("got %d instances, want %d", len(got), tt.want)
			}
		})
	}
}

func TestEnumeratePullsInSmallMessages(t *testing.T) {
	_, c := newServer(t)
	ctx := context.Background()
	all, err := c.Enumerate(ctx, ns, "CIM_ManagedElement", client.EnumerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 2 {
		t.Fatalf("got %d instances of CIM_ManagedElement, want at least 2", len(all))
	}
	one, err := c.Enumerate(ctx, ns, "CIM_ManagedElement", client.EnumerateOptions{MaxElements: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != len(all) {
		t.Errorf("one item per message gave %d instances, want %d", len(one), len(all))
	}
}

func TestInvokeCreatesAndDeletesAVolume(t *testing.T) {
	_, c := newServer(t)
	ctx := context.Background()
	svcs, err := c.Enumerate(ctx, ns, "MSISCSITARGET_StorageConfigurationService", client.EnumerateOptions{})
	if err != nil || len(svcs) != 1 {
		t.Fatalf("storage configuration service: %v (%d found), want 1", err, len(svcs))
	}
	out, err := c.Invoke(ctx, *svcs[0].Path, "CreateOrModifyElementFromStoragePool", []client.Arg{
		client.Text("ElementName", "vol1"),
		client.Uint("ElementType", 5),
		client.Uint("Size", 1<<20),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.ReturnValue != 0 {
		t.Fatalf("ReturnValue = %d, want 0", out.ReturnValue)
	}
	vol, ok := out.Params.Ref("TheElement")
	if !ok {
		t.Fatalf("no TheElement in %+v", out.Params.Properties)
	}
	inst, err := c.Get(ctx, vol)
	if err != nil {
		t.Fatal(err)
	}
	if got := inst.Get("ElementName"); got != "vol1" {
		t.Errorf("ElementName = %q, want vol1", got)
	}
	out, err = c.Invoke(ctx, *svcs[0].Path, "ReturnToStoragePool", []client.Arg{client.Ref("TheElement", vol)})
	if err != nil || out.ReturnValue != 0 {
		t.Fatalf("ReturnToStoragePool = %v, %v, want 0", out, err)
	}
	_, err = c.Get(ctx, vol)
	var f *client.Fault
	if !errors.As(err, &f) {
		t.Fatalf("Get of a deleted volume: %v, want a fault", err)
	}
}

func TestInvokeMissingRequiredParameterReturns5(t *testing.T) {
	_, c := newServer(t)
	ctx := context.Background()
	svcs, err := c.Enumerate(ctx, ns, "MSISCSITARGET_StorageConfigurationService", client.EnumerateOptions{})
	if err != nil || len(svcs) != 1 {
		t.Fatalf("storage configuration service: %v", err)
	}
	out, err := c.Invoke(ctx, *svcs[0].Path, "ReturnToStoragePool", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.ReturnValue, uint32(5); got != want {
		t.Errorf("ReturnValue = %d, want %d", got, want)
	}
	if r := out.Reason(); !strings.Contains(r, "TheElement") || !strings.Contains(r, "required") {
		t.Errorf("Reason() = %q, want the router's reason naming TheElement", r)
	}
}

// TestInvokeRefusalCarriesReason: a refusal by the provider comes back as
// its ReturnValue with the domain's reason in ExtendedStatus, which Reason
// reads off the wire.
func TestInvokeRefusalCarriesReason(t *testing.T) {
	_, c := newServer(t)
	ctx := context.Background()
	svcs, err := c.Enumerate(ctx, ns, "MSISCSITARGET_StorageConfigurationService", client.EnumerateOptions{})
	if err != nil || len(svcs) != 1 {
		t.Fatalf("storage configuration service: %v", err)
	}
	out, err := c.Invoke(ctx, *svcs[0].Path, "CreateOrModifyElementFromStoragePool", []client.Arg{
		client.Text("ElementName", "../../etc/passwd"), client.Uint("ElementType", 5), client.Uint("Size", 1<<20)})
	if err != nil {
		t.Fatal(err)
	}
	if out.ReturnValue != 5 {
		t.Errorf("ReturnValue = %d, want 5", out.ReturnValue)
	}
	if r := out.Reason(); !strings.Contains(r, "invalid name") || !strings.Contains(r, "../../etc/passwd") {
		t.Errorf("Reason() = %q, want the invalid name", r)
	}
	if es, ok := out.Params.Prop("ExtendedStatus"); !ok || len(es.Instances) != 1 || es.Instances[0].Class != "CIM_Error" {
		t.Errorf("ExtendedStatus = %+v, want one CIM_Error", es)
	}
}

func TestErrors(t *testing.T) {
	srv, c := newServer(t)
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name string
		call func() error
		want func(error) bool
	}{
		{"bad password", func() error {
			_, err := client.New(srv.URL+"/wsman", user, "wrong", client.Options{}).
				Enumerate(ctx, ns, "MSISCSITARGET_ReplicationService", client.EnumerateOptions{})
			return err
		}, func(err error) bool { return errors.Is(err, client.ErrUnauthorized) }},
		{"unreachable", func() error {
			_, err := client.New("http://"+closedAddr+"/wsman", user, password, client.Options{}).Identify(ctx)
			return err
		}, func(err error) bool { return errors.Is(err, client.ErrUnreachable) }},
		{"unknown class", func() error {
			_, err := c.Enumerate(ctx, ns, "MSISCSITARGET_NoSuchClass", client.EnumerateOptions{})
			return err
		}, func(err error) bool {
			var f *client.Fault
			return errors.As(err, &f) && f.Subcode != "" && f.HTTPStatus == 500
		}},
		{"missing instance", func() error {
			_, err := c.Get(ctx, cimmodel.ObjectPath{Namespace: ns, Class: "MSISCSITARGET_StorageVolume", Keys: []cimmodel.KeyBinding{
				{Name: "SystemCreationClassName", Value: cimmodel.String("MSFTSM_ComputerSystem")},
				{Name: "SystemName", Value: cimmodel.String("testhost")},
				{Name: "CreationClassName", Value: cimmodel.String("MSISCSITARGET_StorageVolume")},
				{Name: "DeviceID", Value: cimmodel.String("nope")},
			}})
			return err
		}, func(err error) bool {
			var f *client.Fault
			return errors.As(err, &f)
		}},
		{"bad WQL", func() error {
			_, err := c.Enumerate(ctx, ns, "*", client.EnumerateOptions{WQL: "SELEKT nothing"})
			return err
		}, func(err error) bool {
			var f *client.Fault
			return errors.As(err, &f)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || !tt.want(err) {
				t.Fatalf("got error %v, want the kind this case names", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines, want one line", err)
			}
		})
	}
}

func TestParseAndFormatPath(t *testing.T) {
	tests := []struct {
		in, ns    string
		wantClass string
		wantNS    string
		wantKeys  int
		wantErr   bool
	}{
		{`MSISCSITARGET_StorageVolume.DeviceID="a b",SystemName="h"`, ns, "MSISCSITARGET_StorageVolume", ns, 2, false},
		{`root/other:Foo.Id=7`, ns, "Foo", "root/other", 1, false},
		{`Foo`, ns, "Foo", ns, 0, false},
		{`Foo.Id="x\"y"`, ns, "Foo", ns, 1, false},
		{`.Id="x"`, ns, "", "", 0, true},
		{`Foo.Id="open`, ns, "", "", 0, true},
		{`Foo.Id`, ns, "", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := client.ParsePath(tt.in, tt.ns)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParsePath error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if p.Class != tt.wantClass || p.Namespace != tt.wantNS || len(p.Keys) != tt.wantKeys {
				t.Fatalf("got %s in %s with %d keys, want %s in %s with %d", p.Class, p.Namespace, len(p.Keys), tt.wantClass, tt.wantNS, tt.wantKeys)
			}
			back, err := client.ParsePath(client.FormatPath(p), p.Namespace)
			if err != nil {
				t.Fatal(err)
			}
			if !back.Equal(p) {
				t.Errorf("round trip gave %s, want %s", client.FormatPath(back), client.FormatPath(p))
			}
		})
	}
}

func TestDeleteRemovesTheInstance(t *testing.T) {
	_, c := newServer(t)
	ctx := context.Background()
	svcs, err := c.Enumerate(ctx, ns, "MSISCSITARGET_StorageConfigurationService", client.EnumerateOptions{})
	if err != nil || len(svcs) != 1 {
		t.Fatalf("storage configuration service: %v", err)
	}
	out, err := c.Invoke(ctx, *svcs[0].Path, "CreateOrModifyElementFromStoragePool", []client.Arg{
		client.Text("ElementName", "doomed"), client.Uint("ElementType", 5), client.Uint("Size", 1<<20)})
	if err != nil || out.ReturnValue != 0 {
		t.Fatalf("create: %v, %+v", err, out)
	}
	vol, _ := out.Params.Ref("TheElement")
	if err := c.Delete(ctx, vol); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	left, err := c.Enumerate(ctx, ns, "MSISCSITARGET_StorageVolume", client.EnumerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("got %d volumes after Delete, want 0", len(left))
	}
	var f *client.Fault
	if err := c.Delete(ctx, vol); !errors.As(err, &f) {
		t.Errorf("second Delete: %v, want a fault", err)
	}
}

func TestEnumerateRefusesTwoFilters(t *testing.T) {
	_, c := newServer(t)
	_, err := c.Enumerate(context.Background(), ns, "*", client.EnumerateOptions{
		WQL: "SELECT * FROM CIM_ManagedElement", Association: &cimmodel.AssociationFilter{}})
	if err == nil {
		t.Fatal("Enumerate with WQL and an association filter succeeded, want an error")
	}
}
