// Package integration holds end-to-end tests: they build the real replicad
// binary, start it on a loopback port with a temporary data folder, and
// drive it with real WinRM clients (github.com/masterzen/winrm, raw HTTP,
// and, where installed, Debian's python3-winrm and wsl).
// It imports none of replicad's packages except to check the import policy.
//
// A missing external client skips its test, unless REPLICAD_REQUIRE_CLIENTS=1
// (which `make test` sets) makes it fail.
package integration
