package client

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	gspnego "github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// The Kerberos logon: an AP-REQ inside SPNEGO under Negotiate, with mutual
// authentication required, whose AP-REP gives the acceptor's subkey and
// sequence number; over plain HTTP the messages are then sealed with RFC
// 4121 Wrap tokens in the layout of [MS-KILE] 3.4.5.4.1 (header part as
// the signature, the rotated ciphertext's tail as the data).

// errKerberos wraps the failures of the Kerberos logon.
var errKerberos = errors.New("client: Kerberos")

// RFC 4121 key usages of Wrap tokens.
const (
	usageAcceptorSeal  = 22
	usageInitiatorSeal = 24
)

// kerberosLogon logs the connection on with a service ticket for c.spn()
// and checks the server's AP-REP.
func (c *Client) kerberosLogon(ctx context.Context) error {
	if c.krb == nil {
		cl, err := kerberosClient(c.opts)
		if err != nil {
			return err
		}
		c.krb = cl
	}
	tkt, key, err := c.krb.GetServiceTicket(c.spn())
	if err != nil {
		return fmt.Errorf("%w: ticket for %s: %w", errKerberos, c.spn(), err)
	}
	auth, err := types.NewAuthenticator(c.krb.Credentials.Domain(), c.krb.Credentials.CName())
	if err != nil {
		return fmt.Errorf("%w: %w", errKerberos, err)
	}
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return fmt.Errorf("%w: %w", errKerberos, err)
	}
	if err := auth.GenerateSeqNumberAndSubKey(key.KeyType, et.GetKeyByteSize()); err != nil {
		return fmt.Errorf("%w: %w", errKerberos, err)
	}
	binding, err := c.tlsBinding(ctx)
	if err != nil {
		return err
	}
	// RFC 4121 4.1.1 checksum: the TLS channel binding (zero over plain
	// HTTP); mutual, sequence, confidentiality, integrity.
	ck := make([]byte, 24)
	binary.LittleEndian.PutUint32(ck, 16)
	copy(ck[4:20], binding)
	binary.LittleEndian.PutUint32(ck[20:], gssapi.ContextFlagMutual|gssapi.ContextFlagSequence|gssapi.ContextFlagConf|gssapi.ContextFlagInteg)
	auth.Cksum = types.Checksum{CksumType: chksumtype.GSSAPI, Checksum: ck}
	apReq, err := messages.NewAPReq(tkt, key, auth)
	if err != nil {
		return fmt.Errorf("%w: %w", errKerberos, err)
	}
	types.SetFlag(&apReq.APOptions, flags.APOptionMutualRequired)
	reqBytes, err := apReq.Marshal()
	if err != nil {
		return fmt.Errorf("%w: %w", errKerberos, err)
	}
	oid, _ := asn1.Marshal(gssapi.OIDKRB5.OID())
	mechToken := asn1tools.AddASNAppTag(append(append(oid, 0x01, 0x00), reqBytes...), 0)
	init := gspnego.SPNEGOToken{Init: true, NegTokenInit: gspnego.NegTokenInit{
		MechTypes: []asn1.ObjectIdentifier{gssapi.OIDKRB5.OID()}, MechTokenBytes: mechToken}}
	token, err := init.Marshal()
	if err != nil {
		return fmt.Errorf("%w: %w", errKerberos, err)
	}
	resp, err := c.negotiateLeg(ctx, token)
	if err != nil {
		return err
	}
	if err := logonAccepted(resp); err != nil {
		return err
	}
	sess, err := apRepSession(resp.Header.Get("WWW-Authenticate"), key, auth)
	if err != nil {
		return err
	}
	c.setLoggedOn(sess)
	return nil
}

// tlsBinding returns the channel binding of the server's certificate over
// HTTPS, learnt with an empty POST without credentials (answered 401), and
// nil over plain HTTP.
func (c *Client) tlsBinding(ctx context.Context) ([]byte, error) {
	if !strings.HasPrefix(c.url, "https://") {
		return nil, nil
	}
	resp, err := c.negotiateLeg(ctx, nil)
	if err != nil {
		return nil, err
	}
	return peerBinding(resp), nil
}

