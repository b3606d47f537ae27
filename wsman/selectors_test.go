package wsman_test

import (
	"strings"
	"testing"
)

// TestSelectorFaults: the class's keys are checked once, by cimmodel's
// registry, and wsman answers its selector faults from that check: a key
// left out is InsufficientSelectors, a selector that is no key
// UnexpectedSelectors, each naming the class.
func TestSelectorFaults(t *testing.T) {
	srv, _ := newTestServer(t, 3)
	get := string(readFixture(t, "testdata/exchanges/get/request.xml"))
	const sels = `<w:SelectorSet><w:Selector Name="Name">w01</w:Selector></w:SelectorSet>`
	if !strings.Contains(get, sels) {
		t.Fatal("the Get fixture has no Name selector")
	}
	for _, tt := range []struct {
		name, sels, detail, message string
	}{
		{"missing", `<w:SelectorSet><w:Selector Name="__cimnamespace">root/test</w:Selector></w:SelectorSet>`,
			"InsufficientSelectors", "The selectors do not name every key of Test_Widget."},
		{"unknown", `<w:SelectorSet><w:Selector Name="Name">w01</w:Selector><w:Selector Name="Colour">red</w:Selector></w:SelectorSet>`,
			"UnexpectedSelectors", "The selector Colour is not a key of Test_Widget."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, reply := post(t, srv, testUser, testPass, []byte(strings.Replace(get, sels, tt.sels, 1)))
			if status != 500 {
				t.Fatalf("status %d, want 500:\n%s", status, reply)
			}
			for _, want := range []string{"InvalidSelectors", "faultDetail/" + tt.detail, tt.message} {
				if !strings.Contains(string(reply), want) {
					t.Errorf("reply lacks %q:\n%s", want, reply)
				}
			}
		})
	}
}
