package wsman

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// xorSealer stands in for a logon session in tests of the MIME framing:
// it "seals" by XOR with a byte and signs with a truncated HMAC, so that a
// changed byte anywhere is detected. The real NTLM sealing is tested in
// package ntlm and end to end with pywinrm (integration).
type xorSealer struct{ key byte }

func (x xorSealer) sig(msg []byte) []byte {
	m := hmac.New(sha256.New, []byte{x.key})
	m.Write(msg)
	return m.Sum(nil)[:16]
}

func (x xorSealer) Wrap(msg []byte) ([]byte, []byte, error) {
	out := make([]byte, len(msg))
	for i, b := range msg {
		out[i] = b ^ x.key
	}
	return out, x.sig(msg), nil
}

func (x xorSealer) Unwrap(sealed, sig []byte) ([]byte, error) {
	out := make([]byte, len(sealed))
	for i, b := range sealed {
		out[i] = b ^ x.key
	}
	if !hmac.Equal(sig, x.sig(out)) {
		return nil, errors.New("bad signature")
	}
	return out, nil
}

const soapMsg = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`

// pywinrmBody frames msg exactly as pywinrm's winrm/encryption.py does.
func pywinrmBody(s sealer, msg string) []byte {
	sealed, sig, _ := s.Wrap([]byte(msg))
	var b bytes.Buffer
	b.WriteString("--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n")
	b.WriteString("\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + itoa(len(msg)) + "\r\n")
	b.WriteString("--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n")
	b.Write([]byte{byte(len(sig)), 0, 0, 0})
	b.Write(sig)
	b.Write(sealed)
	b.WriteString("--Encrypted Boundary--\r\n")
	return b.Bytes()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

func TestDecodePywinrmFraming(t *testing.T) {
	s := xorSealer{key: 0x5a}
	got, typ, err := decodeEncrypted(encryptedType, pywinrmBody(s, soapMsg), s)
	if err != nil {
		t.Fatalf("decodeEncrypted: %v", err)
	}
	if string(got) != soapMsg {
		t.Errorf("message = %q, want %q", got, soapMsg)
	}
	if typ != "application/soap+xml;charset=UTF-8" {
		t.Errorf("original type = %q, want application/soap+xml;charset=UTF-8", typ)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	s := xorSealer{key: 0x33}
	for _, msg := range []string{soapMsg, strings.Repeat("x", 70000), "--Encrypted Boundary inside"} {
		body, ct, err := encodeEncrypted([]byte(msg), "application/soap+xml;charset=UTF-16", s)
		if err != nil {
			t.Fatal(err)
		}
		got, typ, err := decodeEncrypted(ct, body, s)
		if err != nil || string(got) != msg || typ != "application/soap+xml;charset=UTF-16" {
			t.Errorf("round trip of %.20q: %.20q %q %v, want the message back with its type", msg, got, typ, err)
		}
		// pywinrm's parser cuts 24 bytes off the end and splits on the boundary.
		if !bytes.HasSuffix(body, []byte("--Encrypted Boundary--\r\n")) || !bytes.HasPrefix(body, []byte("--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-16;Length=")) {
			t.Errorf("body framing differs from pywinrm's: %.160q", body)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	s := xorSealer{key: 0x42}
	good := pywinrmBody(s, soapMsg)
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name        string
		contentType string
		body        []byte
	}{
		{"flipped sealed byte", encryptedType, flip(len(good) - 30)},
		{"flipped signature byte", encryptedType, flip(bytes.Index(good, []byte("octet-stream\r\n")) + 20)},
		{"truncated", encryptedType, good[:len(good)-40]},
		{"no parts", encryptedType, []byte("--Encrypted Boundary--\r\n")},
		{"empty", encryptedType, nil},
		{"wrong protocol", `multipart/encrypted;protocol="application/HTTP-Kerberos-session-encrypted";boundary="Encrypted Boundary"`, good},
		{"wrong boundary", `multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Other"`, good},
		{"length too long", encryptedType, bytes.Replace(good, []byte("Length="+itoa(len(soapMsg))), []byte("Length=99999"), 1)},
		{"huge signature length", encryptedType, bytes.Replace(good, []byte("octet-stream\r\n\x10"), []byte("octet-stream\r\n\xff"), 1)},
		{"trailing bytes before the boundary", encryptedType, bytes.Replace(good, []byte("--Encrypted Boundary--"), []byte("junk--Encrypted Boundary--"), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := decodeEncrypted(tt.contentType, tt.body, s); !errors.Is(err, errEncryption) {
				t.Errorf("decodeEncrypted: got %v, want errEncryption", err)
			}
		})
	}
}

func TestSealingWriter(t *testing.T) {
	s := xorSealer{key: 7}
	rec := httptest.NewRecorder()
	sw := newSealingWriter(rec, s)
	sw.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
	sw.Header().Set("X-Other", "kept")
	sw.WriteHeader(500)
	sw.Write([]byte(soapMsg))
	if err := sw.flush(); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 500 || rec.Header().Get("Content-Type") != encryptedType || rec.Header().Get("X-Other") != "kept" {
		t.Errorf("got %d %q, want 500 with %q and other headers kept", rec.Code, rec.Header().Get("Content-Type"), encryptedType)
	}
	got, _, err := decodeEncrypted(rec.Header().Get("Content-Type"), rec.Body.Bytes(), s)
	if err != nil || string(got) != soapMsg {
		t.Errorf("sealed reply decodes to %q, %v, want the fault", got, err)
	}
}

// FuzzMultipart feeds arbitrary bodies to the decoder: no panic, and
// whatever it accepts must have passed the sealer's signature check.
func FuzzMultipart(f *testing.F) {
	s := xorSealer{key: 0x5a}
	f.Add(pywinrmBody(s, soapMsg))
	f.Add(pywinrmBody(s, ""))
	two := append(bytes.TrimSuffix(pywinrmBody(s, "a"), []byte("--Encrypted Boundary--\r\n")), pywinrmBody(s, "b")...)
	f.Add(two)
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, _, err := decodeEncrypted(encryptedType, body, s)
		if err != nil {
			return
		}
		again, _, err := encodeEncrypted(msg, "", s)
		if err != nil {
			t.Fatal(err)
		}
		if back, _, err := decodeEncrypted(encryptedType, again, s); err != nil || !bytes.Equal(back, msg) {
			t.Fatalf("re-encoded message does not decode back: %v", err)
		}
	})
}
