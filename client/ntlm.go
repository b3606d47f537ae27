package client

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/replicad/replicad/ntlm"
)

// The client half of NTLM (MS-NLMP) as pywinrm's pyspnego speaks it:
// NTLMv2 with extended session security, 128-bit keys, key exchange and a
// MIC, so that the session can sign and seal (ntlmSession). The ntlm
// package is the server half; its Session seals server to client and has
// no exported constructor, so the client's mirror image lives here.

// ntlmFlags are the flags of our NEGOTIATE message.
const ntlmFlags = ntlm.FlagUnicode | ntlm.FlagRequestTarget | ntlm.FlagSign | ntlm.FlagSeal | ntlm.FlagNTLM |
	ntlm.FlagAlwaysSign | ntlm.FlagExtendedSessionSecurity | ntlm.FlagTargetInfo | ntlm.FlagVersion |
	ntlm.Flag128 | ntlm.FlagKeyExchange | ntlm.Flag56

var ntlmSignature = []byte("NTLMSSP\x00")

// errNTLM wraps every failure of the NTLM handshake.
var errNTLM = errors.New("client: NTLM")

// ntlmNegotiate returns the NEGOTIATE message.
func ntlmNegotiate() []byte {
	b := make([]byte, 40)
	copy(b, ntlmSignature)
	binary.LittleEndian.PutUint32(b[8:], 1)
	binary.LittleEndian.PutUint32(b[12:], ntlmFlags)
	// Version 10.0 build 0, NTLM revision 15.
	copy(b[32:], []byte{10, 0, 0, 0, 0, 0, 0, 15})
	return b
}