// apRepSession checks the final Negotiate token (a NegTokenResp with the
// AP-REP) against the ticket's session key and our authenticator, and
// returns the session that seals with the keys it gives.
func apRepSession(header string, key types.EncryptionKey, auth types.Authenticator) (*krbSession, error) {
	value, ok := strings.CutPrefix(header, "Negotiate ")
	if !ok {
		return nil, fmt.Errorf("%w: the logon's answer has no AP-REP (mutual authentication failed)", errKerberos)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil {
		return nil, fmt.Errorf("%w: final token: %w", errKerberos, err)
	}
	var tok gspnego.SPNEGOToken
	if err := tok.Unmarshal(raw); err == nil && tok.Resp {
		raw = tok.NegTokenResp.ResponseToken
	}
	var kt gspnego.KRB5Token
	if err := kt.Unmarshal(raw); err != nil || !kt.IsAPRep() {
		return nil, fmt.Errorf("%w: the final token is no AP-REP (mutual authentication failed): %v", errKerberos, err)
	}
	plain, err := crypto.DecryptEncPart(kt.APRep.EncPart, key, keyusage.AP_REP_ENCPART)
	if err != nil {
		return nil, fmt.Errorf("%w: the AP-REP does not decrypt with the session key (mutual authentication failed): %w", errKerberos, err)
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		return nil, fmt.Errorf("%w: AP-REP: %w", errKerberos, err)
	}
	if part.Cusec != auth.Cusec || !part.CTime.Equal(auth.CTime.Truncate(1e9)) {
		return nil, fmt.Errorf("%w: the AP-REP answers another authenticator (mutual authentication failed)", errKerberos)
	}
	s := &krbSession{key: auth.SubKey, sendSeq: uint64(auth.SeqNumber), recvSeq: uint64(part.SequenceNumber)}
	if len(part.Subkey.KeyValue) > 0 {
		s.key, s.acceptorSubkey = part.Subkey, true
	}
	return s, nil
}

// krbSession seals with RFC 4121 Wrap tokens (confidentiality on) as the
// initiator and opens the acceptor's.
type krbSession struct {
	mu               sync.Mutex
	key              types.EncryptionKey
	acceptorSubkey   bool
	sendSeq, recvSeq uint64
}

// Wrap seals msg: the token header with the rotated ciphertext's head is
// the signature, its last len(msg) bytes the data.
func (s *krbSession) Wrap(msg []byte) (sealed, sig []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hdr := []byte{0x05, 0x04, 0x02, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // Sealed
	if s.acceptorSubkey {
		hdr[2] |= 0x04
	}
	binary.BigEndian.PutUint64(hdr[8:], s.sendSeq)
	et, err := crypto.GetEtype(s.key.KeyType)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errKerberos, err)
	}
	_, ct, err := et.EncryptMessage(s.key.KeyValue, append(append([]byte{}, msg...), hdr...), usageInitiatorSeal)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: seal: %w", errKerberos, err)
	}
	s.sendSeq++
	rrc := 16 + et.GetHMACBitLength()/8
	rotated := append(append([]byte{}, ct[len(ct)-rrc:]...), ct[:len(ct)-rrc]...)
	binary.BigEndian.PutUint16(hdr[6:], uint16(rrc))
	split := len(rotated) - len(msg)
	return rotated[split:], append(hdr, rotated[:split]...), nil
}

// Unwrap opens the acceptor's token (sig is its header part).
func (s *krbSession) Unwrap(sealed, sig []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := append(append([]byte{}, sig...), sealed...)
	if len(tok) < 16 || tok[0] != 0x05 || tok[1] != 0x04 || tok[2]&0x03 != 0x03 {
		return nil, fmt.Errorf("%w: the reply is no sealed Wrap token of the acceptor", errKerberos)
	}
	if seq := binary.BigEndian.Uint64(tok[8:16]); seq != s.recvSeq {
		return nil, fmt.Errorf("%w: reply sequence number %d, want %d", errKerberos, seq, s.recvSeq)
	}
	rrc := int(binary.BigEndian.Uint16(tok[6:8]))
	ct := tok[16:]
	if len(ct) < 16 || rrc > len(ct) {
		return nil, fmt.Errorf("%w: short Wrap token", errKerberos)
	}
	ct = append(append([]byte{}, ct[rrc:]...), ct[:rrc]...)
	plain, err := crypto.DecryptMessage(ct, s.key, usageAcceptorSeal)
	if err != nil {
		return nil, fmt.Errorf("%w: the reply does not unseal: %w", errKerberos, err)
	}
	trailer := 16 + int(binary.BigEndian.Uint16(tok[4:6])) // the header copy and the filler (EC)
	if len(plain) < trailer {
		return nil, fmt.Errorf("%w: short sealed reply", errKerberos)
	}
	s.recvSeq++
	return plain[:len(plain)-trailer], nil
}
