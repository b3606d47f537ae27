package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// CIM-XML (--cimxml-listen, DSP0200 on /cimom) driven by Debian's
// sblim-wbemcli, a CIM-XML client no one here wrote: it asks GetClass for
// the declarations before every call, so the class declarations, the
// instances, the paths and the method parameters must all be in the shape
// a real CIMOM gives them.

// cimxmlAddr returns the address the daemon's CIM-XML listener logged.
func cimxmlAddr(t *testing.T, d *daemon) string {
	t.Helper()
	return listenerAddr(t, d, "cimxml")
}

// listenerAddr returns the address of the listener whose "listening" log
// line has scheme.
func listenerAddr(t *testing.T, d *daemon, scheme string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range d.logsWith("listening") {
			if e["scheme"] == scheme {
				return e["addr"].(string)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s listener logged\n%s", scheme, d.logText())
	return ""
}

// wbem runs wbemcli against the daemon's CIM-XML listener and returns its
// output; object is "namespace:Class[.keys]".
type wbem struct {
	t    *testing.T
	base string // http://user:pw@host:port/
}

func newWbem(t *testing.T, d *daemon) *wbem {
	return &wbem{t: t, base: fmt.Sprintf("http://%s:%s@%s/", d.user, d.password, cimxmlAddr(t, d))}
}

func (w *wbem) run(op string, args ...string) string {
	w.t.Helper()
	out, err := w.try(op, args...)
	if err != nil {
		w.t.Fatalf("wbemcli %s %s: %v\n%s", op, strings.Join(args, " "), err, out)
	}
	return out
}

// try runs wbemcli op [flags] object [rest]: args holding "OBJ=" get the
// base URL in front.
func (w *wbem) try(op string, args ...string) (string, error) {
	full := []string{op}
	for _, a := range args {
		if p, ok := strings.CutPrefix(a, "OBJ="); ok {
			a = w.base + p
		}
		full = append(full, a)
	}
	out, err := exec.Command("wbemcli", full...).CombinedOutput()
	return string(out), err
}

// paths returns the object paths wbemcli printed (one per line, after
// "host:port/" when it wrote one), as "namespace:Class.keys".
func wbemPaths(out string) []string {
	var ps []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "-") {
			continue
		}
		if i := strings.Index(line, "/"); i >= 0 && !strings.HasPrefix(line, "root/") && !strings.HasPrefix(line, "interop") {
			line = line[i+1:]
		}
		if j := strings.Index(line, " "); j >= 0 {
			line = line[:j]
		}
		ps = append(ps, line)
	}
	return ps
}

// wbemProps reads "-Name=value" lines of one instance printed with -nl.
func wbemProps(out string) map[string]string {
	props := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "-"), "="); ok && strings.HasPrefix(strings.TrimSpace(line), "-") {
			props[k] = strings.Trim(v, `"`)
		}
	}
	return props
}

// cmResult parses "… Method: rc, Param (type): value, …" as wbemcli cm
// prints it.
var cmRC = regexp.MustCompile(`: (\d+)(?:, |$)`)

