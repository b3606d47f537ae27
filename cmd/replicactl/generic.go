package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/client"
)

func (a *app) identify(ctx context.Context, args []string) error {
	pos, err := parse(a.flags("identify"), args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("identify takes no arguments")
	}
	if err := a.connect(); err != nil {
		return err
	}
	id, err := a.c.Identify(ctx)
	if err != nil {
		return err
	}
	if a.structured() {
		return a.printJSON(map[string]any{
			"protocolVersion": id.ProtocolVersion, "productVendor": id.ProductVendor,
			"productVersion": id.ProductVersion, "securityProfiles": strs(id.SecurityProfiles),
		})
	}
	t := &table{headers: []string{"PROPERTY", "VALUE"}}
	t.add("ProtocolVersion", id.ProtocolVersion)
	t.add("ProductVendor", id.ProductVendor)
	t.add("ProductVersion", id.ProductVersion)
	if len(id.SecurityProfiles) > 0 {
		t.add("SecurityProfiles", strings.Join(id.SecurityProfiles, ","))
	}
	return a.print(t)
}

// path parses an object path argument in the current namespace.
func (a *app) path(s string) (cimmodel.ObjectPath, error) {
	p, err := client.ParsePath(s, a.namespace)
	if err != nil {
		return p, usagef("%s", strings.TrimPrefix(err.Error(), "client: "))
	}
	return p, nil
}

func (a *app) get(ctx context.Context, args []string) error {
	pos, err := parse(a.flags("get"), args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("get needs one object path, e.g. 'Class.Key=\"value\"'")
	}
	p, err := a.path(pos[0])
	if err != nil {
		return err
	}
	if err := a.connect(); err != nil {
		return err
	}
	inst, err := a.c.Get(ctx, p)
	if err != nil {
		return err
	}
	return a.printInstance(inst)
}

func (a *app) deleteCmd(ctx context.Context, args []string) error {
	pos, err := parse(a.flags("delete"), args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("delete needs one object path")
	}
	p, err := a.path(pos[0])
	if err != nil {
		return err
	}
	if err := a.connect(); err != nil {
		return err
	}
	if err := a.c.Delete(ctx, p); err != nil {
		return err
	}
	return a.done("deleted", client.FormatPath(p))
}

// done prints a one-row confirmation.
func (a *app) done(what, target string) error {
	t := &table{headers: []string{"RESULT", "TARGET"}, obj: map[string]any{"result": what, "target": target}}
	t.add(what, target)
	return a.print(t)
}

func (a *app) enumerate(ctx context.Context, args []string) error {
	fs := a.flags("enumerate")
	var filter, associated, assocClass, resultClass, role, resultRole, columns string
	var references bool
	fs.StringVar(&filter, "filter", "", "")
	fs.StringVar(&associated, "associated", "", "")
	fs.StringVar(&assocClass, "assoc-class", "", "")
	fs.StringVar(&resultClass, "result-class", "", "")
	fs.StringVar(&role, "role", "", "")
	fs.StringVar(&resultRole, "result-role", "", "")
	fs.StringVar(&columns, "columns", "", "")
	fs.BoolVar(&references, "references", false, "")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	class := "*"
	switch {
	case len(pos) == 1:
		class = pos[0]
	case len(pos) > 1:
		return usagef("enumerate takes one class")
	case filter == "" && associated == "":
		return usagef("enumerate needs a class, --filter or --associated")
	}
	if filter != "" && associated != "" {
		return usagef("give --filter or --associated, not both")
	}
	opts := client.EnumerateOptions{WQL: filter}
	if associated != "" {
		obj, err := a.path(associated)
		if err != nil {
			return err
		}
		opts.Association = &cimmodel.AssociationFilter{Object: obj, AssociationClassName: assocClass,
			ResultClassName: resultClass, Role: role, ResultRole: resultRole, Instances: references}
		if len(pos) == 0 {
			class = "*"
		}
	}
	if err := a.connect(); err != nil {
		return err
	}
	list, err := a.c.Enumerate(ctx, a.namespace, class, opts)
	if err != nil {
		return err
	}
	var cols []string
	if columns != "" {
		cols = strings.Split(columns, ",")
	}
	return a.printInstances(list, cols)
}

// parseArgs reads Name=value method arguments: "ref:PATH" is a reference,
// "@null" is NULL, a repeated name makes an array.
func (a *app) parseArgs(kvs []string) ([]client.Arg, error) {
	var out []client.Arg
	index := map[string]int{}
	for _, kv := range kvs {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, usagef("method argument %q: want Name=value", kv)
		}
		i, seen := index[strings.ToLower(name)]
		if !seen {
			out = append(out, client.Arg{Name: name})
			i = len(out) - 1
			index[strings.ToLower(name)] = i
		}
		arg := &out[i]
		switch {
		case value == "@null":
			if seen {
				return nil, usagef("method argument %s: @null cannot be an array element", name)
			}
			arg.Null = true
		case strings.HasPrefix(value, "ref:"):
			p, err := a.path(strings.TrimPrefix(value, "ref:"))
			if err != nil {
				return nil, err
			}
			if len(arg.Values) > 0 || arg.Null {
				return nil, usagef("method argument %s mixes references and values", name)
			}
			arg.Refs = append(arg.Refs, p)
		default:
			if len(arg.Refs) > 0 || arg.Null {
				return nil, usagef("method argument %s mixes references and values", name)
			}
			arg.Values = append(arg.Values, value)
		}
	}
	return out, nil
}

