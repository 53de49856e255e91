package cli

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/secops-go/ms-management-activity/internal/progress"
)

// render turns the human-readable markdown into what is printed: verbatim
// off a terminal (a pipe, a file: other tools read markdown), aligned tables
// on a terminal. Tables longer than maxRows are shortened either way (0: no
// limit).
func (s *Streams) render(md string, maxRows int) string {
	md = truncateTables(md, maxRows)
	if !s.OutTTY {
		return md
	}
	width := s.Width
	if width <= 0 {
		width = 100
	}
	return renderTerminal(md, width)
}

// truncateTables keeps the first max rows of every markdown table and says
// how many were left out (max 0: no limit).
func truncateTables(md string, max int) string {
	if max <= 0 {
		return md
	}
	lines := strings.Split(md, "\n")
	var out []string
	for i := 0; i < len(lines); {
		if !isTableStart(lines, i) {
			out = append(out, lines[i])
			i++
			continue
		}
		out = append(out, lines[i], lines[i+1])
		j := i + 2
		for j < len(lines) && strings.HasPrefix(lines[j], "|") {
			j++
		}
		rows := lines[i+2 : j]
		if len(rows) > max {
			out = append(out, rows[:max]...)
			out = append(out, fmt.Sprintf("_… and %s more rows (%s in all; --max-rows 0 or --json shows them all)_", progress.Thousands(len(rows)-max), progress.Thousands(len(rows))))
		} else {
			out = append(out, rows...)
		}
		i = j
	}
	return strings.Join(out, "\n")
}

// isTableStart reports whether lines[i] is a table header followed by its
// |---| separator.
func isTableStart(lines []string, i int) bool {
	if i+1 >= len(lines) || !strings.HasPrefix(lines[i], "|") {
		return false
	}
	sep := strings.TrimSpace(lines[i+1])
	return strings.HasPrefix(sep, "|") && strings.Trim(sep, "|-: ") == "" && strings.Contains(sep, "---")
}

const (
	ansiBold  = "\x1b[1m"
	ansiReset = "\x1b[0m"
)

// renderTerminal renders markdown for a terminal of the given width: "###"
// titles in bold, tables as aligned columns, **bold** as bold.
func renderTerminal(md string, width int) string {
	lines := strings.Split(md, "\n")
	var b strings.Builder
	for i := 0; i < len(lines); {
		line := lines[i]
		switch {
		case isTableStart(lines, i):
			j := i + 2
			for j < len(lines) && strings.HasPrefix(lines[j], "|") {
				j++
			}
			header := splitRow(lines[i])
			var rows [][]string
			for _, l := range lines[i+2 : j] {
				rows = append(rows, splitRow(l))
			}
			b.WriteString(alignTable(header, rows, width))
			i = j
			continue
		case strings.HasPrefix(line, "#"):
			title := strings.TrimSpace(strings.TrimLeft(line, "#"))
			b.WriteString(ansiBold + title + ansiReset)
		default:
			b.WriteString(boldSpans(line))
		}
		i++
		if i < len(lines) {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// boldSpans turns **text** into bold and _text_ lines into plain text.
func boldSpans(line string) string {
	if strings.HasPrefix(line, "_") && strings.HasSuffix(line, "_") && len(line) > 2 {
		return line[1 : len(line)-1]
	}
	for {
		i := strings.Index(line, "**")
		if i < 0 {
			return line
		}
		j := strings.Index(line[i+2:], "**")
		if j < 0 {
			return line
		}
		line = line[:i] + ansiBold + line[i+2:i+2+j] + ansiReset + line[i+2+j+2:]
	}
}

// splitRow splits "| a | b\|c |" into its unescaped cells.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	if strings.HasSuffix(line, "|") && !strings.HasSuffix(line, `\|`) {
		line = line[:len(line)-1]
	}
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' && i+1 < len(line) && (line[i+1] == '|' || line[i+1] == '`') {
			cur.WriteByte(line[i+1])
			i++
			continue
		}
		if c == '|' {
			cells = append(cells, cleanCell(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	return append(cells, cleanCell(cur.String()))
}

func cleanCell(s string) string {
	s = strings.ReplaceAll(s, "<br>", " ")
	return strings.Join(strings.Fields(s), " ")
}

// alignTable lays cells out in columns fitting width: the widest columns are
// shortened (with "…") first.
func alignTable(header []string, rows [][]string, width int) string {
	n := len(header)
	for _, r := range rows {
		n = max(n, len(r))
	}
	w := make([]int, n)
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			w[i] = max(w[i], utf8.RuneCountInString(c))
		}
	}
	const gap = 2
	total := func() int {
		t := gap * (n - 1)
		for _, x := range w {
			t += x
		}
		return t
	}
	for total() > width {
		widest := 0
		for i := range w {
			if w[i] > w[widest] {
				widest = i
			}
		}
		if w[widest] <= 8 {
			break
		}
		w[widest]--
	}
	var b strings.Builder
	line := func(cells []string, bold bool) {
		var l strings.Builder
		for i := 0; i < n; i++ {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			c = fit(c, w[i])
			if i < n-1 {
				c += strings.Repeat(" ", w[i]-utf8.RuneCountInString(c)+gap)
			}
			l.WriteString(c)
		}
		s := strings.TrimRight(l.String(), " ")
		if bold {
			s = ansiBold + s + ansiReset
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
	line(header, true)
	seps := make([]string, n)
	for i := range seps {
		seps[i] = strings.Repeat("─", w[i])
	}
	line(seps, false)
	for _, r := range rows {
		line(r, false)
	}
	return b.String()
}

// fit shortens s to at most n runes, ending with "…" when cut.
func fit(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}
