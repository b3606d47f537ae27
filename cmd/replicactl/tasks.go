package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/client"
)

// Class names of the iSCSI target provider (cim-replication.md §4).
const (
	classVolume       = "MSISCSITARGET_StorageVolume"
	classPool         = "MSISCSITARGET_StoragePool"
	classConfigSvc    = "MSISCSITARGET_StorageConfigurationService"
	classReplSvc      = "MSISCSITARGET_ReplicationService"
	classGroup        = "MSISCSITARGET_ReplicationGroup"
	classMember       = "MSISCSITARGET_OrderedMemberOfCollection"
	classStorageSync  = "MSISCSITARGET_StorageSynchronized"
	classGroupSync    = "MSISCSITARGET_GroupSynchronized"
	classJob          = "MSISCSITARGET_ConcreteJob"
	returnJobStarted  = 4096
	elementTypeThinSV = 5
)

// service returns the path of the single instance of a service class.
func (a *app) service(ctx context.Context, class string) (cimmodel.ObjectPath, error) {
	list, err := a.c.Enumerate(ctx, a.namespace, class, client.EnumerateOptions{})
	if err != nil {
		return cimmodel.ObjectPath{}, err
	}
	if len(list) != 1 || list[0].Path == nil {
		return cimmodel.ObjectPath{}, fmt.Errorf("the server has %d instances of %s, want 1", len(list), class)
	}
	return *list[0].Path, nil
}

// find returns the instance of class whose ElementName (or else key) is
// name; what names it in messages.
func (a *app) find(ctx context.Context, class, key, what, name string) (*client.Instance, error) {
	list, err := a.c.Enumerate(ctx, a.namespace, class, client.EnumerateOptions{})
	if err != nil {
		return nil, err
	}
	var byKey *client.Instance
	for _, inst := range list {
		if inst.Path == nil {
			continue
		}
		if inst.Get("ElementName") == name {
			return inst, nil
		}
		if inst.Get(key) == name {
			byKey = inst
		}
	}
	if byKey != nil {
		return byKey, nil
	}
	return nil, fmt.Errorf("%s %q not found", what, name)
}

func (a *app) findVolume(ctx context.Context, name string) (*client.Instance, error) {
	return a.find(ctx, classVolume, "DeviceID", "volume", name)
}

func (a *app) findGroup(ctx context.Context, name string) (*client.Instance, error) {
	return a.find(ctx, classGroup, "InstanceID", "group", name)
}

// findVolumes resolves every name before anything is changed, so that a
// wrong name leaves nothing half-done.
func (a *app) findVolumes(ctx context.Context, names []string) ([]cimmodel.ObjectPath, error) {
	var out []cimmodel.ObjectPath
	for _, n := range names {
		v, err := a.findVolume(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, *v.Path)
	}
	return out, nil
}

// call invokes method and turns a return value other than 0 or 4096 into
// an error.
func (a *app) call(ctx context.Context, target cimmodel.ObjectPath, method string, args []client.Arg) (*client.Output, error) {
	out, err := a.c.Invoke(ctx, target, method, args)
	if err != nil {
		return nil, err
	}
	if out.ReturnValue != 0 && out.ReturnValue != returnJobStarted {
		return nil, refused(method, out)
	}
	return out, nil
}

// parseSize reads a size in bytes with an optional K, M, G or T suffix
// (powers of 1024; "iB" and "B" are accepted after the letter).
func parseSize(s string) (uint64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	mult := uint64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n == 0 || n > (1<<63)/mult {
		return 0, usagef("size %q: want a positive number of bytes with an optional K, M, G or T suffix", s)
	}
	return n * mult, nil
}

