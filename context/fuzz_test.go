package context

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTable renders arbitrary JSON rows and headers and checks the shape
// tableToMarkdown guarantees: a heading line, a header row, a separator and
// exactly one line per row (line breaks in cells become <br>), every row
// with one unescaped | per column boundary, valid UTF-8 for valid input, and
// the same output twice (map order never leaks in).
func FuzzTable(f *testing.F) {
	f.Add("Content for content type Audit.General", []byte(`[{"ID":"1","CreationTime":"2026-11-28T10:00:00","Workload":"Exchange","Operation":"Send"}]`), "ID,CreationTime,Workload,Operation", false)
	f.Add("", []byte(`[]`), "", false)
	f.Add("t", []byte(`[{"a":"x|y","b":"line1\nline2\r\nline3\rline4","c":"`+"`code`"+`"}]`), "", false)
	f.Add("t", []byte(`[{"a":{"k":[1,2,{"z":null}],"j":true}},{"a":[["n"],{"x":"y'z\\"}]}]`), "a,missing", true)
	f.Add("t", []byte(`[{"a":1e400}]`), "a", false)
	f.Add("t", []byte(`[{"a":123456789012345678901234567890,"b":-0.0,"c":1.5e-7}]`), "", true)
	f.Add("t", []byte(`[{}]`), "", false)
	f.Add("t", []byte(`[{"h|1":"v","h\n2":"w","h\\":"x"}]`), "", false)
	f.Add("t", []byte(`"just a string"`), "value", false)
	f.Fuzz(func(t *testing.T, name string, rawRows []byte, headerList string, useNumber bool) {
		rows := decodeRows(rawRows, useNumber)
		var headers []string
		if headerList != "" {
			headers = strings.Split(headerList, ",")
		}
		out := Table(name, rows, headers)
		if again := Table(name, rows, headers); again != out {
			t.Fatalf("Table is not deterministic:\n%q\n%q", out, again)
		}
		if !strings.HasSuffix(out, "\n") {
			t.Fatalf("output does not end with a newline: %q", out)
		}
		if utf8.ValidString(name) && utf8.ValidString(headerList) && utf8.Valid(rawRows) && !utf8.ValidString(out) {
			t.Fatalf("valid UTF-8 in, invalid UTF-8 out: %q", out)
		}
		if strings.ContainsAny(name, "\r\n") {
			return // the title is written as is, like the reference
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if name != "" {
			if lines[0] != "### "+name {
				t.Fatalf("first line = %q, want the heading", lines[0])
			}
			lines = lines[1:]
		}
		if len(headers) == 0 && len(rows) > 0 {
			for k := range rows[0] {
				headers = append(headers, k)
			}
		}
		if len(rows) == 0 || len(headers) == 0 {
			if len(lines) != 1 || lines[0] != "**No entries.**" {
				t.Fatalf("empty table rendered as %q", out)
			}
			return
		}
		if len(lines) != 2+len(rows) {
			t.Fatalf("%d lines after the heading, want 2 + %d rows:\n%s", len(lines), len(rows), out)
		}
		if want := "|" + strings.Repeat("---|", len(headers)); lines[1] != want {
			t.Fatalf("separator = %q, want %q", lines[1], want)
		}
		headerAmbiguous := false
		for _, h := range headers {
			headerAmbiguous = headerAmbiguous || strings.HasSuffix(h, `\`)
		}
		if !headerAmbiguous {
			if n := unescapedPipes(lines[0]); n != len(headers)+1 {
				t.Fatalf("header row %q has %d column separators, want %d", lines[0], n, len(headers)+1)
			}
		}
		for _, l := range lines[2:] {
			if !strings.HasPrefix(l, "| ") || !strings.HasSuffix(l, " |") {
				t.Fatalf("row %q is not framed by \"| \" and \" |\"", l)
			}
			if n := unescapedPipes(l); n != len(headers)+1 {
				t.Fatalf("row %q has %d column separators, want %d", l, n, len(headers)+1)
			}
		}
	})
}

// unescapedPipes counts the | of a line that are not escaped as \|.
func unescapedPipes(line string) int {
	return strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
}

// decodeRows turns fuzz bytes into rows: a JSON array of objects as is; any
// other JSON value as one row {"value": v}; non-JSON as one string cell.
func decodeRows(raw []byte, useNumber bool) []Row {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if useNumber {
		dec.UseNumber()
	}
	var v any
	if err := dec.Decode(&v); err != nil {
		return []Row{{"value": string(raw)}}
	}
	list, ok := v.([]any)
	if !ok {
		return []Row{{"value": v}}
	}
	var rows []Row
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			rows = append(rows, m)
		} else {
			rows = append(rows, Row{"value": e})
		}
	}
	return rows
}
