package soap

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Encoding of a message on the wire. Windows clients send UTF-8 or UTF-16
// (little- or big-endian) with a byte order mark and expect the answer in the
// request's encoding.
type Encoding int

// The encodings WS-Management messages use (MS-WSMV 2.1).
const (
	UTF8 Encoding = iota
	UTF16LE
	UTF16BE
)

// ContentType returns the HTTP Content-Type of a message in e.
func (e Encoding) ContentType() string {
	if e == UTF16LE || e == UTF16BE {
		return "application/soap+xml;charset=UTF-16"
	}
	return "application/soap+xml;charset=UTF-8"
}

// String returns the encoding's name.
func (e Encoding) String() string {
	switch e {
	case UTF16LE:
		return "UTF-16LE"
	case UTF16BE:
		return "UTF-16BE"
	default:
		return "UTF-8"
	}
}

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// DecodeText detects data's encoding from its byte order mark or, without
// one, from the first character "<" written in UTF-16, and returns the text
// as UTF-8 without a BOM. It fails with a [*ParseError] wrapping ErrEncoding
// on an odd UTF-16 length, an unpaired surrogate or invalid UTF-8.
func DecodeText(data []byte) ([]byte, Encoding, error) {
	switch {
	case bytes.HasPrefix(data, bomUTF8):
		data = data[len(bomUTF8):]
	case bytes.HasPrefix(data, bomUTF16LE):
		out, err := fromUTF16(data[2:], false)
		return out, UTF16LE, err
	case bytes.HasPrefix(data, bomUTF16BE):
		out, err := fromUTF16(data[2:], true)
		return out, UTF16BE, err
	case len(data) >= 2 && data[0] == '<' && data[1] == 0:
		out, err := fromUTF16(data, false)
		return out, UTF16LE, err
	case len(data) >= 2 && data[0] == 0 && data[1] == '<':
		out, err := fromUTF16(data, true)
		return out, UTF16BE, err
	}
	if !utf8.Valid(data) {
		return nil, UTF8, parseErr(ErrEncoding, "invalid UTF-8")
	}
	return data, UTF8, nil
}

// fromUTF16 converts UTF-16 code units to UTF-8, refusing an odd length and
// unpaired surrogates.
func fromUTF16(b []byte, bigEndian bool) ([]byte, error) {
	if len(b)%2 != 0 {
		return nil, parseErr(ErrEncoding, "UTF-16 input has an odd number of bytes")
	}
	out := make([]byte, 0, len(b)/2+len(b)/8)
	for i := 0; i < len(b); i += 2 {
		u := unit(b, i, bigEndian)
		r := rune(u)
		switch {
		case utf16.IsSurrogate(r) && u < 0xDC00 && i+3 < len(b):
			r2 := rune(unit(b, i+2, bigEndian))
			r = utf16.DecodeRune(r, r2)
			if r == utf8.RuneError {
				return nil, parseErr(ErrEncoding, "unpaired UTF-16 surrogate at byte %d", i)
			}
			i += 2
		case utf16.IsSurrogate(r):
			return nil, parseErr(ErrEncoding, "unpaired UTF-16 surrogate at byte %d", i)
		}
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

func unit(b []byte, i int, bigEndian bool) uint16 {
	if bigEndian {
		return uint16(b[i])<<8 | uint16(b[i+1])
	}
	return uint16(b[i+1])<<8 | uint16(b[i])
}

// encodeText converts UTF-8 text to e, with a BOM for UTF-16.
func encodeText(text []byte, e Encoding) ([]byte, error) {
	switch e {
	case UTF8:
		return text, nil
	case UTF16LE, UTF16BE:
	default:
		return nil, fmt.Errorf("soap: encode: unknown encoding %d", int(e))
	}
	out := make([]byte, 0, 2+2*len(text))
	if e == UTF16LE {
		out = append(out, bomUTF16LE...)
	} else {
		out = append(out, bomUTF16BE...)
	}
	put := func(u uint16) {
		if e == UTF16LE {
			out = append(out, byte(u), byte(u>>8))
		} else {
			out = append(out, byte(u>>8), byte(u))
		}
	}
	for len(text) > 0 {
		r, size := utf8.DecodeRune(text)
		text = text[size:]
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			put(uint16(r1))
			put(uint16(r2))
			continue
		}
		put(uint16(r))
	}
	return out, nil
}

// charsetReader accepts the labels an XML declaration may carry once the
// input has been converted to UTF-8 by decodeText: the text is already UTF-8,
// so the reader passes it through. Any other charset is refused.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "unicode", "us-ascii", "ascii":
		return input, nil
	}
	return nil, fmt.Errorf("%w: declared encoding %q", ErrEncoding, label)
}

// AppendEscaped appends s to b as XML text or attribute value, escaped as
// etree writes it (and so as replies have always been written): & < > ' "
// as &amp; &lt; &gt; &apos; &quot;, tab, newline and carriage return as
// they are, and each character XML 1.0 cannot carry (control characters,
// unpaired surrogates, U+FFFE, U+FFFF) or byte of invalid UTF-8 as U+FFFD.
func AppendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plainText[c] {
			i++
			continue
		}
		r, width := rune(c), 1
		if c >= utf8.RuneSelf {
			r, width = utf8.DecodeRuneInString(s[i:])
		}
		var esc string
		switch r {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\'':
			esc = "&apos;"
		case '"':
			esc = "&quot;"
		case '\t', '\n', '\r':
			i += width
			continue
		default:
			if xmlChar(r) && !(r == utf8.RuneError && width == 1) {
				i += width
				continue
			}
			esc = "\uFFFD"
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		i += width
		last = i
	}
	return append(b, s[last:]...)
}

// plainText marks the bytes AppendEscaped copies as they are without a
// further look: printable ASCII other than & < > ' ".
var plainText = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range "&<>'\"" {
		t[c] = false
	}
	return t
}()

// xmlChar reports whether r is a character of XML 1.0 (its Char production).
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// EncodedLen returns the length in bytes of UTF-8 text once encoded in e,
// without the byte order mark of UTF-16.
func EncodedLen(text []byte, e Encoding) int {
	if e != UTF16LE && e != UTF16BE {
		return len(text)
	}
	units := 0
	for _, c := range text {
		switch {
		case c&0xC0 == 0x80: // continuation byte
		case c >= 0xF0: // a character beyond the BMP: a surrogate pair
			units += 2
		default:
			units++
		}
	}
	return 2 * units
}
