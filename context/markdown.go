package context

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Row is one table row: header name → cell value. Values may be nil,
// strings, numbers, booleans, []any, map[string]any, or an OrderedMap.
type Row = map[string]any

// OrderedMap is a dict cell whose keys must render in a given order (Go maps
// have none; Python dicts keep insertion order).
type OrderedMap struct {
	Keys   []string
	Values map[string]any
}

// Table renders rows as CommonServerPython's tableToMarkdown(name, rows,
// headers) does in its current source:
//
//   - "### name" line when name is not empty;
//   - "**No entries.**" when there are no rows or no headers;
//   - headers as given, else the sorted keys of the first row;
//   - header row without spaces, "|---|" separator, rows with spaces;
//   - nil or missing cells are empty; lists join with ",\n", dicts render as
//     "k: v" lines; then line breaks become <br> and only | and ` are escaped.
func Table(name string, rows []Row, headers []string) string {
	var b strings.Builder
	if name != "" {
		b.WriteString("### ")
		b.WriteString(name)
		b.WriteByte('\n')
	}
	if len(rows) == 0 {
		b.WriteString("**No entries.**\n")
		return b.String()
	}
	if len(headers) == 0 {
		for k := range rows[0] {
			headers = append(headers, k)
		}
		sort.Strings(headers)
	}
	if len(headers) == 0 {
		b.WriteString("**No entries.**\n")
		return b.String()
	}
	b.WriteByte('|')
	for _, h := range headers {
		b.WriteString(EscapeMD(h))
		b.WriteByte('|')
	}
	b.WriteString("\n|")
	for range headers {
		b.WriteString("---|")
	}
	b.WriteByte('\n')
	for _, row := range rows {
		WriteRow(&b, row, headers)
	}
	return b.String()
}

// WriteRow appends one "| a | b |\n" row, for callers that stream a table.
func WriteRow(b *strings.Builder, row Row, headers []string) {
	b.WriteString("| ")
	for i, h := range headers {
		if i > 0 {
			b.WriteString(" | ")
		}
		v, ok := row[h]
		if ok && v != nil {
			b.WriteString(EscapeMD(FormatCell(v)))
		}
	}
	b.WriteString(" |\n")
}

// StringsTable renders a one-column table of strings, as tableToMarkdown does
// for a list of scalars with one header.
func StringsTable(name string, values []string, header string) string {
	rows := make([]Row, len(values))
	for i, v := range values {
		rows[i] = Row{header: v}
	}
	return Table(name, rows, []string{header})
}

// EscapeMD is stringEscapeMD(s, minimal_escaping=True, escape_multiline=True):
// line breaks become <br>, and only | and ` are backslash-escaped.
func EscapeMD(s string) string {
	if !needsMDEscape(s) {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "<br>")
	s = strings.ReplaceAll(s, "\r", "<br>")
	s = strings.ReplaceAll(s, "\n", "<br>")
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "`", "\\`")
}

// needsMDEscape is strings.ContainsAny(s, "\r\n|`") without building the
// byte set on every call (list-content calls it four times per record).
func needsMDEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\r', '\n', '|', '`':
			return true
		}
	}
	return false
}

// FormatCell is formatCell(data, is_pretty=False) with the default flattening
// JSON transformer: strings as is, dicts as "k: v" lines, lists as elements
// joined by ",\n", everything else as compact JSON.
func FormatCell(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		return dictLines(slices.Sorted(maps.Keys(t)), t)
	case OrderedMap:
		return dictLines(t.Keys, t.Values)
	case []any:
		return joinList(t, pyStr, ",\n")
	case []string:
		return strings.Join(t, ",\n")
	default:
		return jsonDumps(v)
	}
}

func dictLines(keys []string, m map[string]any) string {
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + ": " + flatten(m[k])
	}
	return strings.Join(lines, "\n")
}

// flatten is flattenCell for a dict value: lists join with ",\n" of str(),
// anything else is JSON.
func flatten(v any) string {
	if l, ok := v.([]any); ok {
		return joinList(l, pyStr, ",\n")
	}
	return jsonDumps(v)
}

// joinList renders each element with f and joins them with sep.
func joinList(l []any, f func(any) string, sep string) string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = f(e)
	}
	return strings.Join(parts, sep)
}

// joinDict renders a dict literal "{k: v, ...}" with sorted keys, each key
// and value rendered by f (JSON or Python repr).
func joinDict(m map[string]any, f func(any) string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = f(k) + ": " + f(m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// jsonDumps is json.dumps(v, ensure_ascii=False) with Python's separators.
func jsonDumps(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(t)
	case string:
		b, _ := json.Marshal(t)
		return string(b)
	case json.Number:
		return t.String()
	case float64:
		if t == float64(int64(t)) && t < 1e15 && t > -1e15 {
			return strconv.FormatInt(int64(t), 10)
		}
		return strconv.FormatFloat(t, 'g', -1, 64)
	case int, int64, int32, uint, uint64:
		return fmt.Sprint(t)
	case map[string]any:
		return joinDict(t, jsonDumps)
	case []any:
		return "[" + joinList(t, jsonDumps, ", ") + "]"
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return fmt.Sprint(t)
		}
		return string(b)
	}
}

// pyStr is Python's str() of a JSON value, as flattenCell applies to list
// elements: None, True/False, repr of dicts and lists.
func pyStr(v any) string {
	switch t := v.(type) {
	case nil:
		return "None"
	case bool:
		if t {
			return "True"
		}
		return "False"
	case string:
		return t
	case map[string]any, []any:
		return pyRepr(t)
	default:
		return jsonDumps(t)
	}
}

func pyRepr(v any) string {
	switch t := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(strings.ReplaceAll(t, `\`, `\\`), "'", `\'`) + "'"
	case map[string]any:
		return joinDict(t, pyRepr)
	case []any:
		return "[" + joinList(t, pyRepr, ", ") + "]"
	default:
		return pyStr(t)
	}
}
