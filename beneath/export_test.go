package beneath

import (
	"testing"

	"golang.org/x/sys/unix"
)

// ForceFallback makes openat2 answer ENOSYS, as on a kernel without it, until
// the test ends, and returns a counter of the calls it refused.
func ForceFallback(t testing.TB) *int {
	t.Helper()
	old := openat2
	calls := new(int)
	openat2 = func(int, string, *unix.OpenHow) (int, error) {
		*calls++
		return -1, unix.ENOSYS
	}
	t.Cleanup(func() { openat2 = old })
	return calls
}
