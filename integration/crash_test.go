package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// crashConfig sizes one crash run. The short form (the default under
// `go test`) keeps the whole test well under a minute; `make crashtest`
// sets REPLICAD_CRASH_ROUNDS, REPLICAD_CRASH_SIZE and REPLICAD_CRASH_SEED.
type crashConfig struct {
	rounds    int
	size      int64 // apparent bytes of each source image
	bandwidth int64 // --copy-bandwidth while the daemon is being killed
	seed      uint64
}

func crashConfigFromEnv(t *testing.T) crashConfig {
	t.Helper()
	cfg := crashConfig{rounds: 5, size: 64 << 20, bandwidth: 24 << 20, seed: uint64(time.Now().UnixNano())}
	if v := os.Getenv("REPLICAD_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("REPLICAD_CRASH_ROUNDS=%q: want a positive integer", v)
		}
		cfg.rounds = n
	}
	if v := os.Getenv("REPLICAD_CRASH_SIZE"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 16<<20 || n%(8<<20) != 0 {
			t.Fatalf("REPLICAD_CRASH_SIZE=%q: want bytes, a multiple of 8 MiB, at least 16 MiB", v)
		}
		cfg.size = n
		// Keep each copy a few seconds long whatever the size.
		cfg.bandwidth = max(cfg.bandwidth, n/4)
	}
	if v := os.Getenv("REPLICAD_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("REPLICAD_CRASH_SEED=%q: want an unsigned integer", v)
		}
		cfg.seed = n
	}
	return cfg
}

// kill9 sends SIGKILL and waits for the process to be gone.
func (d *daemon) kill9() {
	d.t.Helper()
	if err := d.cmd.Process.Kill(); err != nil {
		d.t.Fatalf("kill -9: %v", err)
	}
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		d.t.Fatalf("replicad still alive 30 s after SIGKILL")
	}
}

// fileHash returns the SHA-256 of a file's bytes.
func fileHash(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatalf("hash %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// crashJob is one replica job started over the wire: its EPR and the
// target each source should end up copied to.
type crashJob struct {
	epr     replEPR
	kind    string
	sources []string
	targets []string
}

// checkStore opens state.db read-only with bbolt and checks every page.
func checkStore(t *testing.T, dataDir string) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dataDir, "state.db"), 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open state.db after the crashes: %v", err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			return e
		}
		return nil
	})
	if err != nil {
		t.Errorf("state.db consistency check: got %v, want no error", err)
	}
}

