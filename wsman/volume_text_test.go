package wsman_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
)

// The volume provider keeps each volume's instance, frozen with its
// encodings, while the facts it was made of are unchanged (provider's
// pageInstance): a Get or a page writes a copy of the text. These tests
// check, through the handler, that the text follows every change of the
// volume at once and is what a new encoding writes.

// messageIDs matches the reply's own MessageID, the one part of a Get's
// reply that differs from one reply to the next.
var messageIDs = regexp.MustCompile(`<a:MessageID>[^<]*</a:MessageID>`)

// volumeItems enumerates the fleet's volumes with their EPRs, max a
// message, and returns each item's text (the wsman:Item with the instance
// and its EPR) by the volume's name.
func (f *fleet) volumeItems(tb testing.TB, max int) map[string]string {
	tb.Helper()
	var replies []byte
	reply := f.do(tb, fleetRequest(enumerate(fmt.Sprintf(`<w:OptimizeEnumeration/><w:MaxElements>%d</w:MaxElements><w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode>`, max))))
	replies = append(replies, reply...)
	for !bytes.Contains(reply, []byte("EndOfSequence")) {
		reply = f.do(tb, fleetRequest(pull(contextID(tb, reply), max)))
		replies = append(replies, reply...)
	}
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`<w:Item>.*?</w:Item>`).FindAll(replies, -1) {
		name := regexp.MustCompile(`<p:ElementName>([^<]*)</p:ElementName>`).FindSubmatch(m)
		if name == nil {
			tb.Fatalf("an item without ElementName: %s", m)
		}
		out[string(name[1])] = string(m)
	}
	return out
}

// deviceID returns the DeviceID in an instance's text.
func deviceID(tb testing.TB, text string) string {
	tb.Helper()
	m := regexp.MustCompile(`<p:DeviceID>([^<]*)</p:DeviceID>`).FindStringSubmatch(text)
	if m == nil {
		tb.Fatalf("no DeviceID in %s", text)
	}
	return m[1]
}

// operationalStatus returns the OperationalStatus values in text ("2" or
// "13"), and whether the missing file's StatusDescriptions is there.
func operationalStatus(text string) (string, bool) {
	var got []string
	for _, m := range regexp.MustCompile(`<p:OperationalStatus>([^<]*)</p:OperationalStatus>`).FindAllStringSubmatch(text, -1) {
		got = append(got, m[1])
	}
	return fmt.Sprint(got), bytes.Contains([]byte(text), []byte("The image file is missing"))
}

func TestVolumeRepliesFollowTheImage(t *testing.T) {
	f := newFleet(t, 3)
	items := f.volumeItems(t, 2)
	if len(items) != 3 {
		t.Fatalf("enumerated %d volumes, want 3", len(items))
	}
	id := deviceID(t, items["v00000"])
	get := func() string {
		return string(messageIDs.ReplaceAll(f.do(t, fleetGet(id)), nil))
	}
	check := func(when, wantStatus string, wantMissing bool) {
		t.Helper()
		for i, text := range []string{get(), f.volumeItems(t, 2)["v00000"], f.volumeItems(t, 5)["v00000"]} {
			if status, missing := operationalStatus(text); status != wantStatus || missing != wantMissing {
				t.Errorf("%s: reply %d: OperationalStatus %s, missing description %v; want %s, %v", when, i, status, missing, wantStatus, wantMissing)
			}
		}
	}
	first := get()
	if again := get(); again != first {
		t.Errorf("a second Get of an unchanged volume differs:\n%s\n%s", first, again)
	}
	for name, text := range f.volumeItems(t, 5) {
		if text != items[name] {
			t.Errorf("volume %s unchanged: its item differs from the last enumeration's:\n%s\n%s", name, items[name], text)
		}
	}
	check("image there", "[2]", false)

	img := filepath.Join(f.pool, "v00000.img")
	if err := os.Rename(img, img+".away"); err != nil {
		t.Fatal(err)
	}
	check("image gone", "[13]", true)
	for name, text := range f.volumeItems(t, 2) {
		if name != "v00000" && text != items[name] {
			t.Errorf("volume %s unchanged: its item differs after another's image went:\n%s\n%s", name, items[name], text)
		}
	}

	if err := os.Rename(img+".away", img); err != nil {
		t.Fatal(err)
	}
	check("image back", "[2]", false)
	if again := get(); again != first {
		t.Errorf("Get after the image came back differs from the first:\n%s\n%s", first, again)
	}
	if again := f.volumeItems(t, 2); again["v00000"] != items["v00000"] {
		t.Errorf("item after the image came back differs from the first:\n%s\n%s", items["v00000"], again["v00000"])
	}
}

// TestVolumeRepliesConcurrentChanges runs Gets and enumerations while the
// image of one volume goes and comes back (for the race detector: the
// instances and their encodings are shared), then checks that the replies
// follow the image's last state.
func TestVolumeRepliesConcurrentChanges(t *testing.T) {
	f := newFleet(t, 4)
	id := deviceID(t, f.volumeItems(t, 5)["v00001"])
	img := filepath.Join(f.pool, "v00001.img")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if items := f.volumeItems(t, 3); len(items) != 4 {
					t.Errorf("enumerated %d volumes, want 4", len(items))
				}
				if status, _ := operationalStatus(string(f.do(t, fleetGet(id)))); status != "[2]" && status != "[13]" {
					t.Errorf("Get: OperationalStatus %s", status)
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := os.Rename(img, img+".away"); err != nil {
				t.Error(err)
			}
			if err := os.Rename(img+".away", img); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	for _, gone := range []bool{false, true} {
		if gone {
			if err := os.Remove(img); err != nil {
				t.Fatal(err)
			}
		}
		want := map[bool]string{false: "[2]", true: "[13]"}[gone]
		if status, _ := operationalStatus(string(f.do(t, fleetGet(id)))); status != want {
			t.Errorf("image gone %v: Get: OperationalStatus %s, want %s", gone, status, want)
		}
		if status, _ := operationalStatus(f.volumeItems(t, 3)["v00001"]); status != want {
			t.Errorf("image gone %v: enumeration: OperationalStatus %s, want %s", gone, status, want)
		}
	}
}
