package wsman_test

import (
	"bytes"
	"fmt"
	"regexp"
	"sync"
	"testing"
)

// uuids matches the identifiers a reply makes afresh (its MessageID and
// an enumeration's context).
var uuids = regexp.MustCompile(`uuid:[0-9A-F-]{36}`)

// TestRepliesIntactWhenConcurrent sends enumerations of the real
// provider's volumes from several goroutines at once and checks every
// reply against the same reply sent alone: replies are written from the
// pooled buffer they were rendered in, which goes back to the pool only
// once the write has returned (run it with -race: a buffer reused while
// still being written is a data race there).
func TestRepliesIntactWhenConcurrent(t *testing.T) {
	f := newFleet(t, 10)
	first := fleetRequest(enumerate(`<w:OptimizeEnumeration/><w:MaxElements>5</w:MaxElements>`))
	want := uuids.ReplaceAll(f.do(t, first), nil)
	const workers, rounds = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				reply := f.do(t, first)
				id := contextID(t, reply)
				if got := uuids.ReplaceAll(reply, nil); !bytes.Equal(got, want) {
					errs <- fmt.Errorf("Enumerate reply differs from the one sent alone:\n%s\nwant\n%s", got, want)
					return
				}
				if n := bytes.Count(f.do(t, fleetRequest(pull(id, 5))), []byte("<p:DeviceID>")); n != 5 {
					errs <- fmt.Errorf("Pull answered %d volumes, want 5", n)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
