package activity

import (
	"strings"
	"testing"
)

// TestFilterRefusesUnknownValues: a workload or operation that no record
// can carry is refused with a suggestion instead of silently matching
// nothing (issue 17: workloads_filter: OneDrve skipped every record).
func TestFilterRefusesUnknownValues(t *testing.T) {
	for _, c := range []struct {
		name, wl, op string
		want         []string // substrings of the error
	}{
		{"workload typo", "OneDrve", "", []string{`workloads_filter: "OneDrve" is not a workload`, "did you mean OneDrive?", "OneDrve!"}},
		{"workload typo among good ones", "Exchange, Sharepoint,MicrosoftTeam", "", []string{`"MicrosoftTeam"`, "MicrosoftTeams"}},
		{"operation typo", "", "FileDownloded", []string{`operations_filter: "FileDownloded" is not an operation`, "did you mean FileDownloaded", "FileDownloded!"}},
		{"operation in the wrong case", "", "filedownloaded", []string{"operations are case-sensitive", "FileDownloaded"}},
		{"DLP operation in the wrong case", "", "dlprulematch", []string{"operations are case-sensitive", "DLPRuleMatch (Exchange)", "DlpRuleMatch (Endpoint, Exchange, MicrosoftTeams, OneDrive, SharePoint)"}},
		{"cmdlet with an unknown verb", "", "Sett-Mailbox", []string{`"Sett-Mailbox" is not an operation`}},
		{"escape alone", "!", "", []string{"workloads_filter", "empty"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseFilter("", c.wl, c.op)
			if err == nil {
				t.Fatalf("ParseFilter(%q, %q) accepted", c.wl, c.op)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestFilterMatchingRules: workloads match in any case, operations exactly
// (DlpRuleMatch and DLPRuleMatch are different operations in real records),
// items are trimmed, and a trailing ! takes a value this build does not
// know as given.
func TestFilterMatchingRules(t *testing.T) {
	dlpFeed := Record{RecordType: 13, Workload: "Exchange", Operation: "DlpRuleMatch"}
	exchangeAudit := Record{RecordType: 2, Workload: "Exchange", Operation: "DLPRuleMatch"}
	newWorkload := Record{RecordType: 999, Workload: "ContosoNewService", Operation: "ThingDone"}
	cmdlet := Record{RecordType: 1, Workload: "Exchange", Operation: "Set-Mailbox"}
	for _, c := range []struct {
		wl, op                                      string
		dlpFeed, exchangeAudit, newWorkload, cmdlet bool
	}{
		{"", "DlpRuleMatch", true, false, false, false},
		{"", "DLPRuleMatch", false, true, false, false},
		{" exchange ", " DlpRuleMatch , DLPRuleMatch ", true, true, false, false},
		{"ContosoNewService!", "", false, false, true, false},
		{"contosonewservice!", "ThingDone!", false, false, true, false},
		{"", "thingdone!", false, false, false, false}, // escaped operations stay exact
		{"", "Set-Mailbox", false, false, false, true},
		{"Exchange", "Set-Mailbox, Remove-MailboxPermission", false, false, false, true},
	} {
		f, err := ParseFilter("", c.wl, c.op)
		if err != nil {
			t.Errorf("ParseFilter(%q, %q): %v", c.wl, c.op, err)
			continue
		}
		got := [4]bool{f.Match(&dlpFeed), f.Match(&exchangeAudit), f.Match(&newWorkload), f.Match(&cmdlet)}
		if want := [4]bool{c.dlpFeed, c.exchangeAudit, c.newWorkload, c.cmdlet}; got != want {
			t.Errorf("filter(%q, %q) matches %v, want %v", c.wl, c.op, got, want)
		}
	}
}
