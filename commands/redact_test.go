package commands

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/redact"
)

// TestRedactFieldsKnowsEveryField: every field of an entry and an incident
// has a type redactFields redacts (or that cannot hold text), so a field
// added later is redacted without anyone remembering to.
func TestRedactFieldsKnowsEveryField(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[Incident](), reflect.TypeFor[xcontext.Entry]()} {
		for f := range typ.Fields() {
			if f.IsExported() && redactKind(f.Type) == redactUnknown {
				t.Errorf("%s.%s is a %s: redactFields does not know how to redact it; teach redactKind the type", typ.Name(), f.Name, f.Type)
			}
		}
	}
}

// TestRedactOutputFields: redactOutput handles every field of Output; a new
// one fails here until it is redacted there (and listed here).
func TestRedactOutputFields(t *testing.T) {
	known := []string{"Results", "Incidents", "LastRun", "IntegrationContext", "ArgumentError", "ParameterError"}
	for f := range reflect.TypeFor[Output]().Fields() {
		if !slices.Contains(known, f.Name) {
			t.Errorf("Output.%s is new: redact it in redactOutput, then list it in this test", f.Name)
		}
	}
}

// TestRedactOutputEveryField fills every string field of an incident and an
// entry with a secret and checks that none is left in the encoded output.
func TestRedactOutputEveryField(t *testing.T) {
	const secret = "eyJhbGciOiJSUzI1NiJ9.secret-access-token"
	set := &redact.Set{}
	set.Add(secret)
	fill := func(ptr any) {
		v := reflect.ValueOf(ptr).Elem()
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.String {
				f.SetString("x " + secret + " y")
			}
		}
	}
	var inc Incident
	fill(&inc)
	var e xcontext.Entry
	fill(&e)
	e.Contents = map[string]any{"a": []any{secret}}
	e.EntryContext = map[string]any{secret: secret}
	out := &Output{Results: []xcontext.Entry{e}, Incidents: &[]Incident{inc}, LastRun: map[string]any{"k": secret}}
	redactOutput(out, set)
	var buf bytes.Buffer
	if err := WriteOutput(&buf, out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "secret-access-token") {
		t.Errorf("a secret survived redactOutput:\n%s", buf.String())
	}
	var got struct {
		Incidents []map[string]string `json:"incidents"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Incidents) != 1 || got.Incidents[0]["dbotMirrorId"] != "x "+redact.Placeholder+" y" {
		t.Errorf("incidents %v, want the secret replaced in every field, dbotMirrorId included", got.Incidents)
	}
}
