package ntlm

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/md4"
)

// Config describes the server to clients (the target information of the
// CHALLENGE message) and sets the sources of randomness and time.
type Config struct {
	// NetBIOSComputer and NetBIOSDomain are the short names (default
	// "REPLICAD" and "WORKGROUP"); DNSComputer and DNSDomain the DNS names
	// (default: NetBIOSComputer in lower case, and none).
	NetBIOSComputer, NetBIOSDomain string
	DNSComputer, DNSDomain         string
	// Rand supplies server challenges (default crypto/rand).
	Rand io.Reader
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// MaxSkew is how far the client's timestamp may be from Now (default 1 hour).
	MaxSkew time.Duration
}

// LookupFunc returns the NT hash (MD4 of the UTF-16LE password) of user in
// domain, or an error when the user is unknown.
type LookupFunc func(user, domain string) ([]byte, error)

// Server is the server side of one NTLM handshake: Challenge, then
// Authenticate, each once. It is not safe for concurrent use.
type Server struct {
	cfg       Config
	negotiate []byte
	challenge []byte
	nonce     [8]byte
	done      bool
}

// NewServer returns a server ready for a NEGOTIATE message.
func NewServer(cfg Config) *Server {
	if cfg.NetBIOSComputer == "" {
		cfg.NetBIOSComputer = "REPLICAD"
	}
	if cfg.NetBIOSDomain == "" {
		cfg.NetBIOSDomain = "WORKGROUP"
	}
	if cfg.DNSComputer == "" {
		cfg.DNSComputer = strings.ToLower(cfg.NetBIOSComputer)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = time.Hour
	}
	return &Server{cfg: cfg}
}

