package spnego

import (
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Mechanism object identifiers.
var (
	OIDSPNEGO       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	OIDNTLM         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
	OIDKerberos     = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	OIDKerberosMSFT = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
)

// NegState values of a NegTokenResp.
const (
	AcceptCompleted  = 0
	AcceptIncomplete = 1
	Reject           = 2
	RequestMIC       = 3
)

// ErrMalformed is returned for a token that is not valid SPNEGO DER.
var ErrMalformed = errors.New("spnego: malformed token")

// MaxTokenSize caps the tokens this package parses.
const MaxTokenSize = 64 << 10

// Init is a client's NegTokenInit.
type Init struct {
	MechTypes []asn1.ObjectIdentifier
	// MechTypesDER is the DER encoding of the MechTypeList, which the
	// mechListMIC covers.
	MechTypesDER []byte
	MechToken    []byte
	MechListMIC  []byte
}

// Resp is a NegTokenResp, from either side. A NegState of -1 leaves the
// field out.
type Resp struct {
	NegState      int
	SupportedMech asn1.ObjectIdentifier
	ResponseToken []byte
	MechListMIC   []byte
}

// IsInit reports whether token starts like a GSS-API InitialContextToken
// (tag [APPLICATION 0]), IsResp whether it starts like a NegTokenResp.
func IsInit(token []byte) bool { return len(token) > 0 && token[0] == 0x60 }

// IsResp reports whether token starts with the NegTokenResp tag [1].
func IsResp(token []byte) bool { return len(token) > 0 && token[0] == 0xa1 }

var tagInit = cbasn1.Tag(0).ContextSpecific().Constructed()
var tagResp = cbasn1.Tag(1).ContextSpecific().Constructed()

func ctx(n uint8) cbasn1.Tag { return cbasn1.Tag(n).ContextSpecific().Constructed() }

// ParseInit parses an InitialContextToken carrying a NegTokenInit. It also
// accepts a bare NegTokenInit (tag [0]).
func ParseInit(token []byte) (*Init, error) {
	if len(token) > MaxTokenSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxTokenSize)
	}
	s := cryptobyte.String(token)
	if IsInit(token) {
		var inner cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !s.ReadASN1(&inner, cbasn1.Tag(0).Constructed()|0x40) || !inner.ReadASN1ObjectIdentifier(&oid) {
			return nil, fmt.Errorf("%w: bad InitialContextToken", ErrMalformed)
		}
		if !oid.Equal(OIDSPNEGO) {
			return nil, fmt.Errorf("%w: mechanism %s is not SPNEGO", ErrMalformed, oid)
		}
		s = inner
	}
	var body, seq cryptobyte.String
	if !s.ReadASN1(&body, tagInit) || !body.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: no NegTokenInit", ErrMalformed)
	}
	in := &Init{}
	var field cryptobyte.String
	var present bool
	if !seq.ReadOptionalASN1(&field, &present, ctx(0)) || !present {
		return nil, fmt.Errorf("%w: NegTokenInit without mechTypes", ErrMalformed)
	}
	in.MechTypesDER = append([]byte(nil), field...)
	var list cryptobyte.String
	if !field.ReadASN1(&list, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: bad mechTypes", ErrMalformed)
	}
	for !list.Empty() {
		var oid asn1.ObjectIdentifier
		if !list.ReadASN1ObjectIdentifier(&oid) {
			return nil, fmt.Errorf("%w: bad mechanism OID", ErrMalformed)
		}
		in.MechTypes = append(in.MechTypes, oid)
	}
	if !seq.SkipOptionalASN1(ctx(1)) {
		return nil, fmt.Errorf("%w: bad reqFlags", ErrMalformed)
	}
	var err error
	if in.MechToken, err = optionalOctets(&seq, 2); err != nil {
		return nil, err
	}
	if !seq.SkipOptionalASN1(ctx(3)) { // negHints (MS-SPNG) or mechListMIC
		return nil, fmt.Errorf("%w: bad field [3]", ErrMalformed)
	}
	if in.MechListMIC, err = optionalOctets(&seq, 4); err != nil {
		return nil, err
	}
	return in, nil
}

