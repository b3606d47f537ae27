package integration

import (
	"os"
	"os/exec"
	"testing"
)

// requireClient skips the test when an external client is missing, unless
// REPLICAD_REQUIRE_CLIENTS=1 (set by `make test`) makes that a failure. The
// tests that drive clients drive the daemon: they skip under -short first.
func requireClient(t *testing.T, name string, check func() error) {
	t.Helper()
	requireDaemon(t)
	if err := check(); err != nil {
		if os.Getenv("REPLICAD_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("%s is required (REPLICAD_REQUIRE_CLIENTS=1) but unavailable: %v; run scripts/test-deps.sh", name, err)
		}
		t.Skipf("%s unavailable: %v", name, err)
	}
}

func lookPath(name string) func() error {
	return func() error {
		_, err := exec.LookPath(name)
		return err
	}
}
