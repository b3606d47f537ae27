package cimxml_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimxml"
)

// FuzzParseRequest feeds the request parser arbitrary bodies: it must never
// panic, must refuse with a *RequestError, and a request it accepts must
// name a valid method and namespace (and a target class for a method
// call). The kept corpus (testdata/fuzz/FuzzParseRequest) holds requests
// as wbemcli, pywbem and libstoragemgmt send them, and hostile ones.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(intrinsic("EnumerateInstances", "root/cimv2", iparam("ClassName", className("CIM_StorageVolume")))))
	f.Add([]byte(intrinsic("GetInstance", "interop", iparam("InstanceName", thingName("x")))))
	f.Add([]byte(`<CIM><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><METHODCALL NAME="M"><LOCALINSTANCEPATH><LOCALNAMESPACEPATH>` +
		`<NAMESPACE NAME="a"/></LOCALNAMESPACEPATH>` + thingName("t") + `</LOCALINSTANCEPATH><PARAMVALUE NAME="P"><VALUE>1</VALUE>` +
		`</PARAMVALUE></METHODCALL></SIMPLEREQ></MESSAGE></CIM>`))
	f.Add([]byte(`<!DOCTYPE CIM [<!ENTITY a "aaaa">]><CIM>&a;</CIM>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := cimxml.ParseRequest(body)
		if err != nil {
			var re *cimxml.RequestError
			if !errors.As(err, &re) || re.CIMError == "" {
				t.Fatalf("error %v is not a *RequestError with a CIMError", err)
			}
			return
		}
		if req.Method == "" || req.Namespace == "" || req.MessageID == "" {
			t.Fatalf("accepted request without method, namespace or ID: %+v", req)
		}
		if !req.Intrinsic && req.Target.Class == "" {
			t.Fatalf("method call without a target class: %+v", req)
		}
	})
}

// FuzzServe runs arbitrary bodies through the whole endpoint on the test
// registry (parsing, parameter and path decoding, the method router, the
// answer's encoding): it must never panic, answer 200 only with a CIM
// message that parses, and anything else only with a CIMError header.
func FuzzServe(f *testing.F) {
	e := newEnv(f)
	f.Add([]byte(intrinsic("GetInstance", testNS, iparam("InstanceName", thingName("t1")))))
	f.Add([]byte(intrinsic("OpenEnumerateInstances", testNS, iparam("ClassName", className("T_Thing"))+iparam("MaxObjectCount", "<VALUE>2</VALUE>"))))
	f.Add([]byte(intrinsic("ModifyInstance", testNS, iparam("ModifiedInstance", `<VALUE.NAMEDINSTANCE>`+thingName("t2")+
		`<INSTANCE CLASSNAME="T_Thing"><PROPERTY NAME="Size" TYPE="uint64"><VALUE>1</VALUE></PROPERTY></INSTANCE></VALUE.NAMEDINSTANCE>`))))
	f.Add([]byte(`<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ><METHODCALL NAME="Combine">` +
		`<LOCALCLASSPATH><LOCALNAMESPACEPATH><NAMESPACE NAME="test"/><NAMESPACE NAME="ns"/></LOCALNAMESPACEPATH>` + className("T_Thing") +
		`</LOCALCLASSPATH><PARAMVALUE NAME="Things"><VALUE.REFARRAY><VALUE.REFERENCE>` + thingName("t1") + `</VALUE.REFERENCE></VALUE.REFARRAY></PARAMVALUE>` +
		`<PARAMVALUE NAME="Setting" EmbeddedObject="instance"><VALUE>&lt;INSTANCE CLASSNAME="T_Thing"/&gt;</VALUE></PARAMVALUE>` +
		`<PARAMVALUE NAME="Names"><VALUE.ARRAY><VALUE>x</VALUE></VALUE.ARRAY></PARAMVALUE></METHODCALL></SIMPLEREQ></MESSAGE></CIM>`))
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, cimxml.Path, bytes.NewReader(body))
		req.Header.Set("CIMOperation", "MethodCall")
		req.SetBasicAuth("admin", "pw")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			if rec.Header().Get("CIMError") == "" {
				t.Fatalf("HTTP %d without CIMError", rec.Code)
			}
			return
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(rec.Body.Bytes()); err != nil || doc.FindElement("/CIM/MESSAGE/SIMPLERSP") == nil {
			t.Fatalf("HTTP 200 with an answer that is no CIM message (%v):\n%s", err, rec.Body.Bytes())
		}
	})
}
