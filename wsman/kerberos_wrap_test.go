package wsman

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
)

func testKey(t *testing.T, etype int32, fill byte) types.EncryptionKey {
	t.Helper()
	et, err := crypto.GetEtype(etype)
	if err != nil {
		t.Fatal(err)
	}
	return types.EncryptionKey{KeyType: etype, KeyValue: bytes.Repeat([]byte{fill}, et.GetKeyByteSize())}
}

// initiatorWrap seals msg as a client does, in the IOV layout.
func initiatorWrap(t *testing.T, key types.EncryptionKey, flags byte, seq uint64, msg []byte) (sealed, sig []byte) {
	t.Helper()
	sealed, sig, err := wrapToken(key, flags, seq, usageInitiatorSeal, msg)
	if err != nil {
		t.Fatal(err)
	}
	return sealed, sig
}

func TestKerberosWrapLayout(t *testing.T) {
	msg := []byte("<s:Envelope>hello</s:Envelope>")
	for _, et := range []int32{etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96} {
		init, acc := testKey(t, et, 1), testKey(t, et, 2)
		ks, err := newKerberosSession(init, acc, 100, 7, encryptedProtocol)
		if err != nil {
			t.Fatal(err)
		}
		sealed, sig, err := ks.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		// [MS-KILE] 3.4.5.4.1 / gss_wrap_iov: a 60-byte header (16 token
		// header, 16 encrypted header copy, 12 HMAC, 16 confounder), RRC 28,
		// EC 0, and a sealed part exactly as long as the message.
		want := []byte{0x05, 0x04, wrapFlagSentByAcceptor | wrapFlagSealed | wrapFlagAcceptorSubkey, 0xff, 0, 0, 0, 28, 0, 0, 0, 0, 0, 0, 0, 7}
		if len(sig) != 60 || len(sealed) != len(msg) || !bytes.Equal(sig[:16], want) {
			t.Errorf("etype %d: signature %d bytes %x, sealed %d bytes; want 60 bytes starting %x, %d", et, len(sig), sig[:16], len(sealed), want, len(msg))
		}
		if bytes.Contains(append(sig, sealed...), []byte("hello")) {
			t.Errorf("etype %d: plaintext visible in the token", et)
		}
		// The client unseals with the acceptor subkey and the acceptor usage.
		got, err := unwrapToken(acc, usageAcceptorSeal, append(sig, sealed...))
		if err != nil || !bytes.Equal(got, msg) {
			t.Errorf("etype %d: client unwrap = %q, %v", et, got, err)
		}
		if _, err := unwrapToken(init, usageAcceptorSeal, append(sig, sealed...)); err == nil {
			t.Errorf("etype %d: reply unsealed with the initiator subkey, want the acceptor subkey only", et)
		}
		// The second reply counts on.
		_, sig2, _ := ks.Wrap(msg)
		if binary.BigEndian.Uint64(sig2[8:16]) != 8 {
			t.Errorf("second reply SND_SEQ %d, want 8", binary.BigEndian.Uint64(sig2[8:16]))
		}
	}
}

