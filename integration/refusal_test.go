package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// TestPywinrmRefusalSaysWhy runs testdata/pywinrm/refusal.py against the
// real daemon: a volume named "../escape" is refused with ReturnValue 5
// (unchanged for SMI-S clients) and the Method_OUTPUT carries an
// ExtendedStatus CIM_Error whose Message gives the reason, with no server
// folder in it.
func TestPywinrmRefusalSaysWhy(t *testing.T) {
	t.Parallel()
	requirePywinrm(t)
	d := sharedDaemon(t)
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

// TestPowerShellRefusalSaysWhy replays the CreateGroupReplica that
// PowerShell's Invoke-CimMethod sends (testdata/powershell) when its first
// target's name, psrel_1, is taken: the MethodResponse keeps ReturnValue 5
// and carries ExtendedStatus as the MI client reads an embedded instance
// (xsi:type naming CIM_Error_Type in the DMTF class URI's namespace), whose
// Message ($r.ExtendedStatus.Message) gives the reason.
func TestPowerShellRefusalSaysWhy(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	c := ctl{t: t, bin: buildReplicactl(t), d: d}
	c.must("volume", "create", "ps1", "--size", "1M")
	c.must("volume", "create", "psrel_1", "--size", "1M")
	c.must("group", "create", "psg", "ps1")
	var groups []struct {
		InstanceID string `json:"instanceId"`
	}
	if err := json.Unmarshal([]byte(c.must("group", "list", "--output", "json")), &groups); err != nil || len(groups) != 1 {
		t.Fatalf("group list: %v (%d groups), want 1", err, len(groups))
	}
	var svcs []struct{ Properties map[string]any }
	if err := json.Unmarshal([]byte(c.must("enumerate", "MSISCSITARGET_ReplicationService", "--output", "json")), &svcs); err != nil || len(svcs) != 1 {
		t.Fatalf("replication service: %v", err)
	}
	system, _ := svcs[0].Properties["SystemName"].(string)
	vars := map[string]string{"TO": d.url(), "GROUP": groups[0].InstanceID, "SYSTEM": system}
	out := replay(t, d, "invoke-cimmethod-creategroupreplica.xml", vars)
	if out.Tag != "CreateGroupReplica_OUTPUT" {
		t.Fatalf("answer %s, want CreateGroupReplica_OUTPUT", out.Tag)
	}
	if rv := childText(out, "ReturnValue"); rv != "5" {
		t.Errorf("ReturnValue %s, want 5 (Invalid Parameter)", rv)
	}
	es := out.SelectElement("ExtendedStatus")
	if es == nil {
		t.Fatalf("no ExtendedStatus in the output")
	}
	typ := es.SelectAttrValue("xsi:type", "")
	prefix, local, _ := strings.Cut(typ, ":")
	if local != "CIM_Error_Type" {
		t.Errorf("ExtendedStatus xsi:type %q, want <prefix>:CIM_Error_Type", typ)
	}
	if ns := nsOf(es, prefix); ns != dmtfClassURI+"CIM_Error" {
		t.Errorf("xsi:type prefix %q is bound to %q, want %sCIM_Error", prefix, ns, dmtfClassURI)
	}
	msg := childText(es, "Message")
	if !strings.Contains(msg, "psrel_1 already exists") {
		t.Errorf("Message %q, want the taken name psrel_1", msg)
	}
	if childText(es, "CIMStatusCode") != "4" || !strings.HasPrefix(msg, "CreateGroupReplica: ") {
		t.Errorf("CIM_Error CIMStatusCode %s, Message %q", childText(es, "CIMStatusCode"), msg)
	}
	t.Logf("ExtendedStatus.Message: %s", msg)
}

// nsOf returns the namespace prefix is bound to in e's scope.
func nsOf(e *etree.Element, prefix string) string {
	for ; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value
			}
		}
	}
	return fmt.Sprintf("(unbound %s)", prefix)
}
