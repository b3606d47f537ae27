package replica_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/replica/engine"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

const MiB = 1 << 20

// env is a data directory with a real store, volumes, job queue and
// replication service.
type env struct {
	t    *testing.T
	dir  string
	db   *store.DB
	vols *volumes.Service
	jobs *jobqueue.Queue
	svc  *replica.Service
	opts replica.Options
	// progressEvery is the queue's ProgressInterval (10 ms when zero).
	progressEvery time.Duration
}

// newEnv opens everything; start says whether the job queue runs (a queue
// that is not started keeps jobs New, so requests keep their leases).
func newEnv(t *testing.T, start bool, opts replica.Options) *env {
	t.Helper()
	return newEnvIn(t, t.TempDir(), start, opts)
}

// newEnvIn is newEnv with the data directory (pools and store) in dir.
func newEnvIn(t *testing.T, dir string, start bool, opts replica.Options) *env {
	t.Helper()
	e := &env{t: t, dir: dir, opts: opts}
	e.open(start)
	t.Cleanup(e.close)
	return e
}

func (e *env) open(start bool) {
	e.t.Helper()
	db, err := store.Open(filepath.Join(e.dir, "state.db"), store.Options{})
	if err != nil {
		e.t.Fatalf("store.Open: %v", err)
	}
	log := zaptest.NewLogger(e.t)
	vols, err := volumes.Open(db, e.dir, volumes.Options{Logger: log})
	if err != nil {
		e.t.Fatalf("volumes.Open: %v", err)
	}
	every := e.progressEvery
	if every == 0 {
		every = 10 * time.Millisecond
	}
	jobs, err := jobqueue.Open(db, jobqueue.Options{Logger: log, PollInterval: 20 * time.Millisecond, ProgressInterval: every})
	if err != nil {
		e.t.Fatalf("jobqueue.Open: %v", err)
	}
	opts := e.opts
	opts.Logger = log
	svc, err := replica.Open(context.Background(), db, vols, jobs, opts)
	if err != nil {
		e.t.Fatalf("replica.Open: %v", err)
	}
	if start {
		jobs.Start()
	}
	e.db, e.vols, e.jobs, e.svc = db, vols, jobs, svc
}

func (e *env) close() {
	if e.db == nil {
		return
	}
	e.jobs.Close()
	e.svc.Close()
	e.vols.Close()
	e.db.Close()
	e.db = nil
}

func (e *env) reopen(start bool) {
	e.t.Helper()
	e.close()
	e.open(start)
}

// volume creates a volume of size bytes holding random data in a few
// places (the rest stays a hole) and returns it.
func (e *env) volume(name string, size int64) *volumes.Volume {
	e.t.Helper()
	ctx := context.Background()
	v, err := e.vols.Create(ctx, volumes.DefaultPool, name, uint64(size))
	if err != nil {
		e.t.Fatalf("Create %s: %v", name, err)
	}
	f, err := e.vols.OpenImage(ctx, v.ID, true)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for _, off := range []int64{0, size / 2, size - int64(len(chunk))} {
		rand.Read(chunk)
		if _, err := f.WriteAt(chunk, off); err != nil {
			e.t.Fatal(err)
		}
	}
	return v
}

// filled creates a volume whose every byte is data (for slow copies).
func (e *env) filled(name string, size int64) *volumes.Volume {
	e.t.Helper()
	v := e.volume(name, size)
	f, err := os.OpenFile(v.Path(), os.O_WRONLY, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, MiB)
	for off := int64(0); off < size; off += MiB {
		rand.Read(buf)
		f.WriteAt(buf, off)
	}
	return v
}

// settle returns once any later write to volume id's image must change
// its identity (engine.Settle: the coarse clock has moved past its last
// write), so that a stamp taken from now on is settled.
func (e *env) settle(id volumes.ID) {
	e.t.Helper()
	f, err := e.vols.OpenImage(context.Background(), id, false)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	was, err := engine.IdentityOf(f)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, same, err := engine.Settle(f, was); err != nil || !same {
		e.t.Fatalf("settle %s: written meanwhile (%v) or %v", id, !same, err)
	}
}

func (e *env) sameBytes(src, dst volumes.ID) {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.vols.Get(ctx, src)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := e.vols.Get(ctx, dst)
	if err != nil {
		e.t.Fatal(err)
	}
	x, _ := os.ReadFile(a.Path())
	y, _ := os.ReadFile(b.Path())
	if !bytes.Equal(x, y) {
		e.t.Errorf("target %s differs from source %s (%d vs %d bytes)", b.Name, a.Name, len(y), len(x))
	}
}

// files lists the files of the default pool.
func (e *env) files() []string {
	e.t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.dir, "pools", volumes.DefaultPool))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, d := range ents {
		out = append(out, d.Name())
	}
	sort.Strings(out)
	return out
}

// state summarises everything a request may create.
func (e *env) state() string {
	e.t.Helper()
	ctx := context.Background()
	vols, err := e.vols.List(ctx, "")
	if err != nil {
		e.t.Fatal(err)
	}
	groups, _ := e.svc.Groups(ctx)
	syncs, _ := e.svc.Synchronizations(ctx)
	gss, _ := e.svc.GroupSynchronizations(ctx)
	jobs, _ := e.jobs.List()
	var b strings.Builder
	b.WriteString("files=" + strings.Join(e.files(), ","))
	for _, v := range vols {
		b.WriteString(" vol=" + v.Name)
	}
	for _, g := range groups {
		b.WriteString(" group=" + g.Name + "[" + strings.Repeat("m", len(g.Members)) + "]")
	}
	b.WriteString(" syncs=" + itoa(len(syncs)) + " groupsyncs=" + itoa(len(gss)) + " jobs=" + itoa(len(jobs)))
	return b.String()
}

func itoa(n int) string {
	return strconv.Itoa(n)
}

func (e *env) wait(jobID string) jobqueue.Job {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := e.jobs.Wait(ctx, jobID)
	if err != nil {
		e.t.Fatalf("Wait(%s): %v", jobID, err)
	}
	return j
}

func ptr[T any](v T) *T { return &v }