// TestCrashKill9 starts replica jobs (CreateElementReplica and
// CreateGroupReplica over the wire), kills the daemon with SIGKILL at seeded
// random moments and restarts it on the same data folder, round after round.
// Then every job has either completed with byte-identical targets or ended
// Failed/Terminated with an error, no source changed, no synchronization
// reports Synchronized over differing bytes, and the store is consistent.
func TestCrashKill9(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills and restarts the daemon repeatedly")
	}
	cfg := crashConfigFromEnv(t)
	t.Logf("crash test: seed %d (REPLICAD_CRASH_SEED to replay), %d rounds, %d MiB sources, %d MiB/s",
		cfg.seed, cfg.rounds, cfg.size>>20, cfg.bandwidth>>20)
	rng := rand.New(rand.NewPCG(cfg.seed, 0x7265706c))

	dir := t.TempDir()
	sources := []string{"src1", "src2", "src3"}
	hashes := map[string]string{}
	for _, s := range sources {
		replWriteImage(t, dir, s, cfg.size, 1<<20, 2<<20)
		hashes[s] = fileHash(t, filepath.Join(replPoolDir(dir), s+".img"))
	}
	bw := strconv.FormatInt(cfg.bandwidth, 10)

	// src1 and src2 form a group replicated with CreateGroupReplica; src3
	// is replicated alone with CreateElementReplica.
	d := startDaemon(t, dir, "--copy-bandwidth", bw)
	c := newReplCIM(t, d)
	svc := c.service()
	vols := c.volumes()
	out, rv := c.invoke(svc, "CreateGroup", replScalar("GroupName", "crashgrp"),
		vols["src1"].param("Members"), vols["src2"].param("Members"))
	if rv != 0 {
		t.Fatalf("CreateGroup: ReturnValue %d, want 0", rv)
	}
	group := c.out(out, "ReplicationGroup")

	var jobs []crashJob
	kills, terminates := 0, 0
	durable := map[string]bool{} // targets of jobs seen completed: they must survive every later crash
	for round := 1; round <= cfg.rounds; round++ {
		if round > 1 {
			d = startDaemon(t, dir, "--copy-bandwidth", bw)
			c = newReplCIM(t, d)
			svc = c.service()
			vols = c.volumes()
			crashCheckRestart(t, c, group, jobs, vols, durable)
		}
		rel := fmt.Sprintf("g%d", round)
		out, rv := c.invoke(svc, "CreateGroupReplica", replScalar("RelationshipName", rel), replScalar("SyncType", "8"),
			replScalar("Mode", "3"), group.param("SourceGroup"))
		switch rv {
		case 4096:
			jobs = append(jobs, crashJob{epr: c.out(out, "Job"), kind: "group", sources: []string{"src1", "src2"},
				targets: []string{rel + "_1", rel + "_2"}})
		case 6: // a group copy from an earlier round still holds the sources
		default:
			t.Fatalf("round %d: CreateGroupReplica: ReturnValue %d, want 4096 or 6 (In Use)", round, rv)
		}
		name := fmt.Sprintf("e%d", round)
		out, rv = c.invoke(svc, "CreateElementReplica", replScalar("ElementName", name), replScalar("SyncType", "8"),
			vols["src3"].param("SourceElement"))
		switch rv {
		case 4096:
			jobs = append(jobs, crashJob{epr: c.out(out, "Job"), kind: "element", sources: []string{"src3"}, targets: []string{name}})
		case 6:
		default:
			t.Fatalf("round %d: CreateElementReplica: ReturnValue %d, want 4096 or 6 (In Use)", round, rv)
		}
		// Kill at a random moment of the copies: some rounds right after
		// the request (the state change), others deep in the copy. One
		// round in four also asks to terminate the newest job shortly
		// before, so that some kills land in the middle of a termination.
		wait := time.Duration(rng.Int64N(int64(3 * time.Second)))
		if len(jobs) > 0 && rng.IntN(4) == 0 {
			before := time.Duration(rng.Int64N(int64(wait) + 1))
			time.Sleep(wait - before)
			wait = before
			crashTerminateAsync(d, jobs[len(jobs)-1].epr)
			terminates++
		}
		t.Logf("round %d: %d jobs so far, kill -9 after %v", round, len(jobs), wait)
		time.Sleep(wait)
		d.kill9()
		kills++
	}

	// A last start without the bandwidth cap lets every resumed job finish.
	d = startDaemon(t, dir)
	c = newReplCIM(t, d)
	vols = c.volumes()
	completed, failed := 0, 0
	for i, j := range jobs {
		inst := c.waitJob(j.epr)
		switch state := replProp(inst, "JobState"); state {
		case "7":
			completed++
			replRequireCompleted(t, inst)
			for k, src := range j.sources {
				tgt := j.targets[k]
				if got := fileHash(t, filepath.Join(replPoolDir(dir), tgt+".img")); got != hashes[src] {
					t.Errorf("job %d (%s): completed target %s has hash %s, want %s of %s", i, j.kind, tgt, got, hashes[src], src)
				}
			}
		case "8", "10":
			failed++
			if replProp(inst, "ErrorCode") == "0" || replProp(inst, "ErrorDescription") == "" {
				t.Errorf("job %d (%s): JobState %s with ErrorCode %s ErrorDescription %q, want a nonzero code and a description",
					i, j.kind, state, replProp(inst, "ErrorCode"), replProp(inst, "ErrorDescription"))
			}
			if state == "8" {
				now := c.volumes()
				for _, tgt := range j.targets {
					if _, ok := now[tgt]; ok {
						t.Errorf("job %d (%s) was terminated, but its target %s is still listed", i, j.kind, tgt)
					}
					if _, err := os.Stat(filepath.Join(replPoolDir(dir), tgt+".img")); !os.IsNotExist(err) {
						t.Errorf("job %d (%s) was terminated; stat of its target file %s.img: got %v, want not-exist", i, j.kind, tgt, err)
					}
				}
			}
		default:
			t.Errorf("job %d (%s): final JobState %s, want 7, 8 or 10", i, j.kind, state)
		}
	}
	// No synchronization may claim Synchronized (CopyState 4) over bytes
	// that differ.
	vols = c.volumes()
	for _, j := range jobs {
		for k, src := range j.sources {
			tgt, ok := vols[j.targets[k]]
			if !ok {
				continue
			}
			s, err := c.get(replPairEPR(vols[src], tgt))
			if err != nil {
				continue
			}
			if replProp(s, "CopyState") == "4" {
				if got := fileHash(t, filepath.Join(replPoolDir(dir), j.targets[k]+".img")); got != hashes[src] {
					t.Errorf("%s→%s reports CopyState 4 (Synchronized), but the target hash is %s, want %s", src, j.targets[k], got, hashes[src])
				}
			}
		}
	}
	for _, f := range replPoolFiles(t, dir) {
		if strings.HasSuffix(f, ".replica") {
			t.Errorf("partial file %s left in the pool after every job ended", f)
		}
	}
	d.stop()
	for _, s := range sources {
		if got := fileHash(t, filepath.Join(replPoolDir(dir), s+".img")); got != hashes[s] {
			t.Errorf("source %s changed: hash %s, want %s", s, got, hashes[s])
		}
	}
	checkStore(t, dir)
	if len(jobs) == 0 {
		t.Fatalf("no job was started in %d rounds", cfg.rounds)
	}
	t.Logf("RELIABILITY crash kills=%d terminates=%d jobs=%d completed=%d failed=%d seed=%d", kills, terminates, len(jobs), completed, failed, cfg.seed)
}

