package cimmodel_test

import (
	"context"
	"strings"
	"testing"

	"github.com/replicad/replicad/cimmodel"
)

// TestInvokeInvalidParameterSaysWhy: a method that declares ExtendedStatus
// gets, with the router's ReturnValue 5, a CIM_Error whose Message names
// the parameter and why; the return value stays 5 for clients that read
// only that.
func TestInvokeInvalidParameterSaysWhy(t *testing.T) {
	reg := cimmodel.NewRegistry()
	cimErr := &cimmodel.Class{Name: "CIM_Error", Namespace: testNS, Properties: []cimmodel.Property{
		{Name: "ErrorType", Type: cimmodel.TypeUint16}, {Name: "OwningEntity", Type: cimmodel.TypeString},
		{Name: "MessageID", Type: cimmodel.TypeString}, {Name: "Message", Type: cimmodel.TypeString},
		{Name: "PerceivedSeverity", Type: cimmodel.TypeUint16}, {Name: "CIMStatusCode", Type: cimmodel.TypeUint32},
		{Name: "CIMStatusCodeDescription", Type: cimmodel.TypeString},
	}}
	called := false
	svc := &cimmodel.Class{Name: "TEST_Service", Namespace: testNS, Methods: []*cimmodel.Method{{
		Name: "CreateReplica", ReturnType: cimmodel.TypeUint32,
		Params: []cimmodel.Parameter{
			{Name: "SyncType", Type: cimmodel.TypeUint16, In: true, Required: true,
				ValueMap: []string{"6", "7", "8"}, Values: []string{"Mirror", "Snapshot", "Clone"}},
			cimmodel.ExtendedStatusParameter("CIM_Error"),
		},
		Func: func(context.Context, cimmodel.ObjectPath, cimmodel.Args) (cimmodel.Result, error) {
			called = true
			return cimmodel.Result{}, nil
		},
	}}}
	for _, c := range []*cimmodel.Class{cimErr, svc} {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ body, want string }{
		{`<p:SyncType>9</p:SyncType>`, `CreateReplica: parameter SyncType: value 9 is not in the ValueMap`},
		{``, `CreateReplica: parameter SyncType: required parameter missing or NULL`},
	} {
		res, m, err := reg.Invoke(context.Background(), cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Service"},
			"CreateReplica", input(t, tt.body))
		if err == nil || called {
			t.Fatalf("%q: err %v, called %v; want an InvalidParameterError and no call", tt.body, err, called)
		}
		if res.ReturnValue != cimmodel.ReturnInvalidParameter {
			t.Errorf("%q: ReturnValue %d, want 5", tt.body, res.ReturnValue)
		}
		inst, ok := res.Out[cimmodel.ExtendedStatusParam].AsInstance()
		if !ok || inst.Class.Name != "CIM_Error" {
			t.Fatalf("%q: ExtendedStatus = %v, want a CIM_Error", tt.body, res.Out[cimmodel.ExtendedStatusParam])
		}
		if msg, _ := inst.Get("Message").AsString(); msg != tt.want {
			t.Errorf("%q: Message %q, want %q", tt.body, msg, tt.want)
		}
		if code, _ := inst.Get("CIMStatusCode").AsUint64(); code != uint64(cimmodel.StatusInvalidParameter) {
			t.Errorf("%q: CIMStatusCode %d, want 4", tt.body, code)
		}
		if err := inst.Check(); err != nil {
			t.Errorf("%q: %v", tt.body, err)
		}
		out := writeXML(t, cimmodel.EncodeOutput(nil, m, "http://x/TEST_Service", res))
		if !strings.Contains(out, "not in the ValueMap") && !strings.Contains(out, "required parameter") {
			t.Errorf("%q: encoded output lacks the reason:\n%s", tt.body, out)
		}
	}
}
