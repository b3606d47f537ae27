package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Issue 21 item 3, seen from CIM-XML: a job polled as fast as a client can
// poll it is consistent in every answer. CoprHD treats PercentComplete 100
// as "finished" and then reads OperationalStatus; libstoragemgmt reads
// JobState and OperationalStatus; Cinder reads ErrorCode. So in every
// sample: PercentComplete 100 only with a final JobState and Completed
// (17) in OperationalStatus; Completed only with a final JobState; JobState
// 7 only with OperationalStatus {2, 17}, PercentComplete 100 and ErrorCode 0.
func TestCIMXMLJobConsistentWhilePolled(t *testing.T) {
	t.Parallel()
	requireClient(t, "xmllint (libxml2-utils)", lookPath("xmllint"))
	dataDir := t.TempDir()
	replWriteImage(t, dataDir, "big", 32<<20, 1<<20, 1<<20)
	d := startDaemon(t, dataDir, "--cimxml-listen", "127.0.0.1:0", "--copy-bandwidth", fmt.Sprint(8<<20))
	c := &pywbemClient{t: t, url: "http://" + cimxmlAddr(t, d) + "/cimom", user: d.user, pw: d.password}

	vols := namedInstances(c.imethod("EnumerateInstances", cimNS, pyParam("ClassName", pyClass("CIM_StorageVolume"))), cimNS)
	svcs := namedInstances(c.imethod("EnumerateInstances", cimNS, pyParam("ClassName", pyClass("CIM_ReplicationService"))), cimNS)
	if len(vols) != 1 || len(svcs) != 1 {
		t.Fatalf("%d volumes, %d replication services", len(vols), len(svcs))
	}
	rsp := c.do("CreateElementReplica", cimNS, `<METHODCALL NAME="CreateElementReplica">`+pywbemInstanceName(svcs[0].path, true)+
		`<PARAMVALUE NAME="ElementName" PARAMTYPE="string"><VALUE>bigcopy</VALUE></PARAMVALUE>`+
		`<PARAMVALUE NAME="SyncType" PARAMTYPE="uint16"><VALUE>8</VALUE></PARAMVALUE>`+
		`<PARAMVALUE NAME="SourceElement" PARAMTYPE="reference"><VALUE.REFERENCE>`+pywbemInstanceName(vols[0].path, true)+
		`</VALUE.REFERENCE></PARAMVALUE></METHODCALL>`, "METHODRESPONSE")
	ref := rsp.FindElement("PARAMVALUE[@NAME='Job']/VALUE.REFERENCE")
	if rv := rsp.FindElement("RETURNVALUE/VALUE"); rv == nil || rv.Text() != "4096" || ref == nil {
		t.Fatalf("CreateElementReplica of 32 MiB at 8 MiB/s did not start a job")
	}
	job := readPath(ref.ChildElements()[0], cimNS)
	get := pyParam("InstanceName", pywbemInstanceName(job, false)) +
		pyParam("PropertyList", pyList("JobState", "OperationalStatus", "PercentComplete", "ErrorCode"))
	samples, running := 0, 0
	deadline := time.Now().Add(2 * time.Minute)
	for {
		inst := readInstance(c.imethod("GetInstance", cimNS, get).FindElement("IRETURNVALUE/INSTANCE"), job)
		samples++
		state, pc, code := inst.props["JobState"], inst.props["PercentComplete"], inst.props["ErrorCode"]
		os := strings.Join(inst.arrays["OperationalStatus"], ",")
		final := state != "2" && state != "3" && state != "4"
		completed := strings.Contains(","+os+",", ",17,")
		switch {
		case pc == "100" && (!final || !completed):
			t.Fatalf("sample %d: PercentComplete 100 with JobState %s, OperationalStatus {%s}", samples, state, os)
		case completed && !final:
			t.Fatalf("sample %d: OperationalStatus {%s} with JobState %s", samples, os, state)
		case state == "7" && (os != "2,17" || pc != "100" || code != "0"):
			t.Fatalf("sample %d: JobState 7 with OperationalStatus {%s}, PercentComplete %s, ErrorCode %s", samples, os, pc, code)
		}
		if !final {
			running++
		}
		if final {
			if state != "7" {
				t.Fatalf("job ended in JobState %s", state)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still running after %d samples", samples)
		}
	}
	if running == 0 {
		t.Errorf("no sample saw the job running (%d samples): the copy was too fast to test anything", samples)
	}
	replSameImage(t, dataDir, "big", "bigcopy")
	t.Logf("%d samples, %d while running", samples, running)
}
