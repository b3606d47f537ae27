package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/client"
)

// syncTypes are the SyncType values (cim-replication.md §1.1).
var syncTypes = map[string]uint64{"mirror": 6, "snapshot": 7, "clone": 8}

// operations are ModifyReplicaSynchronization's Operation values (§1.6).
var operations = map[string]uint64{
	"abort": 2, "activate-consistency": 3, "activate": 4, "deactivate-consistency": 6, "deactivate": 7,
	"detach": 8, "dissolve": 9, "failover": 10, "failback": 11, "fracture": 12, "resync": 14, "restore": 15,
	"resume": 16, "reset-to-sync": 17, "reset-to-async": 18, "return-to-pool": 19, "reverse-roles": 20,
	"split": 21, "suspend": 22,
}

var copyStates = map[string]string{"2": "Initialized", "3": "Unsynchronized", "4": "Synchronized", "5": "Broken",
	"6": "Fractured", "7": "Split", "8": "Inactive", "9": "Suspended", "10": "Failedover", "11": "Prepared",
	"12": "Aborted", "13": "Skewed", "14": "Mixed", "15": "Not Applicable", "16": "Partitioned", "17": "Invalid",
	"18": "Restored"}

var syncTypeNames = map[string]string{"6": "mirror", "7": "snapshot", "8": "clone", "9": "tokenized-clone"}

func named(m map[string]string, v string) string {
	if n, ok := m[v]; ok {
		return n
	}
	return v
}

func (a *app) replica(ctx context.Context, args []string) error {
	verb, rest, err := a.sub("replica", args, "create", "list", "modify", "verify")
	if err != nil {
		return err
	}
	switch verb {
	case "create":
		return a.replicaCreate(ctx, rest)
	case "modify":
		return a.replicaModify(ctx, rest)
	case "verify":
		return a.replicaVerify(ctx, rest) // verify.go
	}
	pos, err := parse(a.flags("replica list"), rest)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("replica list takes no arguments")
	}
	if err := a.connect(); err != nil {
		return err
	}
	syncs, err := a.syncs(ctx)
	if err != nil {
		return err
	}
	n, err := a.names(ctx)
	if err != nil {
		return err
	}
	t := &table{headers: []string{"NAME", "KIND", "SOURCE", "TARGET", "TYPE", "STATE", "SYNCED"}, list: true}
	for _, s := range syncs {
		src, _ := s.Ref("SystemElement")
		dst, _ := s.Ref("SyncedElement")
		kind, name := "element", n.of(dst)
		if s.Class == classGroupSync || strings.HasSuffix(s.Class, "GroupSynchronized") {
			kind = "group"
			if r := s.Get("RelationshipName"); r != "" {
				name = r
			}
		}
		synced := s.Get("PercentSynced")
		if synced != "" {
			synced += "%"
		}
		typ, state := named(syncTypeNames, s.Get("SyncType")), named(copyStates, s.Get("CopyState"))
		t.addRecord(map[string]any{"name": name, "kind": kind, "source": n.of(src), "target": n.of(dst), "type": typ,
			"state": state, "percentSynced": number(s.Get("PercentSynced"))},
			name, kind, n.of(src), n.of(dst), typ, state, synced)
	}
	return a.print(t)
}

