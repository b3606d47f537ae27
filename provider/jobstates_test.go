package provider

import "testing"

// TestJobStates counts the queue's jobs by state for the replicad_jobs metric.
func TestJobStates(t *testing.T) {
	e := newReplEnv(t)
	if got, err := e.p.JobStates(); err != nil || len(got) != 0 {
		t.Fatalf("JobStates before any job = %v, %v; want empty", got, err)
	}
	src := e.volume("src", rMiB)
	res := e.call("CreateElementReplica", param("ElementName", "clone1"), param("SyncType", "8"),
		refParam("SourceElement", e.p.volumePath(src)))
	e.waitJob(outRef(t, res, "Job"))
	got, err := e.p.JobStates()
	if err != nil {
		t.Fatal(err)
	}
	if got["Completed"] != 1 || len(got) != 1 {
		t.Errorf("JobStates = %v, want map[Completed:1]", got)
	}
}
