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

// The iSCSI target commands (issue 18): targets are
// MSISCSITARGET_SCSIProtocolController instances, created by
// iSCSIConfigurationService.CreateiSCSINode, filled and masked by
// ControllerConfigurationService.ExposePaths and HidePaths, deleted by
// DeleteProtocolController (docs/iscsi.md).
const (
	classSPC           = "MSISCSITARGET_SCSIProtocolController"
	classPCFU          = "MSISCSITARGET_ProtocolControllerForUnit"
	classAuthSubject   = "MSISCSITARGET_AuthorizedSubject"
	classControllerSvc = "MSISCSITARGET_ControllerConfigurationService"
	classISCSIConfig   = "MSISCSITARGET_iSCSIConfigurationService"
	privilegePrefix    = "replicad:privilege:"
	hardwareIDPrefix   = "replicad:hardwareid:"
	accessReadWrite    = 2
	accessReadOnly     = 3
)

// multiFlag is a flag that may be given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func (a *app) findTarget(ctx context.Context, name string) (*client.Instance, error) {
	return a.find(ctx, classSPC, "DeviceID", "target", name)
}

// targetCmd runs "target list|create|delete".
func (a *app) targetCmd(ctx context.Context, args []string) error {
	verb, rest, err := a.sub("target", args, "list", "create", "delete")
	if err != nil {
		return err
	}
	fs := a.flags("target " + verb)
	var initiators multiFlag
	if verb == "create" {
		fs.Var(&initiators, "initiator", "")
	}
	pos, err := parse(fs, rest)
	if err != nil {
		return err
	}
	switch {
	case verb == "list" && len(pos) != 0:
		return usagef("target list takes no arguments")
	case verb != "list" && len(pos) != 1:
		return usagef("target %s needs one target name", verb)
	}
	if err := a.connect(); err != nil {
		return err
	}
	switch verb {
	case "list":
		return a.targetList(ctx, "")
	case "delete":
		t, err := a.findTarget(ctx, pos[0])
		if err != nil {
			return err
		}
		svc, err := a.service(ctx, classControllerSvc)
		if err != nil {
			return err
		}
		if _, err := a.call(ctx, svc, "DeleteProtocolController", []client.Arg{client.Ref("ProtocolController", *t.Path)}); err != nil {
			return err
		}
		return a.done("deleted", pos[0])
	}
	svc, err := a.service(ctx, classISCSIConfig)
	if err != nil {
		return err
	}
	out, err := a.call(ctx, svc, "CreateiSCSINode", []client.Arg{client.Text("Alias", pos[0])})
	if err != nil {
		return err
	}
	node, ok := out.Params.Ref("iSCSINode")
	if !ok {
		return fmt.Errorf("CreateiSCSINode answered no iSCSINode")
	}
	if len(initiators) > 0 {
		if _, err := a.exposeCall(ctx, nil, initiators, false, &node); err != nil {
			return err
		}
	}
	return a.targetList(ctx, pos[0])
}

// expose runs "expose VOLUME... [--target T] [--initiator IQN]... [--read-only]
// [--lun N]...".
func (a *app) expose(ctx context.Context, args []string) error {
	fs := a.flags("expose")
	var target string
	var initiators, luns multiFlag
	var readOnly bool
	fs.StringVar(&target, "target", "", "")
	fs.Var(&initiators, "initiator", "")
	fs.Var(&luns, "lun", "")
	fs.BoolVar(&readOnly, "read-only", false, "")
	vols, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(vols) == 0 && len(initiators) == 0 {
		return usagef("expose needs volumes, --initiator or both")
	}
	if len(luns) > 0 && len(luns) != len(vols) {
		return usagef("give one --lun per volume (%d volumes, %d --lun)", len(vols), len(luns))
	}
	for _, l := range luns {
		if n, err := strconv.Atoi(l); err != nil || n < 1 || n > 255 {
			return usagef("--lun %q: a LUN is 1..255", l)
		}
	}
	if err := a.connect(); err != nil {
		return err
	}
	var spc *cimmodel.ObjectPath
	if target != "" {
		t, err := a.findTarget(ctx, target)
		if err != nil {
			return err
		}
		spc = t.Path
	}
	names, err := a.luNames(ctx, vols)
	if err != nil {
		return err
	}
	out, err := a.exposeCall(ctx, names, initiators, readOnly, spc, luns...)
	if err != nil {
		return err
	}
	refs, _ := out.Params.Prop("ProtocolControllers")
	if len(refs.Refs) == 0 {
		return fmt.Errorf("ExposePaths answered no ProtocolControllers")
	}
	return a.targetList(ctx, keyOf(refs.Refs[0], "DeviceID"))
}

// luNames resolves volume names (or IDs) to the logical unit names
// ExposePaths and HidePaths take (StorageVolume.Name), before anything
// changes.
func (a *app) luNames(ctx context.Context, vols []string) ([]string, error) {
	var names []string
	for _, v := range vols {
		inst, err := a.findVolume(ctx, v)
		if err != nil {
			return nil, err
		}
		names = append(names, inst.Get("Name"))
	}
	return names, nil
}

