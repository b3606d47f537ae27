package wsman

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Kerberos message sealing: the RFC 4121 section 4.2.6.2 Wrap token with
// confidentiality, in the layout that Windows' EncryptMessage and MIT's
// gss_wrap_iov (what pykerberos' authGSSWinRMEncryptMessage calls) give
// WinRM ([MS-WSMV] 2.2.9.1.1, [MS-KILE] 3.4.5.4.1):
//
//	signature = TOK_ID 05 04 | Flags | FF | EC | RRC | SND_SEQ      (16 bytes)
//	            | the first RRC+16 bytes of the rotated ciphertext   (44 for AES)
//	sealed    = the rest of the rotated ciphertext                   (len(msg))
//
// where the ciphertext is the RFC 3961 encryption of msg | EC filler bytes |
// the token header (with RRC 0), that is confounder | msg | filler | header
// | HMAC, rotated right by RRC (= 16 + the HMAC's 12 bytes, so that the
// sealed part is exactly as long as the message). Any RFC 3961 enctype
// of the simplified profile works (AES-SHA1 and AES-SHA2; DES3); RC4-HMAC
// sessions, whose wrap token is RFC 4757's, are not sealed.

// RFC 4121 key usages and flags.
const (
	usageAcceptorSeal  = 22
	usageInitiatorSeal = 24

	wrapFlagSentByAcceptor = 0x01
	wrapFlagSealed         = 0x02
	wrapFlagAcceptorSubkey = 0x04

	wrapHeaderLen = 16
)

// errKerberosSeal is wrapped by every refusal of a Kerberos wrap token.
var errKerberosSeal = errors.New("kerberos wrap token refused")

// kerberosSession is the sealing context of a Kerberos logon. It seals
// replies with the acceptor subkey when the AP-REP gave one (and says so
// with the AcceptorSubkey flag), and unseals each client message with the
// key its flags name: the acceptor subkey, or else the initiator's subkey
// (the authenticator's, or the ticket session key when it sent none).
type kerberosSession struct {
	initiatorKey types.EncryptionKey
	acceptorKey  types.EncryptionKey // zero when no acceptor subkey was sent
	protocol     string              // the HTTP-*-session-encrypted protocol to answer with

	mu      sync.Mutex
	sendSeq uint64
	recvSeq uint64 // the lowest sequence number still acceptable
}

// newKerberosSession returns the sealing context of a logon, or an error
// when the keys' enctype has no RFC 4121 wrap token of ours.
func newKerberosSession(initiatorKey, acceptorKey types.EncryptionKey, initiatorSeq, acceptorSeq int64, protocol string) (*kerberosSession, error) {
	for _, k := range []types.EncryptionKey{initiatorKey, acceptorKey} {
		if len(k.KeyValue) == 0 {
			continue
		}
		if err := sealable(k.KeyType); err != nil {
			return nil, err
		}
	}
	return &kerberosSession{
		initiatorKey: initiatorKey, acceptorKey: acceptorKey, protocol: protocol,
		sendSeq: uint64(uint32(acceptorSeq)), recvSeq: uint64(uint32(initiatorSeq)),
	}, nil
}

// sealable reports whether an enctype has an RFC 4121 wrap token here.
func sealable(keyType int32) error {
	switch keyType {
	case etypeID.RC4_HMAC, etypeID.RC4_HMAC_EXP, etypeID.DES_CBC_CRC, etypeID.DES_CBC_MD5, etypeID.DES_CBC_MD4:
		return fmt.Errorf("%w: enctype %d has no RFC 4121 sealing here", errKerberosSeal, keyType)
	}
	if _, err := crypto.GetEtype(keyType); err != nil {
		return fmt.Errorf("%w: enctype %d: %v", errKerberosSeal, keyType, err)
	}
	return nil
}

// sealProtocol is the protocol parameter of the sealed replies.
func (k *kerberosSession) sealProtocol() string { return k.protocol }

// sendKey is the key the acceptor seals with and the flags that say which.
func (k *kerberosSession) sendKey() (types.EncryptionKey, byte) {
	if len(k.acceptorKey.KeyValue) > 0 {
		return k.acceptorKey, wrapFlagSentByAcceptor | wrapFlagSealed | wrapFlagAcceptorSubkey
	}
	return k.initiatorKey, wrapFlagSentByAcceptor | wrapFlagSealed
}

// Wrap seals msg as the acceptor (GSS_WrapEx with a header and a data
// buffer).
func (k *kerberosSession) Wrap(msg []byte) (sealed, signature []byte, err error) {
	key, flags := k.sendKey()
	k.mu.Lock()
	seq := k.sendSeq
	k.sendSeq++
	k.mu.Unlock()
	return wrapToken(key, flags, seq, usageAcceptorSeal, msg)
}

