package ntlm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
)

// Negotiate flags (MS-NLMP 2.2.2.5) that the server reads or sets.
const (
	FlagUnicode                 uint32 = 0x00000001
	FlagOEM                     uint32 = 0x00000002
	FlagRequestTarget           uint32 = 0x00000004
	FlagSign                    uint32 = 0x00000010
	FlagSeal                    uint32 = 0x00000020
	FlagLMKey                   uint32 = 0x00000080
	FlagNTLM                    uint32 = 0x00000200
	FlagAnonymous               uint32 = 0x00000800
	FlagAlwaysSign              uint32 = 0x00008000
	FlagTargetTypeDomain        uint32 = 0x00010000
	FlagTargetTypeServer        uint32 = 0x00020000
	FlagExtendedSessionSecurity uint32 = 0x00080000
	FlagIdentify                uint32 = 0x00100000
	FlagTargetInfo              uint32 = 0x00800000
	FlagVersion                 uint32 = 0x02000000
	Flag128                     uint32 = 0x20000000
	FlagKeyExchange             uint32 = 0x40000000
	Flag56                      uint32 = 0x80000000
)

// Message types.
const (
	TypeNegotiate    uint32 = 1
	TypeChallenge    uint32 = 2
	TypeAuthenticate uint32 = 3
)

// AV pair identifiers (MS-NLMP 2.2.2.1) used in the target information.
const (
	avEOL             uint16 = 0
	avNbComputerName  uint16 = 1
	avNbDomainName    uint16 = 2
	avDNSComputerName uint16 = 3
	avDNSDomainName   uint16 = 4
	avFlags           uint16 = 6
	avTimestamp       uint16 = 7
	avChannelBindings uint16 = 10
)

// MaxMessageSize caps any NTLM message this package parses.
const MaxMessageSize = 64 << 10

var signature = []byte("NTLMSSP\x00")

// Errors returned while parsing and verifying. Every one means the logon
// failed; callers must not tell the client which.
var (
	ErrMalformed        = errors.New("ntlm: malformed message")
	ErrUnsupported      = errors.New("ntlm: unsupported NTLM variant")
	ErrBadResponse      = errors.New("ntlm: wrong response (wrong password or user)")
	ErrBadMIC           = errors.New("ntlm: message integrity code does not match")
	ErrState            = errors.New("ntlm: message out of order")
	ErrStale            = errors.New("ntlm: response timestamp outside the allowed skew")
	ErrBadSignature     = errors.New("ntlm: message signature does not match")
	ErrAnonymous        = errors.New("ntlm: anonymous logon refused")
	ErrUnknownUser      = errors.New("ntlm: unknown user")
	ErrSessionExhausted = errors.New("ntlm: sequence number space exhausted")
	// ErrWeakKey refuses a client that does not negotiate 128-bit session
	// keys (NTLMSSP_NEGOTIATE_128): its sealing key would have 40 or 56 bits.
	ErrWeakKey = fmt.Errorf("%w: 128-bit session security (NTLMSSP_NEGOTIATE_128) not negotiated", ErrUnsupported)
)

// MessageType returns the type field of an NTLM message, or an error when b
// is not one.
func MessageType(b []byte) (uint32, error) {
	if len(b) < 12 || !bytes.Equal(b[:8], signature) {
		return 0, fmt.Errorf("%w: no NTLMSSP signature", ErrMalformed)
	}
	return binary.LittleEndian.Uint32(b[8:12]), nil
}

// field reads the (length, max length, offset) triple at off and returns the
// bytes it points at within b.
func field(b []byte, off int) ([]byte, error) {
	if off+8 > len(b) {
		return nil, fmt.Errorf("%w: truncated header", ErrMalformed)
	}
	n := int(binary.LittleEndian.Uint16(b[off:]))
	start := int(binary.LittleEndian.Uint32(b[off+4:]))
	if n == 0 {
		return nil, nil
	}
	if start < 0 || start > len(b) || n > len(b)-start {
		return nil, fmt.Errorf("%w: field at %d points outside the message", ErrMalformed, off)
	}
	return b[start : start+n], nil
}

// NegotiateMessage is the client's first message (MS-NLMP 2.2.1.1).
type NegotiateMessage struct {
	Flags uint32
}

// ParseNegotiate parses a NEGOTIATE message.
func ParseNegotiate(b []byte) (*NegotiateMessage, error) {
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxMessageSize)
	}
	t, err := MessageType(b)
	if err != nil {
		return nil, err
	}
	if t != TypeNegotiate {
		return nil, fmt.Errorf("%w: type %d, want NEGOTIATE", ErrState, t)
	}
	if len(b) < 16 {
		return nil, fmt.Errorf("%w: NEGOTIATE shorter than 16 bytes", ErrMalformed)
	}
	return &NegotiateMessage{Flags: binary.LittleEndian.Uint32(b[12:16])}, nil
}