// syncs returns every element and group synchronization.
func (a *app) syncs(ctx context.Context) ([]*client.Instance, error) {
	var out []*client.Instance
	for _, class := range []string{classStorageSync, classGroupSync} {
		list, err := a.c.Enumerate(ctx, a.namespace, class, client.EnumerateOptions{})
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

func (a *app) replicaCreate(ctx context.Context, args []string) error {
	fs := a.flags("replica create")
	var source, sourceGroup, typ, name, targetGroup string
	var count uint64
	var wait bool
	fs.StringVar(&source, "source", "", "")
	fs.StringVar(&sourceGroup, "source-group", "", "")
	fs.StringVar(&typ, "type", "", "")
	fs.StringVar(&name, "name", "", "")
	fs.StringVar(&targetGroup, "target-group", "", "")
	fs.Uint64Var(&count, "count", 0, "")
	fs.BoolVar(&wait, "wait", false, "")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("replica create takes flags only, not %q", pos[0])
	}
	if (source == "") == (sourceGroup == "") {
		return usagef("replica create needs exactly one of --source and --source-group")
	}
	st, ok := syncTypes[strings.ToLower(typ)]
	if !ok {
		return usagef("--type must be mirror, snapshot or clone, not %q", typ)
	}
	if count > 0 && sourceGroup != "" {
		return usagef("--count applies to --source only")
	}
	if count > 0 && targetGroup != "" {
		return usagef("give --count or --target-group, not both")
	}
	if err := a.connect(); err != nil {
		return err
	}
	svc, err := a.service(ctx, classReplSvc)
	if err != nil {
		return err
	}
	// Resolve every name before anything is created.
	var in []client.Arg
	method := "CreateGroupReplica"
	var tg *cimmodel.ObjectPath
	if targetGroup != "" {
		g, err := a.findGroup(ctx, targetGroup)
		if err != nil {
			return err
		}
		tg = g.Path
	}
	switch {
	case sourceGroup != "":
		g, err := a.findGroup(ctx, sourceGroup)
		if err != nil {
			return err
		}
		if name != "" {
			in = append(in, client.Text("RelationshipName", name))
		}
		in = append(in, client.Uint("SyncType", st), client.Ref("SourceGroup", *g.Path))
	case count > 0 || tg != nil:
		v, err := a.findVolume(ctx, source)
		if err != nil {
			return err
		}
		if name != "" {
			in = append(in, client.Text("RelationshipName", name))
		}
		in = append(in, client.Uint("SyncType", st), client.Ref("SourceElement", *v.Path))
		if count > 0 {
			in = append(in, client.Uint("TargetElementCount", count))
		}
	default:
		v, err := a.findVolume(ctx, source)
		if err != nil {
			return err
		}
		method = "CreateElementReplica"
		if name != "" {
			in = append(in, client.Text("ElementName", name))
		}
		in = append(in, client.Uint("SyncType", st), client.Ref("SourceElement", *v.Path))
	}
	if tg != nil {
		in = append(in, client.Ref("TargetGroup", *tg))
	}
	if st == syncTypes["mirror"] {
		// replicad offers Asynchronous mirrors only (Mode 3); it answers
		// Not Supported to a Mirror without a Mode.
		in = append(in, client.Uint("Mode", 3))
	}
	out, err := a.call(ctx, svc, method, in)
	if err != nil {
		return err
	}
	return a.report(ctx, method, out, wait)
}

// report prints a method's result; with wait it first follows the job.
func (a *app) report(ctx context.Context, method string, out *client.Output, wait bool) error {
	t := &table{headers: []string{"FIELD", "VALUE"}}
	t.field("ReturnValue", fmt.Sprintf("%d (%s)", out.ReturnValue, returnText(method, out.ReturnValue)), "returnValue", out.ReturnValue)
	job, hasJob := out.Params.Ref("Job")
	jobJSON := map[string]any{}
	if hasJob {
		jobJSON["id"] = jobID(job)
		jobJSON["path"] = client.FormatPath(job)
	}
	if hasJob && wait {
		final, err := a.waitJob(ctx, job)
		if err != nil {
			return err
		}
		state := named(jobStates, final.Get("JobState"))
		t.add("JobState", state)
		jobJSON["state"] = state
		jobJSON["percentComplete"] = number(final.Get("PercentComplete"))
		// The job's results: AffectedJobElement leads to what it created.
		// Through AffectedJobElement only: an association filter on "*" walks
		// every association class, and one that fails (say, of a data plane
		// that is off) would hide the targets.
		affected, err := a.c.Enumerate(ctx, a.namespace, "*", client.EnumerateOptions{Association: &cimmodel.AssociationFilter{
			Object: job, AssociationClassName: "CIM_AffectedJobElement", ResultClassName: "CIM_StorageVolume"}})
		if err == nil {
			var vols []string
			for _, v := range affected {
				vols = append(vols, v.Get("ElementName"))
			}
			if len(vols) > 0 {
				sort.Strings(vols)
				t.add("Targets", strings.Join(vols, ","))
			}
			t.obj["targets"] = strs(vols)
		}
	}
	if hasJob {
		t.add("Job", jobID(job))
		t.obj["job"] = jobJSON
	}
	for _, p := range out.Params.Properties {
		if p.Name != "Job" {
			t.field(p.Name, p.Text(), lowerFirst(p.Name), propJSON(p))
		}
	}
	return a.print(t)
}

// jobID is the short form of a job reference: the InstanceID.
func jobID(p cimmodel.ObjectPath) string {
	if v, ok := p.Key("InstanceID"); ok {
		return keyText(v)
	}
	return client.FormatPath(p)
}

func (a *app) replicaModify(ctx context.Context, args []string) error {
	fs := a.flags("replica modify")
	var force, wait bool
	fs.BoolVar(&force, "force", false, "")
	fs.BoolVar(&wait, "wait", false, "")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("replica modify needs SYNC (a replica name from replica list) and an OPERATION")
	}
	op, ok := operations[strings.ToLower(pos[1])]
	if !ok {
		n, err := strconv.ParseUint(pos[1], 10, 16)
		if err != nil {
			return usagef("unknown operation %q", pos[1])
		}
		op = n
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
	in := []client.Arg{client.Uint("Operation", op), client.Ref("Synchronization", sync)}
	if force {
		in = append(in, client.Text("Force", "true"))
	}
	out, err := a.call(ctx, svc, "ModifyReplicaSynchronization", in)
	if err != nil {
		return err
	}
	return a.report(ctx, "ModifyReplicaSynchronization", out, wait)
}

// findSync resolves a replica name as replica list shows it: the
// RelationshipName or target group of a group synchronization, or the
// target volume of an element synchronization.
func (a *app) findSync(ctx context.Context, name string) (cimmodel.ObjectPath, error) {
	syncs, err := a.syncs(ctx)
	if err != nil {
		return cimmodel.ObjectPath{}, err
	}
	n, err := a.names(ctx)
	if err != nil {
		return cimmodel.ObjectPath{}, err
	}
	var found []cimmodel.ObjectPath
	for _, s := range syncs {
		dst, _ := s.Ref("SyncedElement")
		if s.Path != nil && (s.Get("RelationshipName") == name || n.of(dst) == name) {
			found = append(found, *s.Path)
		}
	}
	switch len(found) {
	case 0:
		return cimmodel.ObjectPath{}, fmt.Errorf("replica %q not found (see replica list)", name)
	case 1:
		return found[0], nil
	}
	return cimmodel.ObjectPath{}, fmt.Errorf("replica name %q is ambiguous: %d synchronizations match", name, len(found))
}
