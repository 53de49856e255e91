package xsoar

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type integrationScript struct {
	Script struct {
		Script      string `yaml:"script"`
		Type        string `yaml:"type"`
		Subtype     string `yaml:"subtype"`
		DockerImage string `yaml:"dockerimage"`
	} `yaml:"script"`
}

// embeddedScript returns script.script of ../integration.yml.
func embeddedScript(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../integration.yml")
	if err != nil {
		t.Fatal(err)
	}
	var in integrationScript
	if err := yaml.Unmarshal(data, &in); err != nil {
		t.Fatalf("integration.yml: %v", err)
	}
	return in.Script.Script
}

// TestEmbeddedBridgeIsCurrent fails when integration.yml's script.script is
// not xsoar/bridge.py. Regenerate with: go run ./xsoar/embed
func TestEmbeddedBridgeIsCurrent(t *testing.T) {
	data, err := os.ReadFile("../integration.yml")
	if err != nil {
		t.Fatal(err)
	}
	var in integrationScript
	if err := yaml.Unmarshal(data, &in); err != nil {
		t.Fatalf("integration.yml: %v", err)
	}
	src, err := os.ReadFile("bridge.py")
	if err != nil {
		t.Fatal(err)
	}
	// The literal block ("|-") drops bridge.py's final newline.
	want := strings.TrimSuffix(string(src), "\n")
	if in.Script.Script != want {
		t.Errorf("integration.yml script.script differs from xsoar/bridge.py (first difference at line %d); regenerate it with: go run ./xsoar/embed",
			firstDiffLine(in.Script.Script, want))
	}
	if in.Script.Type != "python" || in.Script.Subtype != "python3" {
		t.Errorf("script type/subtype = %q/%q, want python/python3", in.Script.Type, in.Script.Subtype)
	}
	if n := strings.Count(want, "\n") + 1; n > 80 {
		t.Errorf("bridge.py has %d lines; keep it under ~80", n)
	}
}

func firstDiffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}
