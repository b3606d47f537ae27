package integration

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// allowedImports is the import policy of docs/design.md, as a table: the
// packages of this module each package may import directly. A new import
// across a line fails this test (the idea of go/build's deps_test.go).
var allowedImports = map[string][]string{
	"soap":                      nil,
	"soap/soaptest":             {"soap"},
	"cimmodel":                  {"soap"},
	"store":                     nil,
	"users":                     nil,
	"ntlm":                      nil,
	"spnego":                    nil,
	"beneath":                   nil,
	"volumes":                   {"store", "beneath"},
	"jobqueue":                  {"store"},
	"replica/engine":            {"beneath"},
	"replica/engine/enginetest": nil,
	"replica":                   {"store", "beneath", "volumes", "jobqueue", "replica/engine"},
	"iscsi":                     {"store", "beneath", "volumes"},
	"wsman":                     {"soap", "cimmodel", "users", "ntlm", "spnego"},
	"cimxml":                    {"soap", "cimmodel", "users"},
	"provider":                  {"cimmodel", "volumes", "jobqueue", "replica", "iscsi"},
	"provider/providertest":     {"store", "volumes", "jobqueue", "replica", "provider"},
	"client":                    {"soap", "cimmodel", "ntlm", "spnego"},
	"metrics":                   nil,
	"internal/buildinfo":        nil,
	"integration":               nil,
}

// TestImportPolicy checks every package's direct imports of this module
// against allowedImports; commands (cmd/...) and benchmarks may import anything.
func TestImportPolicy(t *testing.T) {
	t.Parallel()
	const module = "github.com/replicad/replicad/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		if strings.HasPrefix(pkg, "cmd/") || strings.HasPrefix(pkg, "bench") {
			continue
		}
		allowed, known := allowedImports[pkg]
		if !known {
			t.Errorf("package %s is not in the import policy; add it to allowedImports (and docs/design.md)", pkg)
			continue
		}
		var bad []string
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			ok := false
			for _, a := range allowed {
				ok = ok || a == dep
			}
			if !ok {
				bad = append(bad, dep)
			}
		}
		sort.Strings(bad)
		if len(bad) > 0 {
			t.Errorf("%s imports %v, which the policy does not allow", pkg, bad)
		}
	}
}
