package main

import (
	"encoding/json"
	"testing"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// mapField evaluates one internalMapping entry on a record the way the
// XSOAR mapper does, for the subset the pack uses: a simple key, or a
// complex root followed by SetIfEmpty transformers (applyIfEmpty true: ""
// counts as empty) whose defaultValue is another key of the record
// (isContext) and concat transformers with a literal suffix.
func mapField(t *testing.T, entry map[string]any, rec map[string]any) string {
	t.Helper()
	get := func(k string) string { s, _ := rec[k].(string); return s }
	if s, _ := entry["simple"].(string); s != "" {
		return get(s)
	}
	cx, _ := entry["complex"].(map[string]any)
	root, _ := cx["root"].(string)
	v := get(root)
	for _, tr := range cx["transformers"].([]any) {
		tm := tr.(map[string]any)
		args := tm["args"].(map[string]any)
		arg := func(name string) (string, bool) {
			a, _ := args[name].(map[string]any)
			val, _ := a["value"].(map[string]any)
			s, _ := val["simple"].(string)
			ctx, _ := a["isContext"].(bool)
			return s, ctx
		}
		switch tm["operator"] {
		case "SetIfEmpty":
			if apply, _ := arg("applyIfEmpty"); apply != "true" {
				t.Fatalf("SetIfEmpty without applyIfEmpty true: Exchange's empty ClientIP would be kept")
			}
			key, ctx := arg("defaultValue")
			if !ctx {
				t.Fatalf("SetIfEmpty's defaultValue %q is a literal, not a field of the record", key)
			}
			if v == "" {
				v = get(key)
			}
		case "concat":
			suffix, _ := arg("suffix")
			v += suffix
		default:
			t.Fatalf("transformer %v is not modelled", tm["operator"])
		}
	}
	return v
}

// TestMapperSourceIP: the mapper filled O365 Audit Source IP from ClientIP
// only, so Azure AD records (ActorIpAddress) and Exchange mailbox audit
// records (ClientIPAddress, next to an empty ClientIP) had no source IP.
func TestMapperSourceIP(t *testing.T) {
	var m struct {
		Mapping map[string]struct {
			InternalMapping map[string]map[string]any `json:"internalMapping"`
		} `json:"mapping"`
	}
	if err := json.Unmarshal(mapperJSON(), &m); err != nil {
		t.Fatal(err)
	}
	entry := m.Mapping[IncidentType].InternalMapping["O365 Audit Source IP"]
	if entry == nil {
		t.Fatal("the mapper does not map O365 Audit Source IP")
	}
	// The same fields, in the same order, as search-records' client_ips
	// filter reads (internal/activity's address fields).
	ip, actor, exchange := activity.FieldNames[activity.FieldClientIP], activity.FieldNames[activity.FieldActorIPAddress], activity.FieldNames[activity.FieldClientIPAddress]
	for name, c := range map[string]struct {
		rec  map[string]any
		want string
	}{
		"SharePoint": {map[string]any{ip: "10.0.0.1"}, "10.0.0.1"},
		"Azure AD":   {map[string]any{actor: "203.0.113.7"}, "203.0.113.7"},
		"Exchange":   {map[string]any{ip: "", exchange: "2001:db8::1"}, "2001:db8::1"},
		"both":       {map[string]any{ip: "10.0.0.1", actor: "203.0.113.7"}, "10.0.0.1"},
		"none":       {map[string]any{"UserId": "u"}, ""},
	} {
		if got := mapField(t, entry, c.rec); got != c.want {
			t.Errorf("%s: Source IP %q, want %q", name, got, c.want)
		}
	}
	// occurred keeps working through the same evaluator.
	occ := m.Mapping[IncidentType].InternalMapping["occurred"]
	if got := mapField(t, occ, map[string]any{"CreationTime": "2026-11-28T10:15:00"}); got != "2026-11-28T10:15:00Z" {
		t.Errorf("occurred %q", got)
	}
}
