package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// writeYAML writes v (anything encoding/json takes) as YAML 1.2 block
// style: the same records and keys as --output json, maps with sorted keys,
// strings double-quoted (JSON's escapes are YAML's), numbers as written.
func writeYAML(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	var b strings.Builder
	yamlNode(&b, doc, 0, false)
	_, err = io.WriteString(w, b.String())
	return err
}

// yamlNode writes v at indent; inline is true when v follows "key:" or
// "- " on the same line.
func yamlNode(b *strings.Builder, v any, indent int, inline bool) {
	pad := strings.Repeat("  ", indent)
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			b.WriteString(" {}\n")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if inline {
			b.WriteString("\n")
		}
		for _, k := range keys {
			b.WriteString(pad + strconv.Quote(k) + ":")
			yamlNode(b, x[k], indent+1, true)
		}
	case []any:
		if len(x) == 0 {
			b.WriteString(" []\n")
			return
		}
		if inline {
			b.WriteString("\n")
		}
		for _, e := range x {
			b.WriteString(pad + "-")
			yamlNode(b, e, indent+1, true)
		}
	default:
		if inline {
			b.WriteString(" ")
		}
		b.WriteString(yamlScalar(x) + "\n")
	}
}

func yamlScalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case string:
		raw, _ := json.Marshal(x)
		return string(raw)
	}
	return strconv.Quote(fmt.Sprint(v))
}
