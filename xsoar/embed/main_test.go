package main

import (
	"archive/zip"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `name: x
configuration:
- name: script
  display: not the one
script:
  script: '-'
  type: python
  subtype: python3
  dockerimage: old:1
  commands:
  - name: c
    description: d
tests:
- No tests
`

func TestEmbedEditsOnlyScriptAndImage(t *testing.T) {
	script := "import os\n\n\ndef main():\n    x = '''\n  indented: text\n'''\n\tpass\n"
	out, err := Embed([]byte(sample), script, "img:2")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(sample, "  script: '-'\n", "  script: |-\n    import os\n\n\n    def main():\n        x = '''\n      indented: text\n    '''\n    \tpass\n", 1)
	want = strings.Replace(want, "old:1", "img:2", 1)
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	// Idempotent, and a changed script replaces the whole old block.
	again, err := Embed(out, script, "img:2")
	if err != nil || string(again) != want {
		t.Errorf("second run changed the file (err %v):\n%s", err, again)
	}
	other, err := Embed(out, "print(1)\n", "img:2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(other), "  script: |-\n    print(1)\n  type: python\n") {
		t.Errorf("old block not replaced:\n%s", other)
	}
}

func TestEmbedAddsMissingImage(t *testing.T) {
	in := strings.Replace(sample, "  dockerimage: old:1\n", "", 1)
	out, err := Embed([]byte(in), "print(1)\n", "img:2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "    print(1)\n  dockerimage: img:2\n  type: python\n") {
		t.Errorf("dockerimage not added:\n%s", out)
	}
}

func TestEmbedRefuses(t *testing.T) {
	for name, c := range map[string]struct{ yml, script string }{
		"no trailing newline":  {sample, "print(1)"},
		"two trailing newline": {sample, "print(1)\n\n"},
		"CRLF":                 {sample, "print(1)\r\n"},
		"indented first line":  {sample, "  print(1)\n"},
		"no script mapping":    {"name: x\n", "print(1)\n"},
		"not python":           {strings.Replace(sample, "type: python", "type: javascript", 1), "print(1)\n"},
	} {
		if _, err := Embed([]byte(c.yml), c.script, "img:2"); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

// TestGeneratedFilesAreCurrent fails when integration.yml or the pack is not
// what the generator makes from the sources (bridge.py, description.md, the
// logo, CHANGELOG.md, content.go). Regenerate with: go run ./xsoar/embed
func TestGeneratedFilesAreCurrent(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate(root, "")
	if err != nil {
		t.Fatal(err)
	}
	stale, extra, err := Compare(root, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		t.Errorf("%s is out of date; regenerate with: go run ./xsoar/embed", p)
	}
	for _, p := range extra {
		t.Errorf("%s is in the pack but not generated; remove it or add it to the generator", p)
	}
}

func TestSetTopLevel(t *testing.T) {
	in := "a: 1\ndescription: d\ntests:\n- No tests\nz:\n  k: v\n"
	out := string(SetTopLevel([]byte(in), "tests", []string{"", "- T"}, ""))
	if want := "a: 1\ndescription: d\ntests:\n- T\nz:\n  k: v\n"; out != want {
		t.Errorf("replace a sequence:\n%s\nwant\n%s", out, want)
	}
	block, err := blockScalar("# Title\n\ntext\n")
	if err != nil {
		t.Fatal(err)
	}
	out = string(SetTopLevel([]byte(out), "detaileddescription", block, "description"))
	if want := "a: 1\ndescription: d\ndetaileddescription: |-\n  # Title\n\n  text\ntests:\n- T\nz:\n  k: v\n"; out != want {
		t.Errorf("insert after description:\n%s\nwant\n%s", out, want)
	}
	again := string(SetTopLevel([]byte(out), "detaileddescription", []string{" x"}, "description"))
	if want := "a: 1\ndescription: d\ndetaileddescription: x\ntests:\n- T\nz:\n  k: v\n"; again != want {
		t.Errorf("replace a block:\n%s\nwant\n%s", again, want)
	}
	if _, err := blockScalar("line  \n"); err == nil {
		t.Error("trailing whitespace accepted")
	}
}

func TestWriteZip(t *testing.T) {
	files := map[string][]byte{"integration.yml": []byte("x"), "Packs/" + PackName + "/pack_metadata.json": []byte(`{"name":"p"}`),
		"Packs/" + PackName + "/Integrations/integration-x.yml": []byte("y")}
	path := filepath.Join(t.TempDir(), "p.zip")
	if err := writeZip(path, files); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "Integrations/integration-x.yml,pack_metadata.json,metadata.json" {
		t.Errorf("zip holds %s: want the pack folder's files at its root, and metadata.json", got)
	}
}
