package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/client"
)

// jobStates names CIM_ConcreteJob.JobState values.
var jobStates = map[string]string{"2": "New", "3": "Starting", "4": "Running", "5": "Suspended", "6": "Shutting Down",
	"7": "Completed", "8": "Terminated", "9": "Killed", "10": "Exception", "11": "Service", "12": "Query Pending"}

const jobCompleted = "7"

// finalJob reports whether a JobState is final.
func finalJob(state string) bool {
	switch state {
	case "7", "8", "9", "10":
		return true
	}
	return false
}

func (a *app) job(ctx context.Context, args []string) error {
	verb, rest, err := a.sub("job", args, "list", "show", "cancel", "wait")
	if err != nil {
		return err
	}
	pos, err := parse(a.flags("job "+verb), rest)
	if err != nil {
		return err
	}
	if verb == "list" && len(pos) != 0 {
		return usagef("job list takes no arguments")
	}
	if verb != "list" && len(pos) != 1 {
		return usagef("job %s needs one job ID (see job list)", verb)
	}
	if err := a.connect(); err != nil {
		return err
	}
	jobs, err := a.c.Enumerate(ctx, a.namespace, classJob, client.EnumerateOptions{})
	if err != nil {
		return err
	}
	if verb == "list" {
		t := &table{headers: []string{"ID", "NAME", "STATE", "PERCENT", "ERROR"}, list: true}
		for _, j := range jobs {
			id, state := shortJobID(j.Get("InstanceID")), named(jobStates, j.Get("JobState"))
			t.addRecord(map[string]any{"id": id, "instanceId": j.Get("InstanceID"), "name": j.Get("ElementName"),
				"state": state, "percentComplete": number(j.Get("PercentComplete")), "error": j.Get("ErrorDescription")},
				id, j.Get("ElementName"), state, j.Get("PercentComplete"), j.Get("ErrorDescription"))
		}
		return a.print(t)
	}
	var job *client.Instance
	for _, j := range jobs {
		id := j.Get("InstanceID")
		if id == pos[0] || shortJobID(id) == pos[0] {
			job = j
		}
	}
	if job == nil || job.Path == nil {
		return fmt.Errorf("job %q not found (see job list)", pos[0])
	}
	switch verb {
	case "show":
		return a.printInstance(job)
	case "wait":
		final, err := a.waitJob(ctx, *job.Path)
		if err != nil {
			return err
		}
		return a.printInstance(final)
	}
	if _, err := a.call(ctx, *job.Path, "RequestStateChange", []client.Arg{client.Uint("RequestedState", 4)}); err != nil {
		return err
	}
	return a.done("cancel requested", shortJobID(job.Get("InstanceID")))
}

// shortJobID drops the provider's "replicad:job:" prefix.
func shortJobID(id string) string {
	if i := strings.LastIndexByte(id, ':'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// The first poll of a job comes pollFirst after the request and each next one
// twice as late, up to pollMax: a job that ends in milliseconds (a reflink
// clone) is seen within milliseconds, a long one is read twice a second.
const (
	pollFirst = 2 * time.Millisecond
	pollMax   = 500 * time.Millisecond
)

// waitJob follows a job until it is final, drawing a progress bar on a
// terminal and printing a line per change of progress otherwise (on
// stderr, so that stdout keeps the result). A job that does not complete
// is an error with its ErrorDescription.
func (a *app) waitJob(ctx context.Context, path cimmodel.ObjectPath) (*client.Instance, error) {
	last := ""
	wait := pollFirst
	for {
		job, err := a.c.Get(ctx, path)
		if err != nil {
			return nil, err
		}
		state, pct := job.Get("JobState"), job.Get("PercentComplete")
		line := fmt.Sprintf("job %s: %s %s%%", shortJobID(jobID(path)), named(jobStates, state), pct)
		if a.tty {
			fmt.Fprintf(a.stderr, "\r%s %s", bar(pct), line)
		} else if line != last {
			fmt.Fprintln(a.stderr, line)
		}
		last = line
		if finalJob(state) {
			if a.tty {
				fmt.Fprintln(a.stderr)
			}
			if state != jobCompleted {
				desc := job.Get("ErrorDescription")
				if desc == "" {
					desc = job.Get("JobStatus")
				}
				return job, fmt.Errorf("job %s %s: %s (ErrorCode %s)", shortJobID(jobID(path)),
					strings.ToLower(named(jobStates, state)), desc, job.Get("ErrorCode"))
			}
			return job, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped waiting for job %s (it goes on): %w", shortJobID(jobID(path)), ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, pollMax)
	}
}

// bar draws a 30-character progress bar for a percentage.
func bar(pct string) string {
	var n int
	fmt.Sscanf(pct, "%d", &n)
	n = max(0, min(100, n))
	const width = 30
	filled := n * width / 100
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
}