// crashCheckRestart checks what a restart must keep: every job started so
// far, the source group, the sources, and the targets of every job seen
// completed. It adds the targets of jobs now completed to durable.
func crashCheckRestart(t *testing.T, c *replCIM, group replEPR, jobs []crashJob, vols map[string]replEPR, durable map[string]bool) {
	t.Helper()
	if _, err := c.get(group); err != nil {
		t.Errorf("after restart: the source group is gone: %v", err)
	}
	for _, s := range []string{"src1", "src2", "src3"} {
		if _, ok := vols[s]; !ok {
			t.Errorf("after restart: source volume %s is not listed", s)
		}
	}
	for tgt := range durable {
		if _, ok := vols[tgt]; !ok {
			t.Errorf("after restart: target %s of a completed job is not listed", tgt)
		}
	}
	for i, j := range jobs {
		inst, err := c.get(j.epr)
		if err != nil {
			t.Errorf("after restart: job %d (%s) is gone: %v", i, j.kind, err)
			continue
		}
		if replProp(inst, "JobState") == "7" {
			for _, tgt := range j.targets {
				durable[tgt] = true
			}
		}
	}
}

// crashTerminateAsync asks for RequestStateChange(4) on job without waiting
// for the answer, which the coming kill may cut off.
func crashTerminateAsync(d *daemon, job replEPR) {
	env := envelopeHead + header(d.url(), job.uri+"/RequestStateChange", job.uri, replSelectorXML(job.selectors)) +
		`<s:Body><p:RequestStateChange_INPUT xmlns:p="` + html.EscapeString(job.uri) + `"><p:RequestedState>4</p:RequestedState></p:RequestStateChange_INPUT></s:Body></s:Envelope>`
	req, err := http.NewRequest(http.MethodPost, d.url(), strings.NewReader(env))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.SetBasicAuth(d.user, d.password)
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
}

// crashInvokeAsync invokes method on r without waiting for the answer,
// which the coming kill may cut off.
func crashInvokeAsync(d *daemon, r replEPR, method string, params ...string) {
	env := envelopeHead + header(d.url(), r.uri+"/"+method, r.uri, replSelectorXML(r.selectors)) +
		fmt.Sprintf(`<s:Body><p:%s_INPUT xmlns:p="%s">%s</p:%s_INPUT></s:Body></s:Envelope>`, method, html.EscapeString(r.uri), strings.Join(params, ""), method)
	req, err := http.NewRequest(http.MethodPost, d.url(), strings.NewReader(env))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.SetBasicAuth(d.user, d.password)
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
}

// crashEndRound is one round of TestCrashKill9Endings: a group of targets
// copies of one source, an operation on its GroupSynchronized, and the
// delay after which the daemon is killed.
type crashEndRound struct {
	name    string
	op      string // ModifyReplicaSynchronization Operation
	targets int
	delay   time.Duration
}

