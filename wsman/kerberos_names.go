package wsman

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jcmturner/gokrb5/v8/types"
)

// Service names of Kerberos tickets. WinRM clients ask for a ticket to
// HTTP/host (pywinrm, masterzen/winrm, curl) or WSMAN/host (Windows' own
// WinRM client, when an SPN of that name is registered). In a domain both
// names belong to one account, so a ticket for either is encrypted with the
// same key, though the keytab (ktpass, msktutil) may carry only one of the
// names. A ticket is accepted when its service name is
//
//   - a principal of the keytab (or, with --kerberos-principal, that
//     principal), decrypted with that entry's key; or
//   - HTTP/host or WSMAN/host where the keytab has the other one of the two
//     for the same host (or, with --kerberos-principal, where the principal
//     is the other one), decrypted with the key of the name that is there.
//
// Any other ticket is refused before decryption, naming the service it was
// for.

// errWrongService is wrapped when a ticket is for a service not ours.
var errWrongService = errors.New("Kerberos ticket is for another service")

// serviceAliases are the service classes one WinRM host answers to with
// the same key.
var serviceAliases = []string{"HTTP", "WSMAN"}

// kerberosKeyName returns the keytab principal (without realm) whose key
// decrypts a ticket for sname in realm, or an error naming what was asked
// for and what is accepted.
func (s *Server) kerberosKeyName(sname types.PrincipalName, realm string) (string, error) {
	asked := sname.PrincipalNameString()
	var names []string
	if s.Auth.KerberosPrincipal != "" {
		name, _, _ := strings.Cut(s.Auth.KerberosPrincipal, "@")
		names = []string{name}
	}
	inKeytab := map[string]bool{}
	for _, e := range s.Auth.Keytab.Entries {
		if !strings.EqualFold(e.Principal.Realm, realm) {
			continue
		}
		n := strings.Join(e.Principal.Components, "/")
		inKeytab[n] = true
		if s.Auth.KerberosPrincipal == "" {
			names = append(names, n)
		}
	}
	var accepted []string
	for _, n := range names {
		for _, alias := range aliasesOf(n) {
			accepted = append(accepted, alias)
			if !strings.EqualFold(alias, asked) {
				continue
			}
			// The ticket's own name when the keytab has it, else the
			// configured or keytab name it is an alias of.
			if inKeytab[asked] {
				return asked, nil
			}
			if inKeytab[n] {
				return n, nil
			}
		}
	}
	return "", fmt.Errorf("%w: ticket for %s@%s, this server accepts %s", errWrongService, asked, realm, strings.Join(dedupe(accepted), ", "))
}

// aliasesOf returns name and, for HTTP/host or WSMAN/host, the other one.
func aliasesOf(name string) []string {
	class, host, ok := strings.Cut(name, "/")
	if !ok {
		return []string{name}
	}
	out := []string{name}
	for _, a := range serviceAliases {
		if strings.EqualFold(class, a) {
			for _, b := range serviceAliases {
				if !strings.EqualFold(b, class) {
					out = append(out, b+"/"+host)
				}
			}
		}
	}
	return out
}

// dedupe returns names without repeats, in their order.
func dedupe(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
