package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/replicad/replicad/client"
)

// Exit statuses of replica verify.
const (
	exitIdentical = 0
	exitDiffers   = 1
	exitError     = 2
)

// exitStatus is an error that sets replicactl's exit status; msg, when set,
// is printed to stderr.
type exitStatus struct {
	code int
	msg  string
}

func (e *exitStatus) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return "exit status " + strconv.Itoa(e.code)
}

// verifyResult is the JSON form of a VerifyReplica answer.
type verifyResult struct {
	Identical       bool     `json:"identical"`
	BytesCompared   uint64   `json:"bytesCompared"`
	DifferingBytes  uint64   `json:"differingBytes"`
	Offsets         []uint64 `json:"offsets"`
	DifferingPairs  []string `json:"differingPairs,omitempty"`
	SourceChanged   bool     `json:"sourceChanged"`
	CopyState       string   `json:"copyState"`
	JobState        string   `json:"jobState,omitempty"`
	replicaNameHint string
}

// replicaVerify runs "replica verify SYNC [--max N]": the vendor method
// VerifyReplica compares the replica with its source. It prints
// "identical" or the first differing offsets; the exit status is 0
// (identical), 1 (differs) or 2 (error).
func (a *app) replicaVerify(ctx context.Context, args []string) error {
	err := a.verify(ctx, args)
	switch e := err.(type) {
	case nil:
		return nil
	case *exitStatus, *usageError:
		return e
	}
	return &exitStatus{code: exitError, msg: a.describe(err)}
}

func (a *app) verify(ctx context.Context, args []string) error {
	fs := a.flags("replica verify")
	var maxDiffs uint64
	fs.Uint64Var(&maxDiffs, "max", 0, "")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("replica verify needs SYNC (a replica name from replica list)")
	}
	if err := a.connect(); err != nil {
		return err
	}
	sync, err := a.findSync(ctx, pos[0])
	if err != nil {
		return err
	}
	svc, err := a.service(ctx, classReplSvc)
	if err != nil {
		return err
	}
	in := []client.Arg{client.Ref("Synchronization", sync)}
	if maxDiffs > 0 {
		in = append(in, client.Uint("MaxDifferences", maxDiffs))
	}
	out, err := a.call(ctx, svc, "VerifyReplica", in)
	if err != nil {
		return err
	}
	res := verifyResult{replicaNameHint: pos[0]}
	if job, ok := out.Params.Ref("Job"); ok && out.ReturnValue == returnJobStarted {
		// A server that verifies in a job: follow it (with a progress bar
		// on a terminal); its outcome is the job's.
		final, err := a.waitJob(ctx, job)
		if err != nil {
			return &exitStatus{code: exitDiffers, msg: a.describe(err)}
		}
		res.JobState = named(jobStates, final.Get("JobState"))
		res.Identical = true
		return a.printVerify(res)
	}
	res.Identical = out.Params.Get("Identical") == "true"
	res.BytesCompared, _ = out.Params.Uint("BytesCompared")
	res.DifferingBytes, _ = out.Params.Uint("DifferingBytes")
	res.SourceChanged = out.Params.Get("SourceChanged") == "true"
	res.CopyState = named(copyStates, out.Params.Get("CopyState"))
	res.Offsets = []uint64{}
	if p, ok := out.Params.Prop("DifferingOffsets"); ok {
		for _, v := range p.Values {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return fmt.Errorf("VerifyReplica: DifferingOffsets value %q: %w", v, err)
			}
			res.Offsets = append(res.Offsets, n)
		}
	}
	if p, ok := out.Params.Prop("DifferingPairs"); ok {
		for _, r := range p.Refs {
			res.DifferingPairs = append(res.DifferingPairs, client.FormatPath(r))
		}
	}
	return a.printVerify(res)
}

// printVerify prints res and returns the exit status for it.
func (a *app) printVerify(res verifyResult) error {
	if a.structured() {
		if err := a.printJSON(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(a.stdout, verifyText(res))
	}
	if !res.Identical {
		return &exitStatus{code: exitDiffers}
	}
	return nil
}

// verifyText is the human form of res.
func verifyText(res verifyResult) string {
	if res.JobState != "" {
		return "verify job " + strings.ToLower(res.JobState)
	}
	if res.Identical {
		return fmt.Sprintf("identical (%d bytes compared)", res.BytesCompared)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "differs: %d differing bytes in %d compared; CopyState %s", res.DifferingBytes, res.BytesCompared, res.CopyState)
	if res.SourceChanged {
		b.WriteString(" (the source was written since the last sync: Resync Replica to update the replica)")
	} else if res.CopyState == "Broken" {
		b.WriteString(" (repair with: replicactl replica modify " + res.replicaNameHint + " resync)")
	}
	offs := make([]string, len(res.Offsets))
	for i, o := range res.Offsets {
		offs[i] = strconv.FormatUint(o, 10)
	}
	b.WriteString("\nfirst differing offsets: " + strings.Join(offs, " "))
	return b.String()
}
