package main

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/cimxml"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/wsman"
)

// serveCIMXML starts the CIM-XML endpoint on --cimxml-listen (nothing when
// it is empty): the same registry and, through the WS-Management server's
// Basic authenticator, the same users, roles and failed-logon limiter;
// connections capped like the WS-Management listeners; HTTPS with the
// --tls-cert certificate when one is configured. It logs "listening" with
// the scheme "cimxml" or "cimxml-https".
func (m *Main) serveCIMXML(registry *cimmodel.Registry, u *users.File) error {
	cfg := &m.Config
	if cfg.CIMXMLListen == "" {
		return nil
	}
	srv := cimxml.NewServer(registry, m.Server, u)
	srv.Logger = m.Logger.Named("cimxml")
	srv.LogonBusy = wsman.LogonBusy
	ln, err := net.Listen("tcp", cfg.CIMXMLListen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.CIMXMLListen, err)
	}
	ln = m.limit(ln)
	scheme := "cimxml"
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("TLS certificate: %w", err)
		}
		ln = tls.NewListener(ln, tlsConfig(cert, cfg.TLSCompat))
		scheme = "cimxml-https"
	}
	m.serve(ln, m.Metrics.Middleware(srv.Handler()), scheme)
	return nil
}

// listenURL is the URL a "listening" log line names for a listener.
func listenURL(scheme string, addr net.Addr) string {
	switch scheme {
	case "cimxml":
		return fmt.Sprintf("http://%s%s", addr, cimxml.Path)
	case "cimxml-https":
		return fmt.Sprintf("https://%s%s", addr, cimxml.Path)
	case "metrics":
		return fmt.Sprintf("http://%s/metrics", addr)
	}
	return fmt.Sprintf("%s://%s/wsman", scheme, addr)
}
