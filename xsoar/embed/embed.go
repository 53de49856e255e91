package main

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Embed returns yml with script.script set to script (as a literal block
// scalar, "|-") and script.dockerimage set to image. Every other line is kept
// byte for byte. The result is parsed back and checked.
func Embed(yml []byte, script, image string) ([]byte, error) {
	if strings.Contains(script, "\r") {
		return nil, errors.New("bridge.py must use \\n line endings")
	}
	body, ok := strings.CutSuffix(script, "\n")
	if !ok || strings.HasSuffix(body, "\n") || body == "" {
		return nil, errors.New("bridge.py must end with exactly one newline")
	}
	if body[0] == ' ' || body[0] == '\t' {
		return nil, errors.New("bridge.py's first line must not be indented (YAML block indentation is taken from it)")
	}
	lines := strings.Split(string(yml), "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimRight(l, " ") == "script:" {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, errors.New("integration.yml has no top-level script: mapping")
	}
	end := start + 1 // end of the script: mapping (exclusive)
	for end < len(lines) && (strings.TrimSpace(lines[end]) == "" || indent(lines[end]) > 0) {
		end++
	}
	key := findKey(lines, start+1, end, "script")
	if key < 0 {
		return nil, errors.New("integration.yml has no script.script key")
	}
	// The old value: the key line, then any deeper-indented or blank lines;
	// trailing blank lines are not part of it.
	valEnd := key + 1
	for valEnd < end && (strings.TrimSpace(lines[valEnd]) == "" || indent(lines[valEnd]) > 2) {
		valEnd++
	}
	for valEnd > key+1 && strings.TrimSpace(lines[valEnd-1]) == "" {
		valEnd--
	}
	block := []string{"  script: |-"}
	for _, l := range strings.Split(body, "\n") {
		if l == "" {
			block = append(block, "")
		} else {
			block = append(block, "    "+l)
		}
	}
	out := append([]string{}, lines[:key]...)
	out = append(out, block...)
	rest := append([]string{}, lines[valEnd:]...)
	restEnd := end - valEnd
	if d := findKey(rest, 0, restEnd, "dockerimage"); d >= 0 {
		rest[d] = "  dockerimage: " + image
	} else {
		rest = append([]string{"  dockerimage: " + image}, rest...)
	}
	out = append(out, rest...)
	res := []byte(strings.Join(out, "\n"))

	var doc struct {
		Script struct {
			Script      string `yaml:"script"`
			Type        string `yaml:"type"`
			Subtype     string `yaml:"subtype"`
			DockerImage string `yaml:"dockerimage"`
		} `yaml:"script"`
	}
	if err := yaml.Unmarshal(res, &doc); err != nil {
		return nil, fmt.Errorf("the regenerated integration.yml does not parse: %v", err)
	}
	switch {
	case doc.Script.Script != body:
		return nil, errors.New("the regenerated script.script does not read back as bridge.py")
	case doc.Script.DockerImage != image:
		return nil, errors.New("the regenerated script.dockerimage does not read back")
	case doc.Script.Type != "python" || doc.Script.Subtype != "python3":
		return nil, fmt.Errorf("script.type/subtype are %q/%q; the bridge needs python/python3", doc.Script.Type, doc.Script.Subtype)
	}
	return res, nil
}

// findKey returns the index in lines[from:to] of the two-space-indented key
// name (a direct child of script:), or -1.
func findKey(lines []string, from, to int, name string) int {
	for i := from; i < to && i < len(lines); i++ {
		l := lines[i]
		if indent(l) == 2 && (strings.HasPrefix(l[2:], name+":") && (len(l) == len(name)+3 || l[len(name)+3] == ' ')) {
			return i
		}
	}
	return -1
}

func indent(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// SetTopLevel returns yml with the top-level key set to the already rendered
// YAML lines of its value: value[0] continues the "key:" line (e.g. " |-" or
// " foo"), the rest are its continuation lines. An existing key is replaced
// with its whole value (indented lines, and the "- " items of a sequence at
// column 0); a missing one is inserted after the key named after, or at the
// end. Every other line is kept byte for byte.
func SetTopLevel(yml []byte, key string, value []string, after string) []byte {
	lines := strings.Split(string(yml), "\n")
	rendered := append([]string{key + ":" + value[0]}, value[1:]...)
	at, end := topLevelSpan(lines, key)
	if at < 0 {
		at = len(lines)
		if len(lines) > 0 && lines[len(lines)-1] == "" {
			at-- // before the final newline
		}
		if a, aEnd := topLevelSpan(lines, after); a >= 0 {
			at = aEnd
		}
		end = at
	}
	out := append(append(append([]string{}, lines[:at]...), rendered...), lines[end:]...)
	return []byte(strings.Join(out, "\n"))
}

// topLevelSpan returns the lines [start, end) of the top-level key's entry,
// trailing blank lines excluded, or -1, -1.
func topLevelSpan(lines []string, key string) (int, int) {
	if key == "" {
		return -1, -1
	}
	for i, l := range lines {
		if l == key+":" || strings.HasPrefix(l, key+": ") {
			end := i + 1
			for end < len(lines) && (strings.TrimSpace(lines[end]) == "" || indent(lines[end]) > 0 || strings.HasPrefix(lines[end], "- ")) {
				end++
			}
			for end > i+1 && strings.TrimSpace(lines[end-1]) == "" {
				end--
			}
			return i, end
		}
	}
	return -1, -1
}

// blockScalar renders text as a literal block scalar value ("|-" and the
// lines indented by two spaces) for SetTopLevel.
func blockScalar(text string) ([]string, error) {
	body := strings.TrimRight(text, "\n")
	if strings.Contains(body, "\r") {
		return nil, errors.New("must use \\n line endings")
	}
	if body == "" || body[0] == ' ' || body[0] == '\t' {
		return nil, errors.New("must not be empty or start with an indented line")
	}
	out := []string{" |-"}
	for _, l := range strings.Split(body, "\n") {
		if strings.TrimRight(l, " \t") != l {
			return nil, fmt.Errorf("line %q has trailing whitespace, which a YAML block scalar would not keep", l)
		}
		if l == "" {
			out = append(out, "")
		} else {
			out = append(out, "  "+l)
		}
	}
	return out, nil
}
