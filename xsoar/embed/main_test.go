package main

import (
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
