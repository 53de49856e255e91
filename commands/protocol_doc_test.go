package commands

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestProtocolDocMatchesCode keeps docs/protocol.md true where it can be
// checked mechanically: it names every command of the registry, the
// envelope limit, every exit code, and every repository file it points to
// exists.
func TestProtocolDocMatchesCode(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for name := range Registry() {
		short := strings.TrimPrefix(name, "ms-management-activity")
		if !strings.Contains(doc, "`"+name+"`") && !strings.Contains(doc, "`"+short+"`") {
			t.Errorf("docs/protocol.md does not name the command %s", name)
		}
	}
	if !strings.Contains(doc, "64 MiB") || MaxEnvelopeBytes != 64<<20 {
		t.Errorf("docs/protocol.md's envelope limit (64 MiB) and MaxEnvelopeBytes (%d) disagree", MaxEnvelopeBytes)
	}
	for _, code := range []int{ExitOK, ExitFailed, ExitBadEnvelope} {
		if !regexp.MustCompile(`(?m)^\| ` + string(rune('0'+code)) + ` \|`).MatchString(doc) {
			t.Errorf("docs/protocol.md's exit status table has no row for %d", code)
		}
	}
	paths := regexp.MustCompile("`((?:commands|internal|xsoar|auth|params|context|testdata)/[A-Za-z0-9_./-]*|main\\.go)`").FindAllStringSubmatch(doc, -1)
	if len(paths) == 0 {
		t.Fatal("no file references found; did the pattern break?")
	}
	for _, m := range paths {
		p := m[1]
		if strings.Contains(p, "<") {
			continue
		}
		if _, err := os.Stat(filepath.Join("..", strings.TrimSuffix(p, "/"))); err != nil {
			t.Errorf("docs/protocol.md points to %s, which does not exist", p)
		}
	}
}
