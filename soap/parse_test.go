package soap_test

import (
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/replicad/replicad/soap"
)

const anonymous = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "envelopes", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// bodyName is the namespace-resolved name of the first body element.
func bodyName(env *soap.Envelope) xml.Name {
	if env.Body == nil {
		return xml.Name{}
	}
	return xml.Name{Space: env.Body.NamespaceURI(), Local: env.Body.Tag}
}

func TestParseFixtures(t *testing.T) {
	powershellOptions := []soap.Option{
		{Name: "__MI_CallbackRegistration", Value: "11", Type: "xs:int"},
		{Name: "wmiarray:__MI_OPERATIONOPTIONS_CHANNELVALUE", Value: "0", Type: "xs:unsignedInt"},
		{Name: "wmiarray:__MI_OPERATIONOPTIONS_CHANNELVALUE", Value: "1", Type: "xs:unsignedInt"},
		{Name: "wmiarray:__MI_OPERATIONOPTIONS_CHANNELVALUE", Value: "2", Type: "xs:unsignedInt"},
		{Name: "wmi:__MI_OPERATIONOPTIONS_WRITEERRORMODE", Value: "1", Type: "xs:unsignedInt"},
		{Name: "msftwinrm:UsePreciseArrays", Value: "true", Type: "xs:boolean"},
	}
	powershellHeader := soap.Header{
		To:               "http://localhost:9989/wsman",
		Action:           soap.ActionEnumerate,
		MessageID:        "uuid:5B008E57-BC4E-479C-904F-136846E5A697",
		ReplyTo:          anonymous,
		ResourceURI:      "http://schemas.dmtf.org/wbem/wscim/1/*",
		Selectors:        []soap.Selector{{Name: "__cimnamespace", Value: "root/cimv2"}},
		Options:          powershellOptions,
		MaxEnvelopeSize:  512000,
		OperationTimeout: time.Second,
		Locale:           "en-GB",
		DataLocale:       "en-GB",
		SessionID:        "uuid:91A8C559-19BC-4A5E-B99F-8A39CF77253E",
	}
	shellURI := "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
	shellID := []soap.Selector{{Name: "ShellId", Value: "11111111-2222-3333-4444-555555555555"}}

	tests := []struct {
		file     string
		header   soap.Header
		encoding soap.Encoding
		body     xml.Name // zero when the body is empty
	}{
		{
			file: "identify.xml",
			body: xml.Name{Space: soap.NSIdentity, Local: "Identify"},
		},
		{
			file: "identify-no-header.xml",
			body: xml.Name{Space: soap.NSIdentity, Local: "Identify"},
		},
		{
			file: "wsmv-4.1.1-get.xml",
			header: soap.Header{
				To:               "http://server:80/wsman",
				Action:           soap.ActionGet,
				MessageID:        "uuid:5E6FD101-710A-4EEA-A50D-70C0BF863AA3",
				ReplyTo:          anonymous,
				ResourceURI:      "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/mynamespace/myclass",
				Selectors:        []soap.Selector{{Name: "id", Value: "1"}},
				MaxEnvelopeSize:  51200,
				OperationTimeout: 60 * time.Second,
			},
		},
		{
			file: "opennms-get-idrac.xml",
			header: soap.Header{
				To:          "https://127.0.0.1:4443/wsman",
				Action:      soap.ActionGet,
				MessageID:   "uuid:c400f551-26de-16de-8002-303180ea2ae8",
				ReplyTo:     anonymous,
				ResourceURI: "http://schemas.dell.com/wbem/wscim/1/cim-schema/2/root/dcim/DCIM_ComputerSystem",
				Selectors: []soap.Selector{
					{Name: "CreationClassName", Value: "DCIM_ComputerSystem"},
					{Name: "Name", Value: "srv:system"},
				},
			},
		},
		{
			file: "opennms-enumerate-wql.xml",
			header: soap.Header{
				To:          "https://127.0.0.1:4443/wsman",
				Action:      soap.ActionEnumerate,
				MessageID:   "uuid:f6e752bc-2668-1668-8002-303180ea2ae8",
				ReplyTo:     anonymous,
				ResourceURI: "http://schemas.dmtf.org/wbem/wscim/1/*",
			},
			body: xml.Name{Space: soap.NSEnumeration, Local: "Enumerate"},
		},
		{
			file: "pywinrm-enumerate-wql.xml",
			header: soap.Header{
				To:               "http://member1.ansible.vagrant:8888/wsman",
				Action:           soap.ActionEnumerate,
				MessageID:        "uuid:4039361D-B814-4037-86B5-C8A88D5EDB67",
				ReplyTo:          anonymous,
				ResourceURI:      "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*",
				MaxEnvelopeSize:  153600,
				OperationTimeout: 60 * time.Second,
				Locale:           "en-US",
				DataLocale:       "en-US",
				SessionID:        "uuid:02F30A6D-3265-44F9-AE9F-948E5256FC74",
			},
			body: xml.Name{Space: soap.NSEnumeration, Local: "Enumerate"},
		},
		{
			file:   "powershell-enumerate-associated.xml",
			header: powershellHeader,
			body:   xml.Name{Space: soap.NSEnumeration, Local: "Enumerate"},
		},
		{
			file:     "powershell-enumerate-associated-utf16le.xml",
			header:   powershellHeader,
			encoding: soap.UTF16LE,
			body:     xml.Name{Space: soap.NSEnumeration, Local: "Enumerate"},
		},
		{
			file: "wsmv-4.1.2.3-pull.xml",
			header: soap.Header{
				To:               "http://server:80/wsman",
				Action:           soap.ActionPull,
				MessageID:        "uuid:54E3FD6C-A83E-454C-A2F6-0BDABF5F14D7",
				ReplyTo:          anonymous,
				ResourceURI:      "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/mynamespace/myclass",
				MaxEnvelopeSize:  51200,
				OperationTimeout: 60 * time.Second,
			},
			body: xml.Name{Space: soap.NSEnumeration, Local: "Pull"},
		},
		{
			file: "wsmv-4.2.3-pull-datalocale.xml",
			header: soap.Header{
				To:               "http://localhost:47001/wsman",
				Action:           soap.ActionPull,
				MessageID:        "uuid:3CA6197F-0D60-4BD3-B728-3D4166DC45A9",
				ReplyTo:          anonymous,
				ResourceURI:      "http://schemas.microsoft.com/wbem/wsman/1/config/service/certmapping",
				MaxEnvelopeSize:  153600,
				OperationTimeout: 60 * time.Second,
				Locale:           "en-US",
				DataLocale:       "en-US",
			},
			body: xml.Name{Space: soap.NSEnumeration, Local: "Pull"},
		},
		{
			file: "omi-release.xml",
			header: soap.Header{
				To:               "http://linux-22kv:22000/wsman",
				Action:           soap.ActionRelease,
				MessageID:        "uuid:FEF3DF41-FFEC-4ABE-ADFC-A8305DAB71C9",
				ReplyTo:          anonymous,
				ResourceURI:      "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/X_SmallNumber",
				Selectors:        []soap.Selector{{Name: "__cimnamespace", Value: "test/cpp"}},
				MaxEnvelopeSize:  10240,
				OperationTimeout: 60 * time.Second,
				Locale:           "en-US",
			},
			body: xml.Name{Space: soap.NSEnumeration, Local: "Release"},
		},
		{
			file: "wsmv-4.1.4-invoke.xml",
			header: soap.Header{
				To:               "http://server:80/wsman",
				Action:           "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process/Create",
				MessageID:        "uuid:9A989269-283B-4624-BAC5-BC291F72E854",
				ReplyTo:          anonymous,
				ResourceURI:      "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process",
				MaxEnvelopeSize:  51200,
				OperationTimeout: 60 * time.Second,
			},
			body: xml.Name{Space: "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cim/Win32_Process", Local: "Create_INPUT"},
		},
		{
			file: "pywinrm-create-shell.xml",
			header: soap.Header{
				To:          "http://windows-host:5985/wsman",
				Action:      soap.ActionCreate,
				MessageID:   "uuid:3a82963b-4164-42c1-b406-6587c3e293ed",
				ReplyTo:     anonymous,
				ResourceURI: shellURI,
				Options: []soap.Option{
					{Name: "WINRS_NOPROFILE", Value: "FALSE"},
					{Name: "WINRS_CODEPAGE", Value: "437"},
				},
				MaxEnvelopeSize:  153600,
				OperationTimeout: 20 * time.Second,
				Locale:           "en-US",
				DataLocale:       "en-US",
			},
			body: xml.Name{Space: "http://schemas.microsoft.com/wbem/wsman/1/windows/shell", Local: "Shell"},
		},
		{
			file: "pywinrm-delete-shell.xml",
			header: soap.Header{
				To:               "http://windows-host:5985/wsman",
				Action:           soap.ActionDelete,
				MessageID:        "uuid:eac21614-881e-466c-8cab-fc650e8cc429",
				ReplyTo:          anonymous,
				ResourceURI:      shellURI,
				Selectors:        shellID,
				MaxEnvelopeSize:  153600,
				OperationTimeout: 20 * time.Second,
				Locale:           "en-US",
				DataLocale:       "en-US",
			},
		},
		{
			file: "masterzen-delete-shell.xml",
			header: soap.Header{
				To:               "http://winsrv.example.com:5985/wsman",
				Action:           soap.ActionDelete,
				MessageID:        "uuid:43e9c5e1-320a-4210-b143-9eb21322c1e7",
				ReplyTo:          anonymous,
				ResourceURI:      shellURI,
				Selectors:        shellID,
				MaxEnvelopeSize:  153600,
				OperationTimeout: 60 * time.Second,
				Locale:           "en-US",
				DataLocale:       "en-US",
			},
		},
		{
			file: "masterzen-execute-command.xml",
			header: soap.Header{
				To:          "http://winsrv.example.com:5985/wsman",
				Action:      "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command",
				MessageID:   "uuid:447027d3-bfdf-4f4d-8df1-d70896ae211f",
				ReplyTo:     anonymous,
				ResourceURI: shellURI,
				Selectors:   shellID,
				Options: []soap.Option{
					{Name: "WINRS_CONSOLEMODE_STDIN", Value: "TRUE"},
					{Name: "WINRS_SKIP_CMD_SHELL", Value: "FALSE"},
				},
				MaxEnvelopeSize:  153600,
				OperationTimeout: 60 * time.Second,
				Locale:           "en-US",
				DataLocale:       "en-US",
			},
			body: xml.Name{Space: "http://schemas.microsoft.com/wbem/wsman/1/windows/shell", Local: "CommandLine"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			env, err := soap.Parse(readFixture(t, tt.file))
			if err != nil {
				t.Fatalf("Parse: got error %v, want nil", err)
			}
			h := env.Header
			checks := []struct {
				field     string
				got, want any
			}{
				{"To", h.To, tt.header.To},
				{"Action", h.Action, tt.header.Action},
				{"MessageID", h.MessageID, tt.header.MessageID},
				{"ReplyTo", h.ReplyTo, tt.header.ReplyTo},
				{"ResourceURI", h.ResourceURI, tt.header.ResourceURI},
				{"Selectors", h.Selectors, tt.header.Selectors},
				{"Options", h.Options, tt.header.Options},
				{"OptionSetMustComply", h.OptionSetMustComply, tt.header.OptionSetMustComply},
				{"MaxEnvelopeSize", h.MaxEnvelopeSize, tt.header.MaxEnvelopeSize},
				{"OperationTimeout", h.OperationTimeout, tt.header.OperationTimeout},
				{"Locale", h.Locale, tt.header.Locale},
				{"DataLocale", h.DataLocale, tt.header.DataLocale},
				{"SessionID", h.SessionID, tt.header.SessionID},
				{"Encoding", env.Encoding, tt.encoding},
				{"Body", bodyName(env), tt.body},
			}
			for _, c := range checks {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s: got %#v, want %#v", c.field, c.got, c.want)
				}
			}
		})
	}
}