// NTHash returns the NT hash of password: MD4 of its UTF-16LE encoding.
func NTHash(password string) [16]byte {
	h := md4.New()
	h.Write(toUTF16(password))
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// Challenge reads the client's NEGOTIATE message and returns the CHALLENGE.
func (s *Server) Challenge(negotiate []byte) ([]byte, error) {
	if s.challenge != nil || s.done {
		return nil, fmt.Errorf("%w: second NEGOTIATE in one handshake", ErrState)
	}
	neg, err := ParseNegotiate(negotiate)
	if err != nil {
		return nil, err
	}
	// Some clients (python ntlm-auth) offer only OEM in NEGOTIATE and still
	// speak Unicode when the CHALLENGE selects it, as Windows does.
	if neg.Flags&FlagExtendedSessionSecurity == 0 {
		return nil, fmt.Errorf("%w: client does not offer extended session security", ErrUnsupported)
	}
	if neg.Flags&Flag128 == 0 {
		return nil, fmt.Errorf("%w: in NEGOTIATE", ErrWeakKey)
	}
	if _, err := io.ReadFull(s.cfg.Rand, s.nonce[:]); err != nil {
		return nil, fmt.Errorf("ntlm: server challenge: %w", err)
	}
	flags := FlagUnicode | FlagRequestTarget | FlagNTLM | FlagAlwaysSign | FlagTargetTypeServer |
		FlagExtendedSessionSecurity | FlagTargetInfo | FlagVersion
	flags |= neg.Flags & (FlagSign | FlagSeal | Flag128 | Flag56 | FlagKeyExchange | FlagIdentify)

	var info avPairs
	info.add(avNbDomainName, toUTF16(s.cfg.NetBIOSDomain))
	info.add(avNbComputerName, toUTF16(s.cfg.NetBIOSComputer))
	if s.cfg.DNSDomain != "" {
		info.add(avDNSDomainName, toUTF16(s.cfg.DNSDomain))
	}
	info.add(avDNSComputerName, toUTF16(s.cfg.DNSComputer))
	var ts [8]byte
	binary.LittleEndian.PutUint64(ts[:], fileTime(s.cfg.Now()))
	info.add(avTimestamp, ts[:])
	info.add(avEOL, nil)

	msg := (&ChallengeMessage{Flags: flags, TargetName: s.cfg.NetBIOSComputer, Challenge: s.nonce, TargetInfo: info}).Marshal()
	s.negotiate = bytes.Clone(negotiate)
	s.challenge = msg
	return msg, nil
}

// Authenticate verifies the client's AUTHENTICATE message against the NT
// hash lookup returns and, on success, returns the established session.
// Whatever the outcome, the handshake is over: the server challenge is not
// accepted a second time.
func (s *Server) Authenticate(msg []byte, lookup LookupFunc) (*Session, error) {
	if s.challenge == nil || s.done {
		return nil, fmt.Errorf("%w: AUTHENTICATE without a pending CHALLENGE", ErrState)
	}
	s.done = true
	m, err := ParseAuthenticate(msg)
	if err != nil {
		return nil, err
	}
	sess, err := s.verify(m, msg, lookup)
	if err != nil {
		return nil, &LogonError{User: m.User, Domain: m.Domain, Workstation: m.Workstation, Err: err}
	}
	return sess, nil
}

// LogonError is the error of a failed Authenticate whose AUTHENTICATE
// message parsed: the names the client sent, for the logon log (never a
// response or a key), and the reason, which Unwrap returns (ErrBadResponse,
// ErrWeakKey, ...). Error is the reason's text alone: the names are
// client-chosen and go into a log only as fields of their own.
type LogonError struct {
	User, Domain, Workstation string
	Err                       error
}

func (e *LogonError) Error() string { return e.Err.Error() }

// Unwrap returns the reason of the failure.
func (e *LogonError) Unwrap() error { return e.Err }

// verify checks a parsed AUTHENTICATE message (the raw bytes are needed for
// the MIC) and returns the session it establishes.
func (s *Server) verify(m *AuthenticateMessage, msg []byte, lookup LookupFunc) (*Session, error) {
	if m.User == "" || m.Flags&FlagAnonymous != 0 || len(m.NTResponse) == 0 {
		return nil, ErrAnonymous
	}
	// Without a MIC nothing protects the flags of AUTHENTICATE: a client (or
	// whoever sits between) that drops NTLMSSP_NEGOTIATE_128 here would get
	// a 40-bit sealing key. Windows servers refuse that by default
	// (NtlmMinServerSec 0x20000000, "Require 128-bit encryption"), and every
	// client we serve sets the flag: PowerShell, pywinrm (ntlm-auth and
	// pyspnego), go-ntlmssp.
	if m.Flags&Flag128 == 0 {
		return nil, fmt.Errorf("%w: in AUTHENTICATE", ErrWeakKey)
	}
	if len(m.NTResponse) == 24 {
		return nil, fmt.Errorf("%w: NTLMv1 response", ErrUnsupported)
	}
	// NTProofStr(16), then the blob: RespType, HiRespType, 6 reserved bytes,
	// timestamp(8), client challenge(8), 4 reserved bytes, AV pairs.
	if len(m.NTResponse) < 16+28+4 {
		return nil, fmt.Errorf("%w: NTLMv2 response too short", ErrMalformed)
	}
	if m.Flags&FlagExtendedSessionSecurity == 0 {
		return nil, fmt.Errorf("%w: no extended session security", ErrUnsupported)
	}
	proof, blob := m.NTResponse[:16], m.NTResponse[16:]
	if blob[0] != 1 || blob[1] != 1 {
		return nil, fmt.Errorf("%w: NTLMv2 blob version %d.%d", ErrMalformed, blob[0], blob[1])
	}
	avs := blob[28:]
	msvFlags, err := lookupAV(avs, avFlags)
	if err != nil {
		return nil, err
	}
	if skew := s.cfg.Now().Sub(fromFileTime(binary.LittleEndian.Uint64(blob[8:16]))); skew > s.cfg.MaxSkew || -skew > s.cfg.MaxSkew {
		return nil, fmt.Errorf("%w: %s", ErrStale, skew.Round(time.Second))
	}

	hash, err := lookup(m.User, m.Domain)
	if err != nil {
		// Spend the same work as for a known user.
		hash = make([]byte, 16)
	}
	ntowf := hmacMD5(hash, toUTF16(strings.ToUpper(m.User)+m.Domain))
	want := hmacMD5(ntowf, s.nonce[:], blob)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownUser, err)
	}
	if !hmac.Equal(want, proof) {
		return nil, ErrBadResponse
	}
	baseKey := hmacMD5(ntowf, proof)
	exported := baseKey
	if m.Flags&FlagKeyExchange != 0 {
		if len(m.EncryptedSessionKey) != 16 {
			return nil, fmt.Errorf("%w: key exchange without a 16-byte session key", ErrMalformed)
		}
		c, _ := rc4.NewCipher(baseKey)
		exported = make([]byte, 16)
		c.XORKeyStream(exported, m.EncryptedSessionKey)
	}
	if len(msvFlags) == 4 && binary.LittleEndian.Uint32(msvFlags)&0x2 != 0 {
		if m.MIC == nil {
			return nil, fmt.Errorf("%w: MIC announced but missing", ErrBadMIC)
		}
		zeroed := bytes.Clone(msg)
		clear(zeroed[m.micOffset : m.micOffset+16])
		if !hmac.Equal(hmacMD5(exported, s.negotiate, s.challenge, zeroed), m.MIC) {
			return nil, ErrBadMIC
		}
	}
	sess := newSession(m.User, m.Domain, m.Workstation, m.Flags, exported)
	cb, err := lookupAV(avs, avChannelBindings)
	if err != nil {
		return nil, err
	}
	if cb != nil {
		if len(cb) != 16 {
			return nil, fmt.Errorf("%w: MsvAvChannelBindings of %d bytes", ErrMalformed, len(cb))
		}
		sess.ChannelBindings = bytes.Clone(cb)
	}
	return sess, nil
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	h := hmac.New(md5.New, key)
	for _, d := range data {
		h.Write(d)
	}
	return h.Sum(nil)
}

// fileTime converts t to Windows FILETIME: 100 ns ticks since 1601-01-01.
func fileTime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100) + 116444736000000000
}

func fromFileTime(ft uint64) time.Time {
	if ft < 116444736000000000 {
		return time.Unix(0, 0)
	}
	ticks := ft - 116444736000000000
	return time.Unix(int64(ticks/1e7), int64(ticks%1e7)*100)
}