// TestCrashKill9Endings kills the daemon with SIGKILL a few milliseconds
// after Detach, Return To ResourcePool, Restore From Replica and Resync
// Replica of a group synchronization (64 or 32 targets for the endings,
// whose sidecars a Resync wrote first), restarts it, lets every job finish, and
// checks: no volume is refused deletion as a replication member unless a
// synchronization names it; no sidecar or partial copy is left that no
// synchronization names; the source and every target still hold the
// source's bytes; after the surviving relationships are detached, every
// target can be returned to its pool and no hidden file remains.
func TestCrashKill9Endings(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills and restarts the daemon repeatedly")
	}
	// The case (64 targets, 15 ms), a later kill on 32 targets
	// (the copies that set a round up are what takes the time), and
	// Restore and Resync killed early and late in their jobs.
	var rounds []crashEndRound
	for _, e := range []struct {
		ms, targets int
	}{{15, 64}, {40, 32}} {
		delay := time.Duration(e.ms) * time.Millisecond
		rounds = append(rounds, crashEndRound{"Detach", "8", e.targets, delay}, crashEndRound{"Return To ResourcePool", "19", e.targets, delay})
	}
	for _, ms := range []int{5, 30} {
		delay := time.Duration(ms) * time.Millisecond
		rounds = append(rounds, crashEndRound{"Restore From Replica", "15", 8, delay}, crashEndRound{"Resync Replica", "14", 8, delay})
	}
	dir := t.TempDir()
	replWriteImage(t, dir, "src", 1<<20, 64<<10, 256<<10)
	srcHash := fileHash(t, filepath.Join(replPoolDir(dir), "src.img"))
	d := startDaemon(t, dir)
	refusedUnpaired, leftFiles, ended := 0, 0, 0
	for i, r := range rounds {
		c := newReplCIM(t, d)
		svc := c.service()
		vols := c.volumes()
		rel := fmt.Sprintf("r%d", i)
		out, rv := c.invoke(svc, "CreateGroupReplica", replScalar("RelationshipName", rel), replScalar("SyncType", "8"),
			vols["src"].param("SourceElement"), replScalar("TargetElementCount", strconv.Itoa(r.targets)))
		if rv != 4096 {
			t.Fatalf("round %d: CreateGroupReplica: ReturnValue %d, want 4096", i, rv)
		}
		replRequireCompleted(t, c.waitJob(c.out(out, "Job")))
		gsync := c.out(out, "Synchronization")
		// A Resync writes every target's hash sidecar.
		out, rv = c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "14"), gsync.param("Synchronization"))
		if rv != 4096 && rv != 0 {
			t.Fatalf("round %d: Resync before the kill: ReturnValue %d", i, rv)
		}
		if rv == 4096 {
			replRequireCompleted(t, c.waitJob(c.out(out, "Job")))
		}
		sidecars := 0
		for _, f := range crashHiddenFiles(t, dir) {
			if strings.HasPrefix(f, "."+rel+"_") && strings.HasSuffix(f, ".img.hashes") {
				sidecars++
			}
		}
		if sidecars != r.targets {
			t.Fatalf("round %d: %d sidecars after the Resync, want one per target (%d)", i, sidecars, r.targets)
		}

		t.Logf("round %d: %s of %d targets, kill -9 after %v", i, r.name, r.targets, r.delay)
		crashInvokeAsync(d, svc, "ModifyReplicaSynchronization", replScalar("Operation", r.op), gsync.param("Synchronization"))
		time.Sleep(r.delay)
		d.kill9()
		d = startDaemon(t, dir)
		c = newReplCIM(t, d)
		_, jobs := c.enumerate(replURIJob)
		for _, j := range jobs {
			c.waitJob(j)
		}
		svc = c.service()
		vols = c.volumes()
		paired := crashPairedVolumes(c)
		// Hidden files only of targets still paired.
		for _, f := range crashHiddenFiles(t, dir) {
			if !strings.HasPrefix(f, "."+rel+"_") {
				continue
			}
			name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(f, "."), ".img.hashes"), ".img.replica")
			if v, ok := vols[name]; !ok || !paired[selectorValue(v.selectors, "DeviceID")] {
				t.Errorf("round %d (%s after %v): %s left with no synchronization naming %s", i, r.name, r.delay, f, name)
				leftFiles++
			}
		}
		// Bytes: every operation here keeps source and targets equal.
		if got := fileHash(t, filepath.Join(replPoolDir(dir), "src.img")); got != srcHash {
			t.Fatalf("round %d (%s after %v): the source changed: %s, want %s", i, r.name, r.delay, got, srcHash)
		}
		// Deleting: refused only for volumes a synchronization names.
		conf := crashConfService(c)
		for name, v := range vols {
			if !strings.HasPrefix(name, rel+"_") {
				continue
			}
			_, rv := c.invoke(conf, "ReturnToStoragePool", v.param("TheElement"))
			switch {
			case rv == 0:
			case rv == 32768 && paired[selectorValue(v.selectors, "DeviceID")]:
			case rv == 32768:
				refusedUnpaired++
				t.Errorf("round %d (%s after %v): %s refused as a replication member, but no synchronization names it", i, r.name, r.delay, name)
			default:
				t.Errorf("round %d (%s after %v): ReturnToStoragePool of %s: %d, want 0 or 32768", i, r.name, r.delay, name, rv)
			}
		}
		// The relationship that survived (the kill came first) is
		// detached; then every target goes back to the pool.
		if _, err := c.get(gsync); err != nil {
			ended++
		} else {
			if _, rv := c.invoke(svc, "ModifyReplicaSynchronization", replScalar("Operation", "8"), gsync.param("Synchronization")); rv != 0 {
				t.Fatalf("round %d (%s after %v): Detach of the surviving relationship: %d", i, r.name, r.delay, rv)
			}
		}
		for name, v := range c.volumes() {
			if !strings.HasPrefix(name, rel+"_") {
				continue
			}
			if got := fileHash(t, filepath.Join(replPoolDir(dir), name+".img")); got != srcHash {
				t.Errorf("round %d (%s after %v): target %s differs from the source", i, r.name, r.delay, name)
			}
			if _, rv := c.invoke(conf, "ReturnToStoragePool", v.param("TheElement")); rv != 0 {
				t.Errorf("round %d (%s after %v): ReturnToStoragePool of %s after Detach: %d, want 0", i, r.name, r.delay, name, rv)
			}
		}
		if left := crashHiddenFiles(t, dir); len(left) != 0 {
			t.Errorf("round %d (%s after %v): hidden files after every relationship ended: %d, first %s", i, r.name, r.delay, len(left), left[0])
		}
		for name := range c.volumes() {
			if strings.HasPrefix(name, rel+"_") {
				t.Errorf("round %d (%s after %v): target %s is left after every relationship ended", i, r.name, r.delay, name)
			}
		}
	}
	d.stop()
	checkStore(t, dir)
	t.Logf("RELIABILITY crash-endings rounds=%d ended-before-kill=%d refused-unpaired=%d orphan-files=%d", len(rounds), ended, refusedUnpaired, leftFiles)
}