// exposeCall invokes ExposePaths.
func (a *app) exposeCall(ctx context.Context, luNames, initiators []string, readOnly bool, spc *cimmodel.ObjectPath, luns ...string) (*client.Output, error) {
	var in []client.Arg
	if len(luNames) > 0 {
		access := strconv.Itoa(accessReadWrite)
		if readOnly {
			access = strconv.Itoa(accessReadOnly)
		}
		accesses := make([]string, len(luNames))
		for i := range accesses {
			accesses[i] = access
		}
		in = append(in, client.Text("LUNames", luNames...), client.Text("DeviceAccesses", accesses...))
		if len(luns) > 0 {
			in = append(in, client.Text("DeviceNumbers", luns...))
		}
	}
	if len(initiators) > 0 {
		in = append(in, client.Text("InitiatorPortIDs", initiators...))
	}
	if spc != nil {
		in = append(in, client.Ref("ProtocolControllers", *spc))
	}
	svc, err := a.service(ctx, classControllerSvc)
	if err != nil {
		return nil, err
	}
	return a.call(ctx, svc, "ExposePaths", in)
}

// hide runs "hide [VOLUME...] --target T [--initiator IQN]...".
func (a *app) hide(ctx context.Context, args []string) error {
	fs := a.flags("hide")
	var target string
	var initiators multiFlag
	fs.StringVar(&target, "target", "", "")
	fs.Var(&initiators, "initiator", "")
	vols, err := parse(fs, args)
	if err != nil {
		return err
	}
	if target == "" {
		return usagef("hide needs --target")
	}
	if len(vols) == 0 && len(initiators) == 0 {
		return usagef("hide needs volumes, --initiator or both")
	}
	if err := a.connect(); err != nil {
		return err
	}
	t, err := a.findTarget(ctx, target)
	if err != nil {
		return err
	}
	names, err := a.luNames(ctx, vols)
	if err != nil {
		return err
	}
	in := []client.Arg{client.Ref("ProtocolControllers", *t.Path)}
	if len(names) > 0 {
		in = append(in, client.Text("LUNames", names...))
	}
	if len(initiators) > 0 {
		in = append(in, client.Text("InitiatorPortIDs", initiators...))
	}
	svc, err := a.service(ctx, classControllerSvc)
	if err != nil {
		return err
	}
	if _, err := a.call(ctx, svc, "HidePaths", in); err != nil {
		return err
	}
	return a.targetList(ctx, t.Get("DeviceID"))
}

// keyOf is a key's text in path.
func keyOf(path cimmodel.ObjectPath, name string) string {
	v, ok := path.Key(name)
	if !ok {
		return ""
	}
	s, _ := v.AsString()
	return s
}

// targetList prints the targets (only the one called only, when given):
// name, IQN, LUNs (number:volume, "ro" when read-only) and the initiators
// allowed.
func (a *app) targetList(ctx context.Context, only string) error {
	spcs, err := a.c.Enumerate(ctx, a.namespace, classSPC, client.EnumerateOptions{})
	if err != nil {
		return err
	}
	pcfus, err := a.c.Enumerate(ctx, a.namespace, classPCFU, client.EnumerateOptions{})
	if err != nil {
		return err
	}
	subjects, err := a.c.Enumerate(ctx, a.namespace, classAuthSubject, client.EnumerateOptions{})
	if err != nil {
		return err
	}
	vols, err := a.c.Enumerate(ctx, a.namespace, classVolume, client.EnumerateOptions{})
	if err != nil {
		return err
	}
	volName := map[string]string{}
	for _, v := range vols {
		volName[v.Get("DeviceID")] = v.Get("ElementName")
	}
	luns := map[string][]string{}
	for _, p := range pcfus {
		spc, _ := p.Ref("Antecedent")
		vol, _ := p.Ref("Dependent")
		name := volName[keyOf(vol, "DeviceID")]
		if name == "" {
			name = keyOf(vol, "DeviceID")
		}
		cell := p.Get("DeviceNumber") + ":" + name
		if p.Get("DeviceAccess") == strconv.Itoa(accessReadOnly) {
			cell += "(ro)"
		}
		t := keyOf(spc, "DeviceID")
		luns[t] = append(luns[t], cell)
	}
	inits := map[string][]string{}
	for _, s := range subjects {
		priv, _ := s.Ref("Privilege")
		id, _ := s.Ref("PrivilegedElement")
		t := strings.TrimPrefix(keyOf(priv, "InstanceID"), privilegePrefix)
		inits[t] = append(inits[t], strings.TrimPrefix(keyOf(id, "InstanceID"), hardwareIDPrefix))
	}
	tbl := &table{headers: []string{"NAME", "IQN", "LUNS", "INITIATORS"}}
	for _, s := range spcs {
		name := s.Get("DeviceID")
		if only != "" && name != only {
			continue
		}
		sort.Strings(inits[name])
		tbl.add(name, s.Get("Name"), strings.Join(luns[name], ","), strings.Join(inits[name], ","))
	}
	return a.print(tbl)
}
