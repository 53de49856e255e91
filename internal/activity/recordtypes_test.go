package activity

import (
	"strings"
	"testing"

	"github.com/secops-go/ms-management-activity/internal/catalog"
)

func TestRecordTypeTable(t *testing.T) {
	if len(catalog.RecordTypes) != 257 {
		t.Errorf("enum has %d values, want 257 (docs/api-facts.md, Records)", len(catalog.RecordTypes))
	}
	seen := map[int]bool{}
	for _, e := range catalog.RecordTypes {
		if seen[e.Number] {
			t.Errorf("duplicate value %d", e.Number)
		}
		seen[e.Number] = true
	}
	for n, name := range map[RecordType]string{1: "ExchangeAdmin", 22: "Viva Engage", 25: "MicrosoftTeams", 216: "Viva Goals", 463: "VivaGlintAgenticCampaign", 5: "Unknown(5)", 9999: "Unknown(9999)"} {
		if got := n.String(); got != name {
			t.Errorf("RecordType(%d) = %q, want %q", n, got, name)
		}
	}
}

func TestParseRecordType(t *testing.T) {
	for in, want := range map[string]RecordType{
		"MicrosoftTeams": 25, "microsoftteams": 25, " MICROSOFTTEAMS ": 25, "25": 25,
		"Yammer": 22, "Viva Engage": 22, "vivaengage": 22, "viva goals": 216, "VivaGoals": 216,
		"quarantine": 65, "Sway": 12, "WorkplaceAnalytics": 44, "VivaInsights": 44, "999": 999, "0": 0,
	} {
		got, err := ParseRecordType(in)
		if err != nil || got != want {
			t.Errorf("ParseRecordType(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	_, err := ParseRecordType("MicrosoftTeam")
	if err == nil || !strings.Contains(err.Error(), "MicrosoftTeams") {
		t.Errorf("typo error = %v, want a suggestion of MicrosoftTeams", err)
	}
	_, err = ParseRecordType("SharePointFileOp")
	if err == nil || !strings.Contains(err.Error(), "SharePointFileOperation") {
		t.Errorf("prefix error = %v", err)
	}
	if _, err := ParseRecordType("-3"); err == nil {
		t.Error("negative accepted")
	}
	if _, err := ParseRecordType("zzzzzzzzzzzzzzzz"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("nonsense error = %v", err)
	}
}

func TestFilter(t *testing.T) {
	teams := Record{RecordType: 25, Workload: "MicrosoftTeams", Operation: "TeamCreated"}
	sp := Record{RecordType: 6, Workload: "SharePoint", Operation: "FileAccessed"}
	cases := []struct {
		rt, wl, op string
		teams, sp  bool
	}{
		{"", "", "", true, true},
		{"MicrosoftTeams", "", "", true, false},
		{" microsoftteams , 6 ", "", "", true, true},
		{"25", "sharepoint", "", false, false},
		{"", " SharePoint,,", "", false, true},
		{"", "", "FileAccessed", false, true},
		{"SharePointFileOperation", "SharePoint", "FileAccessed", false, true},
		{"SharePointFileOperation", "SharePoint", "FileDeleted", false, false},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.rt, c.wl, c.op)
		if err != nil {
			t.Fatal(err)
		}
		if f.Match(&teams) != c.teams || f.Match(&sp) != c.sp {
			t.Errorf("filter(%q,%q,%q): teams %v sp %v", c.rt, c.wl, c.op, f.Match(&teams), f.Match(&sp))
		}
	}
	if _, err := ParseFilter("Teams,Bogus", "", ""); err == nil || !strings.Contains(err.Error(), "record_types_filter") {
		t.Errorf("err = %v", err)
	}
}

func TestSplitWindow(t *testing.T) {
	s := mustTime(t, "2026-11-20T00:00:00")
	w := SplitWindow(s, s.Add(50*60*60e9))
	if len(w) != 3 || !w[2][1].Equal(s.Add(50*60*60e9)) || !w[1][0].Equal(w[0][1]) {
		t.Errorf("windows = %v", w)
	}
	for _, x := range w {
		if x[1].Sub(x[0]) > MaxWindow {
			t.Errorf("window %v longer than 24h", x)
		}
	}
}
