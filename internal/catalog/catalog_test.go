package catalog

import (
	"slices"
	"strings"
	"testing"

	"github.com/secops-go/ms-management-activity/internal/suggest"
)

// TestOperationsAreListedPerKnownWorkload: every workload with operations
// is itself listed, and no two workloads differ only in case (workloads
// match case-insensitively).
func TestOperationsAreListedPerKnownWorkload(t *testing.T) {
	for w := range Operations {
		if !slices.Contains(Workloads, w) {
			t.Errorf("Operations has workload %q, which Workloads does not list", w)
		}
	}
	for i, a := range Workloads {
		for _, b := range Workloads[i+1:] {
			if strings.EqualFold(a, b) {
				t.Errorf("workloads %q and %q differ only in case", a, b)
			}
		}
	}
}

// TestDLPOperationsDifferInCase: both spellings real records carry are
// known, and as different operations of different sources.
func TestDLPOperationsDifferInCase(t *testing.T) {
	for _, op := range []string{"DlpRuleMatch", "DLPRuleMatch", "Set-Mailbox", "New-InboxRule", "Add user.", "FileAccessed"} {
		if !KnownOperation(op) {
			t.Errorf("%q is not known", op)
		}
	}
	for _, op := range []string{"dlprulematch", "set-Mailbox", "Sett-Mailbox", "Set-", "Set-mailbox", "Add user"} {
		if KnownOperation(op) {
			t.Errorf("%q is known", op)
		}
	}
	if got := OperationWorkloads("DLPRuleMatch"); !slices.Equal(got, []string{"Exchange"}) {
		t.Errorf("DLPRuleMatch is documented for %v, want [Exchange]", got)
	}
}

func TestNearestWorkload(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{
		{"OneDrve", "OneDrive"},
		{"exchang", "Exchange"},
		{"MicrosoftTeam", "MicrosoftTeams"},
	} {
		got := suggest.Nearest(c.in, Workloads, strings.ToLower, 3)
		if len(got) == 0 || got[0] != c.want {
			t.Errorf("Suggest(%q) = %v, want %s first", c.in, got, c.want)
		}
	}
	if got := suggest.Nearest("zzzzzzzzzzzz", Workloads, strings.ToLower, 3); len(got) != 0 {
		t.Errorf("Suggest(nonsense) = %v", got)
	}
}