// field returns the payload a (length, offset) field at off of msg names.
func field(msg []byte, off int) ([]byte, error) {
	if len(msg) < off+8 {
		return nil, fmt.Errorf("%w: message too short", errNTLM)
	}
	n := int(binary.LittleEndian.Uint16(msg[off:]))
	at := int(binary.LittleEndian.Uint32(msg[off+4:]))
	if at < 0 || at+n > len(msg) {
		return nil, fmt.Errorf("%w: field out of bounds", errNTLM)
	}
	return msg[at : at+n], nil
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// AV pair ids (MS-NLMP 2.2.2.1).
const (
	avEOL       = 0
	avFlags     = 6
	avTimestamp = 7
	// avChannelBindings is MsvAvChannelBindings.
	avChannelBindings = 10
)

// ntlmAuthenticate answers the server's CHALLENGE for user (DOMAIN\user or
// user) and password, with the TLS channel binding when not nil, and returns the AUTHENTICATE message and the session
// that seals with the keys it set up.
func ntlmAuthenticate(negotiate, challenge []byte, user, password string, binding []byte) ([]byte, *ntlmSession, error) {
	if len(challenge) < 48 || string(challenge[:8]) != string(ntlmSignature) || binary.LittleEndian.Uint32(challenge[8:]) != 2 {
		return nil, nil, fmt.Errorf("%w: the server's answer is no CHALLENGE message", errNTLM)
	}
	flags := binary.LittleEndian.Uint32(challenge[20:24])
	if flags&ntlm.FlagExtendedSessionSecurity == 0 || flags&ntlm.Flag128 == 0 {
		return nil, nil, fmt.Errorf("%w: the server refuses extended session security or 128-bit keys", errNTLM)
	}
	nonce := challenge[24:32]
	info, err := field(challenge, 40)
	if err != nil {
		return nil, nil, err
	}
	domain := ""
	if d, u, ok := strings.Cut(user, `\`); ok {
		domain, user = d, u
	}
	// The target information, with MsvAvFlags saying a MIC follows.
	var avs []byte
	var timestamp []byte
	for rest := info; len(rest) >= 4; {
		id := binary.LittleEndian.Uint16(rest)
		n := int(binary.LittleEndian.Uint16(rest[2:]))
		if id == avEOL || 4+n > len(rest) {
			break
		}
		if id == avTimestamp && n == 8 {
			timestamp = rest[4:12]
		}
		if id != avFlags && id != avChannelBindings {
			avs = append(avs, rest[:4+n]...)
		}
		rest = rest[4+n:]
	}
	if timestamp == nil {
		return nil, nil, fmt.Errorf("%w: the CHALLENGE has no timestamp", errNTLM)
	}
	if binding != nil {
		avs = binary.LittleEndian.AppendUint16(avs, avChannelBindings)
		avs = binary.LittleEndian.AppendUint16(avs, uint16(len(binding)))
		avs = append(avs, binding...)
	}
	avs = binary.LittleEndian.AppendUint16(avs, avFlags)
	avs = binary.LittleEndian.AppendUint16(avs, 4)
	avs = binary.LittleEndian.AppendUint32(avs, 2)
	avs = append(avs, 0, 0, 0, 0) // MsvAvEOL

	random := make([]byte, 8+16)
	if _, err := rand.Read(random); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errNTLM, err)
	}
	clientChallenge, exported := random[:8], random[8:]
	nt := ntlm.NTHash(password)
	ntowf := hmacMD5(nt[:], utf16le(strings.ToUpper(user)+domain))
	blob := []byte{1, 1, 0, 0, 0, 0, 0, 0}
	blob = append(blob, timestamp...)
	blob = append(blob, clientChallenge...)
	blob = append(blob, 0, 0, 0, 0)
	blob = append(blob, avs...)
	blob = append(blob, 0, 0, 0, 0)
	proof := hmacMD5(ntowf, nonce, blob)
	baseKey := hmacMD5(ntowf, proof)
	flags &= ntlmFlags | ntlm.FlagTargetTypeDomain | ntlm.FlagTargetTypeServer
	encKey := exported
	if flags&ntlm.FlagKeyExchange != 0 {
		r, _ := rc4.NewCipher(baseKey)
		encKey = make([]byte, 16)
		r.XORKeyStream(encKey, exported)
	} else {
		exported = baseKey
		encKey = nil
	}
	payload := [][]byte{make([]byte, 24), append(proof, blob...), utf16le(domain), utf16le(user), utf16le("REPLICACTL"), encKey}
	const header = 88
	msg := make([]byte, header)
	copy(msg, ntlmSignature)
	binary.LittleEndian.PutUint32(msg[8:], 3)
	off := header
	for i, p := range payload {
		binary.LittleEndian.PutUint16(msg[12+8*i:], uint16(len(p)))
		binary.LittleEndian.PutUint16(msg[14+8*i:], uint16(len(p)))
		binary.LittleEndian.PutUint32(msg[16+8*i:], uint32(off))
		off += len(p)
	}
	binary.LittleEndian.PutUint32(msg[60:], flags)
	copy(msg[64:72], []byte{10, 0, 0, 0, 0, 0, 0, 15})
	for _, p := range payload {
		msg = append(msg, p...)
	}
	copy(msg[72:88], hmacMD5(exported, negotiate, challenge, msg))
	return msg, newNTLMSession(exported, flags), nil
}

// ntlmSession seals messages to the server and unseals its answers
// (GSS_WrapEx and GSS_UnwrapEx of MS-NLMP 3.4 with extended session
// security), the mirror image of ntlm.Session.
type ntlmSession struct {
	mu             sync.Mutex
	flags          uint32
	outSign, inSig []byte
	out, in        *rc4.Cipher
	outSeq, inSeq  uint32
}

func newNTLMSession(exported []byte, flags uint32) *ntlmSession {
	derive := func(key []byte, magic string) []byte {
		h := md5.New()
		h.Write(key)
		h.Write([]byte(magic))
		return h.Sum(nil)
	}
	s := &ntlmSession{flags: flags,
		outSign: derive(exported, "session key to client-to-server signing key magic constant\x00"),
		inSig:   derive(exported, "session key to server-to-client signing key magic constant\x00"),
	}
	s.out, _ = rc4.NewCipher(derive(exported, "session key to client-to-server sealing key magic constant\x00"))
	s.in, _ = rc4.NewCipher(derive(exported, "session key to server-to-client sealing key magic constant\x00"))
	return s
}

// mac is the signature of msg (MS-NLMP 3.4.4.2).
func (s *ntlmSession) mac(key []byte, seal *rc4.Cipher, seq uint32, msg []byte) []byte {
	var seqb [4]byte
	binary.LittleEndian.PutUint32(seqb[:], seq)
	sum := hmacMD5(key, seqb[:], msg)[:8]
	if s.flags&ntlm.FlagKeyExchange != 0 {
		seal.XORKeyStream(sum, sum)
	}
	sig := make([]byte, 16)
	binary.LittleEndian.PutUint32(sig, 1)
	copy(sig[4:12], sum)
	copy(sig[12:], seqb[:])
	return sig
}

// Wrap seals msg for the server and returns it with its signature.
func (s *ntlmSession) Wrap(msg []byte) (sealed, sig []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sealed = make([]byte, len(msg))
	s.out.XORKeyStream(sealed, msg)
	sig = s.mac(s.outSign, s.out, s.outSeq, msg)
	s.outSeq++
	return sealed, sig, nil
}

// Unwrap unseals a message from the server and checks its signature.
func (s *ntlmSession) Unwrap(sealed, sig []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := make([]byte, len(sealed))
	s.in.XORKeyStream(msg, sealed)
	if len(sig) != 16 || !hmac.Equal(s.mac(s.inSig, s.in, s.inSeq, msg), sig) {
		return nil, fmt.Errorf("%w: the server's message signature does not match", errNTLM)
	}
	s.inSeq++
	return msg, nil
}