// wrapToken builds the sealed Wrap token of msg in the IOV layout and
// returns its data part and its header part.
func wrapToken(key types.EncryptionKey, flags byte, seq uint64, usage uint32, msg []byte) (sealed, signature []byte, err error) {
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errKerberosSeal, err)
	}
	header := wrapHeader(flags, 0, 0, seq)
	plain := make([]byte, 0, len(msg)+wrapHeaderLen)
	plain = append(append(plain, msg...), header...)
	_, ct, err := et.EncryptMessage(key.KeyValue, plain, usage)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: encrypt: %v", errKerberosSeal, err)
	}
	rrc := wrapHeaderLen + et.GetHMACBitLength()/8
	rotated := append(append([]byte{}, ct[len(ct)-rrc:]...), ct[:len(ct)-rrc]...)
	split := len(rotated) - len(msg)
	signature = append(wrapHeader(flags, 0, uint16(rrc), seq), rotated[:split]...)
	return rotated[split:], signature, nil
}

// wrapHeader is the 16-byte Wrap token header.
func wrapHeader(flags byte, ec, rrc uint16, seq uint64) []byte {
	h := make([]byte, wrapHeaderLen)
	h[0], h[1], h[2], h[3] = 0x05, 0x04, flags, 0xff
	binary.BigEndian.PutUint16(h[4:], ec)
	binary.BigEndian.PutUint16(h[6:], rrc)
	binary.BigEndian.PutUint64(h[8:], seq)
	return h
}

// Unwrap unseals a message the initiator sealed. Tokens without
// confidentiality, sent by an acceptor, replayed or out of order are
// refused.
func (k *kerberosSession) Unwrap(sealed, signature []byte) ([]byte, error) {
	token := make([]byte, 0, len(signature)+len(sealed))
	token = append(append(token, signature...), sealed...)
	if len(token) < wrapHeaderLen || token[0] != 0x05 || token[1] != 0x04 || token[3] != 0xff {
		return nil, fmt.Errorf("%w: not an RFC 4121 Wrap token", errKerberosSeal)
	}
	flags := token[2]
	switch {
	case flags&wrapFlagSentByAcceptor != 0:
		return nil, fmt.Errorf("%w: token sent by the acceptor (reflected)", errKerberosSeal)
	case flags&wrapFlagSealed == 0:
		return nil, fmt.Errorf("%w: token without confidentiality", errKerberosSeal)
	}
	key := k.initiatorKey
	if flags&wrapFlagAcceptorSubkey != 0 {
		if len(k.acceptorKey.KeyValue) == 0 {
			return nil, fmt.Errorf("%w: AcceptorSubkey flag but no acceptor subkey was sent", errKerberosSeal)
		}
		key = k.acceptorKey
	}
	seq := binary.BigEndian.Uint64(token[8:16])
	msg, err := unwrapToken(key, usageInitiatorSeal, token)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if seq < k.recvSeq {
		return nil, fmt.Errorf("%w: sequence number %d replayed or out of order (next %d)", errKerberosSeal, seq, k.recvSeq)
	}
	k.recvSeq = seq + 1
	return msg, nil
}

// unwrapToken decrypts a sealed Wrap token (header included) and checks
// the header copy inside it. The ciphertext is rotated left by RRC as RFC
// 4121 says; when that fails and EC is not zero, by RRC+EC, as Windows
// rotates its own tokens.
func unwrapToken(key types.EncryptionKey, usage uint32, token []byte) ([]byte, error) {
	ec := int(binary.BigEndian.Uint16(token[4:6]))
	rrc := int(binary.BigEndian.Uint16(token[6:8]))
	ct := token[wrapHeaderLen:]
	var plain []byte
	var err error
	for i, rot := range []int{rrc, rrc + ec} {
		if i == 1 && ec == 0 {
			break
		}
		if len(ct) == 0 {
			return nil, fmt.Errorf("%w: empty ciphertext", errKerberosSeal)
		}
		r := rot % len(ct)
		unrotated := append(append([]byte{}, ct[r:]...), ct[:r]...)
		if plain, err = crypto.DecryptMessage(unrotated, key, usage); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: decrypt: %v", errKerberosSeal, err)
	}
	if len(plain) < ec+wrapHeaderLen {
		return nil, fmt.Errorf("%w: plaintext shorter than its filler and header", errKerberosSeal)
	}
	inner := plain[len(plain)-wrapHeaderLen:]
	outer := append([]byte{}, token[:wrapHeaderLen]...)
	outer[6], outer[7] = 0, 0 // the encrypted copy has RRC 0
	if !bytes.Equal(inner, outer) {
		return nil, fmt.Errorf("%w: encrypted header differs from the token's", errKerberosSeal)
	}
	return plain[:len(plain)-wrapHeaderLen-ec], nil
}