// target resolves CLASS or PATH: a class with exactly one instance (the
// services) means that instance; a class without instances is a static call.
func (a *app) target(ctx context.Context, s string) (cimmodel.ObjectPath, error) {
	p, err := a.path(s)
	if err != nil || len(p.Keys) > 0 {
		return p, err
	}
	list, err := a.c.Enumerate(ctx, p.Namespace, p.Class, client.EnumerateOptions{})
	if err != nil {
		return p, err
	}
	switch len(list) {
	case 0:
		return p, nil
	case 1:
		if list[0].Path != nil {
			return *list[0].Path, nil
		}
		return p, fmt.Errorf("the server sent %s without its path", p.Class)
	}
	return p, usagef("%s has %d instances; give the object path of one", p.Class, len(list))
}

func (a *app) invoke(ctx context.Context, args []string) error {
	pos, err := parse(a.flags("invoke"), args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("invoke needs CLASS|PATH METHOD [Name=value ...]")
	}
	in, err := a.parseArgs(pos[2:])
	if err != nil {
		return err
	}
	if err := a.connect(); err != nil {
		return err
	}
	target, err := a.target(ctx, pos[0])
	if err != nil {
		return err
	}
	out, err := a.c.Invoke(ctx, target, pos[1], in)
	if err != nil {
		return err
	}
	if a.structured() {
		j := toJSON(out.Params)
		rec := map[string]any{"returnValue": out.ReturnValue, "returnText": returnText(pos[1], out.ReturnValue),
			"out": j.Properties}
		if r := out.Reason(); r != "" {
			rec["reason"] = r
		}
		err = a.printJSON(rec)
	} else {
		t := &table{headers: []string{"PARAMETER", "VALUE"}}
		t.add("ReturnValue", fmt.Sprintf("%d (%s)", out.ReturnValue, returnText(pos[1], out.ReturnValue)))
		for _, p := range out.Params.Properties {
			if strings.EqualFold(p.Name, "ExtendedStatus") && out.Reason() != "" {
				t.add(p.Name, out.Reason())
				continue
			}
			t.add(p.Name, p.Text())
		}
		err = a.print(t)
	}
	if err != nil {
		return err
	}
	// The output is printed either way; a failure code still fails the
	// command, so that scripts notice.
	if out.ReturnValue != 0 && out.ReturnValue != returnJobStarted {
		return refused(pos[1], out)
	}
	return nil
}

// refused is the error of a call that answered a return value other than
// 0 and 4096: the value, its name, and the server's reason (the
// ExtendedStatus message) when it gave one.
func refused(method string, out *client.Output) error {
	err := fmt.Errorf("%s returned %d (%s)", method, out.ReturnValue, returnText(method, out.ReturnValue))
	if r := out.Reason(); r != "" {
		err = fmt.Errorf("%w: %s", err, r)
	}
	return err
}

// returnText names the common SMI-S method return values and the
// method-specific ones of the replication and storage services
// (cim-replication.md §1.1, §1.2).
func returnText(method string, rv uint32) string {
	specific := map[string]map[uint32]string{
		"CreateGroup":                          {7: "Groups are not nameable"},
		"DeleteGroup":                          {7: "One or more elements in a replication relationship"},
		"AddMembers":                           {7: "Group does not exist"},
		"RemoveMembers":                        {7: "Group does not exist", 8: "Member not in group"},
		"CreateOrModifyElementFromStoragePool": {4097: "Size Not Supported", 40000: "Not Enough Available Capacity"},
		"ReturnToStoragePool":                  {32768: "Element Is In A Replication Relationship"},
		"RequestStateChange": {4097: "Invalid State Transition", 4098: "Use of Timeout Parameter Not Supported",
			4099: "Busy"},
	}
	if s, ok := specific[method][rv]; ok {
		return s
	}
	switch rv {
	case 0:
		return "Completed with No Error"
	case 1:
		return "Not Supported"
	case 2:
		return "Unknown"
	case 3:
		return "Timeout"
	case 4:
		return "Failed"
	case 5:
		return "Invalid Parameter"
	case 6:
		return "In Use"
	case 4096:
		return "Method Parameters Checked - Job Started"
	}
	if rv >= 0x8000 {
		return "Vendor Specific"
	}
	return "Reserved"
}
