package provider

import (
	"errors"
	"fmt"
	"testing"
)

func TestClientMessage(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{errors.New("replica: invalid request: SyncType 6 needs Mode 3"), "invalid request: SyncType 6 needs Mode 3"},
		{fmt.Errorf("replication failed: %w", errors.New("write /tmp/x/data/pools/small/.full.img.replica: no space left on device")),
			"replication failed: write pools/small/.full.img.replica: no space left on device"},
		{errors.New("engine: source changed during copy"), "source changed during copy"},
	}
	for _, tt := range tests {
		if got := clientMessage(tt.err); got != tt.want {
			t.Errorf("clientMessage(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
