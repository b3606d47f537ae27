package ntlm

import (
	"bytes"
	"crypto/rc4"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// testClient builds NEGOTIATE and AUTHENTICATE messages the way Windows and
// pyspnego do (key exchange, MsvAvFlags with a MIC), so that the server can
// be tested on the parts go-ntlmssp does not send.
type testClient struct {
	user, domain, password string
	flags                  uint32
	noMIC                  bool
	badMIC                 bool
	timestamp              time.Time // zero: take the server's
	sessionKey             []byte    // the random session key sent under key exchange
	channelBindings        []byte    // MsvAvChannelBindings to send, nil for none
	negotiate              []byte
}

func (c *testClient) negotiateMessage() []byte {
	if c.flags == 0 {
		c.flags = FlagUnicode | FlagRequestTarget | FlagSign | FlagSeal | FlagNTLM | FlagAlwaysSign |
			FlagExtendedSessionSecurity | FlagVersion | Flag128 | FlagKeyExchange | Flag56
	}
	b := make([]byte, 40)
	copy(b, signature)
	binary.LittleEndian.PutUint32(b[8:], TypeNegotiate)
	binary.LittleEndian.PutUint32(b[12:], c.flags)
	c.negotiate = b
	return b
}

// authenticate answers challenge; it returns the message and the exported
// session key the client would use.
func (c *testClient) authenticate(t *testing.T, challenge []byte) ([]byte, []byte) {
	t.Helper()
	flags := binary.LittleEndian.Uint32(challenge[20:24])
	nonce := challenge[24:32]
	info, err := field(challenge, 40)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := lookupAV(info, avTimestamp)
	if err != nil {
		t.Fatal(err)
	}
	if !c.timestamp.IsZero() {
		ts = binary.LittleEndian.AppendUint64(nil, fileTime(c.timestamp))
	}
	// Rebuild the AV pairs with MsvAvFlags = 2 (MIC present) before MsvAvEOL.
	var avs avPairs
	rest := info
	for len(rest) >= 4 {
		id := binary.LittleEndian.Uint16(rest)
		n := int(binary.LittleEndian.Uint16(rest[2:]))
		if id == avEOL {
			break
		}
		avs.add(id, rest[4:4+n])
		rest = rest[4+n:]
	}
	if !c.noMIC {
		avs.add(avFlags, []byte{2, 0, 0, 0})
	}
	if c.channelBindings != nil {
		avs.add(avChannelBindings, c.channelBindings)
	}
	avs.add(avEOL, nil)

	hash := NTHash(c.password)
	ntowf := hmacMD5(hash[:], toUTF16(strings.ToUpper(c.user)+c.domain))
	blob := []byte{1, 1, 0, 0, 0, 0, 0, 0}
	blob = append(blob, ts...)
	blob = append(blob, []byte("clientch")...)
	blob = append(blob, 0, 0, 0, 0)
	blob = append(blob, avs...)
	blob = append(blob, 0, 0, 0, 0)
	proof := hmacMD5(ntowf, nonce, blob)
	baseKey := hmacMD5(ntowf, proof)
	exported := baseKey
	var encKey []byte
	if flags&FlagKeyExchange != 0 {
		exported = c.sessionKey
		if exported == nil {
			exported = []byte("0123456789abcdef")
		}
		r, _ := rc4.NewCipher(baseKey)
		encKey = make([]byte, 16)
		r.XORKeyStream(encKey, exported)
	}
	payload := [][]byte{make([]byte, 24), append(proof, blob...), toUTF16(c.domain), toUTF16(c.user), toUTF16("WS"), encKey}
	const header = 88
	msg := make([]byte, header)
	copy(msg, signature)
	binary.LittleEndian.PutUint32(msg[8:], TypeAuthenticate)
	off := header
	for i, p := range payload {
		putField(msg[12+8*i:], len(p), off)
		off += len(p)
	}
	binary.LittleEndian.PutUint32(msg[60:], flags)
	for _, p := range payload {
		msg = append(msg, p...)
	}
	if !c.noMIC {
		mic := hmacMD5(exported, c.negotiate, challenge, msg)
		if c.badMIC {
			mic[0] ^= 1
		}
		copy(msg[72:88], mic)
	}
	return msg, exported
}

func lookupPasswords(users map[string]string) LookupFunc {
	return func(user, domain string) ([]byte, error) {
		pw, ok := users[user]
		if !ok {
			return nil, ErrUnknownUser
		}
		h := NTHash(pw)
		return h[:], nil
	}
}

func fixedServer(now time.Time) *Server {
	return NewServer(Config{Rand: bytes.NewReader(bytes.Repeat([]byte{0x42}, 64)), Now: func() time.Time { return now }})
}
