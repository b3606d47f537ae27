package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/internal/buildinfo"
)

// version is replicad's version; a release build sets it with
// -ldflags "-X main.version=v1.2.3". Unset, the module version of the
// build (go install ...@v1.2.3) is used, or "devel".
var version = ""

// versionLine is "replicad VERSION (commit REV[-dirty], GO)".
func versionLine(prog string) string { return buildinfo.Line(prog, version) }

// usageHeader is what `replicad --help` prints before the flags: the
// daemon and every subcommand.
const usageHeader = `usage: replicad [flags]                  run the daemon (flags below)
       replicad user add|passwd|del|role|list|cert ...   manage the users file (replicad user --help)
       replicad cert [--host H,...] [--out DIR]         a self-signed certificate for --listen-tls
       replicad backup [--data-dir DIR] [--out FILE]    a consistent copy of state.db, running or not
       replicad version | --version                     version, commit and Go version

Flags of the daemon:
`

// printUsage writes the usage header and the daemon's flags.
func printUsage(w io.Writer, defaults func()) {
	fmt.Fprint(w, usageHeader)
	defaults()
}

// isTerminal reports whether f is a terminal (colour in console logs only
// then).
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
