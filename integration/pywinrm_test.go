package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// requirePywinrm skips (or fails, under REPLICAD_REQUIRE_CLIENTS=1) when
// Debian's python3-winrm is missing.
func requirePywinrm(t *testing.T) {
	t.Helper()
	requireClient(t, "python3-winrm", func() error {
		return exec.Command("/usr/bin/python3", "-c", "import winrm, xmltodict").Run()
	})
}

// TestPywinrmProtocol runs testdata/pywinrm/replicate.py: pywinrm's own
// Protocol and transport (Basic, message_encryption='never') send Identify,
// plain Enumerate + Pull and the Invokes up to a CreateGroupReplica clone,
// then poll its job with Get.
func TestPywinrmProtocol(t *testing.T) {
	t.Parallel()
	requirePywinrm(t)
	d := startDaemon(t, "")
	out, err := exec.Command("/usr/bin/python3", "testdata/pywinrm/replicate.py", d.url(), d.user, d.password).CombinedOutput()
	if err != nil {
		t.Fatalf("replicate.py: %v\n%s\n%s", err, out, d.logText())
	}
	var got struct {
		ProtocolVersion    string   `json:"protocolVersion"`
		ConfigServices     int      `json:"configServices"`
		CreateVolume       []string `json:"createVolume"`
		Volumes            []string `json:"volumes"`
		VolumePulls        int      `json:"volumePulls"`
		CreateGroup        string   `json:"createGroup"`
		CreateGroupReplica string   `json:"createGroupReplica"`
		JobState           string   `json:"jobState"`
		PercentComplete    string   `json:"percentComplete"`
		OperationalStatus  []string `json:"operationalStatus"`
		Fault              string   `json:"fault"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("replicate.py output: %v\n%s", err, out)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"protocol version", got.ProtocolVersion, "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"},
		{"configuration services", got.ConfigServices, 1},
		{"volume creation", got.CreateVolume, []string{"0", "0"}},
		{"volumes", got.Volumes, []string{"py1", "py2"}},
		{"one item per Pull, then the end", got.VolumePulls, 2},
		{"CreateGroup", got.CreateGroup, "0"},
		{"CreateGroupReplica", got.CreateGroupReplica, "4096"},
		{"job state", got.JobState, "7"},
		{"percent complete", got.PercentComplete, "100"},
		{"operational status", got.OperationalStatus, []string{"2", "17"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !strings.Contains(got.Fault, "DestinationUnreachable") {
		t.Errorf("fault = %q, want pywinrm's WinRMError with the DestinationUnreachable subcode", got.Fault)
	}
	for _, f := range []string{"pyrel_1.img", "pyrel_2.img"} {
		if _, err := os.Stat(filepath.Join(d.dataDir, "pools", "default", f)); err != nil {
			t.Errorf("clone target: %v", err)
		}
	}
}