func TestKerberosUnwrapKeysAndRefusals(t *testing.T) {
	init, acc := testKey(t, etypeID.AES256_CTS_HMAC_SHA1_96, 1), testKey(t, etypeID.AES256_CTS_HMAC_SHA1_96, 2)
	msg := []byte("request body")
	newSess := func() *kerberosSession {
		ks, err := newKerberosSession(init, acc, 100, 7, encryptedProtocol)
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	// A client that took the acceptor subkey sets AcceptorSubkey; one that
	// did not seals with its own subkey.
	for _, c := range []struct {
		name  string
		key   types.EncryptionKey
		flags byte
	}{
		{"acceptor subkey", acc, wrapFlagSealed | wrapFlagAcceptorSubkey},
		{"initiator subkey", init, wrapFlagSealed},
	} {
		sealed, sig := initiatorWrap(t, c.key, c.flags, 100, msg)
		if got, err := newSess().Unwrap(sealed, sig); err != nil || !bytes.Equal(got, msg) {
			t.Errorf("%s: Unwrap = %q, %v", c.name, got, err)
		}
	}
	refused := func(name string, ks *kerberosSession, sealed, sig []byte) {
		t.Helper()
		if got, err := ks.Unwrap(sealed, sig); !errors.Is(err, errKerberosSeal) {
			t.Errorf("%s: Unwrap = %q, %v; want refused", name, got, err)
		}
	}
	sealed, sig := initiatorWrap(t, acc, wrapFlagSealed|wrapFlagAcceptorSubkey, 100, msg)
	flipped := append([]byte{}, sealed...)
	flipped[3] ^= 1
	refused("flipped sealed byte", newSess(), flipped, sig)
	wrongFlag := append([]byte{}, sig...)
	wrongFlag[2] &^= wrapFlagAcceptorSubkey
	refused("flags naming the other key", newSess(), sealed, wrongFlag)
	// A reply reflected back at us (SentByAcceptor) is refused.
	rs, rsig, _ := newSess().Wrap(msg)
	refused("reflected reply", newSess(), rs, rsig)
	// No confidentiality.
	ps, psig := initiatorWrap(t, acc, wrapFlagAcceptorSubkey, 100, msg)
	refused("unsealed token", newSess(), ps, psig)
	// Replay, and a lower sequence number than the authenticator's.
	ks := newSess()
	if _, err := ks.Unwrap(sealed, sig); err != nil {
		t.Fatal(err)
	}
	refused("replayed token", ks, sealed, sig)
	ls, lsig := initiatorWrap(t, acc, wrapFlagSealed|wrapFlagAcceptorSubkey, 99, msg)
	refused("sequence number below the authenticator's", newSess(), ls, lsig)
	// No acceptor subkey sent (no AP-REP): AcceptorSubkey cannot be honoured.
	noAcc, _ := newKerberosSession(init, types.EncryptionKey{}, 100, 100, encryptedProtocol)
	refused("AcceptorSubkey without one", noAcc, sealed, sig)
}

// TestKerberosUnwrapWindowsRotation unseals a token rotated by RRC+EC
// with filler bytes, as Windows and impacket build them.
func TestKerberosUnwrapWindowsRotation(t *testing.T) {
	key := testKey(t, etypeID.AES128_CTS_HMAC_SHA1_96, 3)
	msg := []byte("0123456789")
	et, _ := crypto.GetEtype(key.KeyType)
	ec := 6
	hdr := wrapHeader(wrapFlagSealed, uint16(ec), 0, 5)
	plain := append(append(append([]byte{}, msg...), bytes.Repeat([]byte{0xff}, ec)...), hdr...)
	_, ct, err := et.EncryptMessage(key.KeyValue, plain, usageInitiatorSeal)
	if err != nil {
		t.Fatal(err)
	}
	rrc := 28
	rot := rrc + ec
	rotated := append(append([]byte{}, ct[len(ct)-rot:]...), ct[:len(ct)-rot]...)
	token := append(wrapHeader(wrapFlagSealed, uint16(ec), uint16(rrc), 5), rotated...)
	ks, _ := newKerberosSession(key, types.EncryptionKey{}, 5, 5, encryptedProtocol)
	got, err := ks.Unwrap(token[60:], token[:60])
	if err != nil || !bytes.Equal(got, msg) {
		t.Errorf("Unwrap = %q, %v; want %q", got, err, msg)
	}
}

func TestKerberosSessionRefusesRC4(t *testing.T) {
	k := testKey(t, etypeID.RC4_HMAC, 1)
	if _, err := newKerberosSession(k, types.EncryptionKey{}, 1, 1, encryptedProtocol); !errors.Is(err, errKerberosSeal) {
		t.Errorf("RC4 session: %v, want refused", err)
	}
}
