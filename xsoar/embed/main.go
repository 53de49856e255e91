// Command embed embeds xsoar/bridge.py into integration.yml as script.script
// and sets script.dockerimage, editing only those two values so the rest of
// the file keeps its formatting and order. Run it from anywhere in the module:
//
//	go run ./xsoar/embed          # rewrite integration.yml
//	go run ./xsoar/embed -check   # exit 1 when integration.yml is out of date
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// DockerImage is the image integration.yml names; the README tells users to
// build and push it (xsoar/README.md).
const DockerImage = "ms-management-activity:1.0.0"

func main() {
	check := flag.Bool("check", false, "do not write; exit 1 when integration.yml is not up to date")
	image := flag.String("image", DockerImage, "value of script.dockerimage")
	flag.Parse()
	if err := run(*check, *image); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(check bool, image string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	ymlPath := filepath.Join(root, "integration.yml")
	yml, err := os.ReadFile(ymlPath)
	if err != nil {
		return err
	}
	script, err := os.ReadFile(filepath.Join(root, "xsoar", "bridge.py"))
	if err != nil {
		return err
	}
	out, err := Embed(yml, string(script), image)
	if err != nil {
		return err
	}
	if bytes.Equal(out, yml) {
		return nil
	}
	if check {
		return errors.New("integration.yml does not embed the current xsoar/bridge.py; run: go run ./xsoar/embed")
	}
	info, err := os.Stat(ymlPath)
	if err != nil {
		return err
	}
	return os.WriteFile(ymlPath, out, info.Mode().Perm())
}

// moduleRoot walks up from the working directory to the folder holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory; run from inside the module")
		}
		dir = parent
	}
}

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
