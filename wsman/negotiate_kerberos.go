package wsman

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/jcmturner/gokrb5/v8/service"
	gspnego "github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/replicad/replicad/spnego"
)

// Kerberos logons (Negotiate with the Kerberos mechanism, or the Kerberos
// scheme with a bare GSS-API token), verified with the service keytab
// through gokrb5. The AP-REQ is checked (ticket for our service principal,
// authenticator, clock skew, replay); mutual authentication (AP-REP) and
// Kerberos message sealing are not offered, so Kerberos logons send their
// messages unsealed: over HTTPS, or over HTTP when AllowUnencrypted is set.

// kerberosToken reports whether token is a bare Kerberos GSS-API token
// (InitialContextToken with the Kerberos OID), as the Kerberos scheme sends.
func (s *Server) kerberosToken(token []byte) bool {
	if len(token) < 4 || token[0] != 0x60 {
		return false
	}
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(token, &raw); err != nil {
		return false
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(raw.Bytes, &oid); err != nil {
		return false
	}
	return oid.Equal(spnego.OIDKerberos) || oid.Equal(spnego.OIDKerberosMSFT)
}

// kerberos verifies a Kerberos GSS-API token carrying an AP-REQ and binds
// the logon to the connection. The principal's name, without the realm,
// must be a user of the users file, whose role then applies.
func (s *Server) kerberos(r *http.Request, cs *connState, scheme string, token []byte, wrapped bool) (string, error) {
	if s.Auth.Keytab == nil {
		return "", fmt.Errorf("%w: Kerberos (no keytab configured)", errMechanism)
	}
	var kt gspnego.KRB5Token
	if err := kt.Unmarshal(token); err != nil {
		return "", fmt.Errorf("%w: Kerberos token: %v", errBadToken, err)
	}
	if !kt.IsAPReq() {
		return "", fmt.Errorf("%w: Kerberos token is not an AP-REQ", errBadToken)
	}
	opts := []func(*service.Settings){service.DecodePAC(false), service.MaxClockSkew(s.Auth.KerberosClockSkew)}
	if s.Auth.KerberosPrincipal != "" {
		opts = append(opts, service.KeytabPrincipal(s.Auth.KerberosPrincipal))
	}
	ok, creds, err := service.VerifyAPREQ(&kt.APReq, service.NewSettings(s.Auth.Keytab, opts...))
	if err != nil || !ok || creds == nil {
		return "", fmt.Errorf("%w: Kerberos AP-REQ: %v", errBadCredentials, err)
	}
	user := creds.UserName()
	if s.users == nil || !s.users.Has(user) {
		return user, fmt.Errorf("%w: Kerberos principal %s@%s is not in the users file", errBadCredentials, user, creds.Realm())
	}
	reply := ""
	if wrapped {
		final := &spnego.Resp{NegState: spnego.AcceptCompleted, SupportedMech: spnego.OIDKerberos}
		if bytes.HasPrefix(token, []byte{0x60}) && len(token) > 0 {
			reply = scheme + " " + base64.StdEncoding.EncodeToString(final.Marshal())
		}
	}
	now := s.Now()
	cs.mu.Lock()
	cs.pending = nil
	cs.user, cs.scheme, cs.session = user, scheme, nil
	cs.established, cs.lastUsed, cs.reply = now, now, reply
	cs.mu.Unlock()
	return user, nil
}
