package wsman

import (
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"

	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/service"
	gspnego "github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/replicad/replicad/spnego"
)

// Kerberos logons (Negotiate with the Kerberos mechanism, or the Kerberos
// scheme with a bare GSS-API token), verified with the service keytab
// through gokrb5. The AP-REQ is checked (ticket for one of our service
// names, kerberos_names.go; authenticator, clock skew, replay). When the
// client asks for mutual authentication the final token carries the AP-REP
// (kerberos_aprep.go), inside a SPNEGO NegTokenResp when the client spoke
// SPNEGO; the logon then seals messages over plain HTTP with RFC 4121 Wrap
// tokens (kerberos_wrap.go), as NTLM logons do.

// gssChecksumTypeKRB5 is the authenticator checksum type of RFC 4121 4.1.1
// (0x8003), whose Flags field carries the GSS context flags.
const gssChecksumTypeKRB5 = 0x8003

// gssMutualFlag is GSS_C_MUTUAL_FLAG in that Flags field.
const gssMutualFlag = 2

// kerberosToken reports whether token is a bare Kerberos GSS-API token
// (InitialContextToken with the Kerberos OID), as the Kerberos scheme sends.
func (s *Server) kerberosToken(token []byte) bool {
	return tokenMech(token) != nil
}

// tokenMech returns the Kerberos OID a GSS-API token starts with, nil when
// it is not a Kerberos token.
func tokenMech(token []byte) asn1.ObjectIdentifier {
	if len(token) < 4 || token[0] != 0x60 {
		return nil
	}
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(token, &raw); err != nil {
		return nil
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(raw.Bytes, &oid); err != nil {
		return nil
	}
	if oid.Equal(spnego.OIDKerberos) || oid.Equal(spnego.OIDKerberosMSFT) {
		return oid
	}
	return nil
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
	keyName, err := s.kerberosKeyName(kt.APReq.Ticket.SName, kt.APReq.Ticket.Realm)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errBadCredentials, err)
	}
	opts := []func(*service.Settings){service.DecodePAC(false), service.MaxClockSkew(s.Auth.KerberosClockSkew),
		service.KeytabPrincipal(keyName)}
	ok, creds, err := service.VerifyAPREQ(&kt.APReq, service.NewSettings(s.Auth.Keytab, opts...))
	if err != nil || !ok || creds == nil {
		return "", fmt.Errorf("%w: Kerberos AP-REQ: %v", errBadCredentials, err)
	}
	user := creds.UserName()
	if s.users == nil || !s.users.Has(user) {
		return user, fmt.Errorf("%w: Kerberos principal %s@%s is not in the users file", errBadCredentials, user, creds.Realm())
	}
	// Over HTTPS, the authenticator checksum's Bnd is the channel binding
	// (channelbinding.go), checked under --channel-binding.
	ck := kt.APReq.Authenticator.Cksum
	if err := s.checkKerberosChannelBinding(r, ck.CksumType, ck.Checksum); err != nil {
		return user, fmt.Errorf("%w: Kerberos: %w", errBadCredentials, err)
	}
	reply, sess, err := s.kerberosAccept(&kt.APReq, scheme, tokenMech(token), wrapped)
	if err != nil {
		return user, fmt.Errorf("%w: %w", errBadCredentials, err)
	}
	now := s.Now()
	cs.mu.Lock()
	cs.pending = nil
	cs.user, cs.scheme, cs.session = user, scheme, sess
	cs.established, cs.lastUsed, cs.reply = now, now, reply
	cs.mu.Unlock()
	return user, nil
}

// kerberosAccept builds what a verified AP-REQ is answered with: the final
// WWW-Authenticate value ("" when the client asked for no mutual
// authentication and spoke no SPNEGO) and the sealing context (nil for
// enctypes without RFC 4121 sealing: those logons stay unsealed).
func (s *Server) kerberosAccept(apReq *messages.APReq, scheme string, mech asn1.ObjectIdentifier, wrapped bool) (string, sealer, error) {
	initiatorKey := apReq.Ticket.DecryptedEncPart.Key
	if len(apReq.Authenticator.SubKey.KeyValue) > 0 {
		initiatorKey = apReq.Authenticator.SubKey
	}
	var acceptor acceptorContext
	var repToken []byte
	if mutualRequested(apReq) {
		var err error
		if acceptor, err = newAcceptorContext(initiatorKey.KeyType); err != nil {
			return "", nil, err
		}
		if repToken, err = apRepToken(apReq, acceptor); err != nil {
			return "", nil, err
		}
	} else {
		// Without an AP-REP both sides number from the initiator's
		// sequence number (RFC 4121 does not say; MIT and Windows do so).
		acceptor.seq = apReq.Authenticator.SeqNumber
	}
	protocol := encryptedProtocol
	if scheme == "Kerberos" {
		protocol = kerberosEncryptedProtocol
	}
	var sess sealer
	if ks, err := newKerberosSession(initiatorKey, acceptor.subkey, apReq.Authenticator.SeqNumber, acceptor.seq, protocol); err == nil {
		sess = ks
	} else {
		s.Logger.Sugar().Infof("Kerberos logon without message sealing: %v", err)
	}
	reply := ""
	switch {
	case wrapped:
		if mech == nil {
			mech = spnego.OIDKerberos
		}
		final := &spnego.Resp{NegState: spnego.AcceptCompleted, SupportedMech: mech, ResponseToken: repToken}
		reply = scheme + " " + base64.StdEncoding.EncodeToString(final.Marshal())
	case repToken != nil:
		reply = scheme + " " + base64.StdEncoding.EncodeToString(repToken)
	}
	return reply, sess, nil
}

// mutualRequested reports whether the AP-REQ asks for an AP-REP: the
// mutual-required AP option, or GSS_C_MUTUAL_FLAG in the RFC 4121
// authenticator checksum.
func mutualRequested(apReq *messages.APReq) bool {
	if types.IsFlagSet(&apReq.APOptions, flags.APOptionMutualRequired) {
		return true
	}
	ck := apReq.Authenticator.Cksum
	if ck.CksumType != gssChecksumTypeKRB5 || len(ck.Checksum) < 24 {
		return false
	}
	return binary.LittleEndian.Uint32(ck.Checksum[20:24])&gssMutualFlag != 0
}
