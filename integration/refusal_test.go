package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPywinrmRefusalSaysWhy runs testdata/pywinrm/refusal.py against the
// real daemon: a volume named "../escape" is refused with ReturnValue 5
// (unchanged for SMI-S clients) and the Method_OUTPUT carries an
// ExtendedStatus CIM_Error whose Message gives the reason, with no server
// folder in it.
func TestPywinrmRefusalSaysWhy(t *testing.T) {
	requirePywinrm(t)
	d := startDaemon(t, "")
	out, err := exec.Command("/usr/bin/python3", "testdata/pywinrm/refusal.py", d.url(), d.user, d.password).CombinedOutput()
	if err != nil {
		t.Fatalf("refusal.py: %v\n%s\n%s", err, out, d.logText())
	}
	var got struct {
		ReturnValue string            `json:"returnValue"`
		Type        string            `json:"type"`
		Error       map[string]string `json:"error"`
		Output      string            `json:"output"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("refusal.py output: %v\n%s", err, out)
	}
	if got.ReturnValue != "5" {
		t.Errorf("ReturnValue %q, want 5", got.ReturnValue)
	}
	if !strings.HasSuffix(got.Type, "CIM_Error_Type") {
		t.Errorf("ExtendedStatus xsi:type %q, want CIM_Error_Type\n%s", got.Type, got.Output)
	}
	msg := got.Error["Message"]
	if !strings.Contains(msg, "invalid name") || !strings.Contains(msg, "../escape") {
		t.Errorf("Message %q, want the invalid name\n%s", msg, got.Output)
	}
	if got.Error["CIMStatusCode"] != "4" || got.Error["MessageID"] != "REPLICAD1005" || got.Error["OwningEntity"] != "replicad" {
		t.Errorf("CIM_Error %v, want CIMStatusCode 4, MessageID REPLICAD1005, OwningEntity replicad", got.Error)
	}
	if strings.Contains(got.Output, d.dataDir) {
		t.Errorf("the answer shows the data folder %s:\n%s", d.dataDir, got.Output)
	}
	if _, err := os.Stat(filepath.Join(d.dataDir, "pools", "escape.img")); err == nil {
		t.Errorf("a refused call created escape.img")
	}
	t.Logf("Method_OUTPUT: %s", got.Output)
}
