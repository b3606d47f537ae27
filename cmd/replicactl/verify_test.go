package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplicaVerify: identical → 0 and "identical"; a target written behind
// replicad's back → 1 with the first differing offset and Broken; an
// unknown replica → 2.
func TestReplicaVerify(t *testing.T) {
	e := newEnv(t)
	e.must(t, "volume", "create", "src", "--size", "2M")
	f, err := os.OpenFile(filepath.Join(e.dir, "pools", "default", "src.img"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte(strings.Repeat("source data ", 1000)), 0)
	f.Close()
	e.must(t, "replica", "create", "--source", "src", "--type", "clone", "--name", "c", "--wait")
	if out := e.must(t, "replica", "verify", "c"); !strings.HasPrefix(out, "identical") {
		t.Fatalf("verify of a fresh clone printed %q", out)
	}
	g, err := os.OpenFile(filepath.Join(e.dir, "pools", "default", "c.img"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	g.WriteAt([]byte("XYZ"), 1<<20+9)
	g.Close()
	code, out, errs := e.run("replica", "verify", "c", "--max", "2")
	if code != exitDiffers || !strings.Contains(out, "first differing offsets: 1048585 1048586\n") || !strings.Contains(out, "CopyState Broken") {
		t.Fatalf("verify of a corrupted clone: status %d, want 1\n%s%s", code, out, errs)
	}
	code, out, _ = e.run("replica", "verify", "c", "--output", "json")
	var res verifyResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != exitDiffers || res.Identical || res.Offsets[0] != 1<<20+9 || res.DifferingBytes != 3 {
		t.Fatalf("verify --output json: status %d, %+v, %v\n%s", code, res, err, out)
	}
	if code, _, errs := e.run("replica", "verify", "nope"); code != exitError || !strings.Contains(errs, `replica "nope" not found`) {
		t.Fatalf("verify of an unknown replica: status %d, want 2\n%s", code, errs)
	}
	if code, _, _ := e.run("replica", "verify"); code != 2 {
		t.Fatalf("verify without SYNC: status %d, want 2", code)
	}
}
