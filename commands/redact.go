package commands

import (
	"encoding/json"

	"github.com/secops-go/ms-management-activity/auth"
	"github.com/secops-go/ms-management-activity/internal/redact"
)

// redactOutput is the last step of every command's output: every secret of
// the run (params, tokens obtained, the identity header), in every form
// redact.Forms lists, is replaced in the entries (contents, human-readable
// text, context outputs), the incidents, the whole lastRun and the
// integrationContext, except the token cache the context exists to hold.
// Values are replaced, never written to: records share their bytes.
func redactOutput(out *Output, set *redact.Set) {
	for i := range out.Results {
		e := &out.Results[i]
		e.Contents = redactValue(set, e.Contents)
		e.HumanReadable = set.String(e.HumanReadable)
		if e.EntryContext != nil {
			e.EntryContext = redactValue(set, e.EntryContext).(map[string]any)
		}
	}
	if out.Incidents != nil {
		for i := range *out.Incidents {
			inc := &(*out.Incidents)[i]
			inc.Name = set.String(inc.Name)
			inc.RawJSON = set.String(inc.RawJSON)
			inc.Occurred = set.String(inc.Occurred)
		}
	}
	if out.LastRun != nil {
		out.LastRun = redactValue(set, out.LastRun)
	}
	if out.IntegrationContext != nil {
		ctx := make(map[string]any, len(out.IntegrationContext))
		for k, v := range out.IntegrationContext {
			if k != auth.RecordKey {
				v = redactValue(set, v)
			}
			ctx[k] = v
		}
		out.IntegrationContext = ctx
	}
}

// redactValue returns v with the secrets replaced; a value of another type
// than JSON's own is checked through its JSON encoding and, only when that
// holds a secret, replaced by the redacted encoding.
func redactValue(set *redact.Set, v any) any {
	switch t := v.(type) {
	case nil, bool, int, int64, float64, json.Number:
		return v
	case string:
		return set.String(t)
	case json.RawMessage:
		return json.RawMessage(set.Bytes(t))
	case []json.RawMessage:
		var out []json.RawMessage
		for i, r := range t {
			if red := set.Bytes(r); len(red) != len(r) || (len(r) > 0 && &red[0] != &r[0]) {
				if out == nil {
					out = append([]json.RawMessage(nil), t...)
				}
				out[i] = red
			}
		}
		if out == nil {
			return t
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[set.String(k)] = redactValue(set, x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = redactValue(set, x)
		}
		return out
	}
	b, err := json.Marshal(v)
	if err != nil || !set.Contains(string(b)) {
		return v
	}
	return json.RawMessage(set.Bytes(b))
}
