package provider

import (
	"testing"
	"time"

	"go.uber.org/zap"
)

// TestReplicaOptions: the daemon's replication settings reach
// replica.Options (--copy-bandwidth, --mirror-lag, --mirror-scan,
// --scrub-rate).
func TestReplicaOptions(t *testing.T) {
	cfg := Config{CopyBandwidth: 1 << 20, MirrorLag: 3 * time.Second, MirrorScan: 90 * time.Minute, ScrubRate: 1 << 25}
	o := replicaOptions(cfg, zap.NewNop())
	if o.BandwidthLimit != cfg.CopyBandwidth || o.MirrorLag != cfg.MirrorLag || o.MirrorScan != cfg.MirrorScan || o.ScrubRate != cfg.ScrubRate {
		t.Fatalf("replica.Options %+v from %+v", o, cfg)
	}
	if o := replicaOptions(Config{MirrorScan: -1}, zap.NewNop()); o.MirrorScan != -1 {
		t.Fatalf("a negative MirrorScan (off) became %v", o.MirrorScan)
	}
	copies := &nopCopies{}
	if o := replicaOptions(Config{Copies: copies}, zap.NewNop()); o.Copies != copies {
		t.Fatalf("Config.Copies did not reach replica.Options: %v", o.Copies)
	}
}

// nopCopies is a replica.CopyObserver that counts nothing.
type nopCopies struct{ _ int }

func (*nopCopies) AddBytesCopied(int64)             {}
func (*nopCopies) ObserveCopy(int64, time.Duration) {}
