package wsman

import (
	"github.com/replicad/replicad/soap"
)

// Identify answers (DSP0226 §11): the protocol version and product, plus the
// SecurityProfiles element Windows adds (MS-WSMV 2.2.4.x), listing what this
// server accepts.
const (
	productVendor     = "The replicad authors"
	profileHTTPBasic  = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/basic"
	profileHTTPSBasic = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/basic"
	// Negotiate (NTLM or Kerberos, sealed over HTTP) is always on; Windows
	// names it http/spnego-kerberos (DSP0226 annex C) in its own answer.
	profileHTTPNegotiate  = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos"
	profileHTTPSNegotiate = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/spnego-kerberos"
	// Client certificate logons (certauth.go) over HTTPS.
	profileHTTPSMutual   = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"
	wsmanProtocolVersion = soap.NSWSMan
	// anonymousProductVersion is Windows' ProductVersion for an
	// unauthenticated Identify: no version of the product or the system
	// before a logon (Test-WSMan's reference: "OS: 0.0.0 SP: 0.0"), and the
	// stack version that clients read from it.
	anonymousProductVersion = "OS: 0.0.0 SP: 0.0 Stack: 3.0"
)

// identify answers wsmid:Identify the way Windows does: an empty SOAP header
// and a wsmid:IdentifyResponse body. SecurityProfiles and the product's
// version are given only to an authenticated request: [MS-WSMV] 3.1.4.1.23
// forbids the profiles in the answer to an unauthenticated one (req.user is
// ""), and Windows answers it anonymousProductVersion.
func (s *Server) identify(req *request) (*soap.Message, error) {
	m := soap.NewResponse(req.header(), "")
	hdr := m.Header()
	for _, c := range hdr.ChildElements() {
		hdr.RemoveChild(c)
	}
	resp := m.Body().CreateElement(m.NS(soap.NSIdentity, "IdentifyResponse"))
	resp.CreateElement(m.NS(soap.NSIdentity, "ProtocolVersion")).SetText(wsmanProtocolVersion)
	resp.CreateElement(m.NS(soap.NSIdentity, "ProductVendor")).SetText(productVendor)
	version := s.ProductVersion
	if req.user == "" {
		version = anonymousProductVersion
	}
	resp.CreateElement(m.NS(soap.NSIdentity, "ProductVersion")).SetText(version)
	if req.user == "" {
		return m, nil
	}
	profiles := resp.CreateElement(m.NS(soap.NSIdentity, "SecurityProfiles"))
	names := []string{profileHTTPNegotiate, profileHTTPSBasic, profileHTTPSNegotiate, profileHTTPSMutual}
	if s.AllowUnencrypted {
		names = append([]string{profileHTTPBasic}, names...)
	}
	for _, name := range names {
		profiles.CreateElement(m.NS(soap.NSIdentity, "SecurityProfileName")).SetText(name)
	}
	return m, nil
}
