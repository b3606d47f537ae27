package main

import "github.com/replicad/replicad/internal/buildinfo"

// version is replicactl's version; a release build sets it with
// -ldflags "-X main.version=v1.2.3". Unset, the module version of the
// build (go install ...@v1.2.3) is used, or "devel".
var version = ""

// versionLine is "replicactl VERSION (commit REV[-dirty], GO)".
func versionLine(prog string) string { return buildinfo.Line(prog, version) }