func optionalOctets(s *cryptobyte.String, n uint8) ([]byte, error) {
	var field, octets cryptobyte.String
	var present bool
	if !s.ReadOptionalASN1(&field, &present, ctx(n)) {
		return nil, fmt.Errorf("%w: bad field [%d]", ErrMalformed, n)
	}
	if !present {
		return nil, nil
	}
	if !field.ReadASN1(&octets, cbasn1.OCTET_STRING) {
		return nil, fmt.Errorf("%w: field [%d] is not an OCTET STRING", ErrMalformed, n)
	}
	return append([]byte(nil), octets...), nil
}

// ParseResp parses a NegTokenResp.
func ParseResp(token []byte) (*Resp, error) {
	if len(token) > MaxTokenSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxTokenSize)
	}
	s := cryptobyte.String(token)
	var body, seq cryptobyte.String
	if !s.ReadASN1(&body, tagResp) || !body.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: no NegTokenResp", ErrMalformed)
	}
	r := &Resp{NegState: -1}
	var field cryptobyte.String
	var present bool
	if !seq.ReadOptionalASN1(&field, &present, ctx(0)) {
		return nil, fmt.Errorf("%w: bad negState", ErrMalformed)
	}
	if present {
		var st int64
		if !field.ReadASN1Int64WithTag(&st, cbasn1.ENUM) || st < 0 || st > 3 {
			return nil, fmt.Errorf("%w: bad negState", ErrMalformed)
		}
		r.NegState = int(st)
	}
	if !seq.ReadOptionalASN1(&field, &present, ctx(1)) {
		return nil, fmt.Errorf("%w: bad supportedMech", ErrMalformed)
	}
	if present && !field.ReadASN1ObjectIdentifier(&r.SupportedMech) {
		return nil, fmt.Errorf("%w: bad supportedMech", ErrMalformed)
	}
	var err error
	if r.ResponseToken, err = optionalOctets(&seq, 2); err != nil {
		return nil, err
	}
	if r.MechListMIC, err = optionalOctets(&seq, 3); err != nil {
		return nil, err
	}
	return r, nil
}

// Marshal encodes r as a NegTokenResp.
func (r *Resp) Marshal() []byte {
	var b cryptobyte.Builder
	b.AddASN1(tagResp, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if r.NegState >= 0 {
				b.AddASN1(ctx(0), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.ENUM, func(b *cryptobyte.Builder) { b.AddUint8(uint8(r.NegState)) })
				})
			}
			if r.SupportedMech != nil {
				b.AddASN1(ctx(1), func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(r.SupportedMech) })
			}
			for i, v := range [][]byte{r.ResponseToken, r.MechListMIC} {
				if v == nil {
					continue
				}
				b.AddASN1(ctx(uint8(2+i)), func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(v)
				})
			}
		})
	})
	return b.BytesOrPanic()
}

// MarshalInit encodes a client NegTokenInit inside an InitialContextToken,
// as Windows clients send it. Servers need it only to test themselves.
func MarshalInit(mechs []asn1.ObjectIdentifier, mechToken []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(0).Constructed()|0x40, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDSPNEGO)
		b.AddASN1(tagInit, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(ctx(0), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						for _, m := range mechs {
							b.AddASN1ObjectIdentifier(m)
						}
					})
				})
				if mechToken != nil {
					b.AddASN1(ctx(2), func(b *cryptobyte.Builder) { b.AddASN1OctetString(mechToken) })
				}
			})
		})
	})
	return b.BytesOrPanic()
}

// HasMech reports whether oid is among the offered mechanisms.
func (in *Init) HasMech(oid asn1.ObjectIdentifier) bool {
	for _, m := range in.MechTypes {
		if m.Equal(oid) {
			return true
		}
	}
	return false
}
