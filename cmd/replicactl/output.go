package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/replicad/replicad/client"
)

// table is what most commands print: a header row and rows of cells, and
// for --output json a typed record per row (numbers as numbers, booleans
// as booleans, lists as arrays, keys that never change).
type table struct {
	headers []string
	rows    [][]string
	// recs holds each row's JSON record; nil for a row added with add,
	// whose record is its cells keyed by the headers in lower case.
	recs []any
	// list marks a list of records: rows are printed sorted (by their
	// cells, first column first) and JSON is an array. Without it the
	// table is one record's FIELD/VALUE rows and JSON is that record (obj).
	list bool
	obj  map[string]any
}

// add appends a row whose JSON record is its cells.
func (t *table) add(cells ...string) {
	t.rows = append(t.rows, cells)
	t.recs = append(t.recs, nil)
}

// addRecord appends a row with its typed JSON record.
func (t *table) addRecord(rec any, cells ...string) {
	t.rows = append(t.rows, cells)
	t.recs = append(t.recs, rec)
}

// field appends a FIELD/VALUE row of a one-record table, with key and the
// typed value of the record's JSON form.
func (t *table) field(name, text, key string, value any) {
	t.add(name, text)
	if t.obj == nil {
		t.obj = map[string]any{}
	}
	t.obj[key] = value
}

// print writes t as an aligned table, or as JSON: a one-record table as
// its object, a list as an array of records (rows sorted either way).
func (a *app) print(t *table) error {
	if t.list {
		t.sort()
	}
	if a.structured() {
		if t.obj != nil && !t.list {
			return a.printJSON(t.obj)
		}
		out := make([]any, 0, len(t.rows))
		for i, r := range t.rows {
			if t.recs[i] != nil {
				out = append(out, t.recs[i])
				continue
			}
			obj := map[string]string{}
			for j, h := range t.headers {
				if j < len(r) {
					obj[strings.ToLower(h)] = r[j]
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

// sort orders a list's rows (and records) by their cells.
func (t *table) sort() {
	idx := make([]int, len(t.rows))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool { return slices.Compare(t.rows[idx[x]], t.rows[idx[y]]) < 0 })
	rows, recs := make([][]string, len(idx)), make([]any, len(idx))
	for i, j := range idx {
		rows[i], recs[i] = t.rows[j], t.recs[j]
	}
	t.rows, t.recs = rows, recs
}

// number is the JSON form of a CIM integer's text: a number, or null when
// the text is empty or not a number.
func number(text string) any {
	if n, err := strconv.ParseUint(text, 10, 64); err == nil {
		return n
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n
	}
	return nil
}

// lowerFirst is a CIM name as a JSON key: "ExtendedStatus" → "extendedStatus".
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// strs is a list that prints as a JSON array, [] when empty.
func strs(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// printJSON writes v as indented JSON, or as YAML with --output yaml.
func (a *app) printJSON(v any) error {
	if a.output == "yaml" {
		return writeYAML(a.stdout, v)
	}
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
	if a.structured() {
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
	if a.structured() {
		out := make([]jsonInstance, 0, len(list))
		for _, inst := range list {
			out = append(out, toJSON(inst))
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Class+out[i].Path < out[j].Class+out[j].Path })
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
	t := &table{headers: append([]string{"CLASS"}, columns...), list: true}
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

// structured reports whether records are printed as JSON or YAML rather
// than as a table.
func (a *app) structured() bool { return a.output == "json" || a.output == "yaml" }
