package commands

import (
	"encoding/json"
	"testing"
)

// TestErrorKinds: a parameter value a command refuses marks the output
// ParameterError (the command line's "fix it in FILE" hint), whatever the
// command and the message's wording; an argument value marks it
// ArgumentError and never ParameterError, even when the argument is checked
// by a parser shared with the parameters (limit, timeout, the filters).
func TestErrorKinds(t *testing.T) {
	self := map[string]any{"self_deployed": true, "credentials_auth_id": "app", "credentials_refresh_token": "contoso", "credentials_enc_key": "s"}
	with := func(extra map[string]any) map[string]any {
		p := map[string]any{}
		for k, v := range self {
			p[k] = v
		}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	for _, c := range []struct {
		name    string
		command string
		params  map[string]any
		args    map[string]any
		param   bool // else an argument error
	}{
		{"fetch workloads_filter", CmdFetchIncidents, with(map[string]any{"workloads_filter": "OneDrve"}), nil, true},
		{"fetch record_types_filter", CmdFetchIncidents, with(map[string]any{"record_types_filter": "Foo"}), nil, true},
		{"fetch operations_filter", CmdFetchIncidents, with(map[string]any{"operations_filter": "fileaccessed"}), nil, true},
		{"fetch first_fetch_delta", CmdFetchIncidents, with(map[string]any{"first_fetch_delta": "soon"}), nil, true},
		{"fetch content_types_to_fetch", CmdFetchIncidents, with(map[string]any{"content_types_to_fetch": "Audit.Genral"}), nil, true},
		{"test-module workloads_filter", CmdTestModule, with(map[string]any{"workloads_filter": "OneDrve"}), nil, true},
		{"test-module content_types_to_fetch", CmdTestModule, with(map[string]any{"content_types_to_fetch": "Audit.Genral"}), nil, true},
		{"test-module no client secret", CmdTestModule, with(map[string]any{"credentials_enc_key": ""}), nil, true},
		{"list-subscriptions no client id", CmdListSubscriptions, with(map[string]any{"credentials_auth_id": ""}), nil, true},
		{"list-subscriptions bad timeout", CmdListSubscriptions, with(map[string]any{"timeout": "soon"}), nil, true},
		{"list-subscriptions wrong type", CmdListSubscriptions, with(map[string]any{"self_deployed": []any{1}}), nil, true},
		{"generate-login-url missing", CmdGenerateLoginURL, with(nil), nil, true},
		{"list-content limit", CmdListContent, with(nil), map[string]any{"content_type": "Audit.General", "limit": "abc"}, false},
		{"list-content timeout", CmdListContent, with(nil), map[string]any{"content_type": "Audit.General", "timeout": "-1"}, false},
		{"list-content workloads_filter", CmdListContent, with(nil), map[string]any{"content_type": "Audit.General", "workloads_filter": "OneDrve"}, false},
		{"list-content start in the future", CmdListContent, with(nil), map[string]any{"content_type": "Audit.General", "start_time": "2026-12-03T10:00:00", "end_time": "2026-12-05T10:00:00"}, false},
		{"search-records limit", CmdSearchRecords, with(nil), map[string]any{"user_ids": "x", "limit": "abc"}, false},
		{"search-records workloads", CmdSearchRecords, with(nil), map[string]any{"workloads": "OneDrve"}, false},
		{"start-subscription content_type", CmdStartSubscription, with(nil), map[string]any{"content_type": "Audit.Genral"}, false},
		{"stop-subscription no content_type", CmdStopSubscription, with(nil), nil, false},
		{"search-records search_lateness", CmdSearchRecords, with(map[string]any{"search_lateness": "soon"}), map[string]any{"user_ids": "x"}, true},
	} {
		raw, _ := json.Marshal(map[string]any{"command": c.command, "params": c.params, "args": c.args})
		res := runEnvelope(t, raw, nil)
		if res.code != ExitFailed || res.out.ParameterError != c.param || res.out.ArgumentError == c.param {
			t.Errorf("%s: exit %d, ParameterError %v, ArgumentError %v; want exit 1 and a %s error:\n%s",
				c.name, res.code, res.out.ParameterError, res.out.ArgumentError, map[bool]string{true: "parameter", false: "argument"}[c.param], res.stdout)
		}
	}
}