// AuthenticateMessage is the client's last message (MS-NLMP 2.2.1.3).
type AuthenticateMessage struct {
	Flags               uint32
	LMResponse          []byte
	NTResponse          []byte
	Domain              string
	User                string
	Workstation         string
	EncryptedSessionKey []byte
	// MIC is the message integrity code, when the header has room for it.
	MIC []byte

	raw       []byte
	micOffset int
}

// ParseAuthenticate parses an AUTHENTICATE message. Names are decoded from
// UTF-16LE, which is all this server negotiates.
func ParseAuthenticate(b []byte) (*AuthenticateMessage, error) {
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxMessageSize)
	}
	t, err := MessageType(b)
	if err != nil {
		return nil, err
	}
	if t != TypeAuthenticate {
		return nil, fmt.Errorf("%w: type %d, want AUTHENTICATE", ErrState, t)
	}
	if len(b) < 64 {
		return nil, fmt.Errorf("%w: AUTHENTICATE shorter than 64 bytes", ErrMalformed)
	}
	m := &AuthenticateMessage{Flags: binary.LittleEndian.Uint32(b[60:64]), raw: b}
	var fields [6][]byte
	payloadStart := len(b)
	for i := range fields {
		off := 12 + 8*i
		if fields[i], err = field(b, off); err != nil {
			return nil, err
		}
		if fields[i] != nil {
			if s := int(binary.LittleEndian.Uint32(b[off+4:])); s < payloadStart {
				payloadStart = s
			}
		}
	}
	if payloadStart < 64 {
		return nil, fmt.Errorf("%w: payload overlaps the header", ErrMalformed)
	}
	m.LMResponse, m.NTResponse = fields[0], fields[1]
	m.EncryptedSessionKey = fields[5]
	if m.Flags&FlagUnicode == 0 {
		return nil, fmt.Errorf("%w: OEM character set", ErrUnsupported)
	}
	for i, dst := range []*string{&m.Domain, &m.User, &m.Workstation} {
		if *dst, err = fromUTF16(fields[2+i]); err != nil {
			return nil, err
		}
	}
	// The MIC follows the 8-byte version when the header is long enough to
	// hold it (MS-NLMP 2.2.1.3).
	if payloadStart >= 88 {
		m.micOffset = 72
		m.MIC = b[72:88]
	}
	return m, nil
}

// ChallengeMessage is the server's answer to NEGOTIATE (MS-NLMP 2.2.1.2).
type ChallengeMessage struct {
	Flags      uint32
	TargetName string
	Challenge  [8]byte
	TargetInfo []byte
}

// Marshal encodes the message with a Windows 10 version field.
func (c *ChallengeMessage) Marshal() []byte {
	name := toUTF16(c.TargetName)
	const header = 56
	b := make([]byte, header, header+len(name)+len(c.TargetInfo))
	copy(b, signature)
	binary.LittleEndian.PutUint32(b[8:], TypeChallenge)
	putField(b[12:], len(name), header)
	binary.LittleEndian.PutUint32(b[20:], c.Flags)
	copy(b[24:32], c.Challenge[:])
	putField(b[40:], len(c.TargetInfo), header+len(name))
	// Version: 10.0 build 19041, NTLM revision 15.
	copy(b[48:56], []byte{10, 0, 0x61, 0x4a, 0, 0, 0, 0x0f})
	b = append(b, name...)
	return append(b, c.TargetInfo...)
}

func putField(b []byte, n, off int) {
	binary.LittleEndian.PutUint16(b[0:], uint16(n))
	binary.LittleEndian.PutUint16(b[2:], uint16(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(off))
}

func toUTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", fmt.Errorf("%w: odd-length UTF-16 string", ErrMalformed)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// avPairs encodes target information AV pairs, ending with MsvAvEOL.
type avPairs []byte

func (a *avPairs) add(id uint16, value []byte) {
	var h [4]byte
	binary.LittleEndian.PutUint16(h[0:], id)
	binary.LittleEndian.PutUint16(h[2:], uint16(len(value)))
	*a = append(append(*a, h[:]...), value...)
}

// lookupAV returns the value of the AV pair id in a list, or nil.
func lookupAV(list []byte, id uint16) ([]byte, error) {
	for len(list) >= 4 {
		k := binary.LittleEndian.Uint16(list[0:])
		n := int(binary.LittleEndian.Uint16(list[2:]))
		if k == avEOL {
			return nil, nil
		}
		if 4+n > len(list) {
			return nil, fmt.Errorf("%w: AV pair %d overruns the list", ErrMalformed, k)
		}
		if k == id {
			return list[4 : 4+n], nil
		}
		list = list[4+n:]
	}
	return nil, fmt.Errorf("%w: AV pair list without MsvAvEOL", ErrMalformed)
}
