// Command clone times one Clone through a running replicad, as a client
// sees it: from the CreateElementReplica request to the moment its job is
// read back done. bench/copy.sh runs it in interleaved rounds against cp
// and qemu-img.
//
//	clone -url URL -user U -password P -source VOLUME -name TARGET   prints the seconds
//	clone -url URL -user U -password P -drop TARGET                  ends the replica, deletes TARGET
//
// The logon and the lookup of the source happen before the clock starts.
// The request asks the daemon to answer once the copy is Synchronized
// (WaitForCopyState 4, the wait SMI-S gives a client): the daemon holds the
// answer until the job is final, woken by the job's end, so the time is the
// job's own and no poll runs beside the copy. Polling had cost either a
// share of the 2 cores (a Get every 200 µs) or up to a poll period after the
// job ended (paced by PercentComplete). Should the answer come back with
// the job still running (4096: the wait outlived the call's
// OperationTimeout), the job is polled as before: about four polls over the
// time its progress says remains, every 200 µs to 20 ms.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/client"
)

const (
	namespace   = "root/cimv2/storage/iscsitarget"
	classVolume = "MSISCSITARGET_StorageVolume"
	classSvc    = "MSISCSITARGET_ReplicationService"
	classSync   = "MSISCSITARGET_StorageSynchronized"
	syncClone   = 8
	stateSynced = 4  // CopyState Synchronized, for WaitForCopyState
	opReturn    = 19 // ModifyReplicaSynchronization: Return To ResourcePool
	jobDone     = "7"
	pollMin     = 200 * time.Microsecond
	pollMax     = 20 * time.Millisecond
)

func main() {
	url := flag.String("url", "", "replicad endpoint, http://HOST:PORT/wsman")
	user := flag.String("user", "", "user")
	password := flag.String("password", "", "password")
	source := flag.String("source", "", "clone this volume")
	name := flag.String("name", "", "name of the clone")
	drop := flag.String("drop", "", "end the replica whose target is this volume and delete it")
	flag.Parse()
	c := client.New(*url, *user, *password, client.Options{Timeout: 10 * time.Minute})
	ctx := context.Background()
	var err error
	if *drop != "" {
		err = dropReplica(ctx, c, *drop)
	} else {
		var d time.Duration
		if d, err = clone(ctx, c, *source, *name); err == nil {
			fmt.Printf("%.4f\n", d.Seconds())
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clone:", err)
		os.Exit(1)
	}
}

// only returns the one instance of class that keep accepts.
func only(ctx context.Context, c *client.Client, class string, keep func(*client.Instance) bool) (cimmodel.ObjectPath, error) {
	list, err := c.Enumerate(ctx, namespace, class, client.EnumerateOptions{})
	if err != nil {
		return cimmodel.ObjectPath{}, fmt.Errorf("enumerate %s: %w", class, err)
	}
	for _, in := range list {
		if in.Path != nil && keep(in) {
			return *in.Path, nil
		}
	}
	return cimmodel.ObjectPath{}, fmt.Errorf("no %s found", class)
}

func volumeNamed(name string) func(*client.Instance) bool {
	return func(in *client.Instance) bool { return in.Get("ElementName") == name }
}

func first(*client.Instance) bool { return true }

// clone requests the clone and waits for its job; it returns the time between.
func clone(ctx context.Context, c *client.Client, source, name string) (time.Duration, error) {
	src, err := only(ctx, c, classVolume, volumeNamed(source))
	if err != nil {
		return 0, err
	}
	svc, err := only(ctx, c, classSvc, first)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	out, err := c.Invoke(ctx, svc, "CreateElementReplica", []client.Arg{client.Text("ElementName", name),
		client.Uint("SyncType", syncClone), client.Uint("WaitForCopyState", stateSynced),
		client.Ref("SourceElement", src)})
	if err != nil {
		return 0, err
	}
	if err := waitOutput(ctx, c, out); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// waitOutput follows the job of a method's output until it is final.
func waitOutput(ctx context.Context, c *client.Client, out *client.Output) error {
	if out.ReturnValue == 0 {
		return nil
	}
	job, ok := out.Params.Ref("Job")
	if out.ReturnValue != 4096 || !ok {
		return fmt.Errorf("ReturnValue %d: %s", out.ReturnValue, out.Reason())
	}
	start := time.Now()
	for {
		j, err := c.Get(ctx, job)
		if err != nil {
			return fmt.Errorf("read job: %w", err)
		}
		switch st := j.Get("JobState"); st {
		case jobDone:
			return nil
		case "8", "9", "10":
			return fmt.Errorf("job ended in state %s: %s", st, j.Get("ErrorDescription"))
		}
		pct, _ := strconv.Atoi(j.Get("PercentComplete"))
		time.Sleep(pollDelay(time.Since(start), pct))
	}
}

// pollDelay is the wait before the next poll of a job that is pct percent
// done after elapsed: a quarter of the time its progress says remains (an
// eighth of elapsed before any progress), within [pollMin, pollMax].
func pollDelay(elapsed time.Duration, pct int) time.Duration {
	d := elapsed / 8
	if pct > 0 && pct < 100 {
		d = elapsed * time.Duration(100-pct) / time.Duration(pct) / 4
	} else if pct >= 100 {
		d = pollMin
	}
	return min(max(d, pollMin), pollMax)
}

// dropReplica returns the target of the synchronization whose target is
// named name to the pool (the relationship ends and the volume is deleted).
func dropReplica(ctx context.Context, c *client.Client, name string) error {
	tgt, err := only(ctx, c, classVolume, volumeNamed(name))
	if err != nil {
		return err
	}
	want := client.FormatPath(tgt)
	sync, err := only(ctx, c, classSync, func(in *client.Instance) bool {
		p, ok := in.Ref("SyncedElement")
		return ok && client.FormatPath(p) == want
	})
	if err != nil {
		return err
	}
	svc, err := only(ctx, c, classSvc, first)
	if err != nil {
		return err
	}
	out, err := c.Invoke(ctx, svc, "ModifyReplicaSynchronization", []client.Arg{
		client.Uint("Operation", opReturn), client.Ref("Synchronization", sync)})
	if err != nil {
		return err
	}
	if err := waitOutput(ctx, c, out); err != nil {
		return errors.Join(errors.New("return to pool"), err)
	}
	return nil
}
