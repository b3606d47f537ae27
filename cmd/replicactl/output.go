package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/replicad/replicad/client"
)

// table is what most commands print: a header row and rows of cells.
type table struct {
	headers []string
	rows    [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// print writes t as an aligned table, or as a JSON array of objects keyed
// by the headers in lower case.
func (a *app) print(t *table) error {
	if a.output == "json" {
		out := make([]map[string]string, 0, len(t.rows))
		for _, r := range t.rows {
			obj := map[string]string{}
			for i, h := range t.headers {
				if i < len(r) {
					obj[strings.ToLower(h)] = r[i]
				}
			}
			out = append(out, obj)
		}
		return a.printJSON(out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.headers, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonInstance is the JSON form of an instance: its class, path and
// properties (strings, arrays of strings, or null).
type jsonInstance struct {
	Class      string         `json:"class"`
	Path       string         `json:"path,omitempty"`
	Properties map[string]any `json:"properties"`
}

func toJSON(inst *client.Instance) jsonInstance {
	j := jsonInstance{Class: inst.Class, Properties: map[string]any{}}
	if inst.Path != nil {
		j.Path = client.FormatPath(*inst.Path)
	}
	for _, p := range inst.Properties {
		j.Properties[p.Name] = propJSON(p)
	}
	return j
}

func propJSON(p client.Property) any {
	switch {
	case p.Null:
		return nil
	case len(p.Instances) > 0:
		var out []jsonInstance
		for _, e := range p.Instances {
			out = append(out, toJSON(e))
		}
		if len(out) == 1 {
			return out[0]
		}
		return out
	}
	var vals []string
	vals = append(vals, p.Values...)
	for _, r := range p.Refs {
		vals = append(vals, client.FormatPath(r))
	}
	if len(vals) == 1 {
		return vals[0]
	}
	return vals
}

// printInstance writes one instance: PROPERTY VALUE rows, or its JSON.
func (a *app) printInstance(inst *client.Instance) error {
	if a.output == "json" {
		return a.printJSON(toJSON(inst))
	}
	t := &table{headers: []string{"PROPERTY", "VALUE"}}
	for _, p := range inst.Properties {
		t.add(p.Name, p.Text())
	}
	return a.print(t)
}

// printInstances writes instances as a table with the given columns
// (nil: the path's keys plus ElementName; ["*"]: every property), or as a
// JSON array.
func (a *app) printInstances(list []*client.Instance, columns []string) error {
	if a.output == "json" {
		out := make([]jsonInstance, 0, len(list))
		for _, inst := range list {
			out = append(out, toJSON(inst))
		}
		return a.printJSON(out)
	}
	if len(columns) == 1 && columns[0] == "*" {
		columns = nil
		seen := map[string]bool{}
		for _, inst := range list {
			for _, p := range inst.Properties {
				if !seen[p.Name] {
					seen[p.Name] = true
					columns = append(columns, p.Name)
				}
			}
		}
	} else if columns == nil {
		seen := map[string]bool{}
		for _, inst := range list {
			if inst.Path == nil {
				continue
			}
			for _, k := range inst.Path.Keys {
				if !seen[k.Name] {
					seen[k.Name] = true
					columns = append(columns, k.Name)
				}
			}
		}
		if !seen["ElementName"] {
			columns = append(columns, "ElementName")
		}
	}
	t := &table{headers: append([]string{"CLASS"}, columns...)}
	for _, inst := range list {
		row := []string{inst.Class}
		for _, c := range columns {
			p, _ := inst.Prop(c)
			row = append(row, p.Text())
		}
		t.add(row...)
	}
	return a.print(t)
}