func TestParseMustUnderstand(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want xml.Name
	}{
		{
			name: "PowerShell remoting CompressionType",
			data: readFixture(t, "pypsrp-exchange-create-compression.xml"),
			want: xml.Name{Space: "http://schemas.microsoft.com/wbem/wsman/1/windows/shell", Local: "CompressionType"},
		},
		{
			name: "FragmentTransfer with mustUnderstand 1",
			data: []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><w:FragmentTransfer s:mustUnderstand="1">Name</w:FragmentTransfer></s:Header><s:Body/></s:Envelope>`),
			want: xml.Name{Space: soap.NSWSMan, Local: "FragmentTransfer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := soap.Parse(tt.data)
			var mu *soap.MustUnderstandError
			if !errors.As(err, &mu) {
				t.Fatalf("Parse: got error %v, want *MustUnderstandError", err)
			}
			if mu.Header != tt.want {
				t.Errorf("Header: got %v, want %v", mu.Header, tt.want)
			}
		})
	}
}

func TestParseIgnoredHeaders(t *testing.T) {
	tests := []struct {
		name   string
		header string
	}{
		{"unknown header without mustUnderstand", `<x:Trace xmlns:x="urn:example">1</x:Trace>`},
		{"unknown header with mustUnderstand false", `<x:Trace xmlns:x="urn:example" s:mustUnderstand="false">1</x:Trace>`},
		{"unqualified mustUnderstand is not SOAP's", `<x:Trace xmlns:x="urn:example" mustUnderstand="true">1</x:Trace>`},
		{"role none is never processed", `<x:Trace xmlns:x="urn:example" s:mustUnderstand="true" s:role="http://www.w3.org/2003/05/soap-envelope/role/none">1</x:Trace>`},
		{"OperationID", `<p:OperationID xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" s:mustUnderstand="true">uuid:1</p:OperationID>`},
		{"SequenceId", `<p:SequenceId xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" s:mustUnderstand="true">1</p:SequenceId>`},
		{"RequestTotalItemsCountEstimate", `<w:RequestTotalItemsCountEstimate xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" s:mustUnderstand="true"/>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header><a:Action>urn:act</a:Action>` + tt.header + `</s:Header><s:Body/></s:Envelope>`
			env, err := soap.Parse([]byte(data))
			if err != nil {
				t.Fatalf("Parse: got error %v, want nil", err)
			}
			if env.Header.Action != "urn:act" {
				t.Errorf("Action: got %q, want %q", env.Header.Action, "urn:act")
			}
		})
	}
}

