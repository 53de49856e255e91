package commands

import (
	"strings"
	"testing"
)

// TestFilterTypoRefusedBeforeAnyRequest: a misspelled workload or operation
// used to give "Fetched 0 incidents", exit 0, with the cursor moved past
// every record (issue 17). Now every command that filters refuses it, with
// a suggestion, before it sends a request; fetch-incidents returns no
// lastRun, so nothing is skipped.
func TestFilterTypoRefusedBeforeAnyRequest(t *testing.T) {
	for _, c := range []struct {
		name, filter, value, want, escape string
	}{
		{"workload", "workloads_filter", "OneDrve", "did you mean OneDrive?", "OneDrve!"},
		{"operation", "operations_filter", "FileAcessed", "did you mean FileAccessed", "FileAcessed!"},
		// No escape offered: "fileaccessed!" would match nothing either.
		{"operation case", "operations_filter", "fileaccessed", "operations are case-sensitive", "did you mean FileAccessed"},
	} {
		for _, command := range []string{CmdTestModule, CmdListContent, CmdFetchIncidents} {
			t.Run(c.name+"/"+command, func(t *testing.T) {
				r := newRig(t, true)
				r.addBlobs(3, 2)
				var args, extra map[string]any
				if command == CmdListContent {
					args = map[string]any{"content_type": "Audit.General", c.filter: c.value}
				} else {
					extra = map[string]any{c.filter: c.value, "isFetch": true}
				}
				res, got := r.run(command, args, extra, nil, nil)
				msg := got.errorMessage()
				if res.code != ExitFailed {
					t.Fatalf("exit %d, want %d:\n%s", res.code, ExitFailed, res.stdout)
				}
				if res.out.LastRun != nil {
					t.Errorf("a refused run returned a lastRun: %s", res.stdout)
				}
				if command == CmdFetchIncidents && !strings.Contains(msg, "nothing was fetched") {
					t.Errorf("fetch-incidents does not say that nothing was fetched: %s", msg)
				}
				for _, w := range []string{c.filter, c.value, c.want, c.escape} {
					if !strings.Contains(msg, w) {
						t.Errorf("message does not contain %q: %s", w, msg)
					}
				}
				for endpoint, n := range r.counts() {
					if n != 0 {
						t.Errorf("%d requests to %s before refusing", n, endpoint)
					}
				}
			})
		}
	}
}
