package wsman

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// HTTP-SPNEGO and HTTP-Kerberos session encryption (MS-WSMV 2.2.9.1.1):
// after a Negotiate or Kerberos logon over plain HTTP, Windows clients and
// pywinrm send every message sealed in a two-part MIME body, and expect the
// reply sealed the same way:
//
//	--Encrypted Boundary\r\n
//	\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n
//	\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=N\r\n
//	--Encrypted Boundary\r\n
//	\tContent-Type: application/octet-stream\r\n
//	<signature length, 4 bytes little-endian><signature><sealed message>
//	--Encrypted Boundary--\r\n
//
// The protocol is HTTP-SPNEGO-session-encrypted for the Negotiate scheme
// (NTLM, or Kerberos inside SPNEGO or raw, as pywinrm sends it) and
// HTTP-Kerberos-session-encrypted for the Kerberos scheme; either is
// accepted, and a Kerberos logon answers with the one of its scheme. For
// NTLM the signature is the 16-byte NTLMSSP_MESSAGE_SIGNATURE; for Kerberos
// it is the RFC 4121 Wrap token header with the ciphertext's rotated head
// (kerberos_wrap.go), the sealed message being exactly as long as the
// original.

const (
	encryptedProtocol         = "application/HTTP-SPNEGO-session-encrypted"
	kerberosEncryptedProtocol = "application/HTTP-Kerberos-session-encrypted"
	encryptedType             = `multipart/encrypted;protocol="` + encryptedProtocol + `";boundary="Encrypted Boundary"`
	encryptedBoundary         = "--Encrypted Boundary"
	octetStreamHeader         = "\tContent-Type: application/octet-stream\r\n"
	maxSignatureLength        = 1024
)

// errEncryption is wrapped by every failure to decode or unseal a message.
var errEncryption = errors.New("wsman: encrypted message refused")

// sealer seals and unseals with a logon session's keys (GSS_WrapEx and
// GSS_UnwrapEx): ntlm.Session, or the Kerberos session.
type sealer interface {
	Wrap(msg []byte) (sealed, signature []byte, err error)
	Unwrap(sealed, signature []byte) ([]byte, error)
}

// protocolSealer is a sealer that names the protocol its replies go out
// with; sealers that do not are answered with HTTP-SPNEGO-session-encrypted.
type protocolSealer interface {
	sealProtocol() string
}

// knownProtocol reports whether p names a session encryption we unseal.
func knownProtocol(p string) bool {
	return strings.EqualFold(p, encryptedProtocol) || strings.EqualFold(p, kerberosEncryptedProtocol)
}

// sealerProtocol reports whether p is a protocol s unseals: HTTP-SPNEGO
// for every sealer, HTTP-Kerberos for Kerberos sessions only.
func sealerProtocol(s sealer, p string) bool {
	if strings.EqualFold(p, encryptedProtocol) {
		return true
	}
	_, kerberos := s.(*kerberosSession)
	return kerberos && strings.EqualFold(p, kerberosEncryptedProtocol)
}

// encryptedTypeFor is the Content-Type of a body sealed under protocol.
func encryptedTypeFor(protocol string) string {
	return `multipart/encrypted;protocol="` + protocol + `";boundary="Encrypted Boundary"`
}

// isEncrypted reports whether a Content-Type announces an HTTP-SPNEGO or
// HTTP-Kerberos session-encrypted body.
func isEncrypted(contentType string) bool {
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.HasPrefix(strings.ToLower(contentType), "multipart/")
	}
	return (media == "multipart/encrypted" || media == "multipart/x-multi-encrypted") &&
		knownProtocol(params["protocol"])
}

// decodeEncrypted unseals body with s. It returns the message and its
// original Content-Type. Several encrypted parts (multipart/x-multi-encrypted)
// are unsealed in order and joined.
func decodeEncrypted(contentType string, body []byte, s sealer) ([]byte, string, error) {
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil || (media != "multipart/encrypted" && media != "multipart/x-multi-encrypted") ||
		!sealerProtocol(s, params["protocol"]) {
		return nil, "", fmt.Errorf("%w: Content-Type %q", errEncryption, contentType)
	}
	if b := params["boundary"]; b != "Encrypted Boundary" {
		return nil, "", fmt.Errorf("%w: boundary %q", errEncryption, b)
	}
	var out []byte
	var origType string
	rest := body
	for parts := 0; ; parts++ {
		if bytes.HasPrefix(rest, []byte(encryptedBoundary+"--")) {
			if parts == 0 {
				return nil, "", fmt.Errorf("%w: no encrypted part", errEncryption)
			}
			return out, origType, nil
		}
		var msg []byte
		var typ string
		msg, typ, rest, err = decodePart(rest, s)
		if err != nil {
			return nil, "", err
		}
		out = append(out, msg...)
		if origType == "" {
			origType = typ
		}
	}
}