func (a *app) volume(ctx context.Context, args []string) error {
	verb, rest, err := a.sub("volume", args, "create", "list", "delete")
	if err != nil {
		return err
	}
	fs := a.flags("volume " + verb)
	var size, pool string
	if verb == "create" {
		fs.StringVar(&size, "size", "", "")
		fs.StringVar(&pool, "pool", "", "")
	}
	pos, err := parse(fs, rest)
	if err != nil {
		return err
	}
	switch verb {
	case "list":
		if len(pos) != 0 {
			return usagef("volume list takes no arguments")
		}
	default:
		if len(pos) != 1 {
			return usagef("volume %s needs one volume name", verb)
		}
	}
	var bytes uint64
	if verb == "create" {
		if size == "" {
			return usagef("volume create needs --size")
		}
		if bytes, err = parseSize(size); err != nil {
			return err
		}
	}
	if err := a.connect(); err != nil {
		return err
	}
	switch verb {
	case "list":
		return a.volumeList(ctx)
	case "delete":
		v, err := a.findVolume(ctx, pos[0])
		if err != nil {
			return err
		}
		svc, err := a.service(ctx, classConfigSvc)
		if err != nil {
			return err
		}
		if _, err := a.call(ctx, svc, "ReturnToStoragePool", []client.Arg{client.Ref("TheElement", *v.Path)}); err != nil {
			return err
		}
		return a.done("deleted", pos[0])
	}
	in := []client.Arg{client.Text("ElementName", pos[0]), client.Uint("ElementType", elementTypeThinSV), client.Uint("Size", bytes)}
	if pool != "" {
		p, err := a.find(ctx, classPool, "PoolID", "pool", pool)
		if err != nil {
			return err
		}
		in = append(in, client.Ref("InPool", *p.Path))
	}
	svc, err := a.service(ctx, classConfigSvc)
	if err != nil {
		return err
	}
	out, err := a.call(ctx, svc, "CreateOrModifyElementFromStoragePool", in)
	if err != nil {
		return err
	}
	if job, ok := out.Params.Ref("Job"); ok {
		if _, err := a.waitJob(ctx, job); err != nil {
			return err
		}
	}
	vol, err := a.createdVolume(ctx, out, pos[0])
	if err != nil {
		return err
	}
	if got, ok := out.Params.Uint("Size"); ok && got != bytes {
		fmt.Fprintf(a.stderr, "replicactl: volume %s: size %d rounded up to %d (a multiple of the 512-byte block)\n", pos[0], bytes, got)
	}
	return a.printVolumes([]*client.Instance{vol})
}

// createdVolume reads the volume a CreateOrModifyElementFromStoragePool
// made: a Get of the TheElement reference it returned (one instance,
// whatever the number of volumes), or, from a server that returns none,
// the volume called name among all of them.
func (a *app) createdVolume(ctx context.Context, out *client.Output, name string) (*client.Instance, error) {
	if ref, ok := out.Params.Ref("TheElement"); ok {
		return a.c.Get(ctx, ref)
	}
	return a.findVolume(ctx, name)
}

func (a *app) volumeList(ctx context.Context) error {
	list, err := a.c.Enumerate(ctx, a.namespace, classVolume, client.EnumerateOptions{})
	if err != nil {
		return err
	}
	return a.printVolumes(list)
}

func (a *app) printVolumes(list []*client.Instance) error {
	t := &table{headers: []string{"NAME", "DEVICEID", "SIZE", "STATUS", "PATH"}, list: true}
	for _, v := range list {
		size := ""
		var sizeJSON any
		bs, ok1 := v.Uint("BlockSize")
		nb, ok2 := v.Uint("NumberOfBlocks")
		if ok1 && ok2 {
			size = strconv.FormatUint(bs*nb, 10)
			sizeJSON = bs * nb
		}
		p, _ := v.Prop("OperationalStatus")
		status := operationalStatus(p.Values)
		t.addRecord(map[string]any{"name": v.Get("ElementName"), "deviceId": v.Get("DeviceID"), "sizeBytes": sizeJSON,
			"status": strs(strings.Split(status, ",")), "path": v.Get("MSDevicePath")},
			v.Get("ElementName"), v.Get("DeviceID"), size, status, v.Get("MSDevicePath"))
	}
	return a.print(t)
}

func operationalStatus(vals []string) string {
	names := map[string]string{"0": "Unknown", "2": "OK", "3": "Degraded", "6": "Error", "10": "Stopped",
		"13": "Lost Communication", "17": "Completed"}
	var out []string
	for _, v := range vals {
		if n, ok := names[v]; ok {
			out = append(out, n)
		} else {
			out = append(out, v)
		}
	}
	return strings.Join(out, ",")
}

