package provider

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
)

// The -update flag (shared with the storage goldens) rewrites the goldens
// under testdata/replication.
var _ = func() bool {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata")
	}
	return true
}()

var (
	goldenUUID     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	goldenDatetime = regexp.MustCompile(`(<cim:(Datetime|Interval)>)[^<]*(</cim:(Datetime|Interval)>)`)
	// goldenSeconds matches the copy time in a job's JobStatus.
	goldenSeconds = regexp.MustCompile(` in [0-9]+\.[0-9]+ s\b`)
	// goldenDataPath matches the engine's data path in a job's JobStatus: the
	// engine picks it per filesystem (reflink, O_DIRECT or the page cache), so
	// it depends on the machine's temporary directory, not on the provider.
	goldenDataPath = regexp.MustCompile(` by (reflink|copy_file_range|readwrite|readwrite \(O_DIRECT\)), `)
)

// replicationGolden compares xml, with UUIDs, datetimes, copy times and data
// paths blanked, with testdata/replication/name.xml.
func replicationGolden(t *testing.T, name, xml string) {
	t.Helper()
	xml = goldenUUID.ReplaceAllString(xml, "UUID")
	xml = goldenDatetime.ReplaceAllString(xml, "${1}TIME${3}")
	xml = goldenSeconds.ReplaceAllString(xml, " in SECONDS s")
	xml = goldenDataPath.ReplaceAllString(xml, " by DATAPATH, ")
	path := filepath.Join("testdata", "replication", name+".xml")
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, []byte(xml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != xml {
		t.Errorf("%s differs from its golden:\ngot\n%s\nwant\n%s", name, xml, want)
	}
}

func encodeXML(t *testing.T, e *etree.Element) string {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(e)
	doc.Indent(1)
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReplicationGoldens encodes the instances of a finished group clone
// and the method outputs clients read, as WS-CIM XML.
func TestReplicationGoldens(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	src := e.volume("src", rMiB)
	res := e.call("CreateGroupReplica", param("RelationshipName", "gold"), param("SyncType", "8"),
		refParam("SourceElement", e.p.volumePath(src)))
	if res.ReturnValue != returnJobStarted {
		t.Fatalf("CreateGroupReplica: %d", res.ReturnValue)
	}
	svcClass, _ := e.reg.Class(Namespace, replicationServiceClassName)
	m, _ := e.reg.Method(svcClass, "CreateGroupReplica")
	replicationGolden(t, "CreateGroupReplica_OUTPUT", encodeXML(t, cimmodel.EncodeOutput(nil, m, cimmodel.ResourceURI(Namespace, replicationServiceClassName), res)))
	job := outRef(t, res, "Job")
	e.waitJob(job)
	tgt, err := e.p.volumes.Lookup(ctx, "default", "gold_1")
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]cimmodel.ObjectPath{
		concreteJobClassName:         job,
		replicationGroupClassName:    outRef(t, res, "TargetGroup"),
		groupSynchronizedClassName:   outRef(t, res, "Synchronization"),
		storageSynchronizedClassName: e.p.syncPath(src, tgt.ID),
		replicationCapabilitiesClass: e.p.capabilitiesPath(),
	} {
		t.Run(name, func(t *testing.T) {
			inst, err := e.reg.Get(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if err := inst.Check(); err != nil {
				t.Errorf("Check: %v", err)
			}
			replicationGolden(t, name, encodeXML(t, cimmodel.EncodeInstance(nil, inst)))
		})
	}
	capsClass, _ := e.reg.Class(Namespace, replicationCapabilitiesClass)
	gm, _ := e.reg.Method(capsClass, "GetDefaultReplicationSettingData")
	out, err := e.invoke(e.p.capabilitiesPath(), "GetDefaultReplicationSettingData", param("ReplicationType", "11"))
	if err != nil {
		t.Fatal(err)
	}
	replicationGolden(t, "GetDefaultReplicationSettingData_OUTPUT", encodeXML(t, cimmodel.EncodeOutput(nil, gm, cimmodel.ResourceURI(Namespace, replicationCapabilitiesClass), out)))
}
