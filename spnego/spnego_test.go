package spnego

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"testing"
)

// windowsInit is the NegTokenInit Windows SMB clients send with an NTLM
// NEGOTIATE (the prefix of the one RTSMB and Wireshark captures show):
// mechTypes {NTLMSSP} and a 40-byte mechToken.
var windowsInit = mustHex("604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d5353500001000000978208e2000000000000000000000000000000000a00614a0000000f")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseInit(t *testing.T) {
	in, err := ParseInit(windowsInit)
	if err != nil {
		t.Fatalf("ParseInit: %v", err)
	}
	if len(in.MechTypes) != 1 || !in.MechTypes[0].Equal(OIDNTLM) {
		t.Errorf("MechTypes = %v, want [%v]", in.MechTypes, OIDNTLM)
	}
	if !bytes.HasPrefix(in.MechToken, []byte("NTLMSSP\x00\x01")) || len(in.MechToken) != 40 {
		t.Errorf("MechToken = %x, want a 40-byte NTLM NEGOTIATE", in.MechToken)
	}
	if want := mustHex("300c060a2b06010401823702020a"); !bytes.Equal(in.MechTypesDER, want) {
		t.Errorf("MechTypesDER = %x, want %x", in.MechTypesDER, want)
	}
}

func TestInitRoundTrip(t *testing.T) {
	mechs := []asn1.ObjectIdentifier{OIDKerberosMSFT, OIDKerberos, OIDNTLM}
	in, err := ParseInit(MarshalInit(mechs, []byte("token")))
	if err != nil {
		t.Fatal(err)
	}
	if len(in.MechTypes) != 3 || !in.HasMech(OIDNTLM) || !in.MechTypes[0].Equal(OIDKerberosMSFT) {
		t.Errorf("MechTypes = %v, want %v", in.MechTypes, mechs)
	}
	if string(in.MechToken) != "token" {
		t.Errorf("MechToken = %q, want token", in.MechToken)
	}
}

func TestRespMarshal(t *testing.T) {
	r := &Resp{NegState: AcceptIncomplete, SupportedMech: OIDNTLM, ResponseToken: []byte("NTLMSSP\x00\x02")}
	got := r.Marshal()
	// The prefix every Windows CHALLENGE answer starts with.
	want := mustHex("a1223020a0030a0101a10c060a2b06010401823702020aa20b04094e544c4d5353500002")
	if !bytes.Equal(got, want) {
		t.Errorf("Marshal = %x, want %x", got, want)
	}
	back, err := ParseResp(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.NegState != AcceptIncomplete || !back.SupportedMech.Equal(OIDNTLM) || !bytes.Equal(back.ResponseToken, r.ResponseToken) || back.MechListMIC != nil {
		t.Errorf("ParseResp = %+v, want %+v", back, r)
	}
	final := (&Resp{NegState: AcceptCompleted, MechListMIC: []byte{1, 2}}).Marshal()
	if back, err := ParseResp(final); err != nil || back.NegState != 0 || !bytes.Equal(back.MechListMIC, []byte{1, 2}) || back.ResponseToken != nil {
		t.Errorf("ParseResp(final) = %+v, %v, want negState 0 and the MIC", back, err)
	}
}

func TestMalformed(t *testing.T) {
	for n := 0; n < len(windowsInit); n++ {
		if _, err := ParseInit(windowsInit[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseInit of %d of %d bytes: got %v, want ErrMalformed", n, len(windowsInit), err)
		}
	}
	resp := (&Resp{NegState: 1, ResponseToken: []byte("x")}).Marshal()
	for n := 0; n < len(resp); n++ {
		if _, err := ParseResp(resp[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseResp of %d of %d bytes: got %v, want ErrMalformed", n, len(resp), err)
		}
	}
}

func FuzzToken(f *testing.F) {
	f.Add(windowsInit)
	f.Add((&Resp{NegState: 1, SupportedMech: OIDNTLM, ResponseToken: []byte("x"), MechListMIC: []byte("m")}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseInit(b)
		if r, err := ParseResp(b); err == nil {
			if _, err := ParseResp(r.Marshal()); err != nil {
				t.Fatalf("re-parse of a marshalled NegTokenResp: %v", err)
			}
		}
	})
}