func (a *app) group(ctx context.Context, args []string) error {
	verb, rest, err := a.sub("group", args, "create", "add", "remove", "delete", "list")
	if err != nil {
		return err
	}
	fs := a.flags("group " + verb)
	var force bool
	if verb == "delete" {
		fs.BoolVar(&force, "force", false, "")
	}
	pos, err := parse(fs, rest)
	if err != nil {
		return err
	}
	switch {
	case verb == "list" && len(pos) != 0:
		return usagef("group list takes no arguments")
	case verb == "create" && len(pos) < 1, verb == "delete" && len(pos) != 1:
		return usagef("group %s needs a group name", verb)
	case (verb == "add" || verb == "remove") && len(pos) < 2:
		return usagef("group %s needs a group name and at least one volume", verb)
	}
	if err := a.connect(); err != nil {
		return err
	}
	if verb == "list" {
		return a.groupList(ctx)
	}
	svc, err := a.service(ctx, classReplSvc)
	if err != nil {
		return err
	}
	if verb == "create" {
		members, err := a.findVolumes(ctx, pos[1:])
		if err != nil {
			return err
		}
		in := []client.Arg{client.Text("GroupName", pos[0])}
		if len(members) > 0 {
			in = append(in, client.Ref("Members", members...))
		}
		in = append(in, client.Text("Persistent", "true"))
		if _, err := a.call(ctx, svc, "CreateGroup", in); err != nil {
			return err
		}
		return a.done("created", pos[0])
	}
	g, err := a.findGroup(ctx, pos[0])
	if err != nil {
		return err
	}
	switch verb {
	case "delete":
		if _, err := a.call(ctx, svc, "DeleteGroup", []client.Arg{
			client.Ref("ReplicationGroup", *g.Path), client.Text("RemoveElements", strconv.FormatBool(force))}); err != nil {
			return err
		}
		return a.done("deleted", pos[0])
	}
	members, err := a.findVolumes(ctx, pos[1:])
	if err != nil {
		return err
	}
	method := map[string]string{"add": "AddMembers", "remove": "RemoveMembers"}[verb]
	if _, err := a.call(ctx, svc, method, []client.Arg{
		client.Ref("Members", members...), client.Ref("ReplicationGroup", *g.Path)}); err != nil {
		return err
	}
	return a.done(map[string]string{"add": "added", "remove": "removed"}[verb], strings.Join(pos[1:], ","))
}

// names maps volume DeviceIDs and group InstanceIDs to their ElementNames.
type names map[string]string

func (a *app) names(ctx context.Context) (names, error) {
	n := names{}
	for _, c := range []struct{ class, key string }{{classVolume, "DeviceID"}, {classGroup, "InstanceID"}} {
		list, err := a.c.Enumerate(ctx, a.namespace, c.class, client.EnumerateOptions{})
		if err != nil {
			return nil, err
		}
		for _, inst := range list {
			n[inst.Get(c.key)] = inst.Get("ElementName")
		}
	}
	return n, nil
}

// of names the element a reference points at.
func (n names) of(p cimmodel.ObjectPath) string {
	for _, key := range []string{"DeviceID", "InstanceID"} {
		if v, ok := p.Key(key); ok {
			id := keyText(v)
			if name := n[id]; name != "" {
				return name
			}
			return id
		}
	}
	return client.FormatPath(p)
}

func keyText(v cimmodel.Value) string {
	if s, ok := v.AsString(); ok {
		return s
	}
	return v.String()
}

func (a *app) groupList(ctx context.Context) error {
	groups, err := a.c.Enumerate(ctx, a.namespace, classGroup, client.EnumerateOptions{})
	if err != nil {
		return err
	}
	members, err := a.c.Enumerate(ctx, a.namespace, classMember, client.EnumerateOptions{})
	if err != nil {
		return err
	}
	n, err := a.names(ctx)
	if err != nil {
		return err
	}
	byGroup := map[string][]string{}
	for _, m := range members {
		coll, ok1 := m.Ref("Collection")
		member, ok2 := m.Ref("Member")
		if ok1 && ok2 {
			id, _ := coll.Key("InstanceID")
			byGroup[keyText(id)] = append(byGroup[keyText(id)], n.of(member))
		}
	}
	t := &table{headers: []string{"NAME", "INSTANCEID", "MEMBERS"}, list: true}
	for _, g := range groups {
		members := byGroup[g.Get("InstanceID")]
		t.addRecord(map[string]any{"name": g.Get("ElementName"), "instanceId": g.Get("InstanceID"), "members": strs(members)},
			g.Get("ElementName"), g.Get("InstanceID"), strings.Join(members, ","))
	}
	return a.print(t)
}
