package commands

import (
	"encoding/json"
	"reflect"

	"github.com/secops-go/ms-management-activity/auth"
	"github.com/secops-go/ms-management-activity/internal/redact"
)

// redactOutput is the last step of every command's output: every secret of
// the run (params, tokens obtained, the identity header), in every form
// redact.Forms lists, is replaced in the entries and the incidents (every
// field, by redactFields), the whole lastRun and the integrationContext,
// except the token cache the context exists to hold. Values are replaced,
// never written to: records share their bytes. TestRedactOutputFields fails
// when Output gains a field this does not know.
func redactOutput(out *Output, set *redact.Set) {
	for i := range out.Results {
		redactFields(set, &out.Results[i])
	}
	if out.Incidents != nil {
		for i := range *out.Incidents {
			redactFields(set, &(*out.Incidents)[i])
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

var anyMapType = reflect.TypeFor[map[string]any]()

// redactFields redacts every field of the struct ptr points to (an entry,
// an incident), so that no field is left out by hand: strings (a record's
// Id in an incident's dbotMirrorId, a name, rawJSON, human-readable text),
// and values of type any or map[string]any through redactValue. Numbers and
// booleans cannot hold a secret. A field of any other type fails closed: it
// is cleared when its JSON encoding holds a secret (and
// TestRedactFieldsKnowsEveryField fails until this learns the type).
func redactFields(set *redact.Set, ptr any) {
	v := reflect.ValueOf(ptr).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.CanSet() {
			continue // unexported: never encoded
		}
		switch redactKind(f.Type()) {
		case redactString:
			f.SetString(set.String(f.String()))
		case redactAny:
			if !f.IsNil() {
				f.Set(reflect.ValueOf(redactValue(set, f.Interface())))
			}
		case redactInert:
		default:
			if b, err := json.Marshal(f.Interface()); err != nil || set.Contains(string(b)) {
				f.SetZero()
			}
		}
	}
}

const (
	redactUnknown = iota
	redactString
	redactAny // any, or map[string]any: redactValue keeps the type
	redactInert
)

// redactKind is how redactFields redacts a field of type t.
func redactKind(t reflect.Type) int {
	switch t.Kind() {
	case reflect.String:
		return redactString
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return redactAny
		}
	case reflect.Map:
		if t == anyMapType {
			return redactAny
		}
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return redactInert
	}
	return redactUnknown
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
