package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// shape is a record's schema: each key and the JSON kinds its value may
// have (string, number, bool, array, object, null).
type shape map[string][]string

// checkShape reports how rec differs from s: a missing or unknown key, or a
// value of another kind.
func checkShape(rec map[string]any, s shape) error {
	var errs []string
	for k, kinds := range s {
		v, ok := rec[k]
		if !ok {
			errs = append(errs, "no key "+k)
			continue
		}
		if kind := kindOf(v); !slices.Contains(kinds, kind) {
			errs = append(errs, fmt.Sprintf("%s is a %s, want %v", k, kind, kinds))
		}
	}
	for k := range rec {
		if _, ok := s[k]; !ok {
			errs = append(errs, "unknown key "+k)
		}
	}
	if errs != nil {
		sort.Strings(errs)
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

var (
	str, num, arr, obj = []string{"string"}, []string{"number"}, []string{"array"}, []string{"object"}
	volumeShape        = shape{"name": str, "deviceId": str, "sizeBytes": num, "status": arr, "path": str}
	groupShape         = shape{"name": str, "instanceId": str, "members": arr}
	replicaShape       = shape{"name": str, "kind": str, "source": str, "target": str, "type": str, "state": str,
		"percentSynced": {"number", "null"}}
	jobShape    = shape{"id": str, "instanceId": str, "name": str, "state": str, "percentComplete": num, "error": str}
	createShape = shape{"returnValue": num, "job": obj, "targets": arr, "synchronization": str, "targetGroup": str}
	jobRefShape = shape{"id": str, "path": str, "state": str, "percentComplete": num}
)

// TestJSONShapes checks the records of --output json against their
// schemas: numbers as numbers, lists as arrays, the same keys in every
// record, one object for replica create ({"returnValue":…,"job":{…}}), and
// every list sorted by name.
func TestJSONShapes(t *testing.T) {
	e := newEnv(t)
	for _, v := range []string{"zeta", "alpha", "mid"} {
		e.must(t, "volume", "create", v, "--size", "1M")
	}
	e.must(t, "group", "create", "gz", "zeta")
	e.must(t, "group", "create", "ga", "alpha", "mid")
	var created map[string]any
	if err := json.Unmarshal([]byte(e.must(t, "replica", "create", "--source-group", "ga", "--type", "clone", "--name", "cga",
		"--wait", "--output", "json")), &created); err != nil {
		t.Fatalf("replica create: %v", err)
	}
	if err := checkShape(created, createShape); err != nil {
		t.Errorf("replica create %v: %v", created, err)
	} else if err := checkShape(created["job"].(map[string]any), jobRefShape); err != nil {
		t.Errorf("replica create's job %v: %v", created["job"], err)
	}
	if created["returnValue"] != float64(4096) {
		t.Errorf("returnValue = %v, want 4096", created["returnValue"])
	}
	e.must(t, "replica", "create", "--source", "zeta", "--type", "snapshot", "--name", "asnap", "--wait")

	for _, tc := range []struct {
		args  []string
		shape shape
		n     int
	}{
		{[]string{"volume", "list"}, volumeShape, 6},
		{[]string{"group", "list"}, groupShape, 3},
		{[]string{"replica", "list"}, replicaShape, 4}, // cga, its two element pairs, asnap
		{[]string{"job", "list"}, jobShape, 2},
	} {
		var recs []map[string]any
		out := e.must(t, append(tc.args, "--output", "json")...)
		if err := json.Unmarshal([]byte(out), &recs); err != nil || len(recs) != tc.n {
			t.Errorf("%v: %v, %d records, want %d\n%s", tc.args, err, len(recs), tc.n, out)
			continue
		}
		var firsts []string
		for _, r := range recs {
			if err := checkShape(r, tc.shape); err != nil {
				t.Errorf("%v record %v: %v", tc.args, r, err)
			}
			first, _ := r["name"].(string)
			if tc.args[0] == "job" {
				first, _ = r["id"].(string)
			}
			firsts = append(firsts, first)
		}
		if !slices.IsSorted(firsts) {
			t.Errorf("%v: records in the order %v, want sorted", tc.args, firsts)
		}
	}
	if out := e.must(t, "volume", "list", "--output", "yaml"); !strings.Contains(out, "-\n  \"deviceId\": ") ||
		!strings.Contains(out, "  \"sizeBytes\": 1048576\n") || !strings.Contains(out, "  \"status\":\n    - \"OK\"\n") {
		t.Errorf("volume list --output yaml = %s", out)
	}
}

// A size the server rounds up to the block size is reported on stderr; an
// exact one is not.
func TestSizeRoundingSaysSo(t *testing.T) {
	e := newEnv(t)
	code, out, errs := e.run("volume", "create", "odd", "--size", "1000")
	if code != 0 || !strings.Contains(errs, "size 1000 rounded up to 1024") || !strings.Contains(out, "1024") {
		t.Errorf("volume create --size 1000: %d %q %q, want the rounding said on stderr", code, out, errs)
	}
	if code, _, errs := e.run("volume", "create", "even", "--size", "1024"); code != 0 || errs != "" {
		t.Errorf("volume create --size 1024: %d %q, want nothing on stderr", code, errs)
	}
}

// Every command and subcommand answers --help with the usage and status 0,
// and --version (or version) with version, commit and Go version.
func TestHelpAndVersion(t *testing.T) {
	getenv := func(string) string { return "" }
	for _, args := range [][]string{{"--help"}, {"help"}, {"volume", "--help"}, {"volume", "create", "--help"},
		{"group", "--help"}, {"replica", "--help"}, {"replica", "create", "--help"}, {"replica", "verify", "--help"},
		{"job", "--help"}, {"get", "--help"}, {"enumerate", "--help"}, {"invoke", "--help"}, {"delete", "--help"}} {
		var out, errb strings.Builder
		if code := run(context.Background(), args, getenv, &out, &errb); code != 0 || !strings.Contains(out.String(), "usage: replicactl") {
			t.Errorf("replicactl %v: status %d, stdout %.40q, stderr %q", args, code, out.String(), errb.String())
		}
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var out, errb strings.Builder
		if code := run(context.Background(), args, getenv, &out, &errb); code != 0 ||
			!regexp.MustCompile(`^replicactl \S+ \(commit \S+, go\S+\)\n$`).MatchString(out.String()) {
			t.Errorf("replicactl %v: status %d, %q", args, code, out.String())
		}
	}
}