// decodePart reads one header part and one octet-stream part from b.
func decodePart(b []byte, s sealer) (msg []byte, origType string, rest []byte, err error) {
	fail := func(format string, args ...any) ([]byte, string, []byte, error) {
		return nil, "", nil, fmt.Errorf("%w: "+format, append([]any{errEncryption}, args...)...)
	}
	head := []byte(encryptedBoundary + "\r\n")
	if !bytes.HasPrefix(b, head) {
		return fail("part does not start with the boundary")
	}
	b = b[len(head):]
	end := bytes.Index(b, head)
	if end < 0 {
		return fail("no octet-stream part")
	}
	length := -1
	protocolSeen := false
	for _, line := range strings.Split(string(b[:end]), "\r\n") {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-type":
			protocolSeen = sealerProtocol(s, value)
		case "originalcontent":
			// type=application/soap+xml;charset=UTF-8;Length=N
			for _, p := range strings.Split(value, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				switch strings.ToLower(k) {
				case "type":
					origType = v
				case "charset":
					origType += ";charset=" + v
				case "length":
					n, err := strconv.Atoi(v)
					if err != nil || n < 0 {
						return fail("bad Length %q", v)
					}
					length = n
				}
			}
		}
	}
	if !protocolSeen || length < 0 {
		return fail("header part without the protocol or the original length")
	}
	b = b[end+len(head):]
	b = bytes.TrimPrefix(b, []byte(octetStreamHeader))
	if len(b) < 4 {
		return fail("truncated signature length")
	}
	sigLen := int(binary.LittleEndian.Uint32(b))
	b = b[4:]
	if sigLen > maxSignatureLength || sigLen > len(b) {
		return fail("signature length %d", sigLen)
	}
	sig := b[:sigLen]
	b = b[sigLen:]
	if length > len(b) {
		return fail("message shorter than its Length %d", length)
	}
	sealed := b[:length]
	rest = b[length:]
	if !bytes.HasPrefix(rest, []byte(encryptedBoundary)) {
		return fail("%d bytes after the sealed message before the boundary", bytes.Index(rest, []byte(encryptedBoundary)))
	}
	msg, err = s.Unwrap(sealed, sig)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%w: %w", errEncryption, err)
	}
	if len(msg) != length {
		return fail("unsealed %d bytes, Length says %d", len(msg), length)
	}
	return msg, origType, rest, nil
}

// encodeEncrypted seals msg with s and returns the body and its Content-Type.
func encodeEncrypted(msg []byte, origType string, s sealer) ([]byte, string, error) {
	sealed, sig, err := s.Wrap(msg)
	if err != nil {
		return nil, "", fmt.Errorf("wsman: seal reply: %w", err)
	}
	if origType == "" {
		origType = "application/soap+xml;charset=UTF-8"
	}
	origType = strings.ReplaceAll(origType, " ", "")
	protocol := encryptedProtocol
	if ps, ok := s.(protocolSealer); ok {
		protocol = ps.sealProtocol()
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\r\n\tContent-Type: %s\r\n\tOriginalContent: type=%s;Length=%d\r\n%s\r\n%s",
		encryptedBoundary, protocol, origType, len(msg), encryptedBoundary, octetStreamHeader)
	binary.Write(&b, binary.LittleEndian, uint32(len(sig)))
	b.Write(sig)
	b.Write(sealed)
	b.WriteString(encryptedBoundary + "--\r\n")
	return b.Bytes(), encryptedTypeFor(protocol), nil
}

// sealingWriter holds a reply until flush, then sends it sealed.
type sealingWriter struct {
	w      http.ResponseWriter
	s      sealer
	header http.Header
	code   int
	buf    bytes.Buffer
}

func newSealingWriter(w http.ResponseWriter, s sealer) *sealingWriter {
	return &sealingWriter{w: w, s: s, header: http.Header{}}
}

func (sw *sealingWriter) Header() http.Header { return sw.header }

func (sw *sealingWriter) WriteHeader(code int) {
	if sw.code == 0 {
		sw.code = code
	}
}

func (sw *sealingWriter) Write(p []byte) (int, error) {
	if sw.code == 0 {
		sw.code = http.StatusOK
	}
	return sw.buf.Write(p)
}

// flush seals what was written and sends it with the held status.
func (sw *sealingWriter) flush() error {
	if sw.code == 0 {
		sw.code = http.StatusOK
	}
	dst := sw.w.Header()
	for k, v := range sw.header {
		if k != "Content-Type" && k != "Content-Length" {
			dst[k] = v
		}
	}
	if sw.buf.Len() == 0 {
		dst.Set("Content-Length", "0")
		sw.w.WriteHeader(sw.code)
		return nil
	}
	body, ct, err := encodeEncrypted(sw.buf.Bytes(), sw.header.Get("Content-Type"), sw.s)
	if err != nil {
		dst.Set("Content-Length", "0")
		sw.w.WriteHeader(http.StatusInternalServerError)
		return err
	}
	dst.Set("Content-Type", ct)
	dst.Set("Content-Length", strconv.Itoa(len(body)))
	sw.w.WriteHeader(sw.code)
	_, err = sw.w.Write(body)
	return err
}
