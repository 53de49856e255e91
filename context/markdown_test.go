package context

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTable(t *testing.T) {
	tests := []struct {
		name    string
		title   string
		rows    []Row
		headers []string
		want    string
	}{
		{"conventions example: sorted keys of the first row, | escaped",
			"T", []Row{{"b": 1.0, "a": "x|y"}}, nil,
			"### T\n|a|b|\n|---|---|\n| x\\|y | 1 |\n"},
		{"empty table", "Current Subscriptions", nil, []string{"Current Subscriptions"},
			"### Current Subscriptions\n**No entries.**\n"},
		{"no title", "", []Row{{"a": "1"}}, nil, "|a|\n|---|\n| 1 |\n"},
		{"given header order is kept", "T", []Row{{"ID": "1", "CreationTime": "t", "Workload": "w", "Operation": "o"}},
			[]string{"ID", "CreationTime", "Workload", "Operation"},
			"### T\n|ID|CreationTime|Workload|Operation|\n|---|---|---|---|\n| 1 | t | w | o |\n"},
		{"headers come from the first row only", "T", []Row{{"a": "1"}, {"a": "2", "b": "3"}}, nil,
			"### T\n|a|\n|---|\n| 1 |\n| 2 |\n"},
		{"nil and missing cells are empty", "T", []Row{{"a": nil}, {}}, []string{"a"},
			"### T\n|a|\n|---|\n|  |\n|  |\n"},
		{"lists join with comma and line break", "T", []Row{{"a": []any{"x", 1.0, true, nil}}}, nil,
			"### T\n|a|\n|---|\n| x,<br>1,<br>True,<br>None |\n"},
		{"dicts render as k: v lines", "T", []Row{{"a": map[string]any{"k": "v", "n": 2.0, "l": []any{"p", "q"}}}}, nil,
			"### T\n|a|\n|---|\n| k: \"v\"<br>l: p,<br>q<br>n: 2 |\n"},
		{"ordered dict keeps its order", "T", []Row{{"a": OrderedMap{Keys: []string{"z", "a"}, Values: map[string]any{"z": 1.0, "a": 2.0}}}}, nil,
			"### T\n|a|\n|---|\n| z: 1<br>a: 2 |\n"},
		{"line breaks become <br>, backticks escaped, other markdown kept", "T", []Row{{"a": "l1\r\nl2\rl3\nl4 `x` *b* _i_"}}, nil,
			"### T\n|a|\n|---|\n| l1<br>l2<br>l3<br>l4 \\`x\\` *b* _i_ |\n"},
		{"booleans and floats as JSON", "T", []Row{{"a": false, "b": 1.5}}, nil,
			"### T\n|a|b|\n|---|---|\n| false | 1.5 |\n"},
		{"list of dicts uses Python repr", "T", []Row{{"a": []any{map[string]any{"k": "v"}}}}, nil,
			"### T\n|a|\n|---|\n| {'k': 'v'} |\n"},
		{"header with a pipe is escaped", "T", []Row{{"a|b": "1"}}, nil,
			"### T\n|a\\|b|\n|---|\n| 1 |\n"},
		{"empty first row and no headers", "T", []Row{{}}, nil, "### T\n**No entries.**\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Table(tc.title, tc.rows, tc.headers)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStringsTable(t *testing.T) {
	got := StringsTable("Current Subscriptions", []string{"Audit.AzureActiveDirectory", "Audit.Exchange"}, "Current Subscriptions")
	want := "### Current Subscriptions\n|Current Subscriptions|\n|---|\n| Audit.AzureActiveDirectory |\n| Audit.Exchange |\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestKeys(t *testing.T) {
	if got, want := ContentRecordKey, "MicrosoftManagement.ContentRecord(val.ID && val.ID === obj.ID)"; got != want {
		t.Errorf("ContentRecordKey = %q, want %q", got, want)
	}
	if got, want := SubscriptionKey, "MicrosoftManagement.Subscription(val.ContentType && val.ContentType === obj.ContentType)"; got != want {
		t.Errorf("SubscriptionKey = %q, want %q", got, want)
	}
}

func TestEntryJSON(t *testing.T) {
	b, _ := json.Marshal(Error("boom"))
	if got, want := string(b), `{"Type":4,"ContentsFormat":"text","Contents":"boom"}`; got != want {
		t.Errorf("Error entry = %s, want %s", got, want)
	}
	b, _ = json.Marshal(Note([]any{}, "### T\n", map[string]any{"K": 1}))
	if got, want := string(b), `{"Type":1,"ContentsFormat":"json","Contents":[],"HumanReadable":"### T\n","ReadableContentsFormat":"markdown","EntryContext":{"K":1}}`; got != want {
		t.Errorf("Note entry = %s, want %s", got, want)
	}
}
