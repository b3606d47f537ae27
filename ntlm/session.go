package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

// SignatureSize is the size of an NTLM message signature.
const SignatureSize = 16

// Session is an established NTLM security context seen from the server: it
// seals messages to the client and unseals messages from it (MS-NLMP 3.4,
// extended session security). It is safe for concurrent use, but messages in
// each direction must be processed in the order they travel.
type Session struct {
	// User, Domain and Workstation are the names the client logged on with.
	User, Domain, Workstation string
	// Flags are the negotiated flags of the AUTHENTICATE message.
	Flags uint32
	// ChannelBindings is the client's MsvAvChannelBindings (MS-NLMP
	// 2.2.2.1): the MD5 of the gss_channel_bindings_struct of the TLS
	// channel it sent the AUTHENTICATE on, nil when it sent none. The
	// NTLMv2 response covers it, so it is what the client computed.
	ChannelBindings []byte

	mu                     sync.Mutex
	key                    []byte
	inSign, outSign        []byte
	inSealKey, outSealKey  []byte
	inSeal, outSeal        *rc4.Cipher
	inSeq, outSeq          uint32
	inBroken, outExhausted bool
}

func newSession(user, domain, workstation string, flags uint32, exported []byte) *Session {
	s := &Session{User: user, Domain: domain, Workstation: workstation, Flags: flags, key: exported}
	derive := func(magic string) []byte {
		h := md5.New()
		h.Write(exported)
		h.Write([]byte(magic))
		return h.Sum(nil)
	}
	s.inSign = derive("session key to client-to-server signing key magic constant\x00")
	s.outSign = derive("session key to server-to-client signing key magic constant\x00")
	sealKey := exported
	switch {
	case flags&Flag128 != 0:
	case flags&Flag56 != 0:
		sealKey = exported[:7]
	default:
		sealKey = exported[:5]
	}
	sealDerive := func(magic string) []byte {
		h := md5.New()
		h.Write(sealKey)
		h.Write([]byte(magic))
		return h.Sum(nil)
	}
	s.inSealKey = sealDerive("session key to client-to-server sealing key magic constant\x00")
	s.outSealKey = sealDerive("session key to server-to-client sealing key magic constant\x00")
	s.ResetCipher(true)
	s.ResetCipher(false)
	return s
}

// SessionKey returns a copy of the exported session key.
func (s *Session) SessionKey() []byte { return append([]byte(nil), s.key...) }

// ResetCipher restarts the RC4 stream of one direction (outgoing: server to
// client), as Windows does after the SPNEGO mechListMIC exchange.
func (s *Session) ResetCipher(outgoing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if outgoing {
		s.outSeal, _ = rc4.NewCipher(s.outSealKey)
	} else {
		s.inSeal, _ = rc4.NewCipher(s.inSealKey)
	}
}

// mac computes the signature of msg with seq under the given keys; the
// checksum is encrypted with the direction's RC4 stream when keys were
// exchanged (MS-NLMP 3.4.4.2).
func (s *Session) mac(signKey []byte, seal *rc4.Cipher, seq uint32, msg []byte) []byte {
	var seqb [4]byte
	binary.LittleEndian.PutUint32(seqb[:], seq)
	sum := hmacMD5(signKey, seqb[:], msg)[:8]
	if s.Flags&FlagKeyExchange != 0 {
		seal.XORKeyStream(sum, sum)
	}
	sig := make([]byte, SignatureSize)
	binary.LittleEndian.PutUint32(sig[0:], 1)
	copy(sig[4:12], sum)
	copy(sig[12:], seqb[:])
	return sig
}

func (s *Session) nextOut() (uint32, error) {
	if s.outExhausted {
		return 0, ErrSessionExhausted
	}
	seq := s.outSeq
	if seq == math.MaxUint32 {
		s.outExhausted = true
	}
	s.outSeq++
	return seq, nil
}

// Wrap seals msg for the client and returns the sealed bytes and the
// signature (GSS_WrapEx).
func (s *Session) Wrap(msg []byte) (sealed, sig []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq, err := s.nextOut()
	if err != nil {
		return nil, nil, err
	}
	sealed = make([]byte, len(msg))
	s.outSeal.XORKeyStream(sealed, msg)
	return sealed, s.mac(s.outSign, s.outSeal, seq, msg), nil
}

// Unwrap unseals a message from the client and checks its signature
// (GSS_UnwrapEx). After a failure the incoming stream is out of step and
// every later Unwrap fails too: the caller must drop the session.
func (s *Session) Unwrap(sealed, sig []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inBroken {
		return nil, fmt.Errorf("%w: an earlier message failed", ErrBadSignature)
	}
	if len(sig) != SignatureSize {
		s.inBroken = true
		return nil, fmt.Errorf("%w: %d-byte signature", ErrBadSignature, len(sig))
	}
	msg := make([]byte, len(sealed))
	s.inSeal.XORKeyStream(msg, sealed)
	want := s.mac(s.inSign, s.inSeal, s.inSeq, msg)
	if !hmac.Equal(want, sig) {
		s.inBroken = true
		return nil, ErrBadSignature
	}
	s.inSeq++
	return msg, nil
}

// Sign returns the signature of msg for the client without sealing it
// (GSS_GetMICEx), as the SPNEGO mechListMIC uses.
func (s *Session) Sign(msg []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq, err := s.nextOut()
	if err != nil {
		return nil, err
	}
	return s.mac(s.outSign, s.outSeal, seq, msg), nil
}

// Verify checks the client's signature of msg (GSS_VerifyMICEx).
func (s *Session) Verify(msg, sig []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inBroken {
		return fmt.Errorf("%w: an earlier message failed", ErrBadSignature)
	}
	if len(sig) != SignatureSize || !hmac.Equal(s.mac(s.inSign, s.inSeal, s.inSeq, msg), sig) {
		s.inBroken = true
		return ErrBadSignature
	}
	s.inSeq++
	return nil
}
