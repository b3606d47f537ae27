// Package buildinfo says which build of a replicad command is running, for
// their --version: the version, the commit and the Go version, from the
// build information Go records in every binary.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Line is "PROG VERSION (commit REV[-dirty], GO)". version is the one a
// release build sets with -ldflags "-X main.version=v1.2.3"; when it is
// "", the module version of the build (go install ...@v1.2.3) is used, or
// "devel".
func Line(prog, version string) string {
	v, commit := version, "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		var dirty bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty {
			commit += "-dirty"
		}
	}
	if v == "" {
		v = "devel"
	}
	return fmt.Sprintf("%s %s (commit %s, %s)", prog, v, commit, runtime.Version())
}