func wbemCall(out string) (rc string, params map[string]string) {
	params = map[string]string{}
	line := strings.TrimSpace(out)
	if m := cmRC.FindStringSubmatchIndex(line); m != nil {
		rc = line[m[2]:m[3]]
		line = line[m[1]:]
	}
	for _, part := range strings.Split(line, ", ") {
		name, value, ok := strings.Cut(part, ": ")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, " (")
		params[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	return rc, params
}

const cimNS = "root/cimv2/storage/iscsitarget"

func TestCIMXMLWbemcli(t *testing.T) {
	t.Parallel()
	requireClient(t, "wbemcli (sblim-wbemcli)", lookPath("wbemcli"))
	dataDir := t.TempDir()
	replWriteImage(t, dataDir, "src", 8<<20, 64<<10, 1<<20)
	d := startDaemon(t, dataDir, "--cimxml-listen", "127.0.0.1:0")
	w := newWbem(t, d)

	// Pools and volumes, polymorphically through the DMTF classes.
	pools := wbemPaths(w.run("ein", "OBJ="+cimNS+":CIM_StoragePool"))
	if len(pools) != 1 || !strings.Contains(pools[0], "MSISCSITARGET_StoragePool") {
		t.Fatalf("pools %v, want the default pool", pools)
	}
	vols := w.run("ei", "-nl", "OBJ="+cimNS+":CIM_StorageVolume")
	if !strings.Contains(vols, `-ElementName="src"`) {
		t.Fatalf("volumes lack src:\n%s", vols)
	}
	src := wbemPaths(w.run("ein", "OBJ="+cimNS+":CIM_StorageVolume"))[0]

	// GetInstance of one volume.
	props := wbemProps(w.run("gi", "-nl", "OBJ="+src))
	if props["ElementName"] != "src" || props["BlockSize"] == "" || props["NumberOfBlocks"] == "" {
		t.Errorf("GetInstance of src: %v", props)
	}

	// A volume from the pool (CreateOrModifyElementFromStoragePool).
	scs := wbemPaths(w.run("ein", "OBJ="+cimNS+":CIM_StorageConfigurationService"))[0]
	rc, out := wbemCall(w.run("cm", "OBJ="+scs, fmt.Sprintf(`CreateOrModifyElementFromStoragePool.ElementName="made",ElementType=2,Size=%d,InPool=%s`,
		4<<20, strings.TrimPrefix(pools[0], cimNS+":"))))
	if rc != "0" || !strings.Contains(out["TheElement"], "MSISCSITARGET_StorageVolume") || out["Size"] != fmt.Sprint(4<<20) {
		t.Fatalf("CreateOrModifyElementFromStoragePool: rc %s, out %v", rc, out)
	}
	if st, err := os.Stat(filepath.Join(replPoolDir(dataDir), "made.img")); err != nil || st.Size() != 4<<20 {
		t.Errorf("made.img: %v, %v", st, err)
	}

	// Associators: volume → its pool.
	pool := wbemPaths(w.run("ain", "-ac", "CIM_AllocatedFromStoragePool", "OBJ="+src))
	if len(pool) != 1 || !strings.Contains(pool[0], "replicad:pool:default") {
		t.Errorf("volume → pool: %v", pool)
	}

	// CreateElementReplica (a clone), the job polled to completion, the
	// replica's bytes, and the volume → replica association.
	rs := wbemPaths(w.run("ein", "OBJ="+cimNS+":CIM_ReplicationService"))[0]
	rc, out = wbemCall(w.run("cm", "OBJ="+rs, `CreateElementReplica.ElementName="r1",SyncType=8,SourceElement=`+strings.TrimPrefix(src, cimNS+":")))
	if rc != "4096" || out["Job"] == "" {
		t.Fatalf("CreateElementReplica: rc %s, out %v", rc, out)
	}
	wbemWaitJob(t, w, out["Job"])
	replSameImage(t, dataDir, "src", "r1")
	replicas := w.run("ai", "-nl", "-ac", "CIM_StorageSynchronized", "-arr", "SyncedElement", "OBJ="+src)
	if !strings.Contains(replicas, `-ElementName="r1"`) {
		t.Errorf("volume → replicas lacks r1:\n%s", replicas)
	}

	// CreateGroup and CreateGroupReplica (a snapshot of the group, the
	// provider making the target group and volumes), polled the same way.
	rc, out = wbemCall(w.run("cm", "OBJ="+rs, `CreateGroup.GroupName="g",Members=`+strings.TrimPrefix(src, cimNS+":")))
	if rc != "0" || out["ReplicationGroup"] == "" {
		t.Fatalf("CreateGroup: rc %s, out %v", rc, out)
	}
	rc, out = wbemCall(w.run("cm", "OBJ="+rs, `CreateGroupReplica.RelationshipName="gs",SyncType=8,SourceGroup=`+
		strings.TrimPrefix(out["ReplicationGroup"], cimNS+":")))
	if rc != "4096" || out["Job"] == "" {
		t.Fatalf("CreateGroupReplica: rc %s, out %v", rc, out)
	}
	wbemWaitJob(t, w, out["Job"])
	replSameImage(t, dataDir, "src", "gs_1")
}

// wbemWaitJob polls a job with GetInstance until it is no longer running,
// and requires it to have completed as SMI-S clients check it: JobState 7,
// OperationalStatus {2, 17}, PercentComplete 100, ErrorCode 0.
func wbemWaitJob(t *testing.T, w *wbem, job string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		props := wbemProps(w.run("gi", "-nl", "OBJ="+job))
		switch props["JobState"] {
		case "2", "3", "4":
			if time.Now().After(deadline) {
				t.Fatalf("job %s still running: %v", job, props)
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if props["JobState"] != "7" || props["OperationalStatus"] != "2,17" || props["PercentComplete"] != "100" || props["ErrorCode"] != "0" {
			t.Fatalf("job %s ended as %v", job, props)
		}
		return props
	}
}

// With --tls-cert and --tls-key the CIM-XML listener is HTTPS (5989 by
// convention): wbemcli verifies the certificate with -cacert, and plain
// HTTP gets no CIM answer.
func TestCIMXMLHTTPS(t *testing.T) {
	t.Parallel()
	requireClient(t, "wbemcli (sblim-wbemcli)", lookPath("wbemcli"))
	dir := t.TempDir()
	if out, err := exec.Command(binary, "cert", "--host", "127.0.0.1", "--out", dir).CombinedOutput(); err != nil {
		t.Fatalf("replicad cert: %v\n%s", err, out)
	}
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	d := startDaemon(t, "", "--cimxml-listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	addr := listenerAddr(t, d, "cimxml-https")
	url := fmt.Sprintf("https://%s:%s@%s/interop:CIM_RegisteredProfile", d.user, d.password, addr)
	out, err := exec.Command("wbemcli", "ein", "-cacert", cert, url).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `InstanceID="SNIA:Array:`) {
		t.Fatalf("wbemcli over HTTPS: %v\n%s", err, out)
	}
	if out, err := exec.Command("wbemcli", "ein", strings.Replace(url, "https://", "http://", 1)).CombinedOutput(); err == nil {
		t.Errorf("plain HTTP to the HTTPS listener answered:\n%s", out)
	}
}
