package soap_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/replicad/replicad/soap"
)

// TestRenderText checks Message.Render against Message.Bytes in each
// encoding, its limit, and that Detach gives bytes of the caller's own,
// which later renders (into the pooled buffers) do not change.
func TestRenderText(t *testing.T) {
	msg := func(text string) *soap.Message {
		m := soap.NewResponse(&soap.Header{MessageID: "uuid:1"}, soap.ActionGetResponse)
		m.SetBody(func(b []byte) []byte { return soap.AppendTextElement(b, "w:Text", text) })
		return m
	}
	m := msg("é<")
	for _, enc := range []soap.Encoding{soap.UTF8, soap.UTF16LE, soap.UTF16BE} {
		want, err := m.Bytes(enc)
		if err != nil {
			t.Fatal(err)
		}
		text, size, err := m.Render(enc, len(want))
		if err != nil || size != len(want) || !bytes.Equal(text.Bytes(), want) {
			t.Errorf("%v: Render within the limit: %q, size %d, %v; want %q, %d", enc, text.Bytes(), size, err, want, len(want))
		}
		text.Release()
		text.Release() // a second Release does nothing
		if text.Bytes() != nil {
			t.Errorf("%v: bytes left after Release", enc)
		}
		text, size, err = m.Render(enc, len(want)-1)
		if err != nil || size != len(want) || text.Bytes() != nil {
			t.Errorf("%v: Render over the limit: %q, size %d, %v; want nothing, size %d", enc, text.Bytes(), size, err, len(want))
		}
	}
	text, _, err := m.Render(soap.UTF8, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	kept := text.Detach()
	want := append([]byte(nil), kept...)
	for range 100 {
		other, _, err := msg(strings.Repeat("x", len(want))).Render(soap.UTF8, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		other.Release()
	}
	if !bytes.Equal(kept, want) {
		t.Errorf("detached bytes changed by later renders:\n%s\nwant\n%s", kept, want)
	}
}

// TestNSRemembersNames checks that NS gives a name it gave before without
// making it again, and gives the right names past the most it remembers.
func TestNSRemembersNames(t *testing.T) {
	m := soap.NewResponse(nil, soap.ActionGetResponse)
	if got := m.NS(soap.NSEnumeration, "Items"); got != "n:Items" {
		t.Fatalf("NS(enumeration, Items) = %q, want n:Items", got)
	}
	if n := testing.AllocsPerRun(100, func() {
		m.NS(soap.NSWSMan, "Items")
		m.NS(soap.NSEnumeration, "Items")
	}); n != 0 {
		t.Errorf("NS of names given before: %v allocations, want 0", n)
	}
	for i := range 1000 {
		local := fmt.Sprintf("Name%d", i)
		if got := m.NS(soap.NSWSMan, local); got != "w:"+local {
			t.Fatalf("NS(wsman, %s) = %q, want %q", local, got, "w:"+local)
		}
	}
}
