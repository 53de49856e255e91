package xsoar

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// TestDocsStateFilterCase: the Help tab said "operations and workloads are
// case-sensitive" while the filter (internal/activity) matches workloads
// in any case and operations only as spelled. The filter's behaviour is
// the source: the Help tab's filter line must state it, and no document
// may claim workloads are case-sensitive or operations are not.
func TestDocsStateFilterCase(t *testing.T) {
	matches := func(recordTypes, workloads, operations string, r activity.Record) bool {
		t.Helper()
		f, err := activity.ParseFilter(recordTypes, workloads, operations)
		if err != nil {
			t.Fatal(err)
		}
		return f.Match(&r)
	}
	workloadsFold := matches("", "exchange", "", activity.Record{Workload: "Exchange"})
	operationsFold := matches("", "", "DlpRuleMatch", activity.Record{Operation: "DLPRuleMatch"})
	if !workloadsFold || operationsFold {
		t.Fatalf("the filter changed (workloads in any case: %v, operations in any case: %v): update the documents and this test", workloadsFold, operationsFold)
	}

	help, err := os.ReadFile("description.md")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(help), "\n") {
		if strings.HasPrefix(l, "- **Record types / Workloads / Operations to fetch**") {
			line = l
		}
	}
	for _, want := range []string{"workloads match in any case", "operations only as spelled"} {
		if !strings.Contains(line, want) {
			t.Errorf("the Help tab's filter line does not say %q:\n%s", want, line)
		}
	}

	wrong := []*regexp.Regexp{
		regexp.MustCompile(`(?i)workloads?( and operations)? (are|is|match) case-sensitive`),
		regexp.MustCompile(`(?i)operations and workloads (are|match) case-sensitive`),
		regexp.MustCompile(`(?i)operations? (are|is|match) case-insensitive`),
		regexp.MustCompile(`(?i)operations? (match )?in any case`),
	}
	for _, doc := range []string{"description.md", "README.md", "../README.md", "../integration.yml", packDir + "/README.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range wrong {
			if m := re.Find(b); m != nil {
				t.Errorf("%s says %q, but workloads match in any case and operations only as spelled", doc, m)
			}
		}
	}
}
