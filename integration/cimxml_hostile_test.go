package integration

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// cimxmlPost sends a CIM-XML body to the daemon's /cimom as user (none
// when "") and returns the HTTP status, the CIMError header and the body.
func cimxmlPost(t *testing.T, addr, user, password, method string, body []byte) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/cimom", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
	req.Header.Set("CIMOperation", "MethodCall")
	if method != "" {
		req.Header.Set("CIMMethod", method)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /cimom: %v", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("CIMError"), string(out)
}

func cimxmlEnumNames(ns, class string) []byte {
	var nsXML strings.Builder
	for _, p := range strings.Split(ns, "/") {
		fmt.Fprintf(&nsXML, `<NAMESPACE NAME="%s"/>`, p)
	}
	return []byte(`<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="7" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstanceNames">` +
		`<LOCALNAMESPACEPATH>` + nsXML.String() + `</LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="` + class + `"/></IPARAMVALUE>` +
		`</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`)
}

// Hostile CIM-XML bodies get the DSP0200 CIMError answer without a body
// (nothing of an entity's text comes back), and the daemon keeps
// answering; the same users and roles as WS-Management apply, and a
// password guessed on /cimom counts in the same failed-logon limiter as
// one guessed on /wsman.
func TestCIMXMLHostileAndAuth(t *testing.T) {
	t.Parallel()
	dataDir, adminPW := prepareUsers(t, map[string]string{"viewer": "reader"})
	d := startDaemon(t, dataDir, "--cimxml-listen", "127.0.0.1:0")
	addr := cimxmlAddr(t, d)
	answers := func() {
		t.Helper()
		status, _, body := cimxmlPost(t, addr, "admin", adminPW, "EnumerateInstanceNames", cimxmlEnumNames(cimNS, "CIM_StoragePool"))
		if status != http.StatusOK || !strings.Contains(body, "MSISCSITARGET_StoragePool") {
			t.Fatalf("after the hostile requests: HTTP %d\n%s", status, body)
		}
	}

	hostile := []struct {
		name, cimErr string
		body         []byte
	}{
		{"billion laughs", "request-not-well-formed", []byte(`<?xml version="1.0"?><!DOCTYPE CIM [<!ENTITY a "aaaaaaaaaa">` +
			`<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><CIM>&c;</CIM>`)},
		{"external entity", "request-not-well-formed", []byte(`<?xml version="1.0"?><!DOCTYPE CIM [<!ENTITY x SYSTEM "file:///etc/passwd">]>` +
			`<CIM><MESSAGE ID="&x;" PROTOCOLVERSION="1.0"/></CIM>`)},
		{"deep", "request-not-valid", []byte(`<CIM><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ>` + strings.Repeat("<VALUE.ARRAY>", 300) +
			strings.Repeat("</VALUE.ARRAY>", 300) + `</SIMPLEREQ></MESSAGE></CIM>`)},
		{"5 MiB", "request-not-valid", append(append([]byte(`<CIM><!--`), bytes.Repeat([]byte("x"), 5<<20)...), []byte(`--></CIM>`)...)},
		{"not CIM", "request-not-valid", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>`)},
	}
	for _, h := range hostile {
		status, cimErr, body := cimxmlPost(t, addr, "admin", adminPW, "", h.body)
		if status != http.StatusBadRequest || cimErr != h.cimErr || body != "" {
			t.Errorf("%s: HTTP %d CIMError %q body %q, want 400 %q and no body", h.name, status, cimErr, body, h.cimErr)
		}
		answers()
	}

	// An unknown namespace is an ERROR with a CIM status, not a Go error.
	_, _, body := cimxmlPost(t, addr, "admin", adminPW, "EnumerateInstanceNames", cimxmlEnumNames("no/where", "CIM_StoragePool"))
	if !strings.Contains(body, `<ERROR CODE="3" DESCRIPTION="no namespace no/where">`) {
		t.Errorf("unknown namespace:\n%s", body)
	}

	// Roles: a reader reads, and may not invoke methods.
	if status, _, body := cimxmlPost(t, addr, "viewer", "viewer-pw", "EnumerateInstanceNames", cimxmlEnumNames("interop", "CIM_RegisteredProfile")); status != http.StatusOK ||
		!strings.Contains(body, "SNIA:Array:") {
		t.Errorf("reader's EnumerateInstanceNames of the profiles: HTTP %d\n%s", status, body)
	}
	call := []byte(`<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="8" PROTOCOLVERSION="1.0"><SIMPLEREQ><METHODCALL NAME="CreateGroup">` +
		`<LOCALCLASSPATH><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/><NAMESPACE NAME="storage"/><NAMESPACE NAME="iscsitarget"/>` +
		`</LOCALNAMESPACEPATH><CLASSNAME NAME="MSISCSITARGET_ReplicationService"/></LOCALCLASSPATH></METHODCALL></SIMPLEREQ></MESSAGE></CIM>`)
	if _, _, body := cimxmlPost(t, addr, "viewer", "viewer-pw", "CreateGroup", call); !strings.Contains(body, `<ERROR CODE="2"`) {
		t.Errorf("reader's InvokeMethod: want CIM_ERR_ACCESS_DENIED\n%s", body)
	}

	// No credentials, or wrong ones: 401 with a Basic challenge. Ten wrong
	// passwords for admin on /cimom put (this address, admin) in backoff,
	// and then the right password is refused on /wsman too.
	if status, _, _ := cimxmlPost(t, addr, "", "", "", cimxmlEnumNames(cimNS, "CIM_StoragePool")); status != http.StatusUnauthorized {
		t.Errorf("no credentials: HTTP %d, want 401", status)
	}
	for i := 0; i < 10; i++ {
		if status, _, _ := cimxmlPost(t, addr, "admin", fmt.Sprintf("guess-%d", i), "", cimxmlEnumNames(cimNS, "CIM_StoragePool")); status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: HTTP %d, want 401", i, status)
		}
	}
	if code, _ := d.post("admin", adminPW, []byte(enumerateEnvelope(d.url(), uriReplService, "")), ""); code != http.StatusUnauthorized {
		t.Errorf("WS-Man logon of admin right after ten failures on /cimom: HTTP %d, want 401 (one limiter for both)", code)
	}
	// The interop namespace answers over WS-Management as well, once the
	// backoff is over.
	get := getEnvelope(d.url(), "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_RegisteredProfile",
		map[string]string{"__cimnamespace": "root/interop", "InstanceID": "SNIA:ReplicationServices:1.6.1"})
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := d.post("admin", adminPW, []byte(get), "")
		if code == http.StatusOK {
			if !strings.Contains(body, "<p:RegisteredName>Replication Services</p:RegisteredName>") {
				t.Errorf("WS-Man Get of the Replication Services profile:\n%s", body)
			}
			break
		}
		if code != http.StatusUnauthorized || time.Now().After(deadline) {
			t.Fatalf("WS-Man Get of a profile: HTTP %d\n%s", code, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
