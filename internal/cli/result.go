package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/secops-go/ms-management-activity/commands"
	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/fetch"
	"github.com/secops-go/ms-management-activity/internal/progress"
)

// printResult prints a command's result on stdout: all of it as JSON with
// --json, else its human-readable markdown, rendered for a terminal.
func (a *app) printResult(full string, out *commands.Output, o *commandOptions) error {
	if o.json {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return fmt.Errorf("writing the result: %w", err)
		}
		io.WriteString(a.io.Out, a.envSecrets.String(string(b))+"\n")
		return nil
	}
	io.WriteString(a.io.Out, a.envSecrets.String(a.io.render(forCommandLine(humanReadable(full, out)), o.maxRows)))
	return nil
}

// humanReadable is the markdown a person reads for a result: each entry's
// human-readable text (or its contents), warnings, and for fetch-incidents a
// summary of the incidents and of the new lastRun.
func humanReadable(command string, out *commands.Output) string {
	var parts []string
	for _, e := range out.Results {
		switch e.Type {
		case xcontext.TypeError:
			continue // on stderr
		case xcontext.TypeWarning:
			parts = append(parts, "**Warning:** "+fmt.Sprint(e.Contents)+"\n")
			continue
		}
		text := e.HumanReadable
		if text == "" {
			switch c := e.Contents.(type) {
			case string:
				text = c
			case nil:
			default:
				b, _ := json.MarshalIndent(c, "", "  ")
				text = "```json\n" + string(b) + "\n```"
			}
		}
		if text != "" {
			parts = append(parts, strings.TrimRight(text, "\n")+"\n")
		}
	}
	if command == commands.CmdFetchIncidents && out.Incidents != nil {
		parts = append(parts, incidentsMarkdown(*out.Incidents), lastRunMarkdown(out.LastRun))
	}
	return strings.Join(parts, "\n")
}

// incidentsMarkdown is the fetch summary table.
func incidentsMarkdown(inc []commands.Incident) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Fetched %s incidents\n", progress.Thousands(len(inc)))
	if len(inc) == 0 {
		b.WriteString("**No entries.**\n")
		return b.String()
	}
	b.WriteString("|occurred|name|\n|---|---|\n")
	for _, i := range inc {
		fmt.Fprintf(&b, "| %s | %s |\n", xcontext.EscapeMD(i.Occurred), xcontext.EscapeMD(i.Name))
	}
	return b.String()
}

// lastRunMarkdown summarizes the new lastRun for a person: per content
// type, where the next fetch continues and what this run did (from the
// diagnostics), then any warnings. An unfamiliar shape is shown field by
// field. The whole object is in lastRun.json (--state) or --json.
func lastRunMarkdown(lr any) string {
	var sb strings.Builder
	sb.WriteString("### lastRun: where the next fetch continues\n")
	raw, _ := json.Marshal(lr)
	st, err := fetch.Decode(raw)
	if err != nil || st == nil || len(st.Streams) == 0 {
		return sb.String() + flatLastRun(raw)
	}
	cts := make([]string, 0, len(st.Streams))
	for ct := range st.Streams {
		cts = append(cts, ct)
	}
	sort.Strings(cts)
	d := st.Diagnostics
	if d == nil {
		d = &fetch.Diagnostics{}
	}
	sb.WriteString("|content type|cursor|next listing from|partly delivered blobs|incidents|duplicates skipped|\n|---|---|---|---|---|---|\n")
	for _, ct := range cts {
		s := st.Streams[ct]
		var incidents, duplicates int
		if n := d.Streams[ct]; n != nil {
			incidents, duplicates = n.Incidents, n.Duplicates
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %d | %s | %s |\n", xcontext.EscapeMD(ct), xcontext.EscapeMD(wireTime(s.Cursor)), xcontext.EscapeMD(wireTime(s.From)), len(s.Partials),
			progress.Thousands(incidents), progress.Thousands(duplicates))
	}
	for _, w := range d.Warnings {
		fmt.Fprintf(&sb, "\n**Warning:** %s\n", w)
	}
	if d.Error != "" {
		fmt.Fprintf(&sb, "\n**Error:** %s\n", d.Error)
	}
	return sb.String()
}

// flatLastRun shows any lastRun object one leaf field per row.
func flatLastRun(raw []byte) string {
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if len(m) == 0 {
		return "**No entries.**\n"
	}
	var sb strings.Builder
	sb.WriteString("|field|value|\n|---|---|\n")
	var walk func(prefix string, v any, depth int)
	walk = func(prefix string, v any, depth int) {
		if obj, ok := v.(map[string]any); ok && len(obj) > 0 && depth < 3 {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if prefix != "" {
					p = prefix + " › " + k
				}
				walk(p, obj[k], depth+1)
			}
			return
		}
		fmt.Fprintf(&sb, "| %s | %s |\n", xcontext.EscapeMD(prefix), xcontext.EscapeMD(summarize(v)))
	}
	walk("", m, 0)
	return sb.String()
}

// summarize renders a JSON value briefly.
func summarize(v any) string {
	switch t := v.(type) {
	case []any:
		if len(t) == 0 {
			return "[]"
		}
		return fmt.Sprintf("[%s items]", progress.Thousands(len(t)))
	case map[string]any:
		return fmt.Sprintf("{%d fields}", len(t))
	case string:
		if n := len([]rune(t)); n > 64 {
			return fmt.Sprintf("%s… (%s chars)", string([]rune(t)[:40]), progress.Thousands(n))
		}
		return t
	case nil:
		return "null"
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

// wireTime writes a lastRun time as lastRun holds it (RFC 3339, UTC,
// whole seconds).
func wireTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
