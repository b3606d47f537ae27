package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is replicactl's version; a release build sets it with
// -ldflags "-X main.version=v1.2.3". Unset, the module version of the
// build (go install ...@v1.2.3) is used, or "devel".
var version = ""

// versionLine is "replicactl VERSION (commit REV[-dirty], GO)", from the
// build information Go records in the binary (as replicad --version).
func versionLine(prog string) string {
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