// crashHiddenFiles lists the sidecars and partial copies of the default pool.
func crashHiddenFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, f := range replPoolFiles(t, dir) {
		if strings.HasSuffix(f, ".img.hashes") || strings.HasSuffix(f, ".img.replica") {
			out = append(out, f)
		}
	}
	return out
}

// crashPairedVolumes returns the DeviceIDs of the volumes a
// StorageSynchronized names, as source or target.
func crashPairedVolumes(c *replCIM) map[string]bool {
	insts, _ := c.enumerate(replWMI + "MSISCSITARGET_StorageSynchronized")
	out := map[string]bool{}
	for _, inst := range insts {
		for _, k := range inst.ChildElements() {
			if k.Tag == "SystemElement" || k.Tag == "SyncedElement" {
				out[selectorValue(find(k, nsWSMan, "SelectorSet"), "DeviceID")] = true
			}
		}
	}
	return out
}

// crashConfService is the storage configuration service's EPR.
func crashConfService(c *replCIM) replEPR {
	c.t.Helper()
	_, eprs := c.enumerate(replWMI + "MSISCSITARGET_StorageConfigurationService")
	if len(eprs) != 1 {
		c.t.Fatalf("%d storage configuration services, want 1", len(eprs))
	}
	return eprs[0]
}
