package wsman

import (
	"errors"
	"testing"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// testRefusal is a provider's refusal with a reason for the client.
type testRefusal struct{ msg string }

func (r testRefusal) Error() string          { return "provider: " + r.msg + " (/srv/data/pools/x.img)" }
func (r testRefusal) RefusalMessage() string { return r.msg }

// A StatusFailed error that carries a refusal is answered with the
// refusal's message in s:Reason and f:Message (the InternalError shape
// Windows gives a provider's failure); one without stays the generic
// InternalError that never shows its text.
func TestRefusalFault(t *testing.T) {
	s := &Server{Machine: "m"}
	err := cimmodel.Errorf(cimmodel.StatusFailed, "%w", testRefusal{"delete volume v1: volume is a replication source or target"})
	f, kind := s.buildFault(err)
	want := "delete volume v1: volume is a replication source or target"
	if kind != faultRefused || f.Reason != want || f.Detail == nil || f.Detail.Message != want ||
		f.Detail.Code != codeWBEMFailed || f.Code != soap.CodeReceiver || f.Subcode.Local != "InternalError" {
		t.Errorf("refusal fault %v: %q / %+v", kind, f.Reason, f.Detail)
	}
	f, kind = s.buildFault(cimmodel.Errorf(cimmodel.StatusFailed, "%w", errors.New("open /srv/secret: permission denied")))
	if kind != faultInternal || f.Reason != faultTable[faultInternal].reason || f.Detail.Message != faultTable[faultInternal].reason {
		t.Errorf("internal fault %v: %q / %q", kind, f.Reason, f.Detail.Message)
	}
	// Another status keeps its own fault even with a refusal inside.
	if _, kind := s.buildFault(cimmodel.Errorf(cimmodel.StatusNotFound, "%w", testRefusal{"gone"})); kind != faultNotFound {
		t.Errorf("NotFound with a refusal: kind %v", kind)
	}
}
