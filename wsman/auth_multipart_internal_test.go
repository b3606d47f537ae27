package wsman

import "testing"

// multipartTypes are Content-Type values of sealed messages as clients
// send them ([MS-WSMV] 2.2.9.1; pywinrm, PowerShell), and variants in case
// and leading space.
var multipartTypes = []string{
	`multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"`,
	`multipart/x-multi-encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"`,
	`Multipart/Encrypted;protocol="application/HTTP-Kerberos-session-encrypted";boundary="Encrypted Boundary"`,
	` MULTIPART/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="x"`,
	"\u00a0multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"x\"",
	`application/soap+xml;charset=UTF-8`,
	`multipart/`,
	`multipart`,
	``,
}

// TestMayBeMultipartKeepsEveryEncryptedType: the quick test that spares a
// plain request the media type parse never hides a type isEncrypted
// accepts.
func TestMayBeMultipartKeepsEveryEncryptedType(t *testing.T) {
	encrypted := 0
	for _, ct := range multipartTypes {
		if isEncrypted(ct) {
			encrypted++
			if !mayBeMultipart(ct) {
				t.Errorf("mayBeMultipart(%q) = false for an encrypted type", ct)
			}
		}
	}
	if encrypted != 6 { // the five sealed types, and "multipart/", which isEncrypted cannot parse
		t.Fatalf("%d of the types are encrypted, want 6", encrypted)
	}
	if mayBeMultipart("application/soap+xml;charset=UTF-8") {
		t.Error("mayBeMultipart of SOAP's type = true")
	}
}

// FuzzMayBeMultipart: isEncrypted(ct) implies mayBeMultipart(ct).
func FuzzMayBeMultipart(f *testing.F) {
	for _, ct := range multipartTypes {
		f.Add(ct)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		if isEncrypted(ct) && !mayBeMultipart(ct) {
			t.Fatalf("mayBeMultipart(%q) = false for an encrypted type", ct)
		}
	})
}