func TestParseSelectorEPR(t *testing.T) {
	data := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>
<w:SelectorSet>
  <w:Selector Name="Antecedent"><a:EndpointReference><a:Address>` + anonymous + `</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageVolume</w:ResourceURI><w:SelectorSet><w:Selector Name="DeviceID">vol1</w:Selector></w:SelectorSet></a:ReferenceParameters></a:EndpointReference></w:Selector>
  <w:Selector Name="Dependent">plain</w:Selector>
</w:SelectorSet></s:Header><s:Body/></s:Envelope>`
	env, err := soap.Parse([]byte(data))
	if err != nil {
		t.Fatalf("Parse: got error %v, want nil", err)
	}
	tests := []struct {
		lookup   string
		wantName string
		wantVal  string
		wantEPR  bool
	}{
		{"antecedent", "Antecedent", "", true},
		{"DEPENDENT", "Dependent", "plain", false},
	}
	for _, tt := range tests {
		t.Run(tt.lookup, func(t *testing.T) {
			s, ok := env.Header.Selector(tt.lookup)
			if !ok {
				t.Fatalf("Selector(%q): got not found, want found", tt.lookup)
			}
			if s.Name != tt.wantName || s.Value != tt.wantVal || (s.EPR != nil) != tt.wantEPR {
				t.Errorf("Selector(%q): got {%q %q EPR:%v}, want {%q %q EPR:%v}", tt.lookup, s.Name, s.Value, s.EPR != nil, tt.wantName, tt.wantVal, tt.wantEPR)
			}
			if s.EPR != nil && s.EPR.NamespaceURI() != soap.NSAddressing {
				t.Errorf("EPR namespace: got %q, want %q", s.EPR.NamespaceURI(), soap.NSAddressing)
			}
		})
	}
	if _, ok := env.Header.Selector("missing"); ok {
		t.Errorf("Selector(missing): got found, want not found")
	}
}

func TestHeaderOption(t *testing.T) {
	env, err := soap.Parse(readFixture(t, "powershell-enumerate-associated.xml"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	o, ok := env.Header.Option("MSFTWINRM:USEPRECISEARRAYS")
	if !ok || o.Value != "true" || o.Type != "xs:boolean" {
		t.Errorf("Option: got %+v %v, want value true type xs:boolean", o, ok)
	}
	if _, ok := env.Header.Option("nope"); ok {
		t.Errorf("Option(nope): got found, want not found")
	}
}

func TestParseOptionSetMustComply(t *testing.T) {
	data := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><w:OptionSet s:mustUnderstand="true"><w:Option Name="protocolversion" MustComply="true">2.3</w:Option></w:OptionSet></s:Header><s:Body/></s:Envelope>`
	env, err := soap.Parse([]byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []soap.Option{{Name: "protocolversion", Value: "2.3", MustComply: true}}
	if !env.Header.OptionSetMustComply {
		t.Errorf("OptionSetMustComply: got false, want true")
	}
	if !reflect.DeepEqual(env.Header.Options, want) {
		t.Errorf("Options: got %+v, want %+v", env.Header.Options, want)
	}
}

// TestParseHeaderNamespacesPerChild checks that each header resolves its
// own prefixes and its attributes' where it declares them, and the
// envelope's otherwise, whichever headers came before it (decodeHeader
// remembers the prefixes the headers share).
func TestParseHeaderNamespacesPerChild(t *testing.T) {
	const other = `xmlns:a="urn:other"`
	tests := []struct {
		name, header string
		wantErr      bool   // a *MustUnderstandError for {urn:other or urn:x, Trace/Action}
		wantAction   string // else the wsa:Action decoded
	}{
		{"a redeclared after a:To", `<a:To>http://h/wsman</a:To><a:Action ` + other + ` s:mustUnderstand="true">urn:act</a:Action>`, true, ""},
		{"a redeclared before a:Action", `<a:Trace ` + other + `/><a:Action>urn:act</a:Action>`, false, "urn:act"},
		{"a redeclared, no mustUnderstand", `<a:To>x</a:To><a:Action ` + other + `>urn:act</a:Action>`, false, ""},
		{"default namespace", `<Action xmlns="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:act</Action>`, false, "urn:act"},
		{"mustUnderstand by a prefix of its own", `<a:To>x</a:To><x:Trace xmlns:x="urn:x" xmlns:e="http://www.w3.org/2003/05/soap-envelope" e:mustUnderstand="true"/>`, true, ""},
		{"s redeclared is not SOAP's", `<a:To s:mustUnderstand="1">x</a:To><x:Trace xmlns:x="urn:x" xmlns:s="urn:not-soap" s:mustUnderstand="true"/><a:Action>urn:act</a:Action>`, false, "urn:act"},
		{"s redeclared then the envelope's", `<x:Trace xmlns:x="urn:x" xmlns:s="urn:not-soap" s:mustUnderstand="true"/><x:Trace xmlns:x="urn:x" s:mustUnderstand="true"/>`, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := soap.Parse(withHeader(tt.header))
			var mu *soap.MustUnderstandError
			if tt.wantErr {
				if !errors.As(err, &mu) {
					t.Fatalf("Parse: got %v, want a MustUnderstandError", err)
				}
				if mu.Header.Space != "urn:other" && mu.Header.Space != "urn:x" {
					t.Errorf("Header: got %v", mu.Header)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: got error %v, want nil", err)
			}
			if env.Header.Action != tt.wantAction {
				t.Errorf("Action: got %q, want %q", env.Header.Action, tt.wantAction)
			}
		})
	}
}
