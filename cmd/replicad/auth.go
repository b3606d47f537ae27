package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/replicad/replicad/ntlm"
)

// configureAuth sets the endpoint's NTLM names and, with --keytab, the
// Kerberos service keys.
func (m *Main) configureAuth() error {
	host, _ := os.Hostname()
	short, _, _ := strings.Cut(host, ".")
	if short == "" {
		short = "replicad"
	}
	netbios := strings.ToUpper(short)
	if len(netbios) > 15 {
		netbios = netbios[:15]
	}
	m.Server.Auth.NTLM = ntlm.Config{NetBIOSComputer: netbios, DNSComputer: host}
	if m.Config.Keytab == "" {
		return nil
	}
	kt, err := keytab.Load(m.Config.Keytab)
	if err != nil {
		return fmt.Errorf("keytab %s: %w", m.Config.Keytab, err)
	}
	m.Server.Auth.Keytab = kt
	m.Server.Auth.KerberosPrincipal = m.Config.KerberosPrincipal
	return nil
}
