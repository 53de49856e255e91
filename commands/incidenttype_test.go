package commands

import (
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/params"
)

// TestFetchIncidentType: an instance whose incidentType is left empty (or
// cleared) used to create incidents with no type, so they were
// Unclassified and the pack's incoming mapper, which maps the pack's
// incident type, never applied. An empty incidentType now means the pack's
// type, as the parameter's defaultvalue says; a type that is set is kept.
func TestFetchIncidentType(t *testing.T) {
	for name, c := range map[string]struct {
		param any // nil: parameter left out
		want  string
	}{
		"left out": {nil, params.DefaultIncidentType},
		"cleared":  {"  ", params.DefaultIncidentType},
		"set":      {"Office 365 Audit", "Office 365 Audit"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newFetchEmu(t, testNow)
			e.srv.Subscribe(e.tenant, "Audit.General")
			e.srv.AddBlob(e.tenant, "Audit.General", testNow.Add(-20*time.Minute), fetchRecord("r-1", "Exchange", "Op", testNow.Add(-30*time.Minute)))
			p := map[string]any{"content_types_to_fetch": "Audit.General", "first_fetch_delta": "1 hour"}
			if c.param != nil {
				p["incidentType"] = c.param
			}
			out, code := e.fetchRun(p, nil)
			if code != 0 || out.Incidents == nil || len(*out.Incidents) != 1 {
				t.Fatalf("exit %d: %v %v", code, out.Results, out.Incidents)
			}
			if got := (*out.Incidents)[0].Type; got != c.want {
				t.Errorf("incident type %q, want %q", got, c.want)
			}
		})
	}
	if params.DefaultIncidentType != "Office 365 Audit Record" {
		t.Errorf("DefaultIncidentType = %q, want the pack's incident type", params.DefaultIncidentType)
	}
}
