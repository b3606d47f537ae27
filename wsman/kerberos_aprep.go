package wsman

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/replicad/replicad/spnego"
)

// Mutual authentication: the AP-REP (RFC 4120 5.5.2) that answers a
// verified AP-REQ, as the GSS-API token of RFC 4121 4.1 (TOK_ID 02 00).
// Its encrypted part, under the ticket session key, echoes the
// authenticator's ctime and cusec, and carries an acceptor subkey and the
// acceptor's initial sequence number, as Windows' does.

// tokIDAPRep is the RFC 4121 token ID of an AP-REP.
var tokIDAPRep = []byte{0x02, 0x00}

// acceptorContext is what the AP-REP establishes for the acceptor's side.
type acceptorContext struct {
	subkey types.EncryptionKey
	seq    int64
}

// newAcceptorContext draws an acceptor subkey of the enctype given
// (the authenticator subkey's, or the session key's) and an initial
// sequence number.
func newAcceptorContext(keyType int32) (acceptorContext, error) {
	et, err := crypto.GetEtype(keyType)
	if err != nil {
		return acceptorContext{}, fmt.Errorf("acceptor subkey: %w", err)
	}
	key := make([]byte, et.GetKeyByteSize())
	var seq [4]byte
	if _, err := rand.Read(key); err != nil {
		return acceptorContext{}, fmt.Errorf("acceptor subkey: %w", err)
	}
	if _, err := rand.Read(seq[:]); err != nil {
		return acceptorContext{}, fmt.Errorf("acceptor sequence number: %w", err)
	}
	// A positive, non-zero 31-bit number: an absent seq-number (zero) would
	// leave the initiator guessing.
	return acceptorContext{
		subkey: types.EncryptionKey{KeyType: keyType, KeyValue: key},
		seq:    int64(binary.BigEndian.Uint32(seq[:])&0x3fffffff) + 1,
	}, nil
}

// apRepToken builds the GSS-API AP-REP token that answers apReq (already
// verified, so its ticket and authenticator are decrypted).
func apRepToken(apReq *messages.APReq, ac acceptorContext) ([]byte, error) {
	enc := messages.EncAPRepPart{
		CTime:          apReq.Authenticator.CTime,
		Cusec:          apReq.Authenticator.Cusec,
		Subkey:         ac.subkey,
		SequenceNumber: ac.seq,
	}
	encBytes, err := asn1.Marshal(enc)
	if err != nil {
		return nil, fmt.Errorf("marshal EncAPRepPart: %w", err)
	}
	encBytes = asn1tools.AddASNAppTag(encBytes, asnAppTag.EncAPRepPart)
	ed, err := crypto.GetEncryptedData(encBytes, apReq.Ticket.DecryptedEncPart.Key, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		return nil, fmt.Errorf("encrypt EncAPRepPart: %w", err)
	}
	rep := messages.APRep{PVNO: 5, MsgType: msgtype.KRB_AP_REP, EncPart: ed}
	repBytes, err := asn1.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("marshal AP-REP: %w", err)
	}
	repBytes = asn1tools.AddASNAppTag(repBytes, asnAppTag.APREP)
	oid, err := asn1.Marshal(asn1.ObjectIdentifier(spnego.OIDKerberos))
	if err != nil {
		return nil, fmt.Errorf("marshal Kerberos OID: %w", err)
	}
	b := append(append(oid, tokIDAPRep...), repBytes...)
	return asn1tools.AddASNAppTag(b, 0), nil
}
