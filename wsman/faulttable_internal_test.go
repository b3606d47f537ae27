package wsman

import (
	"errors"
	"strings"
	"testing"
)

// TestFaultTableRows: every kind of fault has its row, and every row says
// what the client sees (code, reason, WSManFault code) and where that comes
// from.
func TestFaultTableRows(t *testing.T) {
	for k := faultInternal; k <= faultRefused; k++ {
		row, ok := faultTable[k]
		if !ok {
			t.Errorf("fault kind %d has no row", k)
			continue
		}
		if row.code == "" || row.reason == "" || row.wsCode == 0 || row.action == "" {
			t.Errorf("fault kind %d (%s): incomplete row %+v", k, row.subcode.Local, row)
		}
		if strings.TrimSpace(row.source) == "" {
			t.Errorf("fault kind %d (%s): no source", k, row.subcode.Local)
		}
	}
	if len(faultTable) != int(faultRefused)+1 {
		t.Errorf("the table has %d rows for %d kinds", len(faultTable), int(faultRefused)+1)
	}
	// Whatever an internal error says, the fault says the row's text.
	s := &Server{Machine: "m"}
	f, kind := s.buildFault(&protocolError{kind: faultInternal, message: "open /srv/secret: permission denied",
		err: errors.New("open /srv/secret: permission denied")})
	if kind != faultInternal || f.Detail.Message != faultTable[faultInternal].reason || strings.Contains(f.Reason, "/srv") {
		t.Errorf("internal fault says %q / %q", f.Reason, f.Detail.Message)
	}
}
