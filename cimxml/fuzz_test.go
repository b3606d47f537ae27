package cimxml_test

import (
	"errors"
	"testing"

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
