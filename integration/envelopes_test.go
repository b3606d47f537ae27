package integration

import (
	"fmt"
	"html"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// The request envelopes below follow the layout Windows' WinRM client
// (winrm.cmd, the CIM cmdlets) writes: the same namespace prefixes, header
// order and mustUnderstand marks as the MS-WSMV examples.
const envelopeHead = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">`

func header(to, action, resourceURI, extra string) string {
	return fmt.Sprintf(`<s:Header><a:To>%s</a:To><w:ResourceURI s:mustUnderstand="true">%s</w:ResourceURI>`+
		`<a:ReplyTo><a:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>`+
		`<a:Action s:mustUnderstand="true">%s</a:Action><w:MaxEnvelopeSize s:mustUnderstand="true">512000</w:MaxEnvelopeSize>`+
		`<a:MessageID>uuid:%s</a:MessageID><w:Locale xml:lang="en-US" s:mustUnderstand="false"/>`+
		`<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/><w:OperationTimeout>PT60.000S</w:OperationTimeout>%s</s:Header>`,
		html.EscapeString(to), html.EscapeString(resourceURI), html.EscapeString(action), strings.ToUpper(uuid.NewString()), extra)
}

func enumerateEnvelope(to, resourceURI, bodyExtra string) string {
	return envelopeHead + header(to, actionEnumerate, resourceURI, "") +
		`<s:Body><n:Enumerate>` + bodyExtra + `</n:Enumerate></s:Body></s:Envelope>`
}

func selectorSet(keys map[string]string) string {
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(`<w:SelectorSet>`)
	for _, k := range names {
		fmt.Fprintf(&b, `<w:Selector Name="%s">%s</w:Selector>`, html.EscapeString(k), html.EscapeString(keys[k]))
	}
	b.WriteString(`</w:SelectorSet>`)
	return b.String()
}

func getEnvelope(to, resourceURI string, keys map[string]string) string {
	return envelopeHead + header(to, actionGet, resourceURI, selectorSet(keys)) + `<s:Body/></s:Envelope>`
}

func invokeEnvelope(to, resourceURI, method string, keys map[string]string, params string) string {
	return envelopeHead + header(to, resourceURI+"/"+method, resourceURI, selectorSet(keys)) +
		fmt.Sprintf(`<s:Body><p:%s_INPUT xmlns:p="%s">%s</p:%s_INPUT></s:Body></s:Envelope>`, method, resourceURI, params, method)
}
