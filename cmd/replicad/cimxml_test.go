package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --cimxml-listen is off by default, parsed into Config, and counts when
// the default for Basic over plain HTTP is decided.
func TestCIMXMLFlag(t *testing.T) {
	c := DefaultConfig()
	if c.CIMXMLListen != "" {
		t.Errorf("CIM-XML listens by default on %q", c.CIMXMLListen)
	}
	if err := c.ParseFlags([]string{"--cimxml-listen", "127.0.0.1:5988"}); err != nil || c.CIMXMLListen != "127.0.0.1:5988" {
		t.Fatalf("--cimxml-listen: %v, %q", err, c.CIMXMLListen)
	}
	if !c.allowUnencrypted() {
		t.Error("loopback-only listeners: Basic over HTTP should be allowed")
	}
	c.CIMXMLListen = "0.0.0.0:5988"
	if c.allowUnencrypted() {
		t.Error("a CIM-XML listener on every address still allows Basic over plain HTTP")
	}
	c.CIMXMLListen = "nonsense"
	if err := c.Validate(); err == nil {
		t.Error("an unparsable --cimxml-listen passed Validate")
	}
}

// Main serves CIM-XML on /cimom with the users of the WS-Management
// endpoint.
func TestRunServesCIMXML(t *testing.T) {
	m := NewMain()
	m.Config.DataDir = t.TempDir()
	m.Config.Listen = "127.0.0.1:0"
	m.Config.ISCSI = iscsiOff // no tgtd on the default portal from a unit test
	m.Config.CIMXMLListen = "127.0.0.1:0"
	m.Config.LogFormat = "console"
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatalf("Run: %v", err)
	}
	defer m.Close()
	pw, err := os.ReadFile(filepath.Join(m.Config.DataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	body := `<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstanceNames">` +
		`<LOCALNAMESPACEPATH><NAMESPACE NAME="interop"/></LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_RegisteredProfile"/>` +
		`</IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
	for _, password := range []string{"wrong", strings.TrimSpace(string(pw))} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+m.addrs["cimxml"].String()+"/cimom", strings.NewReader(body))
		req.Header.Set("CIMOperation", "MethodCall")
		req.SetBasicAuth("admin", password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case password == "wrong" && resp.StatusCode != http.StatusUnauthorized:
			t.Errorf("wrong password: HTTP %d, want 401", resp.StatusCode)
		case password != "wrong" && (resp.StatusCode != http.StatusOK || !strings.Contains(string(out), "SNIA:Array:")):
			t.Errorf("admin: HTTP %d\n%s", resp.StatusCode, out)
		}
	}
}
