package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/replicad/replicad/store"
)

// --version says version, commit and Go version; --help lists every
// subcommand; user, cert and backup answer --help with status 0.
func TestVersionAndHelp(t *testing.T) {
	line := versionLine("replicad")
	if !regexp.MustCompile(`^replicad \S+ \(commit \S+, go\S+\)$`).MatchString(line) || !strings.Contains(line, runtime.Version()) {
		t.Errorf("versionLine = %q", line)
	}
	version = "v9.9.9"
	t.Cleanup(func() { version = "" })
	if line := versionLine("replicad"); !strings.HasPrefix(line, "replicad v9.9.9 (") {
		t.Errorf("versionLine with -X main.version = %q", line)
	}

	var help bytes.Buffer
	printUsage(&help, func() {})
	for _, want := range []string{"replicad user ", "replicad cert ", "replicad backup ", "replicad version"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, help.String())
		}
	}
	var out, errb bytes.Buffer
	for name, code := range map[string]int{
		"user --help":     runUser([]string{"--help"}, nil, &out, &errb),
		"user add --help": runUser([]string{"add", "--help"}, nil, &out, &errb),
		"cert --help":     runCert([]string{"--help"}, &out, &errb),
		"backup --help":   runBackup([]string{"--help"}, &out, &errb),
	} {
		if code != 0 {
			t.Errorf("%s: status %d, want 0", name, code)
		}
	}
	if !strings.Contains(out.String()+errb.String(), "usage: replicad user") {
		t.Errorf("user --help printed %q", out.String())
	}
}

// A pipe is no terminal: console logs written there carry no colour codes.
func TestNoColourOnAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) {
		t.Errorf("a pipe counted as a terminal")
	}
}

// The metrics listener is logged with the URL a browser takes.
func TestMetricsListenURL(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9100}
	if got := listenURL("metrics", addr); got != "http://127.0.0.1:9100/metrics" {
		t.Errorf("listenURL(metrics) = %q", got)
	}
}

// Without a daemon, replicad backup reads the store file with a read
// transaction: the copy opens and holds the records.
func TestBackupFromTheStoreFile(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *store.Tx) error { return tx.Put("things", "k", "v") }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out := filepath.Join(t.TempDir(), "copy.db")
	var stdout, stderr bytes.Buffer
	if code := runBackup([]string{"--data-dir", dir, "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("backup: %d %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "from the store file") {
		t.Errorf("backup said %q", stdout.String())
	}
	cp, err := store.Open(out, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var v string
	if err := cp.View(func(tx *store.Tx) error {
		_, err := tx.Get("things", "k", &v)
		return err
	}); err != nil || v != "v" {
		t.Errorf("the copy holds %q, %v; want v", v, err)
	}
}
