package iscsi_test

import (
	"context"
	"testing"

	"github.com/replicad/replicad/iscsi"
	"github.com/replicad/replicad/volumes"
)

// BenchmarkQuiesce measures one Quiesce and resume of an idle exposed
// volume's target: offline, drain, reconcile, ready (four to five tgtadm
// calls and /proc reads).
func BenchmarkQuiesce(b *testing.B) {
	e := newEnvWith(b, &env{t: b, reconcileEvery: -1})
	e.volume("disk1", 4<<20)
	refs := []iscsi.VolumeRef{{Pool: volumes.DefaultPool, Volume: "disk1"}}
	if _, err := e.svc.Expose("", refs, []string{initiatorA}, false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resume, err := e.svc.Quiesce(context.Background(), refs)
		if err != nil {
			b.Fatal(err)
		}
		resume()
	}
}
