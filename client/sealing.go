package client

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"mime"
	"strconv"
	"strings"
)

// HTTP-SPNEGO session encryption ([MS-WSMV] 2.2.9.1.1), as pywinrm and
// Windows send it after a Negotiate logon over plain HTTP: the message
// sealed with the logon's session, in a two-part MIME body.

const (
	encryptedProtocol = "application/HTTP-SPNEGO-session-encrypted"
	encryptedType     = `multipart/encrypted;protocol="` + encryptedProtocol + `";boundary="Encrypted Boundary"`
	encryptedBoundary = "--Encrypted Boundary"
	octetStream       = "\tContent-Type: application/octet-stream\r\n"
)

// sealer seals and unseals with a logon's session keys.
type sealer interface {
	Wrap(msg []byte) (sealed, sig []byte, err error)
	Unwrap(sealed, sig []byte) ([]byte, error)
}

// sealBody seals a SOAP message and returns the body and its Content-Type.
func sealBody(msg []byte, s sealer) ([]byte, string, error) {
	sealed, sig, err := s.Wrap(msg)
	if err != nil {
		return nil, "", fmt.Errorf("client: seal request: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\r\n\tContent-Type: %s\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d\r\n%s\r\n%s",
		encryptedBoundary, encryptedProtocol, len(msg), encryptedBoundary, octetStream)
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(sig))))
	b.Write(sig)
	b.Write(sealed)
	b.WriteString(encryptedBoundary + "--\r\n")
	return b.Bytes(), encryptedType, nil
}

// isSealed reports whether a Content-Type announces a sealed body.
func isSealed(contentType string) bool {
	if strings.HasPrefix(contentType, "application/soap+xml") {
		return false // the usual answer, whose parameters need no parse
	}
	media, params, err := mime.ParseMediaType(contentType)
	return err == nil && (media == "multipart/encrypted" || media == "multipart/x-multi-encrypted") &&
		strings.EqualFold(params["protocol"], encryptedProtocol)
}

// unsealBody unseals a sealed answer (one encrypted part).
func unsealBody(body []byte, s sealer) ([]byte, error) {
	fail := func(format string, args ...any) ([]byte, error) {
		return nil, fmt.Errorf("%w: sealed answer: "+format, append([]any{ErrProtocol}, args...)...)
	}
	head := []byte(encryptedBoundary + "\r\n")
	if !bytes.HasPrefix(body, head) {
		return fail("no boundary")
	}
	rest := body[len(head):]
	end := bytes.Index(rest, head)
	if end < 0 {
		return fail("no octet-stream part")
	}
	length := -1
	for _, line := range strings.Split(string(rest[:end]), "\r\n") {
		name, value, _ := strings.Cut(strings.TrimSpace(line), ":")
		if !strings.EqualFold(strings.TrimSpace(name), "OriginalContent") {
			continue
		}
		for _, p := range strings.Split(value, ";") {
			if k, v, _ := strings.Cut(strings.TrimSpace(p), "="); strings.EqualFold(k, "length") {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return fail("bad Length %q", v)
				}
				length = n
			}
		}
	}
	if length < 0 {
		return fail("no original length")
	}
	rest = bytes.TrimPrefix(rest[end+len(head):], []byte(octetStream))
	if len(rest) < 4 {
		return fail("truncated")
	}
	n := int(binary.LittleEndian.Uint32(rest))
	rest = rest[4:]
	if n > 1024 || n+length > len(rest) {
		return fail("signature length %d", n)
	}
	msg, err := s.Unwrap(rest[n:n+length], rest[:n])
	if err != nil {
		return fail("%v", err)
	}
	return msg, nil
}
